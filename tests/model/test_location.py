"""Asset location by after-tax value, checked by hand.

Rates ts = 0.40, tl = 0.20; horizon 10 years.
EQ: expected return 7 %, yield 2 % all qualified. BD: return 4 %, yield 4 %, all interest.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

import taxopt
from taxopt.audit import violations
from taxopt.model.location import after_tax_value, location_value

HH = {
    "format": "taxopt.household/1",
    "household_id": "hh-loc",
    "as_of": "2026-11-24",
    "tax_profile": {"short_term_rate": 0.40, "long_term_rate": 0.20},
    "securities": [
        {"symbol": "EQ", "price": 100.0, "asset_class": "equity", "expected_return": 0.07,
         "yield": 0.02, "qualified": 1.0},
        {"symbol": "BD", "price": 100.0, "asset_class": "bonds", "expected_return": 0.04,
         "yield": 0.04, "qualified": 0.0},
    ],
    "goals": [{"goal_id": "g", "targets": {"equity": 0.5, "bonds": 0.5},
               "drift_tolerance": 0.02}],
    "accounts": [
        {"account_id": "tx", "goal_id": "g", "tax_type": "taxable", "cash": 0.0},
        {"account_id": "ira", "goal_id": "g", "tax_type": "tax_deferred", "cash": 0.0},
        {"account_id": "roth", "goal_id": "g", "tax_type": "tax_free", "cash": 0.0},
    ],
    "lots": [
        # Z: no gain, costs nothing to sell. G: 90 % gain, long-term: 0.20 * 0.9 = 0.18 a dollar.
        {"lot_id": "Z", "account_id": "tx", "symbol": "BD", "shares": 100,
         "cost_basis": 10000.0, "acquired": "2020-01-02"},
        {"lot_id": "G", "account_id": "tx", "symbol": "BD", "shares": 100,
         "cost_basis": 1000.0, "acquired": "2020-01-02"},
        {"lot_id": "I", "account_id": "ira", "symbol": "EQ", "shares": 300},
        {"lot_id": "R", "account_id": "roth", "symbol": "BD", "shares": 100},
    ],
    "options": {"location_weight": 1.0},   # act on the whole benefit, for round numbers
}


def _eq_bd(hh) -> list[int]:
    """Columns of EQ and BD: securities are packed in symbol order."""
    return [hh.securities.symbol.index(s) for s in ("EQ", "BD")]


def test_after_tax_value_of_a_dollar_in_each_account():
    hh = taxopt.from_dict(HH)
    cols = _eq_bd(hh)
    v = after_tax_value(hh, horizon=10, discount=0.0)[:, cols]   # rows: tx, ira, roth; cols: EQ, BD
    eq_tx_wealth = 1.066 ** 10                 # 7 % less 0.4 % tax on qualified dividends
    eq_tx_basis = 1 + 0.016 * (eq_tx_wealth - 1) / 0.066   # 1.6 % reinvested after tax
    eq_tx = eq_tx_wealth - 0.20 * (eq_tx_wealth - eq_tx_basis)
    bd_tx = 1.024 ** 10                        # 4 % less 1.6 % tax; no unrealized gain
    expected = np.array([[eq_tx, bd_tx],
                         [0.6 * 1.07 ** 10, 0.6 * 1.04 ** 10],
                         [1.07 ** 10, 1.04 ** 10]])
    assert v == pytest.approx(expected, rel=1e-12)
    assert v[0, 0] == pytest.approx(1.759256, abs=1e-6)   # W 1.894838, basis 1.216930
    assert v[0, 1] == pytest.approx(1.267651, abs=1e-6)
    # Discounting divides everything by the same factor.
    assert after_tax_value(hh, 10, 0.04)[:, cols] == pytest.approx(expected / 1.04 ** 10, rel=1e-12)


def test_location_value_is_relative_to_the_ira():
    hh = taxopt.from_dict(HH)
    lv = location_value(hh, horizon=10, discount=0.04)[:, _eq_bd(hh)]
    assert lv[1] == pytest.approx([0.0, 0.0], abs=1e-12)
    # Roth: the ordinary-rate share of growth is kept: 0.4 * (1+r)^10 / 1.04^10
    assert lv[2] == pytest.approx([0.4 * 1.07 ** 10 / 1.04 ** 10, 0.4], rel=1e-12)
    # The swap "bonds out of taxable, equity in" is worth 0.1348 a dollar.
    swap = (lv[0, 0] - lv[0, 1])
    assert swap == pytest.approx(0.13476, abs=1e-4)
    assert math.isclose(lv[2, 0] - lv[2, 1], 0.4 * (1.07 ** 10 - 1.04 ** 10) / 1.04 ** 10)


def test_bonds_move_to_the_ira_and_equity_to_the_roth_as_far_as_tax_allows():
    # The goal is on target; only location moves money. Swapping bonds out of taxable is
    # worth 0.1348 a dollar: lot Z (no gain) goes, lot G (0.18 a dollar of tax) stays.
    # The Roth swaps its bonds for equity (0.1316 a dollar, tax-free). The IRA takes the
    # bonds and gives up its equity: 200 shares.
    hh = taxopt.from_dict(HH)
    result = taxopt.rebalance(hh)
    assert result.status == "optimal"
    assert violations(hh, result.orders) == []
    got = {(r.account_id, r.symbol, r.side, r.lot_id): r.shares
           for r in result.trades().itertuples()}
    assert got == {("tx", "BD", "sell", "Z"): 100.0, ("tx", "EQ", "buy", ""): 100.0,
                   ("ira", "EQ", "sell", ""): 200.0, ("ira", "BD", "buy", ""): 200.0,
                   ("roth", "BD", "sell", ""): 100.0, ("roth", "EQ", "buy", ""): 100.0}
    s = result.summary()
    assert s["est_tax"] == 0.0
    assert s["goals"]["g"]["drift_after"] == 0.0
    assert s["location"]["added"] > 0
    # Tax-only, drag ignored too: nothing to do, nothing done.
    assert len(taxopt.rebalance(hh, location_horizon_years=0, drag_horizon_years=0).orders) == 0
    # At the default weight (half the benefit: 0.067 a dollar) the same swaps happen:
    # lot Z costs no tax and the Roth/IRA swap none, so only costs (0.2 cents) compete.
    half = taxopt.rebalance(hh, location_weight=0.5)
    assert {(r.account_id, r.lot_id) for r in half.trades().itertuples()
            if r.side == "sell"} == {("tx", "Z"), ("ira", ""), ("roth", "")}


def test_location_stops_where_the_tax_costs_more():
    # Give lot Z a long-term gain of 70 %: 0.20 * 0.7 = 0.14 a dollar > 0.1348: it stays.
    raw = copy.deepcopy(HH)
    raw["lots"][0]["cost_basis"] = 3000.0
    result = taxopt.rebalance(taxopt.from_dict(raw))
    sold_tx = [r for r in result.trades().itertuples() if r.account_id == "tx"]
    assert sold_tx == []
    # 60 %: 0.12 a dollar < 0.1348: it goes.
    raw["lots"][0]["cost_basis"] = 4000.0
    result = taxopt.rebalance(taxopt.from_dict(raw))
    assert {(r.symbol, r.side, r.lot_id) for r in result.trades().itertuples()
            if r.account_id == "tx"} == {("BD", "sell", "Z"), ("EQ", "buy", "")}
    assert result.summary()["est_tax"] == 1200.0   # 0.20 * 6,000
