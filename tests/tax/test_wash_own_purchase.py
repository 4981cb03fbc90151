"""A lot bought recently is not its own replacement (IRC §1091 replaces *other* shares)."""

from __future__ import annotations

import copy

import numpy as np

import taxopt
from taxopt.audit import assess
from taxopt.domain.orders import Orders

from ..conftest import base_household


def _household(extra_buy: float = 0.0):
    raw = copy.deepcopy(base_household())
    # Lot B (20 EQ, basis $2,400, worth $2,000: a $400 short-term loss) was bought
    # 10 days ago, and recent_trades says so.
    raw["lots"][1]["acquired"] = "2026-11-14"
    raw["recent_trades"] = [{"account_id": "tx", "symbol": "EQ", "side": "buy", "shares": 20,
                             "date": "2026-11-14"}]
    if extra_buy:
        raw["recent_trades"].append({"account_id": "ira", "symbol": "EQ", "side": "buy",
                                     "shares": extra_buy, "date": "2026-11-20"})
        raw["lots"].append({"lot_id": "E", "account_id": "ira", "symbol": "EQ",
                            "shares": extra_buy})
    return taxopt.from_dict(raw)


def _sell_b(hh):
    eq = hh.securities.symbol.index("EQ")
    return Orders.make(np.array([0]), np.array([eq]), np.array([False]), np.array([20.0]),
                       np.array([1]), hh)


def test_selling_the_recently_bought_lot_is_not_a_wash():
    hh = _household()
    a = assess(hh, _sell_b(hh))
    assert a.gain.tolist() == [-400.0]
    assert a.disallowed.tolist() == [0.0]          # its own purchase does not replace it
    assert a.realized_short == -400.0


def test_another_purchase_still_washes_it():
    # 5 more EQ bought in the IRA 4 days ago: those are replacement shares for 5 of the
    # 20 sold: 5/20 of the $400 loss ($100) is disallowed.
    hh = _household(extra_buy=5)
    a = assess(hh, _sell_b(hh))
    assert a.disallowed.tolist() == [100.0]
    assert a.realized_short == -300.0
