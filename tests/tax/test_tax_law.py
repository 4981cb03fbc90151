"""Tax law to the letter: hand-computed cases from the Code, the regulations and rulings.

Each test works its expected numbers out in comments. Rates are round so the
arithmetic is checkable by hand: short-term 40 %, long-term 20 %.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import numpy as np
import pytest

import taxopt
from taxopt.audit import violations
from taxopt.tax import days_to_long_term, is_long_term, long_term_from


def day(s: str) -> np.datetime64:
    return np.datetime64(s, "D")


def days(*s: str) -> np.ndarray:
    return np.array(s, dtype="datetime64[D]")


def solve(raw: dict[str, Any], **options: Any):
    """Solve a household dict; the plan must be optimal and pass the audit."""
    raw = copy.deepcopy(raw)
    raw["options"] = {**raw.get("options", {}), **options}
    hh = taxopt.from_dict(raw)
    result = taxopt.rebalance(hh)
    assert result.status == "optimal", result.message
    assert violations(hh, result.orders) == []
    return result, result.trades()


def sold_lots(frame) -> dict[str, float]:
    return {r.lot_id: r.shares for r in frame.itertuples() if r.side == "sell" and r.lot_id}


# --------------------------------------------------------------------------------------
# The last day of a month (Rev. Rul. 66-7; Caspe v. United States, 8th Cir. 1982).
# --------------------------------------------------------------------------------------

class TestLastDayOfMonth:
    @pytest.mark.parametrize(("acquired", "first_long"), [
        # Last day of February before a leap year: anniversary 2024-02-29.
        ("2023-02-28", "2024-03-01"),
        # Last day of February into a common year: anniversary 2023-02-28.
        ("2022-02-28", "2023-03-01"),
        # Leap day: the last day of February 2025 is the 28th.
        ("2024-02-29", "2025-03-01"),
        # Not the last day: the plain anniversary.
        ("2023-02-27", "2024-02-28"),
        # Last days of 30- and 31-day months: the same day a year later.
        ("2023-04-30", "2024-05-01"),
        ("2023-01-31", "2024-02-01"),
    ])
    def test_first_long_term_day(self, acquired, first_long):
        acq = days(acquired)
        assert long_term_from(acq)[0] == day(first_long)
        assert not is_long_term(acq, day(first_long) - np.timedelta64(1, "D"))[0]
        assert is_long_term(acq, day(first_long))[0]

    def test_sold_on_the_leap_day_is_short_term(self):
        # The case: bought 2023-02-28, sold 2024-02-29.
        assert not is_long_term(days("2023-02-28"), day("2024-02-29"))[0]

    def test_protection_window_moves_by_a_day(self):
        # as_of 2024-02-01; long-term from 2024-03-01: Feb 2024 has 29 days, so
        # 2024-03-01 - 2024-02-01 = 29 days to wait (the old rule said 28).
        assert days_to_long_term(days("2023-02-28"), day("2024-02-01"))[0] == 29

    WITHDRAWAL: ClassVar[dict[str, Any]] = {
        "format": "taxopt.household/1", "household_id": "hh-feb", "as_of": "2024-02-01",
        "tax_profile": {"short_term_rate": 0.40, "long_term_rate": 0.20},
        "securities": [{"symbol": "EQ", "price": 100.0, "asset_class": "equity"}],
        "goals": [{"goal_id": "g", "targets": {"equity": 1.0}}],
        "accounts": [{"account_id": "tx", "goal_id": "g", "tax_type": "taxable",
                      "cash": 0.0, "cash_flow": -2000.0}],
        "lots": [
            # S: short-term, 20 sh, basis $1,600: gain $400, tax 0.40 * 400 = $160 now;
            # long-term from 2024-03-01 (29 days away).
            {"lot_id": "S", "account_id": "tx", "symbol": "EQ", "shares": 20,
             "cost_basis": 1600.0, "acquired": "2023-02-28"},
            # L: long-term, 20 sh, basis $1,000: gain $1,000, tax 0.20 * 1,000 = $200.
            {"lot_id": "L", "account_id": "tx", "symbol": "EQ", "shares": 20,
             "cost_basis": 1000.0, "acquired": "2010-01-04"},
        ],
    }

    def test_28_days_of_protection_do_not_cover_a_lot_29_days_away(self):
        # S is 29 days from long-term: 28 days of protection leave it free, and it is
        # the cheaper lot ($160 against $200).
        _, frame = solve(self.WITHDRAWAL, protect_long_term_days=28)
        assert sold_lots(frame) == {"S": 20.0}
        assert frame.loc[frame.lot_id == "S", "term"].item() == "short"

    def test_29_days_of_protection_cover_it(self):
        # Protected, S also carries what waiting would save, the rate gap on its gain
        # (0.40 - 0.20) * 400 = $80: $160 + $80 = $240 > L's $200, so L is sold.
        _, frame = solve(self.WITHDRAWAL, protect_long_term_days=29)
        assert sold_lots(frame) == {"L": 20.0}
