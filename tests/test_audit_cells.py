"""The audit's per-(account, security) checks: short sales, menus, buying and selling
one security in one account. Each order is placed in its table by one flat index
(account * securities + security), so a wrong stride would report the wrong cell."""

import numpy as np

from taxopt.audit import violations
from taxopt.domain import from_dict
from taxopt.domain.orders import Orders
from taxopt.synth import household


def _hh():
    return from_dict(household(3, n_lots=6, n_accounts=2))


def test_flat_cells_name_the_right_account_and_security():
    hh = _hh()
    lots, sec, acc = hh.lots, hh.securities, hh.accounts
    li = 0                                            # the first lot
    a, s, q = int(lots.account[li]), int(lots.security[li]), float(lots.shares[li])
    # all of this (account, security) position: the lot's shares plus any other lot's
    held = float(lots.shares[(lots.account == a) & (lots.security == s)].sum())
    agthx = list(sec.symbol).index("AGTHX")           # not tradable: no account may buy it
    orders = Orders(np.array([a, a, a]), np.array([s, s, agthx]),
                    np.array([False, True, True]), np.array([held + 1.0, 1.0, 2.0]),
                    np.array([li, -1, -1]))
    got = violations(hh, orders)
    sym, aid, lid = sec.symbol[s], acc.account_id[a], lots.lot_id[li]
    sell = f"sell {sym} in {aid} lot {lid}"
    assert f"lot {lid}: sells {held + 1.0:g} shares of {q:g} held" in got
    assert (f"account {aid}: sells {held + 1.0:g} {sym} of {held:g} held (short sale)"
            in got)
    assert f"buy AGTHX in {aid}: not allowed in this account (menu, restriction or not " \
           "tradable)" in got
    assert f"{sell}: bought and sold in the same account" in got
    # the other account's cells stay clean: no message names it
    other = acc.account_id[1 - a]
    assert not [v for v in got if other in v]


def test_a_legal_sale_breaks_nothing():
    hh = _hh()
    lots = hh.lots
    li = 0
    orders = Orders(np.array([int(lots.account[li])]), np.array([int(lots.security[li])]),
                    np.array([False]), np.array([float(lots.shares[li])]), np.array([li]))
    assert violations(hh, orders) == []
