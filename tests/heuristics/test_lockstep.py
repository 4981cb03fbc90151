"""Hand-computed cases on the conftest household (tests/conftest.py `base_household`).

The household: taxable ``tx`` holds 120 EQ at $100 (lot A: 100 sh, basis $60/sh,
2020, long-term; lot B: 20 sh, basis $120/sh, 2026-06-01, short-term loss of
$400); ``ira`` holds 500 BD at $10. One goal, 60 % equity / 40 % bonds. EQ2 ($50)
is equity in its own wash group. Rates 40 % short / 20 % long.

Lockstep takes each account to 60/40 on its own: tx ($12,000) sells $4,800 of
EQ (48 shares) and buys 480 BD; ira ($5,000) sells 300 BD and buys $3,000 of
equity.
"""

from __future__ import annotations

import numpy as np
import pytest

import taxopt
from taxopt.audit import assess, violations
from taxopt.heuristics import HEURISTICS, fit_bands, lockstep_fifo, lockstep_hifo, lot_keys


def _orders(hh, orders):
    """(account, symbol, side, shares, lot_id or '') tuples, in the orders' order."""
    out = []
    for a, s, b, n, li in zip(orders.account, orders.security, orders.is_buy, orders.shares,
                              orders.lot, strict=True):
        out.append((hh.accounts.account_id[a], hh.securities.symbol[s], "buy" if b else "sell",
                    float(n), hh.lots.lot_id[li] if li >= 0 else ""))
    return out


def test_fifo_sells_the_oldest_lot(raw):
    hh = taxopt.from_dict(raw)
    orders = lockstep_fifo(hh)
    assert _orders(hh, orders) == [
        ("tx", "EQ", "sell", 48.0, "A"),        # lot A (2020) first: 48 of its 100 shares
        ("tx", "BD", "buy", 480.0, ""),
        ("ira", "BD", "sell", 300.0, ""),
        ("ira", "EQ", "buy", 30.0, ""),         # EQ is not sold at a loss: buy it back
    ]
    a = assess(hh, orders)
    assert a.realized_long == pytest.approx(48 * 40.0)       # $1,920 long-term gain
    assert a.realized_short == 0.0
    assert a.est_tax == pytest.approx(384.0)                  # 20 % of 1,920
    assert a.drift_after.max() == pytest.approx(0.0, abs=1e-12)
    assert violations(hh, orders, a) == []


def test_hifo_sells_the_highest_cost_lot_and_avoids_the_wash(raw):
    hh = taxopt.from_dict(raw)
    orders = lockstep_hifo(hh)
    assert _orders(hh, orders) == [
        ("tx", "EQ", "sell", 28.0, "A"),        # then 28 of lot A ($60/sh)
        ("tx", "EQ", "sell", 20.0, "B"),        # lot B ($120/sh) first: all 20 shares
        ("tx", "BD", "buy", 480.0, ""),
        ("ira", "BD", "sell", 300.0, ""),
        ("ira", "EQ2", "buy", 60.0, ""),        # EQ sold at a loss: the IRA buys EQ2
    ]
    a = assess(hh, orders)
    assert a.realized_short == pytest.approx(-400.0)
    assert a.realized_long == pytest.approx(28 * 40.0)       # $1,120
    # netting: -400 short-term against +1,120 long-term leaves 720 long-term at 20 %
    assert a.est_tax == pytest.approx(144.0)
    assert violations(hh, orders, a) == []


def test_hifo_skips_a_class_when_every_security_of_it_is_wash_blocked(raw):
    # EQ2 was sold at a loss 10 days ago, EQ is sold at a loss by HIFO: the IRA
    # can buy no equity at all, so it keeps the cash instead of washing a loss.
    raw["recent_trades"] = [{"account_id": "tx", "symbol": "EQ2", "side": "sell",
                             "shares": 10, "date": "2026-11-14", "realized_gain": -50.0}]
    hh = taxopt.from_dict(raw)
    orders = lockstep_hifo(hh)
    got = _orders(hh, orders)
    assert ("ira", "BD", "sell", 300.0, "") in got
    assert not [o for o in got if o[0] == "ira" and o[2] == "buy"]
    assert violations(hh, orders) == []
    assert assess(hh, orders).cash_after[1] == pytest.approx(3000.0)


def test_min_cash_and_whole_shares(raw):
    # A cash floor of $50 in tx: it invests $11,950, so 60/40 is $7,170 / $4,780.
    # It sells 48 EQ (48.3 rounded), and can then spend only $4,750 on BD.
    raw["accounts"][0]["min_cash"] = 50.0
    raw["securities"][2]["price"] = 10.30          # BD: $4,750 buys 461 shares, not 461.17
    hh = taxopt.from_dict(raw)
    for name in ("lockstep_fifo", "lockstep_hifo"):
        orders = HEURISTICS[name](hh)
        a = assess(hh, orders)
        assert violations(hh, orders, a) == [], name
        tx = orders.account == 0
        assert np.all(orders.shares == np.round(orders.shares)), name
        eq = orders.security == hh.securities.symbol.index("EQ")
        assert orders.shares[tx & eq].sum() == 48.0, name
        assert orders.shares[tx & orders.is_buy].tolist() == [461.0], name
        assert a.cash_after[0] >= 50.0 - 0.005, name
        assert a.cash_after[0] - 50.0 < 10.30, name   # less than one more share left over


def test_lot_keys_orders():
    hh = taxopt.load("scenarios/taxable_only.json")
    lots = hh.lots
    fifo, hifo, smart = (lot_keys(hh, o) for o in ("fifo", "hifo", "min_tax"))
    order = np.argsort(fifo)
    assert np.all(np.diff(lots.acquired[order].astype(np.int64)) >= 0)
    vti = np.flatnonzero(lots.security == hh.securities.symbol.index("VTI"))
    cost = lots.basis[vti] / lots.shares[vti]
    assert np.all(np.diff(cost[np.argsort(hifo[vti])]) <= 0)
    # tax-aware: every loss lot comes before every gain lot
    gain = lots.shares * hh.securities.price[lots.security] - lots.basis
    assert smart[gain < 0].max() < smart[gain >= 0].min()


def test_fit_bands_keeps_the_total():
    want = np.array([50.0, 30.0, 20.0])
    x = fit_bands(want, np.array([0.0, 0.0, 0.0]), np.array([np.inf, 15.0, np.inf]))
    assert x.sum() == pytest.approx(100.0)
    assert x[1] == pytest.approx(15.0)
    assert x[0] / x[2] == pytest.approx(50.0 / 20.0)
    x = fit_bands(want, np.array([0.0, 40.0, 0.0]), np.array([np.inf, np.inf, np.inf]))
    assert x[1] == pytest.approx(40.0) and x.sum() == pytest.approx(100.0)
