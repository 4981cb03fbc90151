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


# --------------------------------------------------------------------------------------
# Wash sales matched in date order (Treas. Reg. 1.1091-1(b), (e)), pro rata in the model.
# --------------------------------------------------------------------------------------

def wash_household(lots: list[dict[str, Any]], recent: list[dict[str, Any]],
                   ira_lots: tuple[float, ...] = ()) -> dict[str, Any]:
    """as_of 2026-11-24; AAA and BBB at $100 (different wash groups), all equity."""
    return {
        "format": "taxopt.household/1", "household_id": "hh-wash", "as_of": "2026-11-24",
        "tax_profile": {"short_term_rate": 0.40, "long_term_rate": 0.20},
        "securities": [{"symbol": "AAA", "price": 100.0, "asset_class": "equity"},
                       {"symbol": "BBB", "price": 100.0, "asset_class": "equity"}],
        "goals": [{"goal_id": "g", "targets": {"equity": 1.0}}],
        "accounts": [{"account_id": "tx", "goal_id": "g", "tax_type": "taxable", "cash": 0.0},
                     {"account_id": "ira", "goal_id": "g", "tax_type": "tax_deferred",
                      "cash": 0.0}],
        "lots": [*lots, *({"lot_id": f"I{i}", "account_id": "ira", "symbol": "AAA",
                           "shares": sh} for i, sh in enumerate(ira_lots))],
        "recent_trades": recent,
    }


def lot(lot_id, shares, basis, acquired, account="tx", symbol="AAA"):
    return {"lot_id": lot_id, "account_id": account, "symbol": symbol, "shares": shares,
            "cost_basis": basis, "acquired": acquired}


def trade(side, shares, date, account="ira", gain=None, symbol="AAA"):
    t = {"account_id": account, "symbol": symbol, "side": side, "shares": shares, "date": date}
    if gain is not None:
        t["realized_gain"] = gain
    return t


def sell_all(hh, lot_ids: list[str]):
    from taxopt.domain.orders import Orders
    ix = [hh.lots.lot_id.index(x) for x in lot_ids]
    n = len(ix)
    return Orders.make(hh.lots.account[ix], hh.lots.security[ix], np.zeros(n, bool),
                       hh.lots.shares[ix], np.array(ix), hh)


class TestWashMatching:
    # Item 1: AAA sold at a loss 20 days ago; the IRA bought 10 AAA 10 days ago; today a
    # taxable AAA lot T (10 sh, basis $1,500, worth $1,000: a $500 short-term loss) is
    # sold. The purchase (10 x $100 = $1,000) replaced the earlier sale's 10 shares
    # ($1,000) first; a purchase that disallowed one loss is disregarded for any other,
    # so today's loss is allowed in full: disallowed 0, est_tax -0.40 * 500 = -$200.
    ITEM1: ClassVar[dict[str, Any]] = wash_household(
        [lot("T", 10, 1500.0, "2026-06-01")],
        [trade("sell", 10, "2026-11-04", account="tx", gain=-300.0),
         trade("buy", 10, "2026-11-14")], ira_lots=(10,))

    def test_a_replacement_is_used_once_in_the_audit(self):
        from taxopt.audit import assess
        hh = taxopt.from_dict(self.ITEM1)
        a = assess(hh, sell_all(hh, ["T"]))
        assert a.gain.tolist() == [-500.0]
        assert a.disallowed.tolist() == [0.0]
        assert a.est_tax == pytest.approx(-200.0, abs=0.005)

    def test_the_optimizer_harvests_it(self):
        # The model sees the same: the $500 loss is worth $200, far above the trading
        # cost (5 bps of $2,000 traded = $1): sell T, buy BBB in its place (not AAA,
        # which would wash today's loss).
        result, frame = solve(self.ITEM1)
        assert sold_lots(frame) == {"T": 10.0}
        row = frame[frame.lot_id == "T"].iloc[0]
        assert (row.realized_gain, row.wash_disallowed, row.wash_kind) == (-500.0, 0.0, "")
        assert result.summary()["est_tax"] == -200.0
        assert set(frame[frame.side == "buy"].symbol) == {"BBB"}

    def test_without_the_earlier_sale_the_purchase_washes_todays_loss(self):
        # Control: no earlier loss sale, so the IRA purchase replaces today's 10 shares:
        # the whole $500 is disallowed and lost for good (IRA, Rev. Rul. 2008-5).
        from taxopt.audit import assess
        raw = copy.deepcopy(self.ITEM1)
        raw["recent_trades"] = raw["recent_trades"][1:]
        hh = taxopt.from_dict(raw)
        a = assess(hh, sell_all(hh, ["T"]))
        assert a.disallowed.tolist() == [500.0]
        cols = taxopt.plan.report.trade_columns(hh, sell_all(hh, ["T"]), a)
        assert cols["wash_kind"] == ["lost"]
        assert cols["replacement_lot_id"] == [""]

    # Item 2: two loss lots sold together while 100 replacement shares were bought in
    # the last 30 days (IRA, 2026-11-14):
    #   long-term:  100 sh, basis $12,000, worth $10,000: loss $2,000 (acquired 2020)
    #   short-term: 100 sh, basis $11,000, worth $10,000: loss $1,000 (acquired 2026-05)
    # The earliest-acquired shares are washed first: the long-term $2,000 is disallowed,
    # the short-term $1,000 stands, whatever the lots are called or listed.
    @pytest.mark.parametrize(("lt_id", "st_id"), [("A", "B"), ("B", "A"), ("z-9", "a-1")])
    @pytest.mark.parametrize("reverse", [False, True])
    def test_earliest_acquired_shares_are_washed_first(self, lt_id, st_id, reverse):
        from taxopt.audit import assess
        lots = [lot(lt_id, 100, 12_000.0, "2020-03-02"), lot(st_id, 100, 11_000.0,
                                                               "2026-05-01")]
        raw = wash_household(lots[::-1] if reverse else lots, [trade("buy", 100, "2026-11-14")],
                             ira_lots=(100,))
        hh = taxopt.from_dict(raw)
        a = assess(hh, sell_all(hh, [lt_id, st_id]))
        by_lot = {hh.lots.lot_id[li]: (g, d) for li, g, d in
                  zip(sell_all(hh, [lt_id, st_id]).lot, a.gain, a.disallowed, strict=True)}
        assert by_lot[lt_id] == (-2000.0, 2000.0)
        assert by_lot[st_id] == (-1000.0, 0.0)
        # Counted: short-term -1,000, long-term 0: est_tax = -0.40 * 1,000 = -$400.
        assert (a.realized_short, a.realized_long) == (-1000.0, 0.0)
        assert a.est_tax == pytest.approx(-400.0, abs=0.005)


class TestProRataWash:
    # Item 5: one reinvested share R (1 sh AAA, basis $100, bought 2026-11-14 in the
    # taxable account) against a 100-share loss lot L (basis $12,000, worth $10,000:
    # $2,000 short-term loss, acquired 2026-03-02). Selling L in full, the one
    # replacement share disallows 1/100 of the loss, $20; $1,980 stands:
    # est_tax = -0.40 * 1,980 = -$792. The old model valued the whole loss at zero and
    # harvested nothing.
    ITEM5: ClassVar[dict[str, Any]] = wash_household(
        [lot("L", 100, 12_000.0, "2026-03-02"), lot("R", 1, 100.0, "2026-11-14")],
        [trade("buy", 1, "2026-11-14", account="tx")])

    def test_the_model_harvests_the_lot_and_the_audit_disallows_one_share(self):
        result, frame = solve(self.ITEM5)
        assert sold_lots(frame)["L"] == 100.0
        row = frame[frame.lot_id == "L"].iloc[0]
        assert (row.realized_gain, row.wash_disallowed) == (-2000.0, 20.0)
        assert result.summary()["est_tax"] == -792.0
        # Deferred into R (a taxable replacement): basis 100 + 20 = $120 (IRC 1091(d));
        # holding period: L was held 2026-03-02 -> 2026-11-24 = 267 days
        # (31+30+31+30+31+31+30+31 to 2026-11-02, + 22), so R counts as acquired
        # 2026-11-14 - 267 days = 2026-02-20 (IRC 1223(3)).
        assert (row.wash_kind, row.replacement_lot_id, row.replacement_basis,
                row.replacement_acquired) == ("deferred", "R", 120.0, "2026-02-20")
        # The account's sentence counts what the summary counts: -2,000 + 20 = -1,980.
        s = result.summary()
        assert s["realized_short_term"] == -1980.0
        assert s["accounts"]["tx"]["why"].endswith(
            "realized $1,980 short-term loss ($20 of loss disallowed by the wash-sale "
            "rule, not counted)")

    def test_selling_the_replacement_lot_too_restores_the_loss(self):
        # R sold in the same plan leaves nothing to replace L's shares: all $2,000 stands
        # (R itself: 1 sh at $100 on a $100 basis, no gain): est_tax = -0.40 * 2,000 = -800.
        from taxopt.audit import assess
        hh = taxopt.from_dict(self.ITEM5)
        a = assess(hh, sell_all(hh, ["L", "R"]))
        assert a.disallowed.tolist() == [0.0, 0.0]
        assert a.est_tax == pytest.approx(-800.0, abs=0.005)

    def test_the_washed_part_is_pro_rata_in_the_model(self):
        from taxopt.model.layout import build_layout
        lay = build_layout(taxopt.from_dict(self.ITEM5))
        # L: $100 of replacement over $10,000 sold = 0.01; R is not its own replacement.
        assert lay.unit_washed.tolist() == [0.01, 0.0]


# --------------------------------------------------------------------------------------
# Row order: the same lots and recent trades listed in any order give byte-identical
# output (lots enter the model in lot-id order; wash matching sorts by date and key).
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [3, 11, 29])
def test_output_identical_under_any_row_order(seed):
    from taxopt import synth
    from taxopt.output import summary_json, trades_csv
    raw = synth.household(seed, n_lots=60)
    raw["lots"].append({**raw["lots"][0], "lot_id": "zz-twin"})   # an exact tie
    outputs = set()
    for k in range(3):
        rng = np.random.default_rng(k)
        shuffled = copy.deepcopy(raw)
        for key in ("lots", "recent_trades"):
            items = shuffled.get(key, [])
            shuffled[key] = [items[i] for i in rng.permutation(len(items))]
        result = taxopt.rebalance(taxopt.from_dict(shuffled))
        assert result.ok, result.message
        outputs.add((trades_csv(result.trade_columns()), summary_json(result.summary())))
    assert len(outputs) == 1


# --------------------------------------------------------------------------------------
# Netting with a year-to-date short-term loss: do not mix lots into extra tax.
# --------------------------------------------------------------------------------------

def test_year_to_date_short_term_loss_sells_only_the_short_term_lot():
    # Realized this year: -$8,000 short-term. Raise $50,000 from EQ @ $100 (500 sh):
    #   S: short-term, gain $8/sh;  L: long-term, gain $15/sh (1,000 sh each).
    # Before: NST -8,000 -> tax -0.40 * 3,000 = -1,200 (offset limit).
    # S only: 500 * 8 = 4,000 ST gain -> NST -4,000, still past the limit: -1,200, adds 0.
    # L only: 500 * 15 = 7,500 LT gain -> total -500 -> -0.40 * 500 = -200, adds 1,000.
    # Per-lot tax (0.40 * 8 = 3.2 vs 0.20 * 15 = 3.0 a share) preferred L in the flat
    # region; the model filled L up to the -3,000 edge and rounding crossed it: 143 L +
    # 358 S, $3.60 added. Ties now go to the lot that realizes less gain.
    raw = {
        "format": "taxopt.household/1", "household_id": "hh-ytd", "as_of": "2026-11-24",
        "tax_profile": {"short_term_rate": 0.40, "long_term_rate": 0.20,
                        "realized_ytd": {"short_term": -8000.0, "long_term": 0.0}},
        "securities": [{"symbol": "EQ", "price": 100.0, "asset_class": "equity"}],
        "goals": [{"goal_id": "g", "targets": {"equity": 1.0}}],
        "accounts": [{"account_id": "tx", "goal_id": "g", "tax_type": "taxable",
                      "cash": 0.0, "cash_flow": -50_000.0}],
        "lots": [lot("S", 1000, 92_000.0, "2026-06-01", symbol="EQ"),
                 lot("L", 1000, 85_000.0, "2015-06-01", symbol="EQ")],
    }
    result, frame = solve(raw)
    assert sold_lots(frame) == {"S": 500.0}
    assert result.summary()["est_tax"] == 0.0
    assert result.summary()["realized_short_term"] == 4000.0


# --------------------------------------------------------------------------------------
# Protection of lots about to turn long-term is a price, not a wall.
# --------------------------------------------------------------------------------------

def protect_household(with_old_lot: bool = True, **options: Any) -> dict[str, Any]:
    # P: 50 EQ @ $100, basis $4,900: a $100 short-term gain, long-term from 2026-12-11
    #    (bought 2025-12-10), 17 days after as_of: protected by the default 30 days.
    # O: 50 EQ, basis $2,000, bought 2010: a $3,000 long-term gain.
    lots = [lot("P", 50, 4_900.0, "2025-12-10", symbol="EQ")]
    if with_old_lot:
        lots.append(lot("O", 50, 2_000.0, "2010-03-01", symbol="EQ"))
    return {
        "format": "taxopt.household/1", "household_id": "hh-protect", "as_of": "2026-11-24",
        "tax_profile": {"short_term_rate": 0.40, "long_term_rate": 0.20},
        "securities": [{"symbol": "EQ", "price": 100.0, "asset_class": "equity"}],
        "goals": [{"goal_id": "g", "targets": {"equity": 1.0}}],
        "accounts": [{"account_id": "tx", "goal_id": "g", "tax_type": "taxable",
                      "cash": 0.0, "cash_flow": -5_000.0}],
        "lots": lots, "options": options,
    }


class TestProtectionIsAPrice:
    def test_a_small_protected_gain_beats_an_old_large_one(self):
        # Raise $5,000 (50 shares). P: tax 0.40 * 100 = $40, plus what waiting would
        # save, (0.40 - 0.20) * 100 = $20, discounted 17 days at 4 %: $59.96 in all.
        # O: 0.20 * 3,000 = $600. P is sold (the wall sold O for $600).
        result, frame = solve(protect_household())
        assert sold_lots(frame) == {"P": 50.0}
        assert result.summary()["est_tax"] == 40.0
        # 20 * 1.04 ** (-17 / 365) = 19.96 charged in the objective.
        assert result.summary()["objective"]["protection"] == 19.96

    def test_the_only_lot_is_sold_rather_than_failing(self):
        # P is the only way to raise the cash: the plan sells it ($40 of tax) where the
        # wall reported the household infeasible and blamed its cash.
        result, frame = solve(protect_household(with_old_lot=False))
        assert sold_lots(frame) == {"P": 50.0}
        assert result.summary()["est_tax"] == 40.0

    def test_a_hard_rule_that_binds_is_named(self):
        # no_short_term_gains stays a rule; when it is what makes the withdrawal
        # impossible, the message says so.
        hh = taxopt.from_dict(protect_household(with_old_lot=False,
                                                no_short_term_gains=True))
        result = taxopt.rebalance(hh)
        assert result.status == "infeasible"
        assert "no_short_term_gains: no lot is sold at a short-term gain" in result.message


def test_default_protection_costs_little_tax_on_direct_indexing_books():
    # benchmarks/protection.py: 60-stock direct-indexing books raising a 10 %
    # withdrawal, solved with protection at 30 days and off. As a wall, protection
    # added 4.07 % of tax over these 12 books; as a price, 0.27 % (results in
    # benchmarks/results/protection/latest.md). The bound is the 0.5 %.
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "protection.py"
    spec = importlib.util.spec_from_file_location("protection_benchmark", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.protection_costs(12, 60)
    on, off = sum(r[1] for r in rows), sum(r[2] for r in rows)
    assert off > 100_000                      # books that realize real gains
    assert on <= off * 1.005


# --------------------------------------------------------------------------------------
# Losses carried forward are worth their present value by default.
# --------------------------------------------------------------------------------------

class TestCarryforwardValue:
    def test_default_value_is_the_discounted_long_term_rate(self):
        from taxopt.domain.household import TaxProfile
        from taxopt.model.taxes import CARRYFORWARD_YEARS, default_carryforward_value
        # 0.20 / 1.04 ** 2 = 0.20 / 1.0816 = 0.184911...
        assert CARRYFORWARD_YEARS == 2.0
        tp = TaxProfile(0.40, 0.20, 0.0, 0.0, 0.0, 0.0, 3000.0)
        assert default_carryforward_value(tp, 0.04) == pytest.approx(0.184911, abs=1e-6)

    RAW: ClassVar[dict[str, Any]] = {
        "format": "taxopt.household/1", "household_id": "hh-carry", "as_of": "2026-11-24",
        "tax_profile": {"short_term_rate": 0.40, "long_term_rate": 0.20},
        "securities": [{"symbol": "AAA", "price": 100.0, "asset_class": "equity"},
                       {"symbol": "BBB", "price": 100.0, "asset_class": "equity"},
                       {"symbol": "CCC", "price": 100.0, "asset_class": "equity"}],
        "goals": [{"goal_id": "g", "targets": {"equity": 1.0}}],
        "accounts": [{"account_id": "tx", "goal_id": "g", "tax_type": "taxable",
                      "cash": 0.0}],
        # AAA: 100 sh, basis $13,000: a $3,000 short-term loss.
        # BBB: 100 sh, basis $15,000: a $5,000 short-term loss.
        "lots": [lot("A", 100, 13_000.0, "2026-03-02", symbol="AAA"),
                 lot("B", 100, 15_000.0, "2026-03-02", symbol="BBB")],
    }

    def test_a_household_without_gains_harvests_past_the_offset(self):
        # All $8,000 harvested: this year -0.40 * 3,000 = -$1,200; $5,000 carried, worth
        # 5,000 * 0.1849 = $924.56 later: far more than trading $40,000 at 5 bps ($20).
        result, frame = solve(self.RAW)
        assert sold_lots(frame) == {"A": 100.0, "B": 100.0}
        s = result.summary()
        assert s["est_tax"] == -1200.0
        assert s["year"]["after"]["carryforward_short_term"] == 5000.0
        assert s["objective"]["carryforward"] == pytest.approx(-924.56, abs=0.01)

    def test_valued_at_zero_it_stops_at_the_offset(self):
        # The old default: beyond the $3,000 offset a loss is worth nothing, so the plan
        # harvests $3,000 of loss and stops (the year's tax is the same -1,200).
        # It sells 60 BBB ($50 loss a share): exactly $3,000, nothing carried.
        result, _ = solve(self.RAW, carryforward_value=0.0)
        s = result.summary()
        assert s["est_tax"] == -1200.0
        assert s["realized_short_term"] == -3000.0
        assert s["year"]["after"]["carryforward_short_term"] == 0.0


# --------------------------------------------------------------------------------------
# Location values rank securities inside every account type; NIIT, ordinary and state
# rates each where they apply.
# --------------------------------------------------------------------------------------

def bonds_household(order: tuple[str, ...] = ("MUNI", "TBND"), **profile: Any):
    secs = {"MUNI": {"symbol": "MUNI", "price": 50.0, "asset_class": "bonds",
                     "yield": 0.03, "tax_exempt": True},
            "TBND": {"symbol": "TBND", "price": 50.0, "asset_class": "bonds",
                     "yield": 0.04, "qualified": 0.0},
            "EQ": {"symbol": "EQ", "price": 100.0, "asset_class": "equity"}}
    return {
        "format": "taxopt.household/1", "household_id": "hh-loc", "as_of": "2026-11-24",
        "tax_profile": {"short_term_rate": 0.40, "long_term_rate": 0.20, **profile},
        "securities": [secs[s] for s in (*order, "EQ")],
        "goals": [{"goal_id": "g", "targets": {"equity": 0.5, "bonds": 0.5}}],
        "accounts": [{"account_id": "tx", "goal_id": "g", "tax_type": "taxable",
                      "cash": 0.0},
                     {"account_id": "ira", "goal_id": "g", "tax_type": "tax_deferred",
                      "cash": 10_000.0}],
        "lots": [lot("E", 100, 10_000.0, "2020-01-02", symbol="EQ")],
    }


class TestLocationRanksWithinAccountTypes:
    @pytest.mark.parametrize("order", [("MUNI", "TBND"), ("TBND", "MUNI")])
    def test_the_ira_buys_the_taxable_bond_fund(self, order):
        # Only the IRA has cash to buy bonds. A tax-exempt fund returns 3.5 % (the muni
        # default) against the bond class's 4.5 %; in an IRA the exemption is wasted, so
        # per dollar (10 years, 4 % discount, ordinary rate 0.40):
        #   TBND: 0.6 * 1.045^10 / 1.04^10 - the same = 0
        #   MUNI: 0.6 * (1.035^10 - 1.045^10) / 1.04^10 = 0.6 * (1.41060 - 1.55297)
        #         / 1.48024 = -0.0577
        # so the IRA buys TBND, whichever is listed first (it used to tie at 0).
        from taxopt.model.location import location_value
        hh = taxopt.from_dict(bonds_household(order))
        lv = location_value(hh, 10, 0.04)
        ira = {s: lv[1, i] for i, s in enumerate(hh.securities.symbol)}
        assert ira["TBND"] == pytest.approx(0.0, abs=1e-12)
        assert ira["MUNI"] == pytest.approx(0.6 * (1.035 ** 10 - 1.045 ** 10) / 1.04 ** 10,
                                            rel=1e-9)
        assert ira["MUNI"] == pytest.approx(-0.0577, abs=1e-4)
        _, frame = solve(bonds_household(order))
        buys = frame[(frame.side == "buy") & (frame.account_id == "ira")]
        assert set(buys.symbol) == {"TBND"}

    def test_niit_is_not_charged_on_ira_distributions(self):
        # ts 0.408 includes the 3.8 % NIIT: ordinary_rate defaults to 0.408 - 0.038 =
        # 0.37. A dollar of EQ (7 %) in the IRA is worth (1 - 0.37) * 1.07^10 after tax,
        # in the Roth 1.07^10; the Roth's location value is 0.37 * 1.07^10 / 1.04^10.
        from taxopt.model.location import after_tax_value, location_value
        hh = taxopt.from_dict(bonds_household(short_term_rate=0.408, niit_rate=0.038))
        assert hh.tax.ordinary == pytest.approx(0.37)
        eq = hh.securities.symbol.index("EQ")
        v = after_tax_value(hh, 10, 0.0)
        assert v[1, eq] == pytest.approx(0.63 * 1.07 ** 10, rel=1e-12)
        raw = bonds_household(short_term_rate=0.408, niit_rate=0.038)
        raw["accounts"][1]["tax_type"] = "tax_free"
        lv = location_value(taxopt.from_dict(raw), 10, 0.04)
        assert lv[1, eq] == pytest.approx(0.37 * 1.07 ** 10 / 1.04 ** 10, rel=1e-12)
        # An explicit ordinary_rate wins.
        hh2 = taxopt.from_dict(bonds_household(short_term_rate=0.408, niit_rate=0.038,
                                               ordinary_rate=0.32))
        assert hh2.tax.ordinary == 0.32

    def test_out_of_state_munis_pay_state_tax(self):
        # state_rate 0.05: an out-of-state muni's interest is taxed at 5 % in taxable;
        # an in-state one at 0. TBND's interest at the short-term rate 0.40.
        from taxopt.model.location import distribution_rate
        raw = bonds_household(state_rate=0.05)
        hh = taxopt.from_dict(raw)
        rate = dict(zip(hh.securities.symbol, distribution_rate(hh), strict=True))
        assert rate == {"MUNI": 0.05, "TBND": 0.40, "EQ": 0.20}
        raw["securities"][0]["in_state"] = True
        hh = taxopt.from_dict(raw)
        assert distribution_rate(hh)[hh.securities.symbol.index("MUNI")] == 0.0

    def test_niit_cannot_exceed_the_rates_it_is_inside(self):
        from taxopt.errors import InvalidInput
        with pytest.raises(InvalidInput) as err:
            taxopt.from_dict(bonds_household(niit_rate=0.25))
        assert str(err.value) == ("household hh-loc: tax_profile: field 'niit_rate': 0.25 is "
                                  "counted inside long_term_rate (0.2), so it cannot exceed it")


# --------------------------------------------------------------------------------------
# Defaults that move tax are said: the summary's `assumptions`, and `taxopt validate`.
# --------------------------------------------------------------------------------------

class TestAssumptions:
    def test_every_default_that_changed_a_number_is_named(self):
        raw = bonds_household()
        # TBND has a yield and, here, no `qualified`; MUNI is out of state, no state_rate.
        del raw["securities"][1]["qualified"]
        raw["tax_profile"]["loss_carryforward"] = {"short_term": 5000.0}
        result, _ = solve(raw)
        got = result.summary()["assumptions"]
        assert got == [
            "qualified assumed 1 (the whole yield taxed at the long-term rate as qualified "
            "dividends) for TBND; give 'qualified' (0 for bond interest)",
            "expected returns taken from asset-class defaults for EQ, MUNI, TBND (location "
            "value)",
            "ordinary_rate taken as short_term_rate - niit_rate = 0.4 (retirement-account "
            "distributions, location value)",
            "state_rate assumed 0: interest of out-of-state tax-exempt MUNI is taken as free "
            "of state tax",
            # 0.20 / 1.04^2 = 0.1849
            "losses carried forward valued at 0.1849 a dollar (carryforward_value default: "
            "long-term rate 0.2 discounted 2 years at 0.04)",
        ]

    def test_stated_inputs_leave_nothing_to_say(self):
        raw = bonds_household(ordinary_rate=0.40, state_rate=0.05)
        for s in raw["securities"]:
            s["expected_return"] = {"MUNI": 0.035, "TBND": 0.045, "EQ": 0.07}[s["symbol"]]
        result, _ = solve(raw)
        assert result.summary()["assumptions"] == []

    def test_validate_prints_them(self, tmp_path):
        import json

        from click.testing import CliRunner

        from taxopt.cli import cli
        raw = bonds_household(ordinary_rate=0.40, state_rate=0.05)
        path = tmp_path / "hh.json"
        path.write_text(json.dumps(raw))
        res = CliRunner().invoke(cli, ["validate", str(path)])
        assert res.exit_code == 0, res.output
        assert res.stdout.splitlines() == [
            "hh-loc: valid (2 accounts, 1 lots, 3 securities)",
            "  assumes: expected returns taken from asset-class defaults for EQ, MUNI, TBND "
            "(location value)"]


# --------------------------------------------------------------------------------------
# The two scenarios of this feature (scenarios/README.md describes them).
# --------------------------------------------------------------------------------------

def _scenario(name: str, **options: Any):
    from pathlib import Path
    path = Path(__file__).resolve().parents[2] / "scenarios" / f"{name}.json"
    hh = taxopt.load(path)
    result = taxopt.rebalance(hh, **options)
    assert result.status == "optimal", result.message
    assert violations(hh, result.orders) == []
    return result, result.trades()


def test_scenario_wash_matching():
    result, frame = _scenario("tax_wash_matching")
    rows = {r.lot_id: r for r in frame.itertuples() if r.lot_id}
    # JB-VTI-02: 40 x 345.20 = 13,808 - 15,200 = -1,392 short-term, allowed: the IRA's
    # 30 VTI of 2026-11-14 replaced the 30 shares sold at a loss on 2026-11-04 first.
    assert (rows["JB-VTI-02"].realized_gain, rows["JB-VTI-02"].wash_disallowed) == (-1392.0,
                                                                                     0.0)
    # JB-VXUS-01: 200 x 74.10 = 14,820 - 16,400 = -1,580 long-term. The reinvested share
    # (JB-VXUS-03, 2026-11-14) replaces 1 of the 200 earliest-acquired shares sold:
    # 1,580 / 200 = 7.90 disallowed, deferred: basis 72 + 7.90 = 79.90; held 2,002 days
    # (2021-06-01 to 2026-11-24), so it counts as acquired 2026-11-14 - 2,002 days =
    # 2021-05-22. JB-VXUS-02 (acquired later, -585 short-term) is not washed.
    r = rows["JB-VXUS-01"]
    assert (r.realized_gain, r.wash_disallowed, r.wash_kind, r.replacement_lot_id,
            r.replacement_basis, r.replacement_acquired) == (
        -1580.0, 7.9, "deferred", "JB-VXUS-03", 79.9, "2021-05-22")
    assert (rows["JB-VXUS-02"].realized_gain, rows["JB-VXUS-02"].wash_kind) == (-585.0, "")
    # Before: NLT 10,000 -> 0.238 * 10,000 = 2,380. After (BND 223 sh: +401.40 long):
    # NST -1,977; NLT 10,000 + 401.40 - 1,580 + 7.90 = 8,829.30; total 6,852.30, taxed
    # at 0.238: 1,630.85. est_tax = 1,630.85 - 2,380 = -749.15.
    s = result.summary()
    assert (s["est_tax"], s["wash_disallowed_loss"]) == (-749.15, 7.9)
    assert not set(frame[frame.side == "buy"].symbol) & {"VTI", "VXUS"}


def test_scenario_protect_price():
    result, frame = _scenario("tax_protect_price")
    # Raise $10,000. Per dollar sold: BR-VTI-02 (2025-12-10, long-term from 2026-12-11,
    # 17 days away) gains 256 / 10,356 = 0.0247: 0.408 x 0.0247 = 0.0101 of tax plus the
    # price of not waiting, 0.17 x 0.0247 = 0.0042; BND 0.0915 x 0.238 = 0.0218;
    # BR-VTI-01 (2010) 0.739 x 0.238 = 0.176. The plan sells 18 BR-VTI-02 and 53 BND:
    # 0.408 x 153.60 + 0.238 x 360.40 = 62.67 + 85.78 = $148.44. As a wall, protection
    # sold 9 shares of the 2010 lot and 92 BND: $695.53.
    assert sold_lots(frame) == {"BR-VTI-02": 18.0, "BR-BND-01": 53.0}
    assert result.summary()["est_tax"] == 148.44


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_batch_tables_carry_the_new_fields(tmp_path, fmt):
    # The contract lets every optional 1.1 column appear in its table: niit_rate,
    # ordinary_rate and state_rate in households, in_state in securities.
    from taxopt import synth
    from taxopt.batch.tables import read_tables

    from ..batch.conftest import write_tables
    tables = synth.to_tables([synth.household(5, n_lots=20)])
    for h in tables["households"]:
        h.update(niit_rate=0.038, ordinary_rate=0.35, state_rate=0.05)
    first = tables["securities"][0]["symbol"]
    for s in tables["securities"]:
        s["in_state"] = s["symbol"] == first
    ((_, raw, problem),) = list(read_tables(write_tables(tables, tmp_path, fmt)).items())
    assert problem is None
    hh = taxopt.from_dict(raw)
    assert (hh.tax.niit_rate, hh.tax.ordinary, hh.tax.state) == (0.038, 0.35, 0.05)
    sym = hh.securities.symbol
    assert {sym[i] for i in np.flatnonzero(hh.securities.in_state)} == {first}


def test_audit_names_a_sale_of_another_account_s_or_security_s_lot(raw):
    # Lot A is 100 EQ in tx. Sales naming it from the IRA, or as EQ2, are refused, each
    # in the order's own words; the honest sale of lot B passes.
    from taxopt.domain.orders import Orders

    hh = taxopt.from_dict(raw)
    a, b = hh.lots.lot_id.index("A"), hh.lots.lot_id.index("B")
    tx, ira = hh.accounts.account_id.index("tx"), hh.accounts.account_id.index("ira")
    eq, eq2 = hh.securities.symbol.index("EQ"), hh.securities.symbol.index("EQ2")
    orders = Orders(np.array([ira, tx, tx]), np.array([eq, eq2, eq]),
                    np.zeros(3, bool), np.array([10.0, 5.0, 20.0]), np.array([a, a, b]))
    broken = [v for v in violations(hh, orders) if "the lot is not" in v]
    assert broken == ["sell EQ in ira lot A: the lot is not this account's EQ",
                      "sell EQ2 in tx lot A: the lot is not this account's EQ2"]
