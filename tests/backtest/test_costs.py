"""Trading costs in the backtest, by hand, and the IRA's after-tax rate in the risky share.

Household (conftest): taxable ``tx`` holds 120 EQ @ $100 (lot A 100 shares, basis $6,000,
long-term; lot B 20 shares, basis $2,400, short-term); ``ira`` holds 500 BD @ $10.
Rates: 40 % short-term, 20 % long-term; as_of 2026-11-24.
"""

from __future__ import annotations

import numpy as np
import pytest

from taxopt.audit import assess
from taxopt.backtest import (
    BacktestConfig,
    Ledger,
    MarketParams,
    SimSpec,
    run_backtest,
    summary_rows,
)
from taxopt.backtest.report import HOUSEHOLD_COLUMNS, SUMMARY_COLUMNS, household_rows
from taxopt.backtest.simulate import simulate_household
from taxopt.domain import from_dict
from taxopt.synth import household

from .test_ledger import DAY, orders

TEN_BPS = 10 / 1e4


def plan(raw, rows, cost_rate: float) -> Ledger:
    """A ledger of ``raw`` after booking ``rows`` (see `test_ledger.orders`) at ``cost_rate``."""
    led = Ledger(from_dict(raw), cost_rate)
    hh = led.household(DAY)
    o = orders(hh, rows)
    led.apply(hh, o, assess(hh, o))
    return led


def test_a_plan_pays_its_cost_from_each_account_by_hand(raw):
    raw["accounts"][0]["cash"] = 1000.0
    # tx: sell 30 EQ of lot A ($3,000), buy 10 EQ2 ($500); ira: sell 200 BD ($2,000)
    rows = [(0, 0, False, 30, 0), (0, 1, True, 10, -1), (1, 2, False, 200, -1)]
    free, led = plan(raw, rows, 0.0), plan(raw, rows, TEN_BPS)
    # 10 bps of $3,500 traded in tx = $3.50; of $2,000 in the ira = $2.00
    assert free.cash.tolist() == pytest.approx([1000 + 3000 - 500, 2000.0], abs=1e-9)
    assert led.cash.tolist() == pytest.approx([3500 - 3.50, 2000 - 2.00], abs=1e-9)
    assert led.costs == pytest.approx(5.50)
    assert led.owed.tolist() == [0.0, 0.0]
    # after tax: the taxable dollar in full, the IRA dollar at 1 - 40 %
    loss = free.after_tax_wealth(DAY) - led.after_tax_wealth(DAY)
    assert loss == pytest.approx(3.50 + 0.60 * 2.00, abs=1e-9)
    # the tax books do not see the cost (not deductible in this model)
    assert (led.ytd_short, led.ytd_long) == (free.ytd_short, free.ytd_long)
    np.testing.assert_array_equal(led.basis, free.basis)


def test_cost_beyond_cash_above_min_cash_is_owed_until_cash_comes(raw):
    raw["accounts"][0].update(cash=600.0, min_cash=100.0)
    rows = [(0, 1, True, 10, -1)]                      # 10 EQ2 at $50: cash ends at min_cash
    free, led = plan(raw, rows, 0.0), plan(raw, rows, TEN_BPS)
    assert led.cash.tolist() == pytest.approx([100.0, 0.0])   # never below min_cash
    assert led.owed.tolist() == pytest.approx([0.50, 0.0])
    assert free.after_tax_wealth(DAY) - led.after_tax_wealth(DAY) == pytest.approx(0.50)
    assert (free.pre_liquidation_wealth(DAY) - led.pre_liquidation_wealth(DAY)
            == pytest.approx(0.50))
    led.pay_owed()                                     # no cash above the floor: still owed
    assert led.owed.tolist() == pytest.approx([0.50, 0.0])
    # $12 of new cash (a distribution, say) pays it
    led.cash[0] += 12.0
    before = led.after_tax_wealth(DAY)
    led.pay_owed()
    assert led.cash.tolist() == pytest.approx([111.50, 0.0])
    assert led.owed.tolist() == [0.0, 0.0]
    assert led.after_tax_wealth(DAY) == pytest.approx(before)   # paying moves no wealth


def test_cost_partly_paid_from_cash_above_the_floor(raw):
    raw["accounts"][0].update(cash=600.3, min_cash=100.0)
    led = plan(raw, [(0, 1, True, 10, -1)], TEN_BPS)   # $0.30 above the floor, cost $0.50
    assert led.cash[0] == pytest.approx(100.0)
    assert led.owed[0] == pytest.approx(0.20)


def test_forced_sales_of_a_tax_bill_pay_costs_too(raw):
    raw["accounts"][0]["cash"] = 500.0
    led = Ledger(from_dict(raw), TEN_BPS)
    led.settle(DAY, led.tax_flows(1200.0))
    # $700 short: 6 of lot A and 2 of lot B sold (test_ledger), $800 at 10 bps = $0.80,
    # paid from the $100 the sale leaves in cash
    assert led.traded == pytest.approx(800.0)
    assert led.costs == pytest.approx(0.80)
    assert led.cash[0] == pytest.approx(500 - 1200 + 800 - 0.80)


def test_single_stocks_can_have_their_own_rate():
    m = MarketParams(trading_cost_bps=5.0, stock_trading_cost_bps=2.0)
    assert m.cost_rate(np.array([True, False])).tolist() == pytest.approx([0.0002, 0.0005])
    assert MarketParams().cost_rate(np.array([True, False])).tolist() == pytest.approx(
        [0.0005, 0.0005])
    with pytest.raises(ValueError, match="trading_cost_bps must be between 0 and 10,000"):
        MarketParams(trading_cost_bps=-1.0).check()


def test_risky_share_counts_ira_dollars_at_one_less_the_ordinary_rate(raw):
    # NIIT 3.8 % is inside the 40 % short-term rate; an IRA payout does not pay it:
    # ordinary rate 36.2 %, an IRA dollar worth 0.638
    raw["tax_profile"]["niit_rate"] = 0.038
    raw["accounts"][1]["cash"] = 1000.0                # IRA cash counts as safe
    led = Ledger(from_dict(raw))
    safe_after = (5000 + 1000) * 0.638
    assert led.after_tax_risky_share() == pytest.approx(12_000 / (12_000 + safe_after))
    # wealth uses the same IRA rate: lot A +4,000 and lot B -400 net 3,600 long-term at 20 %
    assert led.after_tax_wealth(DAY) == pytest.approx(12_000 - 720 + safe_after)


def tiny_spec(bps: float, methods: tuple[str, ...]) -> SimSpec:
    raw = household(5, n_lots=25, household_id="t-5")
    return SimSpec(0, raw, 2, 3, 0, methods, MarketParams(trading_cost_bps=bps))


def test_zero_cost_reproduces_the_frictionless_backtest():
    """The values main gave before trading costs existed (2026-12-06, lockstep and the
    rule-of-thumb locator on one household, two years quarterly, with its tax bills)."""
    h = simulate_household(tiny_spec(0.0, ("lockstep_fifo", "rule_of_thumb_locator")))
    lock, rot = h.runs["lockstep_fifo"], h.runs["rule_of_thumb_locator"]
    assert lock.terminal == pytest.approx(467582.8618949993, rel=1e-12)
    assert lock.traded == pytest.approx(409502.9449426546, rel=1e-12)
    assert lock.pre_liquidation == pytest.approx(471544.0779839682, rel=1e-12)
    assert rot.terminal == pytest.approx(468421.0320680671, rel=1e-12)
    assert rot.traded == pytest.approx(661127.3012549813, rel=1e-12)
    assert lock.trading_costs == rot.trading_costs == 0.0


@pytest.mark.parametrize("method", ["lockstep_fifo", "taxopt"])
def test_every_method_pays_its_trades_cost(method):
    """Costs = 10 bps of the dollars each booked plan trades, from the plans' own orders."""
    logged: list[float] = []

    def log(t, hh, o, a, ok, book):
        if ok:
            logged.append(float(np.sum(o.shares * hh.securities.price[o.security])))

    h = simulate_household(tiny_spec(10.0, (method,)), on_step=log)
    run = h.runs[method]
    free = simulate_household(tiny_spec(0.0, (method,))).runs[method]
    assert run.failures == 0 and run.unpaid == 0.0
    # forced sales (tax bills) are traded too: every traded dollar is charged
    assert run.trading_costs == pytest.approx(run.traded * TEN_BPS, rel=1e-12)
    assert run.trading_costs >= sum(logged) * TEN_BPS * (1 - 1e-12)
    assert run.trading_costs > 100.0                     # ~$0.2-0.4m traded
    assert run.terminal < free.terminal


def test_reports_carry_the_costs():
    res = run_backtest(BacktestConfig(households=1, years=1, step_months=6,
                                      methods=("lockstep_fifo",),
                                      market=MarketParams(trading_cost_bps=10.0)))
    run = res.households[0].runs["lockstep_fifo"]
    assert "trading_costs" in SUMMARY_COLUMNS and "trading_costs" in HOUSEHOLD_COLUMNS
    assert summary_rows(res)[0]["trading_costs"] == run.trading_costs > 0
    assert household_rows(res)[0]["trading_costs"] == run.trading_costs


def test_cli_sets_the_trading_cost():
    from click.testing import CliRunner

    from taxopt.cli import cli

    args = ["backtest", "--households", "1", "--years", "1", "--step-months", "6",
            "--methods", "lockstep_fifo", "--quiet"]
    r = CliRunner().invoke(cli, [*args, "--trading-cost-bps", "2.5"])
    assert r.exit_code == 0, r.output
    assert "every trade pays a trading cost of 2.5 bps of its value (one way)" in r.output
    r = CliRunner().invoke(cli, args)
    assert "a trading cost of 5 bps" in r.output
    r = CliRunner().invoke(cli, [*args, "--trading-cost-bps", "-1"])
    assert r.exit_code == 2
