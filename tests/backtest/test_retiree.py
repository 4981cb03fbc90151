"""Retirees in the backtest: goal-level withdrawals that each method sources itself, the
tax on IRA payouts and the state tax on out-of-state munis in the ledger."""

from __future__ import annotations

import numpy as np
import pytest

from taxopt.audit import assess, violations
from taxopt.backtest import BacktestConfig
from taxopt.backtest.ledger import Ledger
from taxopt.backtest.run import specs
from taxopt.backtest.simulate import simulate_household
from taxopt.domain import from_dict
from taxopt.domain.household import TAX_DEFERRED
from taxopt.domain.orders import Orders

DAY = np.datetime64("2026-11-24")


def retiree() -> dict:
    """Taxable: 100 M (out-of-state muni) and 100 N (in-state muni) at $50; IRA: $2,000
    cash and 100 M. Ordinary rate 30 %, state rate 5 %."""
    return {
        "format": "taxopt.household/1", "household_id": "ret", "as_of": str(DAY),
        "tax_profile": {"short_term_rate": 0.30, "long_term_rate": 0.15,
                        "ordinary_rate": 0.30, "state_rate": 0.05},
        "securities": [
            {"symbol": "M", "price": 50.0, "asset_class": "us_bonds", "yield": 0.036,
             "tax_exempt": True, "fractional": True},
            {"symbol": "N", "price": 50.0, "asset_class": "us_bonds", "yield": 0.036,
             "tax_exempt": True, "in_state": True, "fractional": True}],
        "goals": [{"goal_id": "g", "targets": {"us_bonds": 1.0}}],
        "accounts": [{"account_id": "tx", "goal_id": "g", "tax_type": "taxable", "cash": 0.0},
                     {"account_id": "ira", "goal_id": "g", "tax_type": "tax_deferred",
                      "cash": 2000.0}],
        "lots": [{"lot_id": "A", "account_id": "tx", "symbol": "M", "shares": 100,
                  "cost_basis": 5000.0, "acquired": "2020-01-02"},
                 {"lot_id": "B", "account_id": "tx", "symbol": "N", "shares": 100,
                  "cost_basis": 5000.0, "acquired": "2020-01-02"},
                 {"lot_id": "I", "account_id": "ira", "symbol": "M", "shares": 100}],
    }


def test_one_step_ira_payout_and_out_of_state_muni_taxed_once():
    led = Ledger(from_dict(retiree()))
    # before: taxable $10,000 (no gain) + IRA $7,000 x (1 - 30 %) = $14,900
    assert led.after_tax_wealth(DAY) == pytest.approx(14_900.0)
    hh = led.household(DAY, goal_flow=np.array([-1000.0]))
    assert hh.funding is not None and hh.funding.goal_flow.tolist() == [-1000.0]
    # the IRA pays the goal's $1,000 from its cash: 30 % x $1,000 = $300 of tax
    orders = Orders.empty().with_flows(np.array([0.0, 1000.0]), np.zeros(2))
    a = assess(hh, orders)
    assert violations(hh, orders, a) == []
    assert a.est_tax_distributions == pytest.approx(300.0)
    led.apply(hh, orders, a)
    assert led.cash.tolist() == pytest.approx([0.0, 1000.0])
    assert led.distribution_tax() == pytest.approx(300.0)
    # taxed once: wealth falls by the $1,000 paid out (IRA $700 after tax + $300 owed),
    # not by $1,300 (the IRA left is still valued at 1 - 30 %)
    assert led.after_tax_wealth(DAY) == pytest.approx(13_900.0)

    # one month: 0.3 % of each fund's price paid. Taxable M: $5,000 x 0.003 = $15, state
    # tax 5 % = $0.75; taxable N is in-state: $15 untaxed; the IRA's M: untaxed
    frac = np.array([0.003, 0.003])
    led.move(np.array([0.003, 0.003]), frac)
    assert led.cash.tolist() == pytest.approx([30.0, 1015.0])
    assert led.dist_state == pytest.approx(0.75)
    assert led.dist_qualified == 0 and led.dist_ordinary == 0
    ny, dist = led.close_year()
    assert dist == pytest.approx(300.75)
    assert ny.tax == 0 and led.distribution_tax() == 0


def test_tiny_retiree_run_every_plan_audited():
    methods = ("taxopt", "rule_of_thumb_locator", "proportional_sourcing")
    config = BacktestConfig(households=2, years=1, step_months=3, population="rich",
                            di_stocks=0, methods=methods)
    seen: dict[str, list[float]] = {m: [] for m in methods}   # IRA share of each payout
    payout_tax: dict[str, float] = dict.fromkeys(methods, 0.0)

    for s in specs(config):
        s = type(s)(**{**s.__dict__, "traits": type(s.traits)("retiree", "calm", False)})
        plans: list[str] = []

        def check(t, hh, orders, a, ok, led, plans=plans):
            assert ok
            assert violations(hh, orders, a) == []
            need = -float(hh.funding.goal_flow.sum())
            assert need > 0 and hh.accounts.cash_flow.tolist() == [0.0] * len(hh.accounts)
            assert float(a.withdrawn.sum()) == pytest.approx(need, abs=0.02)
            ira = hh.accounts.tax_type == TAX_DEFERRED
            # flat rate: the payouts' tax is the ordinary rate on the IRA's part
            assert a.est_tax_distributions == pytest.approx(
                hh.tax.ordinary * float(a.withdrawn[ira].sum()), abs=0.01)
            method = methods[len(plans) // 4]
            plans.append(method)
            seen[method].append(float(a.withdrawn[ira].sum()) / need)
            payout_tax[method] += a.est_tax_distributions

        run = simulate_household(s, on_step=check)
        assert len(plans) == 3 * 4
        for r in run.runs.values():
            assert r.failures == 0 and r.unpaid == 0 and np.isfinite(r.terminal)
    # taxable first: the IRA pays nothing while the taxable account can; pro rata: it pays
    assert max(seen["rule_of_thumb_locator"]) == 0.0
    assert min(seen["proportional_sourcing"]) > 0.02
    assert payout_tax["proportional_sourcing"] > 0


def test_tax_bill_beyond_the_taxable_accounts_is_unpaid_not_below_min_cash():
    raw = retiree()
    raw["accounts"][0]["min_cash"] = 100.0
    led = Ledger(from_dict(raw))
    # taxable: $10,000 of munis, $9,900 above min_cash; the IRA does not pay tax bills
    flow = led.tax_flows(20_000.0)
    assert flow.tolist() == pytest.approx([-9_900.0, 0.0])
    assert led.unpaid == pytest.approx(10_100.0)
    assert led.tax_flows(-50.0).tolist() == pytest.approx([50.0, 0.0])   # a credit lands


def test_a_failed_step_settles_the_goal_flow_pro_rata_and_taxes_the_ira_part():
    led = Ledger(from_dict(retiree()))
    led.settle(DAY, np.zeros(2), goal_flow=np.array([-1000.0]))
    # pro rata to what each can pay: taxable $10,000, IRA $7,000 -> IRA $411.76 (from its
    # cash), taxed 30 % = $123.53; taxable $588.24 raised by a pro-rata sale of its lots
    assert led.distribution_tax() == pytest.approx(0.30 * round(7000 / 17, 2), abs=0.01)
    assert led.cash[1] == pytest.approx(2000.0 - round(7000 / 17, 2), abs=0.01)
    assert led.account_values().sum() == pytest.approx(17_000.0 - 1000.0, abs=0.01)
    assert led.unpaid == 0.0
