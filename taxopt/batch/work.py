"""The unit of work shipped to a worker: a chunk of households in, plain columns out.

`solve_chunk` is the same function for every engine (process pool or Dask).
It takes a chunk (the driver's slices of the sorted tables, `tables.Tables.chunk`,
which assemble each household here in the worker; or a list of household dicts)
and returns plain data (lists of Python values); `task.solve_part`, what the
engines run, also turns those into the chunk's Parquet part files, so the driver
only writes bytes. The result does not depend on where it ran. Each household's
failure is caught and becomes its status row (and its rejects rows); the chunk
itself never raises for a household.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from ..domain.status import PLAN_STATUSES, Status
from ..domain.status import SOLVED as SOLVED_STATUSES
from .results_row import REVIEW_COLUMNS, plan_fields

#: One household of a chunk: (household_id, raw contract dict or None, its error or None).
Item = tuple[str, "dict[str, Any] | None", "str | Exception | None"]
#: A chunk: its items, or anything that yields them (the driver ships `tables.Tables.chunk`,
#: slices of the sorted tables that assemble each household in the worker).
Chunk = Iterable[Item]

#: The results table (one row per household), in column order.
RESULT_COLUMNS = ("household_id", "status", "message", "est_tax", "drift_before",
                  "drift_after", "orders", "seconds", "solver", *REVIEW_COLUMNS)

#: The rejects table: what to fix, as fields (never parsed back out of a message).
REJECT_COLUMNS = ("household_id", "table", "record", "field", "problem")

#: Statuses that count as solved (exit code 0).
SOLVED = tuple(str(s) for s in SOLVED_STATUSES)
STATUSES = tuple(str(s) for s in PLAN_STATUSES)
"""The results table's ``status`` words (strings: the table is the output boundary)."""


def empty_columns(names: tuple[str, ...]) -> dict[str, list[Any]]:
    return {c: [] for c in names}


def solve_chunk(items: Chunk, time_limit: float | None = None,
                timings: bool = True,
                lockstep: bool = False) -> dict[str, dict[str, list[Any]]]:
    """Rebalance each household of a chunk; return ``{"results": cols, "trades": cols}``.

    Parameters
    ----------
    items
        Households of the chunk, sorted by id.
    time_limit
        Seconds the solver may spend on each household (overrides its options).
    timings
        Record each household's wall-clock seconds; ``False`` leaves them empty
        so that the results table is byte-identical across runs.
    lockstep
        Also score the lockstep heuristic on each solved household
        (``tax_saved_vs_lockstep``; about 2 ms a household).
    """
    from ..plan.report import TRADE_COLUMNS

    results = empty_columns(RESULT_COLUMNS)
    trades = empty_columns(TRADE_COLUMNS)
    rejects = empty_columns(REJECT_COLUMNS)
    for hid, raw, error in items:
        t0 = time.perf_counter()
        row, cols = _one(hid, raw, error, time_limit, lockstep)
        row["seconds"] = round(time.perf_counter() - t0, 6) if timings else None
        for c in RESULT_COLUMNS:
            results[c].append(row.get(c))
        for reject in row.get("rejects", ()):
            for c, v in zip(REJECT_COLUMNS, (hid, *reject), strict=True):
                rejects[c].append(v)
        if cols:
            for c in TRADE_COLUMNS:
                trades[c].extend(cols[c])
    return {"results": results, "trades": trades, "rejects": rejects}


def _one(hid: str, raw: dict[str, Any] | None, error: str | None,
         time_limit: float | None,
         lockstep: bool = False) -> tuple[dict[str, Any], dict[str, list[Any]] | None]:
    """One household's results row and trade columns; never raises for its failures."""
    from ..domain.load import from_dict
    from ..engine import rebalance
    from ..errors import InvalidInput, TaxoptError

    base: dict[str, Any] = {"household_id": hid, "est_tax": None, "drift_before": None,
                            "drift_after": None, "orders": 0, "solver": None}
    if error is not None:
        return _invalid(base, error), None
    try:
        hh = from_dict(raw)
        opts = hh.options.replace(time_limit=time_limit) if time_limit else hh.options
        result = rebalance(hh, opts)
        row = {**base, **plan_fields(result, lockstep)}
        cols = result.trade_columns()
    except InvalidInput as err:
        return _invalid(base, err), None
    except TaxoptError as err:
        return {**base, "status": str(Status.ERROR), "message": f"household {hid}: {err}"
                if hid not in str(err) else str(err)}, None
    except Exception as err:  # a bug must not stop the batch; the row says what broke
        return {**base, "status": str(Status.ERROR),
                "message": f"household {hid}: internal error: {type(err).__name__}: {err}"}, None
    return row, cols


def _invalid(base: dict[str, Any], err: Any) -> dict[str, Any]:
    """An ``invalid_input`` row; ``rejects`` keep the table, record, field and problem of
    the error and of every other problem found with it (``err.more``: the household's
    rows that disagree, each named)."""
    if isinstance(err, str):
        return {**base, "status": str(Status.INVALID_INPUT), "message": err,
                "rejects": [("", "", "", err)]}
    return {**base, "status": str(Status.INVALID_INPUT), "message": err.line(),
            "rejects": [(table_of(e.record), e.record or "", e.field or "", e.problem)
                        for e in (err, *getattr(err, "more", ()))]}


_TABLE_OF_RECORD = {"tax_profile": "households", "as_of": "households",
                    "household_id": "households"}


def table_of(record: str | None) -> str:
    """The input table a record belongs to (``lots[4] (lot_id x)`` -> ``lots``).

    Records are written by taxopt and always begin with the table's (or the
    JSON section's) name, so the first word is the table whatever the ids hold.
    """
    import re

    m = re.match(r"(?:table )?([a-z_]+)", record or "")
    if not m:
        return ""
    return _TABLE_OF_RECORD.get(m.group(1), m.group(1))
