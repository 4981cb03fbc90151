"""Synthetic households as the batch tables' rows (the layout is the batch's own)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["to_tables"]


def to_tables(hhs: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Flatten households into the rows of the batch tables (contract sections 2 and 5).

    Batch tests and benchmarks need the same households as CSV/Parquet
    tables; the layout and its encodings belong to `taxopt.batch.convert.to_rows`,
    which this calls: every table of `taxopt.batch.layout.SPECS` (``options``
    included), every column of each, None where the household leaves a value
    out (the schema's default applies when the folder is read).
    """
    from ..batch.convert import to_rows

    return to_rows(hhs)
