"""Holding period by the anniversary rule (Publication 550), vectorized over lots.

A lot is long-term when sold after the first anniversary of its acquisition.
Periods run in calendar months (Rev. Rul. 66-7; Caspe v. United States, 8th Cir.
1982): a lot bought on the last day of a month reaches its anniversary on the last
day of that month a year later. So one bought 29 February has its anniversary on
28 February, and one bought 2023-02-28 on 2024-02-29 (long-term from 1 March).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..domain.household import Household


def anniversary(acquired: np.ndarray) -> np.ndarray:
    """First anniversary of each acquisition day; NaT stays NaT.

    The same day twelve months later, except that the last day of a month maps to the
    last day of the month a year later (29 Feb -> 28 Feb, 28 Feb 2023 -> 29 Feb 2024).
    """
    acquired = np.asarray(acquired, dtype="datetime64[D]")
    # Calendar arithmetic costs a household's lots a dozen date conversions each (a
    # tenth of a millisecond); the days of `_TABLE_YEARS` are looked up instead.
    first, table = _anniversary_table()
    at = acquired.view(np.int64) - first          # NaT: far below 0
    inside = (at >= 0) & (at < len(table))
    if inside.all():
        return table[at]
    unknown = np.isnat(acquired)                  # lots without a date: NaT
    if not (inside | unknown).all():
        return _anniversary(acquired)
    out = table[np.where(inside, at, 0)]
    out[unknown] = np.datetime64("NaT")
    return out


_TABLE_YEARS = ("1980-01-01", "2080-01-01")   # acquisition days looked up (36,500 days)
_TABLE: list[tuple[int, np.ndarray]] = []


def _anniversary_table() -> tuple[int, np.ndarray]:
    """The first day of the table (days since 1970) and the anniversary of every day in
    `_TABLE_YEARS`, computed once per process by `_anniversary` itself."""
    if not _TABLE:
        days = np.arange(*(np.datetime64(d, "D") for d in _TABLE_YEARS))
        table = _anniversary(days)
        table.setflags(write=False)
        _TABLE.append((int(days[0].astype(np.int64)), table))
    return _TABLE[0]


def _anniversary(acquired: np.ndarray) -> np.ndarray:
    """`anniversary` by calendar arithmetic (``acquired``: datetime64[D])."""
    month = acquired.astype("datetime64[M]")
    day = (acquired - month.astype("datetime64[D]")).astype(np.int64)
    next_month = month + np.timedelta64(12, "M")
    start = next_month.astype("datetime64[D]")
    length = ((next_month + np.timedelta64(1, "M")).astype("datetime64[D]") - start).astype(
        np.int64)
    this_start = month.astype("datetime64[D]")
    this_length = ((month + np.timedelta64(1, "M")).astype("datetime64[D]")
                   - this_start).astype(np.int64)
    last = day == this_length - 1
    return start + np.where(last, length - 1, np.minimum(day, length - 1)).astype(
        "timedelta64[D]")


def long_term_from(acquired: np.ndarray) -> np.ndarray:
    """The first day on which a sale of each lot is long-term (the day after the anniversary)."""
    return anniversary(acquired) + np.timedelta64(1, "D")


def is_long_term(acquired: np.ndarray, as_of: np.datetime64) -> np.ndarray:
    """Whether a sale on ``as_of`` is long-term; lots without a date count as short-term."""
    ann = anniversary(acquired)
    return ~np.isnat(ann) & (np.datetime64(as_of, "D") > ann)


def days_to_long_term(acquired: np.ndarray, as_of: np.datetime64) -> np.ndarray:
    """Days until a sale turns long-term (0 when it already is).

    Lots without a date (NaT) never turn long-term by their data, as `is_long_term`
    says; they get -1, never 0, which would read as "already long-term".
    """
    return start_days_to_long_term(long_term_from(acquired), as_of)


def lot_anniversaries(hh: Household) -> np.ndarray:
    """`anniversary` of every lot of the household (computed once per household)."""
    return hh.cached("lot_anniversaries", lambda: anniversary(hh.lots.acquired))


def lot_days_to_long_term(hh: Household) -> np.ndarray:
    """`days_to_long_term` of every lot of the household on its ``as_of`` (once per
    household)."""
    def make() -> np.ndarray:
        start = lot_anniversaries(hh) + np.timedelta64(1, "D")
        return start_days_to_long_term(start, hh.as_of)

    return hh.cached("lot_days_to_long_term", make)


def lots_long_term(hh: Household, idx: np.ndarray) -> np.ndarray:
    """`is_long_term` of the lots ``idx`` on the household's ``as_of``."""
    ann = lot_anniversaries(hh)[idx]
    return ~np.isnat(ann) & (np.datetime64(hh.as_of, "D") > ann)


def start_days_to_long_term(start: np.ndarray, as_of: np.datetime64) -> np.ndarray:
    """`days_to_long_term` from the days a sale turns long-term (`long_term_from`)."""
    gap = (start - np.datetime64(as_of, "D")).astype(np.int64)
    return np.where(np.isnat(start), -1, np.maximum(gap, 0))
