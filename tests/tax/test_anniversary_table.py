"""Anniversaries looked up in the table of days (`taxopt.tax.holding`) are the calendar
rule's own, inside the table, outside it and for lots without a date."""

from __future__ import annotations

import numpy as np

from taxopt.tax.holding import _TABLE_YEARS, _anniversary, anniversary


def _days(*days: str) -> np.ndarray:
    return np.array(days, dtype="datetime64[D]")


def test_every_day_of_the_table_and_around_it_matches_the_calendar_rule():
    first, end = (np.datetime64(d, "D") for d in _TABLE_YEARS)
    days = np.arange(first - 800, end + 800)
    assert anniversary(days).tobytes() == _anniversary(days).tobytes()


def test_month_ends_leap_days_and_missing_dates():
    # 29 Feb 2024 -> 28 Feb 2025; 28 Feb 2023 (last day) -> 29 Feb 2024; a lot without a
    # date stays without one; 31 Jan 1975 and 28 Feb 2100 lie outside the table (2100 is
    # no leap year, so its 28 Feb is the month's last day: 28 Feb 2101)
    got = anniversary(_days("2024-02-29", "2023-02-28", "NaT", "2020-03-31"))
    assert got.astype(str).tolist() == ["2025-02-28", "2024-02-29", "NaT", "2021-03-31"]
    got = anniversary(_days("1975-01-31", "NaT", "2100-02-28", "2024-06-15"))
    assert got.astype(str).tolist() == ["1976-01-31", "NaT", "2101-02-28", "2025-06-15"]
