"""The tax pieces of the model, checked against hand-computed plans and the audit.

The household of most tests: one taxable account must raise a $2,000 withdrawal
from EQ @ $100 by selling one of two 20-share lots:
  S: short-term, basis $1,000 -> gain $1,000 (40 % rate)
  L: long-term,  basis   $500 -> gain $1,500 (20 % rate)
with a long-term loss of $1,000 already realized this year.

Per lot (the "lot" model): S costs 0.40 * 1,000 = $400, L costs 0.20 * 1,500 = $300.
Netted for the year (the "exact" model), before the plan NLT = -1,000 so the
year's tax is -0.40 * 1,000 = -$400 (ordinary offset). Selling S: NST = 1,000,
NLT = -1,000, total 0, tax 0: the plan adds $400. Selling L: NLT = 500, tax
0.20 * 500 = $100: the plan adds $500. So the exact model sells S, the lot model L.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import taxopt
from taxopt.audit import assess, violations
from taxopt.model import build
from taxopt.tax.netting import plan_tax

WITHDRAWAL = {
    "format": "taxopt.household/1",
    "household_id": "hh-tax",
    "as_of": "2026-11-24",
    "tax_profile": {"short_term_rate": 0.40, "long_term_rate": 0.20,
                    "realized_ytd": {"short_term": 0.0, "long_term": -1000.0}},
    "securities": [{"symbol": "EQ", "price": 100.0, "asset_class": "equity"}],
    "goals": [{"goal_id": "g", "targets": {"equity": 1.0}}],
    "accounts": [{"account_id": "tx", "goal_id": "g", "tax_type": "taxable", "cash": 0.0,
                  "cash_flow": -2000.0}],
    "lots": [
        {"lot_id": "S", "account_id": "tx", "symbol": "EQ", "shares": 20,
         "cost_basis": 1000.0, "acquired": "2026-06-01"},
        {"lot_id": "L", "account_id": "tx", "symbol": "EQ", "shares": 20,
         "cost_basis": 500.0, "acquired": "2020-01-02"},
    ],
}


def solve(raw, **options):
    raw = copy.deepcopy(raw)
    raw["options"] = options
    hh = taxopt.from_dict(raw)
    result = taxopt.rebalance(hh)
    assert result.status == "optimal", result.message
    assert violations(hh, result.orders) == []
    frame = result.trades()
    sold = {r.lot_id: r.shares for r in frame.itertuples() if r.side == "sell"}
    return result, sold


def test_exact_netting_sells_the_short_term_lot():
    result, sold = solve(WITHDRAWAL, tax_model="exact")
    assert sold == {"S": 20.0}
    s = result.summary()
    assert s["est_tax"] == 400.00
    assert s["realized_short_term"] == 1000.00
    assert s["year_tax_before"] == -400.00 and s["year_tax_after"] == 0.00


def test_lot_model_sells_the_long_term_lot_and_pays_more():
    result, sold = solve(WITHDRAWAL, tax_model="lot")
    assert sold == {"L": 20.0}
    assert result.summary()["est_tax"] == 500.00
    row = result.trades().iloc[0]
    assert (row.term, row.realized_gain, row.est_tax) == ("long", 1500.0, 300.0)


def test_long_term_gain_budget_forces_the_other_lot():
    _, sold = solve(WITHDRAWAL, tax_model="lot", max_realized_long_term=0.0)
    assert sold == {"S": 20.0}


def test_no_short_term_gains_switch():
    _, sold = solve(WITHDRAWAL, tax_model="exact", no_short_term_gains=True)
    assert sold == {"L": 20.0}


def test_tax_budget_makes_withdrawal_infeasible_and_says_why():
    raw = copy.deepcopy(WITHDRAWAL)
    raw["options"] = {"max_tax": 100.0}
    result = taxopt.rebalance(taxopt.from_dict(raw))
    assert result.status == "infeasible"
    assert "estimated tax <= 100.00" in result.message


def test_lot_about_to_turn_long_term_is_protected():
    raw = copy.deepcopy(WITHDRAWAL)
    raw["lots"][0]["acquired"] = "2025-12-01"   # long-term from 2026-12-02: 8 days away
    _, sold = solve(raw, tax_model="exact")
    assert sold == {"L": 20.0}
    _, sold = solve(raw, tax_model="exact", protect_long_term_days=0)
    assert sold == {"S": 20.0}


@pytest.mark.parametrize(("method", "lot"), [("fifo", "L"), ("hifo", "S")])
def test_forced_lot_relief(method, lot):
    # L was bought first (FIFO); S has the higher cost per share, $50 vs $25 (HIFO).
    # Under the lot model the optimizer alone would pick L.
    _, sold = solve(WITHDRAWAL, tax_model="lot", lot_relief=method)
    assert sold == {lot: 20.0}


def test_loss_washed_by_recent_purchase_is_valued_at_zero_and_reported():
    # W: 20 sh, basis $2,500 -> value $2,000, short-term loss $500. 5 EQ were bought in
    # the IRA 10 days ago: 5 of the 20 shares are replacement shares, so 5/20 of the
    # loss ($125) is disallowed; the rest ($375) stands.
    raw = copy.deepcopy(WITHDRAWAL)
    raw["tax_profile"]["realized_ytd"] = {"short_term": 5000.0, "long_term": 0.0}
    raw["lots"] = [{"lot_id": "W", "account_id": "tx", "symbol": "EQ", "shares": 20,
                    "cost_basis": 2500.0, "acquired": "2026-05-01"}]
    raw["accounts"].append({"account_id": "ira", "goal_id": "g", "tax_type": "tax_deferred",
                            "cash": 0.0})
    raw["lots"].append({"lot_id": "I", "account_id": "ira", "symbol": "EQ", "shares": 5})
    raw["recent_trades"] = [{"account_id": "ira", "symbol": "EQ", "side": "buy", "shares": 5,
                             "date": "2026-11-14"}]
    result, sold = solve(raw)
    assert sold == {"W": 20.0}
    row = result.trades().iloc[0]
    assert (row.realized_gain, row.wash_disallowed, row.est_tax) == (-500.0, 125.0, -150.0)
    s = result.summary()
    assert s["realized_short_term"] == -375.00
    assert s["est_tax"] == pytest.approx(-0.40 * 375, abs=0.005)
    assert s["wash_sale_restrictions"][0]["do_not_buy_before"] == "2026-12-25"


@pytest.mark.parametrize("seed", range(25))
def test_exact_term_equals_schedule_d_netting(seed):
    """With the sales fixed, the model's tax term is the netting function, exactly."""
    rng = np.random.default_rng(seed)
    raw = copy.deepcopy(WITHDRAWAL)
    ts, tl = sorted(rng.uniform(0.0, 0.5, 2))[::-1] if seed % 5 else (0.25, 0.30)
    raw["tax_profile"] = {
        "short_term_rate": float(ts), "long_term_rate": float(tl),
        "realized_ytd": {"short_term": float(rng.normal(0, 3000)),
                         "long_term": float(rng.normal(0, 3000))},
        "loss_carryforward": {"short_term": float(abs(rng.normal(0, 1000))),
                              "long_term": float(abs(rng.normal(0, 1000)))},
    }
    raw["accounts"][0]["cash_flow"] = 0.0
    raw["lots"][0]["cost_basis"] = float(rng.uniform(500, 4000))
    raw["lots"][1]["cost_basis"] = float(rng.uniform(500, 4000))
    hh = taxopt.from_dict(raw)
    model = build(hh)
    prog = model.program
    sell = prog.vars["sell"]
    shares = rng.integers(0, 21, 2).astype(float)
    fixed = shares * 100.0
    sell.lb[:] = fixed
    sell.ub[:] = fixed
    from taxopt.adapters import solve_program

    sol = solve_program(prog, hh.options)
    modelled = prog.evaluate(sol.x)["tax"]
    from taxopt.domain.orders import Orders

    lay = model.context.layout
    orders = Orders.make(lay.unit_account, lay.unit_security, np.zeros(2, bool),
                         shares, lay.unit_lot, hh)
    a = assess(hh, orders)
    assert modelled == pytest.approx(a.est_tax, abs=1e-4)
    assert a.est_tax == pytest.approx(plan_tax(hh.tax, a.realized_short, a.realized_long))


def test_forced_relief_reports_its_cost_against_optimal():
    # FIFO sells L under the exact model: it adds $500; the optimizer's own choice (S)
    # adds $400, so FIFO costs $100 more.
    result, sold = solve(WITHDRAWAL, tax_model="exact", lot_relief="fifo")
    assert sold == {"L": 20.0}
    assert result.summary()["lot_relief"] == {
        "method": "fifo", "est_tax": 500.0, "drift_after": 0.0,
        "optimal_est_tax": 400.0, "optimal_drift_after": 0.0, "difference": 100.0}


def test_summary_reports_the_year_by_term():
    result, _ = solve(WITHDRAWAL, tax_model="exact")
    year = result.summary()["year"]
    assert year["before"] == {"net_short_term": 0.0, "net_long_term": -1000.0, "tax": -400.0,
                              "carryforward_short_term": 0.0, "carryforward_long_term": 0.0}
    assert year["after"]["net_short_term"] == 1000.0 and year["after"]["tax"] == 0.0
