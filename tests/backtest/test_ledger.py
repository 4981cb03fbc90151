"""Hand-checked bookkeeping of the backtest's ledger (conftest's round-number household).

Household: taxable ``tx`` holds lot A (100 EQ @ $100, basis $6,000, long-term) and
lot B (20 EQ, basis $2,400, short-term, a $400 loss); ``ira`` holds 500 BD @ $10.
Rates: 40 % short-term (ordinary), 20 % long-term; as_of 2026-11-24.
"""

from __future__ import annotations

import numpy as np
import pytest

from taxopt.audit import assess
from taxopt.backtest import Ledger
from taxopt.domain import from_dict
from taxopt.domain.orders import Orders
from taxopt.tax.netting import net_year

DAY = np.datetime64("2026-11-24")


#: The shared household's securities as listed (the household packs them by symbol).
LISTED = ("EQ", "EQ2", "BD")


def sec(hh, i: int) -> int:
    """The packed index of the ``i``-th security as listed."""
    return hh.securities.symbol.index(LISTED[i])


def orders(hh, rows):
    """rows: (account, security as listed, is_buy, shares, lot)."""
    a, s, b, n, lot = (np.array(c) for c in zip(*rows, strict=True))
    s = np.array([sec(hh, int(i)) for i in s])
    return Orders.make(a, s, b.astype(bool), n.astype(float), lot, hh)


def book(raw) -> Ledger:
    return Ledger(from_dict(raw))


def test_start_layout(raw):
    led = book(raw)
    # taxable lots first (as given), then one lot per non-taxable position
    assert led.shares.tolist() == [100, 20, 500]
    assert led.account.tolist() == [0, 0, 1]
    assert np.isnan(led.basis[2]) and np.isnat(led.acquired[2])


def test_sale_relieves_the_named_lot_and_books_its_gain(raw):
    led = book(raw)
    hh = led.household(DAY)
    o = orders(hh, [(0, 0, False, 30, 0)])          # 30 EQ of lot A
    a = assess(hh, o)
    led.apply(hh, o, a)
    assert led.shares.tolist() == [70, 20, 500]
    assert led.basis[0] == pytest.approx(4200.0)    # the 70 shares left keep $60 a share
    assert led.ytd_long == pytest.approx(30 * (100 - 60))
    assert led.ytd_short == 0.0
    assert led.cash[0] == pytest.approx(3000.0)
    # the sale is a recent trade with its gain, for the wash-sale rule
    assert led.r_gain[-1] == pytest.approx(1200.0) and not led.r_buy[-1]


def test_partial_sale_keeps_basis_per_share(raw):
    led = book(raw)
    hh = led.household(DAY)
    o = orders(hh, [(0, 0, False, 10, 1)])          # 10 of lot B (loss $20/share)
    led.apply(hh, o, assess(hh, o))
    assert led.shares[1] == 10
    assert led.basis[1] == pytest.approx(1200.0)    # total basis of what is left
    assert led.ytd_short == pytest.approx(-200.0)
    # a second sale of the rest books the same loss per share
    hh2 = led.household(DAY)
    o2 = orders(hh2, [(0, 0, False, 10, 1)])
    led.apply(hh2, o2, assess(hh2, o2))
    assert led.ytd_short == pytest.approx(-400.0)
    assert led.shares.tolist() == [100, 500]


def test_buy_creates_a_lot_in_taxable_and_adds_to_the_position_elsewhere(raw):
    raw["accounts"][0]["cash"] = 1000.0
    raw["accounts"][1]["cash"] = 100.0
    led = book(raw)
    hh = led.household(DAY)
    o = orders(hh, [(0, 1, True, 10, -1), (1, 2, True, 10, -1)])   # 10 EQ2 in tx, 10 BD in ira
    led.apply(hh, o, assess(hh, o))
    new = np.flatnonzero(led.security == sec(hh, 1))
    assert len(new) == 1
    assert led.shares[new[0]] == 10
    assert led.basis[new[0]] == pytest.approx(500.0)
    assert led.acquired[new[0]] == DAY
    assert led.cash.tolist() == pytest.approx([500.0, 0.0])
    ira = np.flatnonzero(led.account == 1)
    assert len(ira) == 1 and led.shares[ira[0]] == 510
    assert len(led.shares) == 4


def test_unnamed_sale_outside_taxable_relieves_the_position(raw):
    led = book(raw)
    hh = led.household(DAY)
    o = orders(hh, [(1, 2, False, 200, -1)])
    led.apply(hh, o, assess(hh, o))
    assert led.shares[2] == 300
    assert led.ytd_short == led.ytd_long == 0.0
    assert led.cash[1] == pytest.approx(2000.0)


def test_year_end_tax_with_carryforward_by_hand(raw):
    raw["tax_profile"]["realized_ytd"] = {"short_term": -10_000.0, "long_term": 4_000.0}
    raw["tax_profile"]["loss_carryforward"] = {"short_term": 0.0, "long_term": 1_000.0}
    led = book(raw)
    ny, dist = led.close_year()
    # NST = -10,000; NLT = 4,000 - 1,000 = 3,000; total -7,000: $3,000 offsets ordinary
    # income at 40 %, $4,000 carries forward short-term
    assert ny.tax == pytest.approx(-0.40 * 3000)
    assert (led.carry_short, led.carry_long) == pytest.approx((4000.0, 0.0))
    assert led.ytd_short == led.ytd_long == 0.0 and dist == 0.0
    # next year: $10,000 long-term gain nets against the $4,000 short-term carryforward
    led.ytd_long = 10_000.0
    ny2, _ = led.close_year()
    assert ny2.tax == pytest.approx(0.20 * 6000)
    assert ny2.tax == pytest.approx(net_year(from_dict(raw).tax.__class__(
        0.40, 0.20, 0.0, 10_000.0, 4000.0, 0.0, 3000.0)).tax)
    assert (led.carry_short, led.carry_long) == (0.0, 0.0)


def test_tax_bill_paid_from_cash_then_pro_rata(raw):
    raw["accounts"][0]["cash"] = 500.0
    led = book(raw)
    flow = led.tax_flows(1200.0)
    assert flow.tolist() == pytest.approx([-1200.0, 0.0])     # the taxable account pays
    led.settle(DAY, flow)
    # $700 short: 700 / 12,000 of every lot, whole shares rounded up: 6 of A, 2 of B
    assert led.shares[:2].tolist() == [94, 18]
    assert led.basis[:2].tolist() == pytest.approx([94 * 60.0, 18 * 120.0])
    assert led.cash[0] == pytest.approx(500 - 1200 + 800)
    assert led.ytd_long == pytest.approx(6 * 40.0)
    assert led.ytd_short == pytest.approx(2 * -20.0)
    assert led.unpaid == 0.0


def test_tax_credit_lands_in_cash(raw):
    led = book(raw)
    led.settle(DAY, led.tax_flows(-1200.0))
    assert led.cash[0] == pytest.approx(1200.0)
    assert led.shares.tolist() == [100, 20, 500]


def test_distributions_paid_in_cash_and_taxed_by_kind(raw):
    raw["securities"][0].update({"yield": 0.024, "qualified": 0.75})
    raw["securities"][1].update({"yield": 0.012, "tax_exempt": True})
    raw["securities"][2].update({"yield": 0.06, "qualified": 0.0})
    raw["lots"].append({"lot_id": "D", "account_id": "tx", "symbol": "EQ2", "shares": 10,
                        "cost_basis": 500.0, "acquired": "2020-01-15"})
    led = book(raw)
    hh = led.household(DAY)
    order = [sec(hh, i) for i in range(3)]           # EQ, EQ2, BD in the ledger's order
    y = np.zeros(3)
    y[order] = np.array([0.024, 0.012, 0.06]) / 12
    led.move(np.zeros(3), y)                       # a flat month: the price pays the yield
    assert led.price[order].tolist() == pytest.approx([100 * (1 - 0.002), 50 * (1 - 0.001),
                                                       10 * (1 - 0.005)])
    eq, muni, bd = 120 * 100 * 0.002, 10 * 50 * 0.001, 500 * 10 * 0.005
    assert led.cash.tolist() == pytest.approx([eq + muni, bd])
    # taxable: EQ's qualified 75 % at 20 %, the rest at 40 %; the muni and the IRA untaxed
    assert led.dist_qualified == pytest.approx(0.75 * eq)
    assert led.dist_ordinary == pytest.approx(0.25 * eq)
    _, tax = led.close_year()
    assert tax == pytest.approx(0.75 * eq * 0.20 + 0.25 * eq * 0.40)


def test_after_tax_liquidation_wealth_by_hand(raw):
    led = book(raw)
    # tx: A +4,000 long-term, B -400 short-term: net 3,600 long-term at 20 % = 720
    # ira: 5,000 x (1 - 40 %); no Roth
    assert led.after_tax_wealth(DAY) == pytest.approx(12_000 - 720 + 0.6 * 5_000)


def test_pre_liquidation_wealth_by_hand(raw):
    raw["tax_profile"]["realized_ytd"] = {"short_term": 0.0, "long_term": 1_000.0}
    led = book(raw)
    # liquidation: NST -400 (lot B), NLT 1,000 realized + 4,000 (lot A) = 5,000; net 4,600
    # long-term at 20 % = 920 -> 12,000 - 920 + 0.6 x 5,000 = 14,080
    assert led.after_tax_wealth(DAY) == pytest.approx(14_080.0)
    # pre-liquidation: only the realized 1,000 is taxed (200); lots A and B pass at value
    assert led.pre_liquidation_wealth(DAY) == pytest.approx(12_000 - 200 + 3_000)


def test_pre_liquidation_lens_gives_an_unrealized_loss_no_value(raw):
    raw["securities"][0]["price"] = 50.0
    led = book(raw)
    # taxable 120 x 50 = 6,000: A -1,000 long-term, B -1,400 short-term; net -2,400, of
    # which 2,400 offsets ordinary income at 40 % (limit 3,000): a credit of 960
    assert led.after_tax_wealth(DAY) == pytest.approx(6_000 + 960 + 3_000)
    # passed on (a step-down in basis), the losses are worth nothing
    assert led.pre_liquidation_wealth(DAY) == pytest.approx(6_000 + 3_000)


def test_wash_sale_loss_goes_into_the_replacement_basis(raw):
    raw["accounts"][0]["cash"] = 2000.0
    raw["as_of"] = "2026-11-24"
    led = book(raw)
    hh = led.household(np.datetime64("2026-11-10"))
    buy = orders(hh, [(0, 0, True, 10, -1)])               # 10 EQ bought on 10 Nov
    led.apply(hh, buy, assess(hh, buy))
    hh = led.household(DAY)
    sell = orders(hh, [(0, 0, False, 20, 1)])              # lot B at a $400 loss, 14 days later
    a = assess(hh, sell)
    assert a.disallowed.sum() == pytest.approx(200.0)      # 10 replacement shares of 20
    led.apply(hh, sell, a)
    assert led.ytd_short == pytest.approx(-200.0)
    new = np.flatnonzero(led.acquired == np.datetime64("2026-11-10"))
    assert led.basis[new].tolist() == pytest.approx([1000.0 + 200.0])


def test_fast_household_matches_the_contract_reader(raw):
    raw["accounts"][0]["cash"] = 1000.0
    led = book(raw)
    hh = led.household(DAY)
    o = orders(hh, [(0, 0, False, 30, 0), (0, 1, True, 10, -1)])
    led.apply(hh, o, assess(hh, o))
    later = np.datetime64("2026-12-24")
    fast = led.household(later, np.array([0.0, -50.0]))
    slow = from_dict(led.to_raw(later, np.array([0.0, -50.0]), raw))
    assert slow.as_of == fast.as_of and slow.tax == fast.tax
    for name in ("account", "security", "shares", "basis", "acquired"):
        np.testing.assert_array_equal(getattr(slow.lots, name), getattr(fast.lots, name))
    assert slow.lots.lot_id == fast.lots.lot_id
    np.testing.assert_array_equal(slow.accounts.cash, fast.accounts.cash)
    np.testing.assert_array_equal(slow.accounts.cash_flow, fast.accounts.cash_flow)
    np.testing.assert_array_equal(slow.securities.price, fast.securities.price)
    for name in ("account", "security", "is_buy", "shares", "date", "realized_gain"):
        np.testing.assert_array_equal(getattr(slow.recent, name), getattr(fast.recent, name))
    assert len(fast.recent) == 2


def test_selling_the_recent_lot_itself_is_not_washed(raw):
    raw["accounts"][0]["cash"] = 2000.0
    led = book(raw)
    hh = led.household(np.datetime64("2026-11-10"))
    buy = orders(hh, [(0, 0, True, 10, -1)])               # 10 EQ at $100 on 10 Nov
    led.apply(hh, buy, assess(hh, buy))
    led.price[sec(hh, 0)] = 90.0
    hh = led.household(DAY)
    new = int(np.flatnonzero(led.acquired == np.datetime64("2026-11-10"))[0])
    sell = orders(hh, [(0, 0, False, 10, new)])            # the same lot, $100 loss
    a = assess(hh, sell)
    assert a.disallowed.sum() == 0.0
    led.apply(hh, sell, a)
    assert led.ytd_short == pytest.approx(-100.0)
    assert led.shares.tolist() == [100, 20, 500]
