"""Goal-level deposits and withdrawals: taxopt decides which accounts fund them.

Each household is small and in round numbers so that the outcome is computable by
hand (the reasoning is in the comments). One fund, VTI at $100, fractional, so no
rounding moves a dollar; one goal, 100 % us_equity, so tracking is indifferent to
which account sells. Every plan is audited from its orders alone.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

import taxopt
from taxopt.audit import assess, violations
from taxopt.domain.load import from_dict
from taxopt.domain.orders import Orders
from taxopt.errors import InvalidInput
from taxopt.tax.distributions import bracket_tax

# 2025 federal brackets, married filing jointly (taxable income from, rate)
BRACKETS = [[0, 0.10], [23850, 0.12], [96950, 0.22], [206700, 0.24]]


def retiree(**top: Any) -> dict[str, Any]:
    """A taxable account and an IRA, $200,000 of VTI each; taxable lot T1 has a 90 % gain."""
    hh: dict[str, Any] = {
        "format": "taxopt.household/1",
        "household_id": "retiree",
        "as_of": "2026-11-24",
        "tax_profile": {"short_term_rate": 0.24, "long_term_rate": 0.15},
        "securities": [{"symbol": "VTI", "price": 100.0, "asset_class": "us_equity",
                        "fractional": True}],
        "goals": [{"goal_id": "retirement", "targets": {"us_equity": 1.0},
                   "cash_flow": -60000.0}],
        "accounts": [
            {"account_id": "brokerage", "goal_id": "retirement", "tax_type": "taxable",
             "cash": 0.0},
            {"account_id": "ira", "goal_id": "retirement", "tax_type": "tax_deferred",
             "cash": 0.0},
        ],
        "lots": [
            # 2,000 sh, basis $20,000, value $200,000: $0.90 of gain per dollar sold
            {"lot_id": "T1", "account_id": "brokerage", "symbol": "VTI", "shares": 2000,
             "cost_basis": 20000.0, "acquired": "2015-01-02"},
            {"lot_id": "I1", "account_id": "ira", "symbol": "VTI", "shares": 2000},
        ],
        # location off: the hand computations below are the year's tax alone
        "options": {"location_horizon_years": 0},
    }
    for key, value in top.items():
        hh[key] = value
    return hh


def solve(raw: dict[str, Any], **changes: Any):
    hh = from_dict(raw)
    result = taxopt.rebalance(hh, **changes)
    assert result.status == "optimal", result.message
    assert violations(hh, result.orders, options=result.model.options) == []
    return hh, result, result.trades(), result.summary()


def flows(frame, side: str) -> dict[str, float]:
    rows = frame[frame.side == side]
    return dict(zip(rows.account_id, rows.value, strict=True))


def sold(frame) -> dict[str, float]:
    sales = frame[frame.side == "sell"]
    return {(a, lot or "-"): s for a, lot, s in
            zip(sales.account_id, sales.lot_id, sales.shares, strict=True)}


# --- 1. brackets: the IRA up to the top of the 12 % bracket, the rest from taxable ----
def test_ira_fills_the_bracket_and_taxable_pays_the_rest():
    # Other ordinary income $46,950: the 12 % bracket runs to $96,950, so the first
    # $50,000 of IRA payout costs 12 cents a dollar and the next 22 cents. A taxable
    # dollar costs 0.90 x 15 % = 13.5 cents (long-term gain). So: $50,000 from the IRA
    # (tax $6,000) and $10,000 from taxable (gain $9,000, tax $1,350); total $7,350.
    # All from the IRA would cost 6,000 + 10,000 x 22 % = $8,200; all from taxable
    # 60,000 x 13.5 % = $8,100.
    raw = retiree()
    raw["tax_profile"].update(ordinary_brackets=BRACKETS, ordinary_income=46950.0)
    _hh, _result, trades, summary = solve(raw)
    assert flows(trades, "withdraw") == {"brokerage": 10000.0, "ira": 50000.0}
    assert flows(trades, "deposit") == {}
    assert sold(trades) == {("brokerage", "T1"): 100.0, ("ira", "-"): 500.0}
    w = trades[trades.side == "withdraw"].set_index("account_id")
    assert w.loc["ira", "est_tax"] == 6000.0          # 50,000 x 12 %
    assert w.loc["brokerage", "est_tax"] == 0.0       # its sale's row carries the tax
    assert set(w.reason) == {"withdrawal funding"}
    assert set(trades[trades.side == "sell"].reason) == {"withdrawal funding"}
    assert summary["est_tax"] == 1350.0
    assert summary["est_tax_distributions"] == 6000.0
    assert summary["est_tax_total"] == 7350.0
    table = {r["account_id"]: r for r in summary["funding"]}
    assert table["ira"]["distribution_tax"] == 6000.0 and table["ira"]["sale_tax"] == 0.0
    assert table["brokerage"]["sale_tax"] == 1350.0
    assert summary["goals"]["retirement"]["drift_after"] == 0.0
    # the bracket function itself: 23,850 x 10 % + 73,100 x 12 % = 2,385 + 8,772
    assert bracket_tax(np.array(BRACKETS, float), 96950.0) == pytest.approx(11157.0)


def test_a_flat_ordinary_rate_below_the_gain_rate_draws_all_from_the_ira():
    # ordinary_rate 12 % flat < 13.5 cents per taxable dollar: all $60,000 from the IRA.
    raw = retiree()
    raw["tax_profile"]["ordinary_rate"] = 0.12
    _, _, trades, summary = solve(raw)
    assert flows(trades, "withdraw") == {"ira": 60000.0}
    assert summary["est_tax_distributions"] == 7200.0 and summary["est_tax"] == 0.0


def test_the_ordinary_rate_defaults_to_short_term_less_niit_and_the_penalty_applies():
    # ordinary_rate = 0.24 - 0.038 = 20.2 %, plus the 10 % early-withdrawal penalty:
    # 30.2 cents an IRA dollar against 13.5 a taxable one: all from taxable, tax
    # 60,000 x 13.5 % = $8,100. At ordinary_rate 10 % the penalty still tips it
    # (10 + 10 > 13.5); without the penalty the IRA pays (10 < 13.5), tax $6,000.
    raw = retiree()
    raw["tax_profile"].update(niit_rate=0.038)
    raw["accounts"][1]["penalty_applies"] = True
    _, _, trades, summary = solve(raw)
    assert flows(trades, "withdraw") == {"brokerage": 60000.0}
    assert summary["est_tax"] == 8100.0 and summary["est_tax_distributions"] == 0.0
    raw["tax_profile"].update(ordinary_rate=0.10)
    _, _, trades, summary = solve(raw)
    assert flows(trades, "withdraw") == {"brokerage": 60000.0}   # 10 + 10 > 13.5
    raw["accounts"][1]["penalty_applies"] = False
    _, _, trades, summary = solve(raw)
    assert flows(trades, "withdraw") == {"ira": 60000.0}         # 10 < 13.5
    assert summary["est_tax_distributions"] == 6000.0


# --- 2. losses in taxable are harvested to fund the withdrawal -------------------------
def test_taxable_losses_fund_the_withdrawal_first():
    # Taxable also holds lot L1: 200 sh, basis $25,000, value $20,000, a $5,000
    # long-term loss; the year has $10,000 of long-term gains already. Selling L1
    # saves 5,000 x 15 % = $750 and raises $20,000. The other $40,000: IRA at 12 %
    # ($4,800) beats lot T1 at 13.5 % ($5,400). Tax: -750 + 4,800 = $4,050 in all,
    # against 60,000 x 12 % = $7,200 from the IRA alone.
    raw = retiree()
    raw["tax_profile"].update(ordinary_rate=0.12, realized_ytd={"long_term": 10000.0})
    raw["lots"].append({"lot_id": "L1", "account_id": "brokerage", "symbol": "VTI",
                        "shares": 200, "cost_basis": 25000.0, "acquired": "2021-06-01"})
    _, _, trades, summary = solve(raw)
    assert sold(trades) == {("brokerage", "L1"): 200.0, ("ira", "-"): 400.0}
    assert flows(trades, "withdraw") == {"brokerage": 20000.0, "ira": 40000.0}
    assert summary["realized_long_term"] == -5000.0
    assert summary["est_tax"] == -750.0
    assert summary["est_tax_distributions"] == 4800.0
    assert summary["est_tax_total"] == 4050.0


# --- 3. a required distribution is paid even when it is not the cheapest source ---------
def test_required_distribution_is_paid_and_its_excess_deposited_in_taxable():
    # The goal needs $20,000 and the IRA owes a $50,000 RMD. The IRA at 22 % is the
    # dearest source (taxable 13.5 %), but the RMD is paid in full: $50,000 out of the
    # IRA (tax $11,000) and the $30,000 excess deposited into the brokerage account,
    # where it is invested (no sale there: $0 of gains).
    raw = retiree()
    raw["goals"][0]["cash_flow"] = -20000.0
    raw["tax_profile"]["ordinary_rate"] = 0.22
    raw["accounts"][1]["min_withdrawal"] = 50000.0
    hh, result, trades, summary = solve(raw)
    assert flows(trades, "withdraw") == {"ira": 50000.0}
    assert flows(trades, "deposit") == {"brokerage": 30000.0}
    assert sold(trades) == {("ira", "-"): 500.0}
    buys = trades[trades.side == "buy"]
    assert dict(zip(buys.account_id, buys.shares, strict=True)) == {"brokerage": 300.0}
    assert summary["est_tax"] == 0.0 and summary["est_tax_distributions"] == 11000.0
    table = {r["account_id"]: r for r in summary["funding"]}
    assert table["ira"]["required"] == 50000.0
    # the audit recomputes it from the orders: a plan that skips the RMD is caught
    short = result.orders.with_flows(np.array([20000.0, 30000.0]), np.zeros(2))
    broken = violations(hh, short)
    assert ("account ira: pays out 30,000.00, less than its required distribution "
            "min_withdrawal 50,000.00") in broken
    assert "goal retirement: its accounts pay out 50,000.00, the goal withdraws " \
           "50,000.00" not in broken


def test_required_excess_leaves_a_goal_without_taxable_accounts():
    # IRA and Roth only; need $20,000, RMD $50,000: all $50,000 leaves the household.
    raw = retiree()
    raw["goals"][0]["cash_flow"] = -20000.0
    raw["tax_profile"]["ordinary_rate"] = 0.22
    raw["accounts"] = [dict(raw["accounts"][1], min_withdrawal=50000.0),
                       {"account_id": "roth", "goal_id": "retirement",
                        "tax_type": "tax_free", "cash": 0.0}]
    raw["lots"] = [raw["lots"][1], {"lot_id": "R1", "account_id": "roth", "symbol": "VTI",
                                    "shares": 1000}]
    _, _, trades, summary = solve(raw)
    assert flows(trades, "withdraw") == {"ira": 50000.0}
    assert flows(trades, "deposit") == {}
    assert summary["est_tax_distributions"] == 11000.0


# --- 4. a deposit lands within contribution room ---------------------------------------
def test_deposit_fills_roth_room_then_taxable():
    # $30,000 to invest; the Roth has $7,000 of room, the IRA none (the default).
    # With location on (10 years, 7 % expected return, 4 % discount): a Roth dollar is
    # worth ts (1.07^10) / 1.04^10 = 0.24 x 1.9672 / 1.4802 = 0.319 more than an IRA
    # dollar, a taxable one less (its gain is taxed at 15 % at the horizon, its
    # dividends yearly): so the Roth takes its $7,000 and taxable the other $23,000.
    raw = retiree(options={})
    raw["goals"][0]["cash_flow"] = 30000.0
    raw["accounts"].append({"account_id": "roth", "goal_id": "retirement",
                            "tax_type": "tax_free", "cash": 0.0, "max_deposit": 7000.0})
    raw["lots"].append({"lot_id": "R1", "account_id": "roth", "symbol": "VTI",
                        "shares": 100})
    _, _, trades, summary = solve(raw)
    assert flows(trades, "deposit") == {"brokerage": 23000.0, "roth": 7000.0}
    assert flows(trades, "withdraw") == {}
    buys = trades[trades.side == "buy"]
    assert dict(zip(buys.account_id, buys.shares, strict=True)) == {"brokerage": 230.0,
                                                                   "roth": 70.0}
    assert summary["est_tax_total"] == 0.0
    assert set(trades[trades.side == "deposit"].reason) == {"deposit"}


def test_roth_is_not_drained_first():
    # IRA and Roth, $60,000 to raise, ordinary rate 22 %. Today the Roth payout is
    # free, but a Roth dollar is worth 0.24 x 1.9672 / 1.4802 = 0.319 more than an IRA
    # dollar over 10 years (location value at full weight): 31.9 > 22, so the IRA
    # pays. With location off the Roth is free and pays it all.
    raw = retiree(options={})
    raw["tax_profile"]["ordinary_rate"] = 0.22
    raw["accounts"][0] = {"account_id": "roth", "goal_id": "retirement",
                          "tax_type": "tax_free", "cash": 0.0}
    raw["lots"][0] = {"lot_id": "R1", "account_id": "roth", "symbol": "VTI", "shares": 2000}
    _, _, trades, summary = solve(raw)
    assert flows(trades, "withdraw") == {"ira": 60000.0}
    assert summary["est_tax_distributions"] == 13200.0
    _, _, trades, _ = solve(raw, location_horizon_years=0)
    assert flows(trades, "withdraw") == {"roth": 60000.0}


# --- output, read back, audit and input errors -----------------------------------------
def test_trade_table_reads_back_into_the_same_flows():
    raw = retiree()
    raw["tax_profile"].update(ordinary_brackets=BRACKETS, ordinary_income=46950.0)
    hh, _result, trades, _ = solve(raw)
    again = Orders.from_frame(hh, trades)
    assert again.withdraw.tolist() == [10000.0, 50000.0]
    assert again.deposit.tolist() == [0.0, 0.0]
    a = assess(hh, again)
    assert a.est_tax_distributions == 6000.0 and violations(hh, again, a) == []
    row = trades[trades.side == "withdraw"].iloc[0]
    assert row.symbol == "" and row.lot_id == "" and np.isnan(row.shares)


def test_audit_catches_a_plan_that_ignores_the_goal_flow():
    hh = from_dict(retiree())
    broken = violations(hh, Orders.empty())
    assert broken == ["goal retirement: its accounts pay out 0.00, the goal withdraws "
                      "60,000.00"]


def test_contribution_room_is_checked_by_the_audit():
    raw = retiree()
    raw["goals"][0]["cash_flow"] = 1000.0
    hh = from_dict(raw)
    orders = Orders.empty().with_flows(np.zeros(2), np.array([0.0, 1000.0]))
    assert violations(hh, orders) == [
        "account ira: takes in 1,000.00, over its contribution room max_deposit 0.00"]


def test_per_account_cash_flow_still_works_beside_a_goal_flow():
    # The brokerage account's own -$5,000 comes from it; the goal's -$60,000 is split.
    raw = retiree()
    raw["tax_profile"]["ordinary_rate"] = 0.12
    raw["accounts"][0]["cash_flow"] = -5000.0
    _, _, trades, summary = solve(raw)
    assert flows(trades, "withdraw") == {"ira": 60000.0}
    assert sold(trades)[("brokerage", "T1")] == 50.0
    assert summary["est_tax"] == 675.0     # 5,000 x 0.9 x 15 %


@pytest.mark.parametrize("where, field, value, problem", [
    ("accounts", "min_withdrawal", 100.0,
     "a required distribution is paid from a tax_deferred account only"),
    ("accounts", "penalty_applies", True, "applies to tax_deferred accounts only"),
    ("tax_profile", "ordinary_brackets", [[0, 0.2], [1000, 0.1]],
     "rates must not decrease, 0.1 follows 0.2"),
    ("tax_profile", "ordinary_brackets", [[1000, 0.1], [1000, 0.2]],
     "thresholds must increase, 1000 follows 1000"),
])
def test_invalid_flow_fields_name_record_and_field(where, field, value, problem):
    raw = copy.deepcopy(retiree())
    if where == "accounts":
        raw["accounts"][0][field] = value
        record = "accounts[0] (account_id brokerage)"
    else:
        raw["tax_profile"][field] = value
        record = "tax_profile"
    with pytest.raises(InvalidInput) as err:
        from_dict(raw)
    assert (err.value.record, err.value.field) == (record, field)
    assert problem in str(err.value)


# --- solvers, repair and infeasibility -----------------------------------------------
def test_cvxpy_adapter_places_the_same_flows():
    raw = retiree()
    raw["tax_profile"].update(ordinary_brackets=BRACKETS, ordinary_income=46950.0)
    _, _result, trades, summary = solve(raw, adapter="cvxpy")
    assert flows(trades, "withdraw") == {"brokerage": 10000.0, "ira": 50000.0}
    assert summary["est_tax_total"] == 7350.0


def test_whole_share_repair_keeps_the_split():
    # VTI in whole shares at $333.33: $60,000 from the IRA (12 % < 13.5 %) needs
    # 180.0018 shares, so 181 are sold ($60,332.73) and the rest stays in IRA cash.
    from taxopt.decode import decode

    raw = retiree()
    raw["securities"][0].update(fractional=False, price=333.33)
    raw["tax_profile"]["ordinary_rate"] = 0.12
    hh, result, trades, _ = solve(raw)
    orders, _ = decode(result.model, result.solution, result.model.options, repair=True)
    assert orders.withdraw.tolist() == [0.0, 60000.0]
    assert orders.shares.tolist() == [181.0]
    assert violations(hh, orders) == []
    assert sold(trades) == {("ira", "-"): 181.0}


def test_a_deposit_with_no_room_is_infeasible_and_says_so():
    # Only an IRA (contribution room 0 by default) and a $5,000 goal deposit.
    raw = retiree()
    raw["goals"][0]["cash_flow"] = 5000.0
    raw["accounts"], raw["lots"] = raw["accounts"][1:], raw["lots"][1:]
    result = taxopt.rebalance(from_dict(raw))
    assert result.status == "infeasible"
    assert ("goal retirement: its accounts take in 5,000.00 in all (within contribution "
            "room) cannot hold") in result.message


def test_goal_flows_can_be_set_on_a_built_household():
    # what a backtest does each year: the same household, a new withdrawal
    from taxopt.domain.funding import with_goal_flows

    raw = retiree()
    raw["goals"][0]["cash_flow"] = 0.0
    raw["tax_profile"]["ordinary_rate"] = 0.12
    hh = with_goal_flows(from_dict(raw), np.array([-10000.0]))
    result = taxopt.rebalance(hh)
    assert result.orders.withdraw.tolist() == [0.0, 10000.0]     # 12 % < 13.5 %
    assert result.summary()["est_tax_distributions"] == 1200.0


def test_a_goal_flow_stays_within_its_own_goal():
    # A second goal's account (a child's custodial account, $200,000 of VTI with no gain)
    # would be the cheapest source of all, but it is not the retirement goal's.
    raw = retiree()
    raw["tax_profile"]["ordinary_rate"] = 0.12
    raw["goals"].append({"goal_id": "college", "targets": {"us_equity": 1.0}})
    raw["accounts"].append({"account_id": "utma", "goal_id": "college",
                            "tax_type": "taxable", "cash": 0.0})
    raw["lots"].append({"lot_id": "U1", "account_id": "utma", "symbol": "VTI",
                        "shares": 2000, "cost_basis": 200000.0, "acquired": "2020-01-02"})
    _, _, trades, summary = solve(raw)
    assert flows(trades, "withdraw") == {"ira": 60000.0}
    assert summary["accounts"]["utma"]["orders"] == 0
    assert [r["account_id"] for r in summary["funding"]] == ["ira"]   # accounts that moved money
