"""Wash-sale matching of recent trades (Treas. Reg. 1.1091-1): which purchases replace
which loss sales, in date order.

Each case is a small household whose disallowed loss is computed by hand in its
docstring; the plan is a hand-written trade list scored by the independent audit,
so the expectation never reads the optimizer's numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import taxopt
from taxopt.audit import assess, violations
from taxopt.domain.household import Household
from taxopt.domain.orders import Orders
from taxopt.plan.assumptions import input_assumptions
from taxopt.plan.report import wash_columns, wash_restrictions
from taxopt.tax.wash import lots_bought_recently, open_recent_loss_groups, open_recent_loss_until

Row = tuple[str, str, str, float, str]


def _household(accounts: list[dict[str, Any]], lots: list[dict[str, Any]],
               recent: list[dict[str, Any]], ytd_short: float = 0.0) -> Household:
    """AAA ($100, equity) and BBB ($50, bonds); rates 40 % / 20 %; as of 2026-11-24."""
    return taxopt.from_dict({
        "format": "taxopt.household/1", "household_id": "hostile", "as_of": "2026-11-24",
        "tax_profile": {"short_term_rate": 0.40, "long_term_rate": 0.20,
                        "realized_ytd": {"short_term": ytd_short, "long_term": 0.0}},
        "securities": [{"symbol": "AAA", "price": 100.0, "asset_class": "us_equity"},
                       {"symbol": "BBB", "price": 50.0, "asset_class": "us_bonds"}],
        "goals": [{"goal_id": "g", "targets": {"us_equity": 0.5, "us_bonds": 0.5}}],
        "accounts": accounts, "lots": lots, "recent_trades": recent})


def _orders(hh: Household, rows: list[Row]) -> Orders:
    """Orders from (account, symbol, side, shares, lot_id or '') rows."""
    acc = {a: i for i, a in enumerate(hh.accounts.account_id)}
    sec = {s: i for i, s in enumerate(hh.securities.symbol)}
    lot = {x: i for i, x in enumerate(hh.lots.lot_id)}
    return Orders(np.array([acc[r[0]] for r in rows], np.int64),
                  np.array([sec[r[1]] for r in rows], np.int64),
                  np.array([r[2] == "buy" for r in rows]),
                  np.array([float(r[3]) for r in rows]),
                  np.array([lot.get(r[4], -1) for r in rows], np.int64))


TAXABLE = {"account_id": "tx", "goal_id": "g", "tax_type": "taxable", "cash": 0.0}
IRA = {"account_id": "ira", "goal_id": "g", "tax_type": "tax_deferred", "cash": 0.0}


def _lot(lot_id: str, shares: float, basis: float, acquired: str,
         account: str = "tx", symbol: str = "AAA") -> dict[str, Any]:
    return {"lot_id": lot_id, "account_id": account, "symbol": symbol, "shares": shares,
            "cost_basis": basis, "acquired": acquired}


def test_two_purchases_on_one_day_replace_each_other():
    """5 AAA bought twice on 2026-11-10 (lots L2a, L2b, $120 a share). Selling L2a
    (5 sh, $100 loss) 14 days later: L2b's purchase is replacement shares for all 5,
    so the whole $100 is disallowed (deferred into L2b)."""
    hh = _household([TAXABLE], [_lot("L2a", 5, 600.0, "2026-11-10"),
                                _lot("L2b", 5, 600.0, "2026-11-10")],
                    [{"account_id": "tx", "symbol": "AAA", "side": "buy", "shares": 5,
                      "date": "2026-11-10"}] * 2)
    a = assess(hh, _orders(hh, [("tx", "AAA", "sell", 5, "L2a")]))
    assert a.gain.tolist() == [-100.0]
    assert a.disallowed.tolist() == [100.0]
    assert a.est_tax == 0.0


def test_a_retirement_account_sale_is_no_loss_to_replace():
    """The IRA sold 10 AAA on 11-04 (the custodian's economic 'realized_gain' -$300; an
    IRA sale has no tax loss) and bought 10 back on 11-14. Today the taxable account
    sells L1 (10 sh, $200 loss): the IRA purchase 10 days ago replaces all 10 shares,
    so the $200 is disallowed for good (Rev. Rul. 2008-5) and the year's tax is 0."""
    hh = _household([TAXABLE, IRA],
                    [_lot("L1", 10, 1200.0, "2026-01-05"),
                     {"lot_id": "I1", "account_id": "ira", "symbol": "BBB", "shares": 20}],
                    [{"account_id": "ira", "symbol": "AAA", "side": "sell", "shares": 10,
                      "date": "2026-11-04", "realized_gain": -300.0},
                     {"account_id": "ira", "symbol": "AAA", "side": "buy", "shares": 10,
                      "date": "2026-11-14"}])
    a = assess(hh, _orders(hh, [("tx", "AAA", "sell", 10, "L1")]))
    assert a.disallowed.tolist() == [200.0]
    assert a.est_tax == 0.0


def test_shares_sold_in_a_round_trip_are_not_their_own_replacement():
    """Bought 10 AAA on 11-01, sold those same 10 on 11-10 for a $50 loss (no AAA is
    held now, so the sale was of the 11-01 shares). Nothing replaced that loss, so
    buying AAA today (14 days later) would wash it: the audit must refuse the buy."""
    hh = _household([{**TAXABLE, "cash": 2000.0}],
                    [_lot("B1", 40, 2000.0, "2020-01-02", symbol="BBB")],
                    [{"account_id": "tx", "symbol": "AAA", "side": "buy", "shares": 10,
                      "date": "2026-11-01"},
                     {"account_id": "tx", "symbol": "AAA", "side": "sell", "shares": 10,
                      "date": "2026-11-10", "realized_gain": -50.0}],
                    ytd_short=-50.0)
    assert open_recent_loss_groups(hh).tolist() == [True, False]
    found = violations(hh, _orders(hh, [("tx", "AAA", "buy", 20, "")]))
    assert found == ["buy AAA in tx: wash sale: group AAA was sold at a loss in the last "
                     "30 days"], found


def test_an_older_purchase_replaces_the_recent_loss_sale_first():
    """IRA bought 10 AAA on 10-10 (45 days ago, given in recent_trades), the taxable
    account sold 10 at a $300 loss on 11-04 (replaced by the 10-10 purchase, 25 days
    before it), the IRA bought 10 more on 11-14. That last purchase is unused, so
    today's sale of L1 (10 sh, $200 loss) is fully disallowed. (Either use the older
    trade or refuse it; ignoring it silently gives a $80 saving that does not exist.)"""
    hh = _household([TAXABLE, IRA],
                    [_lot("L1", 10, 1200.0, "2026-01-05"),
                     {"lot_id": "I1", "account_id": "ira", "symbol": "AAA", "shares": 20}],
                    [{"account_id": "ira", "symbol": "AAA", "side": "buy", "shares": 10,
                      "date": "2026-10-10"},
                     {"account_id": "tx", "symbol": "AAA", "side": "sell", "shares": 10,
                      "date": "2026-11-04", "realized_gain": -300.0},
                     {"account_id": "ira", "symbol": "AAA", "side": "buy", "shares": 10,
                      "date": "2026-11-14"}])
    a = assess(hh, _orders(hh, [("tx", "AAA", "sell", 10, "L1")]))
    assert a.disallowed.tolist() == [200.0]
    assert a.est_tax == 0.0
    assert not any("older than" in x for x in input_assumptions(hh))   # 45 days: used


def test_a_lot_bought_in_the_window_is_a_purchase_even_without_its_trade():
    """L2 (10 AAA) was acquired 2026-11-10, 14 days ago, but recent_trades is empty.
    Selling L1 (10 sh, $200 loss) today is replaced by L2's 10 shares: all $200 is
    disallowed, and the summary says L2 was taken as a purchase."""
    hh = _household([TAXABLE], [_lot("L1", 10, 1200.0, "2026-01-05"),
                                _lot("L2", 10, 1000.0, "2026-11-10")], [])
    a = assess(hh, _orders(hh, [("tx", "AAA", "sell", 10, "L1")]))
    assert a.disallowed.tolist() == [200.0]
    assert a.est_tax == 0.0
    assert ("lot(s) L2 acquired in the last 60 days with no buy in recent_trades are "
            "taken as bought on their acquired date (wash-sale replacement shares)"
            in input_assumptions(hh))


def test_an_undeclared_lot_sold_in_part_replaces_what_is_kept():
    """As above, and the plan also sells 2 of L2's shares (no gain: basis $100 a share).
    The 8 shares kept replace 8 of L1's 10: $160 disallowed, $40 allowed, est_tax
    -$40 x 0.40 = -$16 (L1 is short-term)."""
    hh = _household([TAXABLE], [_lot("L1", 10, 1200.0, "2026-01-05"),
                                _lot("L2", 10, 1000.0, "2026-11-10")], [])
    a = assess(hh, _orders(hh, [("tx", "AAA", "sell", 10, "L1"),
                                ("tx", "AAA", "sell", 2, "L2")]))
    assert a.disallowed.tolist() == [160.0, 0.0]
    assert a.est_tax == -16.0


def test_a_declared_lot_needs_no_assumption():
    """The same L2 with its buy listed: no sentence about undeclared purchases."""
    hh = _household([TAXABLE], [_lot("L1", 10, 1200.0, "2026-01-05"),
                                _lot("L2", 10, 1000.0, "2026-11-10")],
                    [{"account_id": "tx", "symbol": "AAA", "side": "buy", "shares": 10,
                      "date": "2026-11-10"}])
    assert not any("recent_trades" in s for s in input_assumptions(hh))
    assert lots_bought_recently(hh).tolist() == [0.0, 1000.0]


def test_each_same_day_lot_is_known_as_bought_recently():
    """Two buys of 5 AAA on 11-10 created L2a and L2b: each lot is a recent purchase
    ($500 at today's $100), not L2a twice."""
    hh = _household([TAXABLE], [_lot("L2a", 5, 600.0, "2026-11-10"),
                                _lot("L2b", 5, 600.0, "2026-11-10")],
                    [{"account_id": "tx", "symbol": "AAA", "side": "buy", "shares": 5,
                      "date": "2026-11-10"}] * 2)
    assert lots_bought_recently(hh).tolist() == [500.0, 500.0]


def test_a_purchase_that_is_still_held_replaces_a_recent_loss_sale():
    """Control for the round trip: bought 10 AAA on 11-01 (lot L2, still held), sold the
    older L1 (10 sh) on 11-10 at a $50 loss. The 11-01 purchase replaced that loss, so
    nothing is open and buying AAA today washes nothing."""
    hh = _household([{**TAXABLE, "cash": 2000.0}],
                    [_lot("L2", 10, 1000.0, "2026-11-01")],
                    [{"account_id": "tx", "symbol": "AAA", "side": "buy", "shares": 10,
                      "date": "2026-11-01"},
                     {"account_id": "tx", "symbol": "AAA", "side": "sell", "shares": 10,
                      "date": "2026-11-10", "realized_gain": -50.0}])
    assert open_recent_loss_groups(hh).tolist() == [False, False]
    found = violations(hh, _orders(hh, [("tx", "AAA", "buy", 5, "")]))
    assert not any("wash sale" in v for v in found), found


def test_trades_older_than_sixty_days_are_ignored_and_said():
    """A buy of 10 AAA on 2026-09-20 (65 days ago) can replace no loss of the last 30
    days' window; it is left out of the matching and the summary says so."""
    hh = _household([TAXABLE], [_lot("L1", 10, 1200.0, "2026-01-05")],
                    [{"account_id": "tx", "symbol": "AAA", "side": "buy", "shares": 10,
                      "date": "2026-09-20"}])
    a = assess(hh, _orders(hh, [("tx", "AAA", "sell", 10, "L1")]))
    assert a.disallowed.tolist() == [0.0]
    assert ("1 recent trade(s) older than 60 days ignored by the wash-sale matching"
            in input_assumptions(hh))


def test_a_loss_covered_by_two_replacement_lots_defers_into_each():
    """L1 (10 sh, $200 long-term loss) sold; replacements: L2 (4 sh bought 11-10) and
    L3 (4 sh bought 11-12). 8 of 10 shares are replaced: $160 disallowed, $80 into
    each lot. The row names the first, L2: adjusted basis $400 + $80 = $480, not
    $400 + $160."""
    hh = _household([TAXABLE], [_lot("L1", 10, 1200.0, "2025-01-10"),
                                _lot("L2", 4, 400.0, "2026-11-10"),
                                _lot("L3", 4, 400.0, "2026-11-12")],
                    [{"account_id": "tx", "symbol": "AAA", "side": "buy", "shares": 4,
                      "date": "2026-11-10"},
                     {"account_id": "tx", "symbol": "AAA", "side": "buy", "shares": 4,
                      "date": "2026-11-12"}])
    orders = _orders(hh, [("tx", "AAA", "sell", 10, "L1")])
    a = assess(hh, orders)
    assert a.disallowed.tolist() == [160.0]
    assert a.wash.disallowed_into.tolist() == [80.0, 80.0]
    cols = wash_columns(hh, orders, a)
    assert cols["replacement_lot_id"] == ["L2"]
    assert cols["replacement_basis"] == [480.0]


def test_an_open_recent_loss_is_on_the_do_not_buy_list():
    """AAA sold at a $50 loss on 2026-11-14, nothing bought since: buying AAA before
    11-14 + 31 days = 2026-12-15 would wash it, so the plan's do-not-buy list names AAA
    until then even though the plan itself sells no AAA."""
    hh = _household([{**TAXABLE, "cash": 500.0}],
                    [_lot("B1", 40, 2000.0, "2020-01-02", symbol="BBB")],
                    [{"account_id": "tx", "symbol": "AAA", "side": "sell", "shares": 10,
                      "date": "2026-11-14", "realized_gain": -50.0}])
    orders = _orders(hh, [("tx", "BBB", "buy", 2, "")])
    assert wash_restrictions(hh, orders, assess(hh, orders)) == [
        {"wash_group": "AAA", "symbols": ["AAA"], "do_not_buy_before": "2026-12-15"}]


def test_a_replaced_recent_loss_or_an_ira_sale_restricts_nothing():
    """The same 11-14 AAA sale replaced by an IRA buy of 10 on 11-20, and an IRA sale of
    BBB at a 'loss' (no tax loss in an IRA): nothing is left to wash, no restriction."""
    hh = _household([{**TAXABLE, "cash": 500.0}, IRA],
                    [_lot("B1", 40, 2000.0, "2020-01-02", symbol="BBB"),
                     {"lot_id": "I1", "account_id": "ira", "symbol": "AAA", "shares": 10}],
                    [{"account_id": "tx", "symbol": "AAA", "side": "sell", "shares": 10,
                      "date": "2026-11-14", "realized_gain": -50.0},
                     {"account_id": "ira", "symbol": "AAA", "side": "buy", "shares": 10,
                      "date": "2026-11-20"},
                     {"account_id": "ira", "symbol": "BBB", "side": "sell", "shares": 10,
                      "date": "2026-11-20", "realized_gain": -90.0}])
    orders = _orders(hh, [("tx", "BBB", "buy", 2, "")])
    assert wash_restrictions(hh, orders, assess(hh, orders)) == []


def test_a_loss_sale_today_moves_the_day_to_thirty_one_days_from_now():
    """The round trip's open 11-10 loss (until 2026-12-11) and a plan that sells L1 AAA
    at a loss today: the list keeps one AAA entry, until 2026-11-24 + 31 = 2026-12-25."""
    hh = _household([TAXABLE], [_lot("L1", 10, 1200.0, "2026-01-05")],
                    [{"account_id": "tx", "symbol": "AAA", "side": "buy", "shares": 10,
                      "date": "2026-11-01"},
                     {"account_id": "tx", "symbol": "AAA", "side": "sell", "shares": 10,
                      "date": "2026-11-10", "realized_gain": -50.0}])
    assert str(open_recent_loss_until(hh)[0]) == "2026-12-11"
    orders = _orders(hh, [("tx", "AAA", "sell", 10, "L1")])
    assert wash_restrictions(hh, orders, assess(hh, orders)) == [
        {"wash_group": "AAA", "symbols": ["AAA"], "do_not_buy_before": "2026-12-25"}]
