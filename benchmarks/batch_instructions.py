"""Instructions per household in a batch worker, stage by stage (load-immune A/B).

    .venv/bin/python benchmarks/batch_instructions.py TABLES_DIR [--households 40]
                     [--stages part,core,assemble,row,trades,files] [--root DIR]

Wall and CPU times of the batch swing with the other sessions' load on a shared
2-core machine; instructions executed do not. Each stage runs under ``valgrind
--tool=callgrind`` with collection switched on only inside ``functools.reduce`` (the
measured call), on the first ``--households`` households of a folder of tables (e.g.
``benchmarks/batch.py --tmp DIR``'s data, or ``taxopt convert``'s):

- part: `taxopt.batch.task.solve_part` of the pickled chunk, its output pickled:
  everything a worker does with a chunk;
- core: `from_dict` + `rebalance` of the same households (validate and solve);
  ``part - core`` is the worker's work around the solve;
- assemble: iterating the unpickled chunk (its households as contract dicts);
- row: the results row (`taxopt.batch.results_row.plan_fields`, order reasons included);
- trades: `Result.trade_columns()` (order reasons already made);
- files: the chunk's three Parquet part files from its output columns
  (`taxopt.batch.sink.part_files`), pickled as the worker ships them.

``--root`` measures another checkout (its ``taxopt``), for before/after on the same
data. About 3.6 million instructions take 1 ms on this machine. Needs valgrind.
"""

from __future__ import annotations

import argparse
import functools
import os
import pickle
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("part", "core", "assemble", "row", "trades", "files")


def run_stage(stage: str, tables_dir: Path, n: int) -> None:
    """The measured call of one stage (run under valgrind by `main`)."""
    from taxopt.batch import task
    from taxopt.batch.results_row import plan_fields
    from taxopt.batch.tables import read_tables
    from taxopt.domain.load import from_dict
    from taxopt.engine import rebalance

    tables = read_tables(tables_dir)
    ids = tables.household_ids
    task.solve_part(tables.chunk(ids[-3:]))          # warm-up: lazy imports, caches
    blob = pickle.dumps(tables.chunk(ids[:n]), protocol=pickle.HIGHEST_PROTOCOL)
    if stage == "part":
        functools.reduce(lambda _, b: pickle.dumps(task.solve_part(pickle.loads(b)),
                                                   protocol=pickle.HIGHEST_PROTOCOL),
                         [blob], None)
        return
    if stage == "assemble":
        functools.reduce(lambda _, b: list(pickle.loads(b)), [blob], None)
        return
    items = list(pickle.loads(blob))
    if stage == "files":
        from taxopt.batch import sink, work

        out = work.solve_chunk(items, None, False)
        functools.reduce(lambda _, o: pickle.dumps(
            {"files": sink.part_files(o), "results": {"status": o["results"]["status"]}},
            protocol=pickle.HIGHEST_PROTOCOL), [out], None)
        return
    if stage == "core":
        functools.reduce(lambda _, it: rebalance(from_dict(it[1])), items, None)
        return
    results = [rebalance(from_dict(it[1])) for it in items]
    if stage == "row":
        functools.reduce(lambda _, r: plan_fields(r), results, None)
    elif stage == "trades":
        for r in results:
            _ = r.order_reasons
        functools.reduce(lambda _, r: r.trade_columns(), results, None)


def measure(stage: str, tables_dir: Path, n: int, root: Path) -> float:
    """Millions of instructions per household of one stage."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        cmd = ["valgrind", "--tool=callgrind", "--toggle-collect=functools_reduce",
               f"--callgrind-out-file={out}", sys.executable, __file__, str(tables_dir),
               "--run-stage", stage, "--households", str(n)]
        env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1",
               "OPENBLAS_NUM_THREADS": "1"}
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        text = out.read_text() if out.exists() else ""
        m = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.M)
        if done.returncode or not m:
            raise SystemExit(f"{stage}: valgrind failed:\n{done.stderr[-2000:]}")
        return int(m.group(1)) / n / 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tables", type=Path)
    ap.add_argument("--households", type=int, default=40)
    ap.add_argument("--stages", default=",".join(STAGES))
    ap.add_argument("--root", type=Path, default=ROOT)
    ap.add_argument("--run-stage", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.run_stage:
        run_stage(args.run_stage, args.tables, args.households)
        return 0
    got = {}
    for stage in args.stages.split(","):
        got[stage] = measure(stage, args.tables, args.households, args.root)
        print(f"{stage:9s} {got[stage]:7.2f} M instructions per household", flush=True)
    if "part" in got and "core" in got:
        print(f"{'around':9s} {got['part'] - got['core']:7.2f} M (part - core: the worker's "
              "work around validate and solve)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
