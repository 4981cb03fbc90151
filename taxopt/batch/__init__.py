"""Batches: a folder of tables in, every household rebalanced, tables and a report out.

- `read_tables`: the contract's tables (section 2), read once and split by household;
- `run_batch`: the local process pool or a Dask cluster, resume, manifest;
- `write_report`: the self-contained ``report.html`` of a finished batch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["BatchOutcome", "Tables", "read_tables", "run_batch", "write_report"]

if TYPE_CHECKING:
    from .report import write_report
    from .run import BatchOutcome, run_batch
    from .tables import Tables, read_tables

_WHERE = {"BatchOutcome": "run", "run_batch": "run", "Tables": "tables",
          "read_tables": "tables", "write_report": "report"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'taxopt.batch' has no attribute {name!r}")
