"""What an engine runs: a chunk in, the chunk's part files out.

`solve_part` wraps `work.solve_chunk` and makes its output into the chunk's
Parquet part files (`sink.part_files`) in the worker, so the columnar work
happens in parallel and the driver only writes bytes and counts statuses.
"""

from __future__ import annotations

from typing import Any

from .sink import part_files
from .work import Chunk, solve_chunk


def solve_part(items: Chunk, time_limit: float | None = None, timings: bool = True,
               lockstep: bool = False) -> dict[str, Any]:
    """`solve_chunk`, its output already made into the chunk's part files.

    Returns ``{"files": {kind: Parquet bytes}, "results": {"status": [...]}}``: the
    driver writes the bytes as they are (`sink.write_part`) and counts the statuses.
    """
    out = solve_chunk(items, time_limit, timings, lockstep)
    return {"files": part_files(out), "results": {"status": out["results"]["status"]}}


def solve_pickled_chunk(blob: bytes, time_limit: float | None = None, timings: bool = True,
                        lockstep: bool = False) -> dict[str, Any]:
    """`solve_part` of a chunk pickled by the driver: one bytes argument, which a Dask
    client ships as is instead of walking every object of the chunk on submit."""
    import pickle

    return solve_part(pickle.loads(blob), time_limit, timings, lockstep)
