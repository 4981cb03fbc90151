"""Issue 8: a reason for every order and a line per account, on hand-computed households.

Every household here has round numbers and one obviously best plan, worked out in
the docstrings; the reasons are checked on the engine's plan and, where the rule
order matters, on hand-made orders (independent of the solver).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

import taxopt
from taxopt.audit import assess, violations
from taxopt.domain.orders import Orders
from taxopt.output import trades_csv
from taxopt.plan.reasons import REASONS, order_reasons

from ..conftest import SCENARIOS


def _household(accounts: list[dict[str, Any]], lots: list[dict[str, Any]],
               **tax: Any) -> dict[str, Any]:
    """EQ ($100) and EQ2 ($50, another wash group) are equity, BD ($10) bonds; 60/40."""
    return {
        "format": "taxopt.household/1",
        "household_id": "hh-reason",
        "as_of": "2026-11-24",
        "tax_profile": {"short_term_rate": 0.40, "long_term_rate": 0.20, **tax},
        "securities": [
            {"symbol": "EQ", "price": 100.0, "asset_class": "equity"},
            {"symbol": "EQ2", "price": 50.0, "asset_class": "equity", "wash_group": "eq2"},
            {"symbol": "BD", "price": 10.0, "asset_class": "bonds"},
        ],
        "goals": [{"goal_id": "g", "targets": {"equity": 0.6, "bonds": 0.4}}],
        "accounts": accounts,
        "lots": lots,
        "options": {},
    }


def _taxable(cash_flow: float = 0.0, **kw: Any) -> dict[str, Any]:
    return {"account_id": "tx", "goal_id": "g", "tax_type": "taxable", "cash": 0.0,
            "cash_flow": cash_flow, **kw}


def _lot(lot_id: str, symbol: str, shares: float, basis: float | None = None,
         account: str = "tx", acquired: str = "2020-01-15") -> dict[str, Any]:
    lot = {"lot_id": lot_id, "account_id": account, "symbol": symbol, "shares": shares}
    if basis is not None:
        lot.update(cost_basis=basis, acquired=acquired)
    return lot


def _solve(raw: dict[str, Any]):
    hh = taxopt.from_dict(raw)
    result = taxopt.rebalance(hh)
    assert result.status == "optimal", result.message
    assert violations(hh, result.orders) == []
    cols = result.trade_columns()
    rows = sorted(zip(cols["account_id"], cols["symbol"], cols["side"], cols["shares"],
                      cols["reason"], strict=True))
    return result, rows


def test_withdrawal_orders_are_all_withdrawal():
    """$60k EQ + $40k BD on target, all at zero gain; withdraw $10k with no cash.

    After the withdrawal the goal is $90k: 54k / 36k, so the plan sells 60 EQ ($6,000)
    and 400 BD ($4,000): exactly the cash the withdrawal lacks.
    """
    raw = _household([_taxable(cash_flow=-10_000.0)],
                     [_lot("E", "EQ", 600, 60_000.0), _lot("B", "BD", 4000, 40_000.0)])
    result, rows = _solve(raw)
    assert rows == [("tx", "BD", "sell", 4000 * 0.1, "withdrawal"),
                    ("tx", "EQ", "sell", 60.0, "withdrawal")]
    why = result.summary()["accounts"]["tx"]["why"]
    assert why == ("sold $10,000 of equity and bonds to raise the $10,000 withdrawal; "
                   "no gain or loss realized")


def test_deposit_orders_are_all_deposit():
    """$60k EQ + $40k BD on target; deposit $10k: buy 60 EQ and 400 BD (60/40 of it).

    (EQ2 is restricted, or the equity half could be bought as EQ or EQ2 at equal cost.)
    """
    raw = _household([_taxable(cash_flow=10_000.0, restricted=["EQ2"])],
                     [_lot("E", "EQ", 600, 50_000.0), _lot("B", "BD", 4000, 40_000.0)])
    result, rows = _solve(raw)
    assert rows == [("tx", "BD", "buy", 400.0, "deposit"), ("tx", "EQ", "buy", 60.0, "deposit")]
    why = result.summary()["accounts"]["tx"]["why"]
    assert why == ("bought $10,000 of equity and bonds with the $10,000 deposit; "
                   "nothing sold, no gain realized")


def test_harvest_with_substitute():
    """EQ lot: 600 sh worth $60,000, basis $66,000 (long-term loss $6,000); BD on target.

    With $10,000 of long-term gains realized this year, every dollar of the loss saves
    20 cents: the plan sells the whole EQ lot and buys 1,200 EQ2 ($60,000, another wash
    group of the same class), so the weights do not move. Tax: -$1,200.
    """
    raw = _household([_taxable()],
                     [_lot("E", "EQ", 600, 66_000.0), _lot("B", "BD", 4000, 40_000.0)],
                     realized_ytd={"long_term": 10_000.0})
    result, rows = _solve(raw)
    assert rows == [("tx", "EQ", "sell", 600.0, "harvest"),
                    ("tx", "EQ2", "buy", 1200.0, "substitute")]
    assert result.assessment.est_tax == pytest.approx(-1200.0)
    why = result.summary()["accounts"]["tx"]["why"]
    assert why == ("harvested a $6,000 loss selling EQ and bought EQ2 in its place; "
                   "realized $6,000 long-term loss")


def test_pure_rebalance_in_ira():
    """IRA: 500 EQ ($50k) + 2,000 BD ($20k); taxable: 300 EQ ($30k) at a 90 % gain.

    The goal is 80/20 of $100k, target 60/40: the IRA sells 200 EQ and buys 2,000 BD,
    tax-free; selling taxable EQ would cost 18 cents a dollar, so taxable is left alone.
    """
    raw = _household([_taxable(), {"account_id": "ira", "goal_id": "g",
                                   "tax_type": "tax_deferred", "cash": 0.0}],
                     [_lot("T", "EQ", 300, 3_000.0), _lot("E", "EQ", 500, account="ira"),
                      _lot("B", "BD", 2000, account="ira")])
    result, rows = _solve(raw)
    assert rows == [("ira", "BD", "buy", 2000.0, "rebalance"),
                    ("ira", "EQ", "sell", 200.0, "rebalance")]
    accounts = result.summary()["accounts"]
    assert accounts["ira"]["why"] == ("sold $20,000 of equity and bought $20,000 of bonds to "
                                      "restore the goal; no tax in a tax-deferred account")
    assert accounts["tx"]["why"] == "left alone: only tax-deferred accounts needed to trade"


def test_location_between_taxable_and_ira():
    """Goal on target (60k equity / 40k bonds), but taxable holds $40k BD + $20k EQ and
    its bond band is [0, 0.10]: taxable must sell >= $34k of BD for EQ and the IRA
    ($40k EQ) the opposite, so the goal's weights do not move: every order is location.
    """
    raw = _household([_taxable(bands={"bonds": [0.0, 0.10]}),
                      {"account_id": "ira", "goal_id": "g", "tax_type": "tax_deferred",
                       "cash": 0.0}],
                     [_lot("B", "BD", 4000, 40_000.0), _lot("T", "EQ", 200, 20_000.0),
                      _lot("E", "EQ", 400, account="ira")])
    result, rows = _solve(raw)
    assert {r[4] for r in rows} == {"location"}
    sold_bd = sum(r[3] for r in rows if r[:3] == ("tx", "BD", "sell"))
    assert sold_bd >= 3400
    assert result.summary()["accounts"]["ira"]["why"].endswith(
        "to move them between account types (location); no tax in a tax-deferred account")


def test_nothing_to_do_is_explained():
    """On target, no cash flow: no orders, every account 'left alone: no trade needed'."""
    raw = _household([_taxable()], [_lot("E", "EQ", 600, 50_000.0),
                                    _lot("B", "BD", 4000, 40_000.0)])
    result, rows = _solve(raw)
    assert rows == []
    assert result.summary()["accounts"]["tx"]["why"] == "left alone: no trade needed"


def _orders(hh, spec):
    """Orders from (account, symbol, side, shares, lot_id or None)."""
    acc = {a: i for i, a in enumerate(hh.accounts.account_id)}
    sec = {s: i for i, s in enumerate(hh.securities.symbol)}
    lots = {x: i for i, x in enumerate(hh.lots.lot_id)}
    return Orders(np.array([acc[s[0]] for s in spec], dtype=np.int64),
                  np.array([sec[s[1]] for s in spec], dtype=np.int64),
                  np.array([s[2] == "buy" for s in spec]),
                  np.array([float(s[3]) for s in spec]),
                  np.array([lots[s[4]] if s[4] else -1 for s in spec], dtype=np.int64))


def test_rule_order_on_hand_made_orders():
    """Without the solver: rounding before harvest, harvest/substitute before withdrawal.

    Taxable withdraws $5,000. Orders: a $5 remnant close of lot R (0.05 EQ at a loss),
    lot E sold at a loss ($10,000 -> substitute EQ2 $10,000 bought), and 500 BD sold to
    raise the withdrawal ($5,000).
    """
    raw = _household([_taxable(cash_flow=-5_000.0)],
                     [_lot("E", "EQ", 100, 12_000.0), _lot("R", "EQ", 0.05, 6.0),
                      _lot("B", "BD", 4000, 40_000.0)])
    hh = taxopt.from_dict(raw)
    orders = _orders(hh, [("tx", "EQ", "sell", 100, "E"), ("tx", "EQ", "sell", 0.05, "R"),
                          ("tx", "BD", "sell", 500, "B"), ("tx", "EQ2", "buy", 200, None)])
    a = assess(hh, orders)
    assert order_reasons(hh, orders, a).tolist() == ["harvest", "rounding", "withdrawal",
                                                     "substitute"]


def test_substitute_needs_most_of_the_buy_covered():
    """A $1,000 loss sale and a $10,000 buy of the class: the sale is a harvest (its
    class is rebought), the buy is mostly something else (here: the deposit)."""
    raw = _household([_taxable(cash_flow=9_000.0)],
                     [_lot("E", "EQ", 10, 1_500.0), _lot("B", "BD", 4000, 40_000.0)])
    hh = taxopt.from_dict(raw)
    orders = _orders(hh, [("tx", "EQ", "sell", 10, "E"), ("tx", "EQ2", "buy", 200, None)])
    a = assess(hh, orders)
    assert order_reasons(hh, orders, a).tolist() == ["harvest", "deposit"]


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_order_of_every_scenario_has_a_reason(path):
    hh = taxopt.load(path)
    result = taxopt.rebalance(hh)
    cols = result.trade_columns()
    flows = sum(side in ("withdraw", "deposit") for side in cols["side"])  # goal-level flows
    assert len(cols["reason"]) == len(result.orders) + flows
    assert set(cols["reason"]) <= set(REASONS)
    header = trades_csv(cols).decode().splitlines()[0]
    assert header.endswith(",est_tax,wash_disallowed,reason,wash_kind,replacement_lot_id,"
                           "replacement_basis,replacement_acquired")
    summary = result.summary()
    for acc in summary["accounts"].values():
        assert isinstance(acc["why"], str) and acc["why"]
        if acc["orders"] == 0:
            assert acc["why"].startswith("left alone: ")


def test_reasons_do_not_change_with_a_copy_of_the_household():
    """Reasons read only household and assessment: the same orders give the same labels."""
    hh = taxopt.load(next(p for p in SCENARIOS if p.stem == "three_account_location"))
    result = taxopt.rebalance(hh)
    again = Orders.from_frame(hh, result.trades())
    assert (order_reasons(copy.deepcopy(hh), again, assess(hh, again)).tolist()
            == result.trade_columns()["reason"])
