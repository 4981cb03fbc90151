"""The richer simulation: dividend reinvestment and wash sales, regimes, direct indexing,
life-stage flows, and a tiny rich run with every plan audited."""

from __future__ import annotations

import numpy as np
import pytest

from taxopt.audit import assess, violations
from taxopt.backtest import BacktestConfig, MarketParams, run_backtest
from taxopt.backtest.ledger import Ledger
from taxopt.backtest.market import REGIMES, class_returns, class_returns_in, regime_shock
from taxopt.backtest.population import (
    RETIREE_RATE,
    SAVER_RATE,
    life_flows,
    traits,
    with_direct_index,
)
from taxopt.backtest.run import specs
from taxopt.backtest.simulate import simulate_household
from taxopt.domain import from_dict
from taxopt.domain.household import TAX_DEFERRED, TAX_FREE, TAXABLE
from taxopt.domain.orders import Orders
from taxopt.synth import household


def one_fund(price: float = 100.0) -> dict:
    return {
        "format": "taxopt.household/1", "household_id": "drip", "as_of": "2026-11-24",
        "tax_profile": {"short_term_rate": 0.35, "long_term_rate": 0.15},
        "securities": [{"symbol": "X", "price": price, "asset_class": "us_equity",
                        "yield": 0.02, "qualified": 1.0, "fractional": True},
                       {"symbol": "Y", "price": 50.0, "asset_class": "us_bonds"}],
        "goals": [{"goal_id": "g", "targets": {"us_equity": 0.5, "us_bonds": 0.5}}],
        "accounts": [{"account_id": "tx", "goal_id": "g", "tax_type": "taxable", "cash": 0.0},
                     {"account_id": "ira", "goal_id": "g", "tax_type": "tax_deferred",
                      "cash": 0.0}],
        "lots": [{"lot_id": "A", "account_id": "tx", "symbol": "X", "shares": 10,
                  "cost_basis": 1500.0, "acquired": "2025-01-02"},
                 {"lot_id": "C", "account_id": "tx", "symbol": "Y", "shares": 20,
                  "cost_basis": 1000.0, "acquired": "2025-01-02"},
                 {"lot_id": "I", "account_id": "ira", "symbol": "X", "shares": 5}],
    }


def sell_lot_a(book: Ledger) -> None:
    hh = book.household(book.base.as_of)
    orders = Orders.make(np.array([0]), np.array([0]), np.array([False]), np.array([10.0]),
                         np.array([0]), hh)
    book.apply(hh, orders, assess(hh, orders))


def test_reinvestment_after_a_loss_sale_washes_it_share_for_share():
    book = Ledger(from_dict(one_fund()))
    sell_lot_a(book)                        # 10 X at $100, basis $1,500: a long-term loss -500
    assert book.ytd_long == pytest.approx(-500.0)
    d = np.datetime64("2026-12-14")         # 20 days later: inside the window
    amount = np.zeros((2, 2))
    amount[0, 0] = 300.0                    # $300 reinvested in X in the taxable account
    book.cash[0] += 300.0
    book.reinvest(d, amount)
    # 3 shares replace 3 of the 10 sold: 3 x $50 = $150 disallowed, added to the new lot's
    # basis ($300 + $150) and back to the year (-500 + 150)
    assert book.ytd_long == pytest.approx(-350.0)
    new = np.flatnonzero(book.acquired == d)
    assert len(new) == 1 and book.shares[new[0]] == pytest.approx(3.0)
    assert book.basis[new[0]] == pytest.approx(450.0)
    # $800 more five days later: only 7 shares are still open, so $350 more, not $400
    amount[0, 0] = 800.0
    book.cash[0] += 800.0
    book.reinvest(np.datetime64("2026-12-19"), amount)
    assert book.ytd_long == pytest.approx(0.0)
    assert book.washed_after == pytest.approx(500.0)
    # the optimizer's next household sees the purchases as recent buys, and no open loss
    hh = book.household(np.datetime64("2026-12-20"))
    r = hh.recent
    assert r.is_buy.sum() == 2 and not np.any(r.realized_gain < 0)


def test_reinvestment_in_the_ira_washes_the_loss_for_good():
    book = Ledger(from_dict(one_fund()))
    sell_lot_a(book)
    amount = np.zeros((2, 2))
    amount[1, 0] = 200.0                    # 2 shares bought in the IRA: $100 lost for good
    book.cash[1] += 200.0
    book.reinvest(np.datetime64("2026-12-01"), amount)
    assert book.ytd_long == pytest.approx(-400.0)
    assert np.nansum(book.basis) == pytest.approx(1000.0)   # only the bond lot has a basis


def test_reinvestment_outside_the_window_washes_nothing():
    book = Ledger(from_dict(one_fund()))
    sell_lot_a(book)
    amount = np.zeros((2, 2))
    amount[0, 0] = 300.0
    book.cash[0] += 300.0
    book.reinvest(np.datetime64("2026-12-25"), amount)    # 31 days after
    assert book.ytd_long == pytest.approx(-500.0)


def test_move_reinvests_distributions_and_still_taxes_them():
    book = Ledger(from_dict(one_fund()))
    frac = np.array([0.02 / 12, 0.0])
    book.move(np.array([0.01, 0.0]), frac, np.datetime64("2026-12-24"), reinvest=True)
    # X paid 10 x 100 x 0.02/12 = $1.6667 in taxable, 5 x ... = $0.8333 in the IRA,
    # reinvested at the new price 100 x (1 + 0.01 - 0.02/12)
    p = 100 * (1 + 0.01 - 0.02 / 12)
    assert book.cash == pytest.approx([0.0, 0.0])
    assert book.dist_qualified == pytest.approx(10 * 100 * 0.02 / 12)
    x_tx = book.shares[(book.account == 0) & (book.security == 0)].sum()
    assert x_tx == pytest.approx(10 + 10 * 100 * 0.02 / 12 / p)
    assert book.reinvested == pytest.approx(15 * 100 * 0.02 / 12)


def test_drawdown_regimes_shock_and_recover():
    p = MarketParams()
    for name, (down, up, shock) in REGIMES.items():
        add, scale = regime_shock(p, name, 120, 1, np.random.default_rng(3))
        us = p.classes.index("us_equity")
        assert add[:, us].sum() == pytest.approx(0.0, abs=1e-12)   # recovered by the end
        if down:
            start = int(np.flatnonzero(add[:, us] < 0)[0])
            assert add[start:start + down, us].sum() == pytest.approx(shock)
            assert 12 <= start <= 120 - down - up
            assert scale[start, us] > 1.0
    calm = class_returns(p, 60, 1, np.random.default_rng(5))
    assert np.array_equal(class_returns_in(p, 60, 1, np.random.default_rng(5), "calm"), calm)
    gfc = class_returns_in(p, 60, 1, np.random.default_rng(5), "gfc")
    trough = np.cumsum(np.log1p(gfc[:, 0])).min()
    assert trough < np.log(0.75)            # a deep drawdown somewhere on the path


def test_direct_index_sleeve_keeps_value_and_spreads_gains():
    raw = household(4, n_lots=30, n_accounts=3)
    rng = np.random.default_rng(0)
    di, symbols = with_direct_index(raw, 80, rng)
    assert len(symbols) == 80
    before, after = from_dict(raw), from_dict(di)          # still a valid household
    assert Ledger(after).account_values() == pytest.approx(Ledger(before).account_values(),
                                                           rel=1e-6)
    sec = after.securities
    stock = np.isin(np.asarray(sec.symbol), symbols)
    assert len(set(np.asarray(sec.wash_group)[stock])) == 80   # each its own wash group
    lots = after.lots
    in_stock = stock[lots.security]
    gain = lots.shares * sec.price[lots.security] - lots.basis
    assert (gain[in_stock] < 0).sum() >= 10 and (gain[in_stock] > 0).sum() >= 10


def test_life_flows():
    start = np.array([600_000.0, 300_000.0, 100_000.0])
    types = np.array([TAXABLE, TAX_DEFERRED, TAX_FREE])
    saver = life_flows("saver", start, types, 12, 1)
    assert saver[:, 0] == pytest.approx(np.full(12, SAVER_RATE * 1e6 / 12))
    assert not saver[:, 1:].any()
    retiree = life_flows("retiree", start, types, 12, 1)
    # 4 % of $1m a year, from taxable and IRA pro rata (2:1), monthly
    assert retiree[0] == pytest.approx([-RETIREE_RATE * 1e6 / 12 * 2 / 3,
                                        -RETIREE_RATE * 1e6 / 12 / 3, 0.0])


def test_traits_are_seeded_and_mixed():
    t = [traits(0, i) for i in range(200)]
    assert t == [traits(0, i) for i in range(200)]
    assert {x.regime for x in t} == {"calm", "gfc", "covid"}
    assert 0.3 < np.mean([x.direct_index for x in t]) < 0.7
    assert 0.25 < np.mean([x.life == "retiree" for x in t]) < 0.55


def test_tiny_rich_run_every_plan_audited():
    config = BacktestConfig(households=2, years=1, step_months=2, population="rich",
                            di_stocks=25, reinvest=True,
                            methods=("taxopt", "lockstep_fifo"))
    seen = {"plans": 0, "di": 0}

    def check(t, hh, orders, a, ok, led):
        assert ok
        assert violations(hh, orders, a) == []
        seen["plans"] += 1
        seen["di"] += int(any(s.startswith("DI") for s in hh.securities.symbol))

    for s in specs(config):
        s = type(s)(**{**s.__dict__, "traits": type(s.traits)("retiree", "covid", True)})
        run = simulate_household(s, on_step=check)
        for r in run.runs.values():
            assert r.failures == 0 and np.isfinite(r.terminal)
            assert len(r.tracking_error) == 6
            # single stocks' own returns on the holdings: nonzero, small per step
            assert np.any(r.stock_luck != 0) and np.all(np.abs(r.stock_luck) < 0.2)
    assert seen["plans"] == 2 * 2 * 6 and seen["di"] == seen["plans"]
    result = run_backtest(config)
    assert [h.regime for h in result.households] == [traits(0, i).regime for i in range(2)]


def test_options_and_trigger_reach_the_optimizer():
    def run(**kw):
        cfg = BacktestConfig(households=1, years=1, step_months=3, methods=("taxopt",), **kw)
        return run_backtest(cfg).households[0].runs["taxopt"]

    free = run(options=(("tracking_weight", 0.0),))
    tight = run(options=(("tracking_weight", 1.0),))
    assert free.drift.mean() > tight.drift.mean() + 0.005
    # a 100 % band: never outside it, so every plan is tax-only like tracking_weight 0
    banded = run(trigger="drift:1.0")
    assert banded.drift == pytest.approx(free.drift)
    with pytest.raises(Exception, match="trigger"):
        BacktestConfig(trigger="sometimes").check()
