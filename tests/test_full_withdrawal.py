"""Withdrawing an account's whole value is a legal plan, with bands or a tolerance set.

A band bounds the mix of what an account holds and a drift tolerance the weights of
what a goal holds: an account (goal) the plan empties has neither to violate. The
model's rows ``lo V <= class dollars <= hi V`` hold at ``V = 0``; the audit agrees.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import taxopt
from taxopt.audit import violations
from taxopt.domain.orders import Orders


def _raw(account_extra: dict[str, Any], goal_extra: dict[str, Any],
         cash_flow: float = -1500.0) -> dict[str, Any]:
    """10 AAA ($100, basis $500, long-term) + 10 BBB ($50, basis $400): $1,500 in all."""
    return {
        "format": "taxopt.household/1", "household_id": "liquidate", "as_of": "2026-11-24",
        "tax_profile": {"short_term_rate": 0.40, "long_term_rate": 0.20},
        "securities": [{"symbol": "AAA", "price": 100.0, "asset_class": "us_equity"},
                       {"symbol": "BBB", "price": 50.0, "asset_class": "us_bonds"}],
        "goals": [{"goal_id": "g", "targets": {"us_equity": 0.5, "us_bonds": 0.5},
                   **goal_extra}],
        "accounts": [{"account_id": "tx", "goal_id": "g", "tax_type": "taxable",
                      "cash": 0.0, "cash_flow": cash_flow, **account_extra}],
        "lots": [{"lot_id": "L1", "account_id": "tx", "symbol": "AAA", "shares": 10,
                  "cost_basis": 500.0, "acquired": "2020-01-02"},
                 {"lot_id": "L2", "account_id": "tx", "symbol": "BBB", "shares": 10,
                  "cost_basis": 400.0, "acquired": "2020-01-02"}],
    }


BAND = ({"bands": {"us_bonds": [0.2, 0.8]}}, {})
TOLERANCE = ({}, {"drift_tolerance": 0.01})


@pytest.mark.parametrize("account_extra, goal_extra", [BAND, TOLERANCE],
                         ids=["band", "tolerance"])
def test_full_withdrawal_sells_every_lot(account_extra, goal_extra):
    # Gains: AAA 1,000 - 500 = 500 and BBB 500 - 400 = 100, both long-term:
    # 600 at 20 % = $120.
    result = taxopt.rebalance(taxopt.from_dict(_raw(account_extra, goal_extra)))
    assert result.status.value == "optimal", result.summary()["message"]
    assert result.summary()["est_tax"] == 120.0
    trades = sorted((t.lot_id, t.side, t.shares) for t in result.trades().itertuples())
    assert trades == [("L1", "sell", 10.0), ("L2", "sell", 10.0)]


def _sell(hh: taxopt.Household, lots: list[int]) -> Orders:
    """Sell the whole of the given lots (indices in lot-id order)."""
    li = np.array(lots, dtype=np.int64)
    return Orders(account=hh.lots.account[li], security=hh.lots.security[li],
                  lot=li, shares=hh.lots.shares[li], is_buy=np.zeros(len(li), bool))


def test_an_account_left_holding_something_still_answers_to_its_band():
    # Withdraw only $1,000 and sell AAA alone: $500 of BBB is 100 % bonds, over 80 %.
    hh = taxopt.from_dict(_raw(*BAND, cash_flow=-1000.0))
    assert violations(hh, _sell(hh, [0])) == [
        "account tx: us_bonds is 1.0000 of the account, outside its band [0.20, 0.80]"]


def test_a_goal_left_holding_something_still_answers_to_its_tolerance():
    hh = taxopt.from_dict(_raw(*TOLERANCE, cash_flow=-1000.0))
    assert violations(hh, _sell(hh, [0])) == [
        "goal g: us_bonds weight 1.0000 is more than 1.00% from target 50.00%",
        "goal g: us_equity weight 0.0000 is more than 1.00% from target 50.00%"]
