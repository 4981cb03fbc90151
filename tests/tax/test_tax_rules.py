"""Hand-computed cases for every tax rule: holding period, Schedule D netting, wash sales.

Every expected number is worked out in a comment next to it, so a reviewer can check
the arithmetic without running anything.
"""

from __future__ import annotations

import numpy as np
import pytest

from taxopt.audit import assess, violations
from taxopt.domain import from_dict
from taxopt.domain.household import TaxProfile
from taxopt.domain.orders import Orders
from taxopt.plan.report import summary_record, trade_columns
from taxopt.tax import (
    WASH_WINDOW_DAYS,
    days_to_long_term,
    disallowed_losses,
    is_long_term,
    long_term_from,
    net_year,
    plan_tax,
    recent_buy_equivalents,
    recent_loss_groups,
    year_tax,
)

TS, TL = 0.408, 0.238       # 37 % + 3.8 % NIIT; 20 % + 3.8 % NIIT


def day(s: str) -> np.datetime64:
    return np.datetime64(s, "D")


def days(*s: str) -> np.ndarray:
    return np.array(s, dtype="datetime64[D]")


def profile(ytd_short=0.0, ytd_long=0.0, carry_short=0.0, carry_long=0.0, ts=TS, tl=TL,
            limit=3000.0) -> TaxProfile:
    return TaxProfile(ts, tl, ytd_short, ytd_long, carry_short, carry_long, limit)


# --------------------------------------------------------------------------------------
# Holding period: long-term when sold after the first anniversary of `acquired`.
# --------------------------------------------------------------------------------------

class TestHoldingPeriod:
    def test_anniversary_day_is_still_short_term(self):
        # Bought 2025-11-24: anniversary 2026-11-24 (short), long-term from 2026-11-25.
        acq = days("2025-11-24")
        assert not is_long_term(acq, day("2026-11-24"))[0]
        assert is_long_term(acq, day("2026-11-25"))[0]
        assert long_term_from(acq)[0] == day("2026-11-25")
        # 2026-11-25 - 2026-11-24 = 1 day to wait; none once there or after.
        assert days_to_long_term(acq, day("2026-11-24"))[0] == 1
        assert days_to_long_term(acq, day("2026-11-25"))[0] == 0
        assert days_to_long_term(acq, day("2027-06-01"))[0] == 0
        # On the purchase day: 2025-11-24 -> 2026-11-25 is 365 + 1 = 366 days (2026 not leap).
        assert days_to_long_term(acq, day("2025-11-24"))[0] == 366
        # 2026-11-25 - 2026-10-26 = 6 (Oct 26..31) + 24 = 30 days.
        assert days_to_long_term(acq, day("2026-10-26"))[0] == 30

    def test_leap_day_purchase_anniversary_is_28_february(self):
        # Bought 2024-02-29: no 2025-02-29, anniversary 2025-02-28, long-term from 2025-03-01.
        acq = days("2024-02-29")
        assert long_term_from(acq)[0] == day("2025-03-01")
        assert not is_long_term(acq, day("2025-02-28"))[0]
        assert is_long_term(acq, day("2025-03-01"))[0]
        assert days_to_long_term(acq, day("2025-02-28"))[0] == 1
        # 2024-02-29 -> 2025-02-28 is 365 days (no 29 Feb in between), + 1 = 366.
        assert days_to_long_term(acq, day("2024-02-29"))[0] == 366

    def test_28_february_before_a_leap_year(self):
        # Bought 2023-02-28, the last day of February: periods run in calendar months
        # (Rev. Rul. 66-7), so the anniversary is the last day of February 2024, the
        # 29th; the lot is short-term on 2024-02-29 and long-term from 1 March.
        acq = days("2023-02-28")
        assert long_term_from(acq)[0] == day("2024-03-01")
        assert not is_long_term(acq, day("2024-02-28"))[0]
        assert not is_long_term(acq, day("2024-02-29"))[0]
        assert is_long_term(acq, day("2024-03-01"))[0]
        assert days_to_long_term(acq, day("2024-02-28"))[0] == 2

    @pytest.mark.parametrize(("acquired", "first_long"), [
        ("2023-03-01", "2024-03-02"),   # anniversary 2024-03-01
        ("2024-01-31", "2025-02-01"),   # anniversary 2025-01-31
        ("2024-12-31", "2026-01-01"),   # anniversary 2025-12-31, crosses the year
        ("2020-01-15", "2021-01-16"),   # conftest lot A
    ])
    def test_more_anniversaries(self, acquired, first_long):
        acq = days(acquired)
        first = day(first_long)
        assert long_term_from(acq)[0] == first
        assert not is_long_term(acq, first - np.timedelta64(1, "D"))[0]
        assert is_long_term(acq, first)[0]

    def test_missing_date_is_short_term(self):
        acq = days("NaT")
        assert not is_long_term(acq, day("2026-11-24"))[0]
        assert np.isnat(long_term_from(acq)[0])
        # Never "0 days" (which would read as already long-term): -1 marks "no date".
        assert days_to_long_term(acq, day("2026-11-24"))[0] == -1

    def test_vectorized_over_lots(self):
        acq = days("2025-11-24", "2025-11-23", "2024-02-29", "NaT", "2026-11-24")
        as_of = day("2026-11-24")
        # 2025-11-24: anniversary today -> short, 1 day to go.
        # 2025-11-23: anniversary yesterday -> long.
        # 2024-02-29: long since 2025-03-01.
        # NaT: short, no date.
        # 2026-11-24: bought today -> long from 2027-11-25, 366 days (2027 not leap).
        assert is_long_term(acq, as_of).tolist() == [False, True, True, False, False]
        assert days_to_long_term(acq, as_of).tolist() == [1, 0, 0, -1, 366]
        assert long_term_from(acq)[[0, 1, 2, 4]].tolist() == list(
            days("2026-11-25", "2026-11-24", "2025-03-01", "2027-11-25"))
        assert is_long_term(acq, as_of).shape == (5,)

    def test_household_lots_get_their_term_from_acquired(self, raw):
        # conftest: A bought 2020-01-15 (long on 2026-11-24), B bought 2026-06-01 (short),
        # C in the IRA without a date (short by definition, never taxed anyway).
        hh = from_dict(raw)
        assert is_long_term(hh.lots.acquired, hh.as_of).tolist() == [True, False, False]
        # B: long-term from 2027-06-02; 2026-11-24 -> 2027-06-02 is 6 (Nov 25..30) + 31 + 31
        # + 28 + 31 + 30 + 31 + 2 = 190 days.
        assert days_to_long_term(hh.lots.acquired, hh.as_of).tolist() == [0, 190, -1]


# --------------------------------------------------------------------------------------
# Schedule D netting.
# --------------------------------------------------------------------------------------

class TestYearTax:
    @pytest.mark.parametrize(("nst", "nlt", "tax"), [
        # Both gains: ts*NST + tl*NLT = 0.408*10,000 + 0.238*5,000 = 4,080 + 1,190 = 5,270.
        (10_000, 5_000, 5_270.00),
        # Short gain, long loss, total >= 0: ts*(NST+NLT) = 0.408*6,000 = 2,448.
        (10_000, -4_000, 2_448.00),
        # Long gain, short loss, total >= 0: tl*(NST+NLT) = 0.238*6,000 = 1,428.
        (-4_000, 10_000, 1_428.00),
        # Total exactly 0: nothing is taxed, nothing offsets ordinary income.
        (4_000, -4_000, 0.00),
        (-4_000, 4_000, 0.00),
        # Total loss under the limit: -ts*2,000 = -816 (the loss saves at the ordinary rate).
        (0, -2_000, -816.00),
        (-2_000, 0, -816.00),
        # Loss/loss over the limit: -ts*min(3,000, 7,000) = -0.408*3,000 = -1,224.
        (-2_000, -5_000, -1_224.00),
        # Mixed, total loss over the limit: -0.408*3,000 = -1,224.
        (-5_000, 1_000, -1_224.00),
        (1_000, -5_000, -1_224.00),
        # Total loss under the limit: -0.408*(1,000 + 500) = -612.
        (-1_000, -500, -612.00),
        # Only gains of one term: 0.238*10,000 = 2,380; 0.408*10,000 = 4,080.
        (0, 10_000, 2_380.00),
        (10_000, 0, 4_080.00),
    ])
    def test_four_formulas(self, nst, nlt, tax):
        assert year_tax(nst, nlt, TS, TL, 3000.0) == pytest.approx(tax, abs=1e-6)

    @pytest.mark.parametrize(("ts", "tl", "nst", "nlt", "tax"), [
        # ts=0.37, tl=0.20: 0.37*6,000 = 2,220; 0.20*6,000 = 1,200; -0.37*3,000 = -1,110.
        (0.37, 0.20, 10_000, -4_000, 2_220.00),
        (0.37, 0.20, -4_000, 10_000, 1_200.00),
        (0.37, 0.20, -4_000, -4_000, -1_110.00),
        # ts=0.24, tl=0.15: 0.24*1,000 + 0.15*2,000 = 240 + 300 = 540.
        (0.24, 0.15, 1_000, 2_000, 540.00),
        # zero long-term rate (low bracket): 0*(−1,000 + 3,000) = 0.
        (0.12, 0.0, -1_000, 3_000, 0.00),
        # tax-exempt profile: no tax and no saving.
        (0.0, 0.0, -5_000, -5_000, 0.00),
    ])
    def test_other_rates(self, ts, tl, nst, nlt, tax):
        assert year_tax(nst, nlt, ts, tl, 3000.0) == pytest.approx(tax, abs=1e-6)

    def test_offset_limit_is_an_input(self):
        # Married filing separately: -0.408*1,500 = -612; a zero limit gives no saving.
        assert year_tax(-2_000, -5_000, TS, TL, 1500.0) == pytest.approx(-612.00, abs=1e-6)
        assert year_tax(-2_000, -5_000, TS, TL, 0.0) == pytest.approx(0.0, abs=1e-9)

    def test_vectorized(self):
        out = year_tax(np.array([10_000, 10_000, -4_000, -2_000]),
                       np.array([5_000, -4_000, 10_000, -5_000]), TS, TL, 3000.0)
        assert isinstance(out, np.ndarray)
        np.testing.assert_allclose(out, [5_270.0, 2_448.0, 1_428.0, -1_224.0], atol=1e-6)
        assert isinstance(year_tax(1.0, 1.0, TS, TL, 3000.0), float)


class TestNetYear:
    def test_gain_gain(self):
        y = net_year(profile(), 10_000, 5_000)
        assert (y.net_short, y.net_long) == (10_000, 5_000)
        assert y.tax == pytest.approx(5_270.00, abs=1e-6)   # 4,080 + 1,190
        assert (y.carryforward_short, y.carryforward_long) == (0.0, 0.0)

    def test_short_gain_long_loss_taxed_at_ordinary_rate(self):
        y = net_year(profile(), 10_000, -4_000)
        assert y.tax == pytest.approx(2_448.00, abs=1e-6)   # 0.408 * 6,000
        assert (y.carryforward_short, y.carryforward_long) == (0.0, 0.0)

    def test_long_gain_short_loss_taxed_at_long_rate(self):
        y = net_year(profile(), -4_000, 10_000)
        assert y.tax == pytest.approx(1_428.00, abs=1e-6)   # 0.238 * 6,000
        assert (y.carryforward_short, y.carryforward_long) == (0.0, 0.0)

    @pytest.mark.parametrize(("nst", "nlt", "carry_s", "carry_l"), [
        # Short-term losses are used first against the $3,000:
        # ST 2,000 all used, LT uses the other 1,000 -> carry ST 0, LT 5,000 - 1,000 = 4,000.
        (-2_000, -5_000, 0.0, 4_000.0),
        # ST 4,000: 3,000 used, 1,000 carried; LT 2,000 carried whole.
        (-4_000, -2_000, 1_000.0, 2_000.0),
        # ST exactly 3,000: all used; LT 2,000 carried.
        (-3_000, -2_000, 0.0, 2_000.0),
        # Both small, total 1,500 <= 3,000: nothing carries (never a negative carryforward).
        (-1_000, -500, 0.0, 0.0),
        # Total 3,000 exactly: ST 1,000 + LT 2,000 all used.
        (-1_000, -2_000, 0.0, 0.0),
        # Mixed terms: the net loss keeps the character of the losing term.
        # ST -5,000 + LT 1,000 = -4,000: 3,000 used, 1,000 ST carried.
        (-5_000, 1_000, 1_000.0, 0.0),
        # ST 1,000 + LT -5,000 = -4,000: 1,000 LT carried.
        (1_000, -5_000, 0.0, 1_000.0),
        # ST -3,500 + LT 1,000 = -2,500 <= 3,000: nothing carried.
        (-3_500, 1_000, 0.0, 0.0),
    ])
    def test_loss_carryforward_split(self, nst, nlt, carry_s, carry_l):
        y = net_year(profile(), nst, nlt)
        total = nst + nlt
        assert y.tax == pytest.approx(-TS * min(3_000, -total), abs=1e-6)
        assert y.carryforward_short == pytest.approx(carry_s, abs=1e-9)
        assert y.carryforward_long == pytest.approx(carry_l, abs=1e-9)
        # What is not used against ordinary income carries forward: used + carried = loss.
        assert min(3_000, -total) + y.carryforward_short + y.carryforward_long == pytest.approx(
            -total)

    def test_realized_ytd_flips_the_sign(self):
        p = profile(ytd_short=3_000, ytd_long=1_000)
        # Before: NST 3,000, NLT 1,000 -> 0.408*3,000 + 0.238*1,000 = 1,224 + 238 = 1,462.
        before = net_year(p)
        assert before.tax == pytest.approx(1_462.00, abs=1e-6)
        # Plan harvests a 5,000 short-term loss: NST = 3,000 - 5,000 = -2,000, NLT 1,000,
        # total -1,000 -> -0.408*1,000 = -408.
        after = net_year(p, -5_000, 0)
        assert (after.net_short, after.net_long) == (-2_000, 1_000)
        assert after.tax == pytest.approx(-408.00, abs=1e-6)
        # plan_tax = -408 - 1,462 = -1,870 (the per-lot view would say -0.408*5,000 = -2,040).
        assert plan_tax(p, -5_000, 0) == pytest.approx(-1_870.00, abs=1e-6)

    def test_carryforward_enters_the_netting(self):
        p = profile(ytd_short=1_000, ytd_long=6_000, carry_short=2_500, carry_long=1_000)
        # Before: NST = 1,000 - 2,500 = -1,500; NLT = 6,000 - 1,000 = 5,000; total 3,500
        # -> long gain left: 0.238*3,500 = 833.
        before = net_year(p)
        assert (before.net_short, before.net_long) == (-1_500, 5_000)
        assert before.tax == pytest.approx(833.00, abs=1e-6)
        # Plan realizes 4,000 short-term: NST 2,500, NLT 5,000 -> 0.408*2,500 + 0.238*5,000
        # = 1,020 + 1,190 = 2,210; plan_tax = 2,210 - 833 = 1,377 (per lot: 0.408*4,000 = 1,632).
        assert net_year(p, 4_000, 0).tax == pytest.approx(2_210.00, abs=1e-6)
        assert plan_tax(p, 4_000, 0) == pytest.approx(1_377.00, abs=1e-6)

    def test_carryforward_alone_is_a_loss_year(self):
        # Carryforwards of 2,000 ST and 4,000 LT with nothing realized: NST -2,000, NLT -4,000
        # -> -0.408*3,000 = -1,224; ST 2,000 used first, LT uses 1,000 -> carry 0 / 3,000.
        y = net_year(profile(carry_short=2_000, carry_long=4_000))
        assert (y.net_short, y.net_long) == (-2_000, -4_000)
        assert y.tax == pytest.approx(-1_224.00, abs=1e-6)
        assert (y.carryforward_short, y.carryforward_long) == (0.0, 3_000.0)

    def test_plan_tax_is_after_minus_before_and_not_convex(self):
        p = profile(ytd_short=10_000)
        # Before: 0.408*10,000 = 4,080.
        assert net_year(p).tax == pytest.approx(4_080.00, abs=1e-6)
        # A 4,000 long-term loss against a short-term gain saves at ts:
        # 0.408*6,000 - 4,080 = 2,448 - 4,080 = -1,632 = -0.408*4,000.
        assert plan_tax(p, 0, -4_000) == pytest.approx(-1_632.00, abs=1e-6)
        # ... while a 4,000 long-term gain costs only tl: 0.238*4,000 = 952.
        assert plan_tax(p, 0, 4_000) == pytest.approx(952.00, abs=1e-6)
        # Nothing realized adds nothing.
        assert plan_tax(p, 0, 0) == 0.0

    def test_plan_tax_when_already_at_the_offset_limit(self):
        # The year already has a 10,000 ST loss: the $3,000 offset is used up, so a further
        # 2,000 loss saves nothing this year (-1,224 - -1,224 = 0) and a 2,000 ST gain
        # also costs nothing (NST -8,000 still beyond the limit).
        p = profile(ytd_short=-10_000)
        assert plan_tax(p, -2_000, 0) == pytest.approx(0.0, abs=1e-9)
        assert plan_tax(p, 2_000, 0) == pytest.approx(0.0, abs=1e-9)
        # An 8,000 LT gain: NST -10,000 + NLT 8,000 = -2,000 -> -816;
        # plan_tax = -816 - (-1,224) = 408.
        assert plan_tax(p, 0, 8_000) == pytest.approx(408.00, abs=1e-6)

    def test_other_rates_through_the_profile(self):
        p = profile(ts=0.50, tl=0.25, ytd_long=2_000)
        # Before: 0.25*2,000 = 500. After a 6,000 ST gain: 0.5*6,000 + 0.25*2,000 = 3,500.
        # plan_tax = 3,000.
        assert plan_tax(p, 6_000, 0) == pytest.approx(3_000.00, abs=1e-6)
        # After a 6,000 ST loss: NST -6,000 + NLT 2,000 = -4,000 -> -0.5*3,000 = -1,500;
        # plan_tax = -1,500 - 500 = -2,000; carry 1,000 short-term.
        assert plan_tax(p, -6_000, 0) == pytest.approx(-2_000.00, abs=1e-6)
        assert net_year(p, -6_000, 0).carryforward_short == pytest.approx(1_000.0)


# --------------------------------------------------------------------------------------
# Wash sales (IRC §1091).
# --------------------------------------------------------------------------------------

class TestDisallowedLosses:
    def test_replacement_covers_all_of_the_loss(self):
        # Sold $2,000 at a $400 loss; $5,000 of the group bought: all 400 disallowed.
        out = disallowed_losses(np.array([0]), np.array([2_000.0]), np.array([-400.0]),
                                np.array([5_000.0]))
        np.testing.assert_allclose(out, [400.0])

    def test_replacement_covers_part_pro_rata(self):
        # $1,500 bought against a $2,000 sale: 1,500/2,000 = 75 % of the 400 loss = 300.
        out = disallowed_losses(np.array([0]), np.array([2_000.0]), np.array([-400.0]),
                                np.array([1_500.0]))
        np.testing.assert_allclose(out, [300.0])

    def test_exact_cover(self):
        # $2,000 bought for a $2,000 sale: all 400.
        out = disallowed_losses(np.array([0]), np.array([2_000.0]), np.array([-400.0]),
                                np.array([2_000.0]))
        np.testing.assert_allclose(out, [400.0])

    def test_several_sales_in_one_group_matched_in_order(self):
        # $1,500 of replacement against three $1,000 loss sales in order:
        # 1st: fully covered -> 100; 2nd: 500 of 1,000 -> 50 % of 300 = 150; 3rd: none -> 0.
        out = disallowed_losses(np.zeros(3, np.int64), np.full(3, 1_000.0),
                                np.array([-100.0, -300.0, -200.0]), np.array([1_500.0]))
        np.testing.assert_allclose(out, [100.0, 150.0, 0.0])

    def test_gains_are_never_washed_and_use_no_replacement(self):
        # The gain sale in the middle is skipped: loss sales 0 and 2 share the $1,500:
        # sale 0 fully (100), sale 2 half (0.5*300 = 150).
        out = disallowed_losses(np.zeros(3, np.int64), np.full(3, 1_000.0),
                                np.array([-100.0, 500.0, -300.0]), np.array([1_500.0]))
        np.testing.assert_allclose(out, [100.0, 0.0, 150.0])
        # Only gains: nothing.
        out = disallowed_losses(np.zeros(2, np.int64), np.full(2, 1_000.0),
                                np.array([100.0, 0.0]), np.array([5_000.0]))
        np.testing.assert_allclose(out, [0.0, 0.0])

    def test_groups_are_matched_separately(self):
        # group 0 has $2,100 of replacement: sale 1 ($2,000, loss 400) fully -> 400;
        #   sale 3 ($500, loss 50) gets the remaining 100 -> 100/500*50 = 10.
        # group 1 has $500: sale 0 ($1,000, loss 200) half -> 100; sale 2 nothing -> 0.
        out = disallowed_losses(np.array([1, 0, 1, 0]),
                                np.array([1_000.0, 2_000.0, 1_000.0, 500.0]),
                                np.array([-200.0, -400.0, -100.0, -50.0]),
                                np.array([2_100.0, 500.0]))
        np.testing.assert_allclose(out, [100.0, 400.0, 0.0, 10.0])

    def test_no_replacement_no_disallowance(self):
        out = disallowed_losses(np.array([0, 1]), np.array([1_000.0, 1_000.0]),
                                np.array([-100.0, -200.0]), np.array([0.0, 0.0]))
        np.testing.assert_allclose(out, [0.0, 0.0])


def _trade(symbol, side, shares, date, account="ira", gain=None):
    t = {"account_id": account, "symbol": symbol, "side": side, "shares": shares, "date": date}
    if gain is not None:
        t["realized_gain"] = gain
    return t


def _per_group(hh, values) -> dict[str, float]:
    """A per-wash-group array keyed by group name (groups follow the symbol order)."""
    return dict(zip(hh.securities.wash_group_names, np.asarray(values).tolist(), strict=True))


def _sec(hh, symbol: str) -> int:
    return hh.securities.symbol.index(symbol)


class TestRecentTrades:
    """as_of 2026-11-24: 30 days before is 2026-10-25, 31 days before is 2026-10-24."""

    def test_window_edges_for_buys(self, raw):
        assert WASH_WINDOW_DAYS == 30
        raw["recent_trades"] = [
            _trade("EQ", "buy", 3, "2026-10-25"),     # 30 days before: counts, 3*$100 = 300
            _trade("EQ", "buy", 7, "2026-10-24"),     # 31 days before: does not
            _trade("BD", "buy", 5, "2026-11-24"),     # today: counts, 5*$10 = 50
        ]
        hh = from_dict(raw)
        assert sorted(hh.securities.wash_group_names) == ["BD", "EQ", "eq2"]
        assert _per_group(hh, recent_buy_equivalents(hh)) == pytest.approx(
            {"EQ": 300.0, "eq2": 0.0, "BD": 50.0})
        assert recent_loss_groups(hh).tolist() == [False, False, False]

    def test_buys_in_any_account_at_todays_price_summed_per_group(self, raw):
        # EQ2 shares the EQ group; 2 EQ in the taxable account + 4 EQ2 in the IRA
        # = 2*$100 + 4*$50 = $400 of group EQ (today's prices, not the trade's).
        raw["securities"][1]["wash_group"] = "EQ"
        raw["recent_trades"] = [
            _trade("EQ", "buy", 2, "2026-11-10", account="tx"),
            _trade("EQ2", "buy", 4, "2026-11-20", account="ira"),
        ]
        hh = from_dict(raw)
        assert sorted(hh.securities.wash_group_names) == ["BD", "EQ"]
        assert _per_group(hh, recent_buy_equivalents(hh)) == pytest.approx(
            {"EQ": 400.0, "BD": 0.0})

    def test_sells_are_not_buys(self, raw):
        raw["recent_trades"] = [_trade("EQ", "sell", 10, "2026-11-10", account="tx", gain=50.0)]
        np.testing.assert_allclose(recent_buy_equivalents(from_dict(raw)), [0.0, 0.0, 0.0])

    def test_recent_loss_sale_blocks_its_group(self, raw):
        raw["recent_trades"] = [
            _trade("EQ2", "sell", 10, "2026-10-25", account="tx", gain=-1.0),  # day 30: blocks
            _trade("BD", "sell", 10, "2026-10-24", account="tx", gain=-500.0),  # day 31: no
        ]
        hh = from_dict(raw)
        assert _per_group(hh, recent_loss_groups(hh)) == {"EQ": False, "eq2": True,
                                                          "BD": False}

    def test_recent_gain_sale_does_not_block(self, raw):
        raw["recent_trades"] = [
            _trade("EQ", "sell", 10, "2026-11-20", account="tx", gain=250.0),
            _trade("EQ2", "sell", 1, "2026-11-20", account="tx", gain=0.0),
        ]
        assert recent_loss_groups(from_dict(raw)).tolist() == [False, False, False]

    def test_loss_sale_blocks_every_symbol_of_the_group(self, raw):
        raw["securities"][1]["wash_group"] = "EQ"
        raw["recent_trades"] = [_trade("EQ2", "sell", 3, "2026-11-01", account="tx",
                                       gain=-30.0)]
        hh = from_dict(raw)
        blocked = recent_loss_groups(hh)
        # group EQ (EQ and EQ2) blocked, BD not.
        per_symbol = blocked[hh.securities.wash_group].tolist()
        assert dict(zip(hh.securities.symbol, per_symbol, strict=True)) == {
            "EQ": True, "EQ2": True, "BD": False}


# --------------------------------------------------------------------------------------
# End to end through the independent audit.
# --------------------------------------------------------------------------------------

def _sell_a_and_b(hh) -> Orders:
    # account tx = 0, lots A = 0 (100 sh), B = 1 (20 sh), both EQ.
    eq = _sec(hh, "EQ")
    return Orders.make(np.array([0, 0]), np.array([eq, eq]), np.array([False, False]),
                       np.array([100.0, 20.0]), np.array([0, 1]), hh)


class TestAuditEndToEnd:
    def test_gain_term_rows_and_netted_summary(self, raw):
        raw["tax_profile"]["realized_ytd"] = {"short_term": -1_000.0, "long_term": 500.0}
        raw["tax_profile"]["loss_carryforward"] = {"short_term": 2_000.0, "long_term": 0.0}
        hh = from_dict(raw)
        orders = _sell_a_and_b(hh)
        a = assess(hh, orders)
        assert violations(hh, orders, a) == []
        # A: 100 * $100 = 10,000 - 6,000 = +4,000, long (bought 2020-01-15).
        # B: 20 * $100 = 2,000 - 2,400 = -400, short (bought 2026-06-01).
        np.testing.assert_allclose(a.value, [10_000.0, 2_000.0])
        np.testing.assert_allclose(a.gain, [4_000.0, -400.0])
        assert a.long_term.tolist() == [True, False]
        np.testing.assert_allclose(a.disallowed, [0.0, 0.0])
        # Row est_tax = gain x own rate: 4,000*0.20 = 800; -400*0.40 = -160 (sum 640).
        np.testing.assert_allclose(a.row_tax, [800.0, -160.0])
        assert a.realized_short == pytest.approx(-400.0)
        assert a.realized_long == pytest.approx(4_000.0)
        # Before: NST = -1,000 - 2,000 = -3,000, NLT = 500; total -2,500
        #   -> -0.40*2,500 = -1,000.
        # After:  NST = -3,000 - 400 = -3,400, NLT = 500 + 4,000 = 4,500; total 1,100 >= 0,
        #   long gain left -> 0.20*1,100 = 220.
        # est_tax = 220 - (-1,000) = 1,220 (not the rows' 640).
        assert a.year_before.tax == pytest.approx(-1_000.0)
        assert a.year_after.tax == pytest.approx(220.0)
        assert a.est_tax == pytest.approx(1_220.0)

        cols = trade_columns(hh, orders, a)
        assert cols["lot_id"] == ["A", "B"]
        assert cols["term"] == ["long", "short"]
        assert cols["value"] == [10_000.00, 2_000.00]
        assert cols["realized_gain"] == [4_000.00, -400.00]
        assert cols["est_tax"] == [800.00, -160.00]
        summary = summary_record(hh, orders, a, "optimal", "")
        assert summary["est_tax"] == 1_220.00
        assert summary["realized_short_term"] == -400.00
        assert summary["realized_long_term"] == 4_000.00
        assert summary["year_tax_before"] == -1_000.00
        assert summary["year_tax_after"] == 220.00
        # B is a loss sale: group EQ may not be bought before 2026-11-24 + 31 = 2026-12-25.
        assert summary["wash_sale_restrictions"] == [
            {"wash_group": "EQ", "symbols": ["EQ"], "do_not_buy_before": "2026-12-25"}]

    def test_default_profile_nets_across_terms(self, raw):
        hh = from_dict(raw)
        a = assess(hh, _sell_a_and_b(hh))
        # NST -400, NLT 4,000 -> total 3,600, long gain left -> 0.20*3,600 = 720
        # (rows: 800 - 160 = 640; netting uses the short loss against a long gain).
        assert a.year_before.tax == 0.0
        assert a.est_tax == pytest.approx(720.0)

    def test_recent_buy_washes_part_of_the_loss(self, raw):
        # 15 EQ bought in the IRA on 2026-11-10 (14 days ago): $1,500 of replacement.
        # B's loss 400 on $2,000 sold: 1,500/2,000 = 75 % disallowed = 300; counted -100.
        raw["recent_trades"] = [_trade("EQ", "buy", 15, "2026-11-10")]
        hh = from_dict(raw)
        a = assess(hh, _sell_a_and_b(hh))
        np.testing.assert_allclose(a.disallowed, [0.0, 300.0])
        # Row est_tax: 800; (-400 + 300)*0.40 = -40.
        np.testing.assert_allclose(a.row_tax, [800.0, -40.0])
        assert a.realized_short == pytest.approx(-100.0)
        # NST -100, NLT 4,000 -> 0.20*3,900 = 780.
        assert a.est_tax == pytest.approx(780.0)
        summary = summary_record(hh, _sell_a_and_b(hh), a, "optimal", "")
        assert summary["wash_disallowed_loss"] == 300.00

    def test_buying_a_group_sold_at_a_loss_is_a_violation(self, raw):
        # Sell B at a loss and buy 1 EQ in the IRA in the same plan: a wash sale.
        hh = from_dict(raw)
        eq = _sec(hh, "EQ")
        orders = Orders.make(np.array([0, 1]), np.array([eq, eq]), np.array([False, True]),
                             np.array([20.0, 1.0]), np.array([1, -1]), hh)
        assert "buy EQ in ira: wash sale: group EQ is sold at a loss in this plan" in (
            violations(hh, orders))
