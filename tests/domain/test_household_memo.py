"""Values a household computes once (`Household.cached`) never leak into another one.

The model, the audit and the summary share a few derived arrays per household (lot
anniversaries, recent replacement purchases, after-tax values, order ranks); a layout
shares its units' gain per dollar. Each lives on the object it was computed from, is
read-only, and a household made by `dataclasses.replace` (new prices, new options)
starts with none of them.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import taxopt
from taxopt.domain.orders import Orders
from taxopt.model.builder import build
from taxopt.model.layout import unit_gain_fraction
from taxopt.model.location import after_tax_value
from taxopt.output import summary_json, trades_csv
from taxopt.synth import household
from taxopt.tax.holding import anniversary, lot_anniversaries
from taxopt.tax.wash import open_recent_loss_groups, recent_replacements

from ..conftest import base_household


def _outputs(result) -> tuple[bytes, bytes]:
    return trades_csv(result.trade_columns()), summary_json(result.summary())


def test_each_household_keeps_its_own_values():
    one = taxopt.from_dict(base_household())
    raw = base_household()
    raw["household_id"] = "hh-other"
    raw["lots"][0]["acquired"] = "2026-06-01"          # short-term now
    raw["tax_profile"]["long_term_rate"] = 0.15
    other = taxopt.from_dict(raw)
    first = lot_anniversaries(one)
    assert lot_anniversaries(one) is first               # computed once ...
    assert lot_anniversaries(other) is not first         # ... per household
    assert str(lot_anniversaries(other)[0]) == "2027-06-01"
    assert str(first[0]) == "2021-01-15"
    np.testing.assert_array_equal(first, anniversary(one.lots.acquired))
    # after-tax values depend on the tax profile: the other household's rate is its own
    v1 = after_tax_value(one, 10.0, 0.04)
    v2 = after_tax_value(other, 10.0, 0.04)
    assert after_tax_value(one, 10.0, 0.04) is v1
    assert not np.array_equal(v1, v2)
    assert after_tax_value(one, 5.0, 0.04) is not v1     # keyed by horizon and rate too


def test_cached_arrays_are_read_only():
    hh = taxopt.from_dict(household(3))
    for arr in (lot_anniversaries(hh), after_tax_value(hh, 10.0, 0.04),
                open_recent_loss_groups(hh), recent_replacements(hh).unused):
        with pytest.raises(ValueError, match="read-only"):
            arr[...] = 0
    model = build(hh)
    gain = unit_gain_fraction(model.context.layout, hh.securities.price)
    with pytest.raises(ValueError, match="read-only"):
        gain[...] = 0


def test_a_replaced_household_starts_empty():
    hh = taxopt.from_dict(household(5))
    taxopt.rebalance(hh)
    assert hh._memo                                      # the solve filled it
    moved = hh.with_prices({s: p * 0.8 for s, p in zip(hh.securities.symbol,
                                                       hh.securities.price, strict=True)})
    assert moved._memo == {}
    assert hh.with_options(tax_model="lot")._memo == {}
    # gains per dollar follow the new prices, not the layout of the first solve
    before = unit_gain_fraction(build(hh).context.layout, hh.securities.price)
    after = unit_gain_fraction(build(moved).context.layout, moved.securities.price)
    assert not np.array_equal(before, after)


def test_warm_household_gives_the_same_bytes_as_a_fresh_one():
    raw = household(11, n_lots=150, n_accounts=3)
    warm = taxopt.from_dict(raw)
    first = _outputs(taxopt.rebalance(warm))
    again = _outputs(taxopt.rebalance(warm))             # every value from the memo
    fresh = _outputs(taxopt.rebalance(taxopt.from_dict(copy.deepcopy(raw))))
    assert first == again == fresh
    assert len(first[0].splitlines()) > 1                # the plan trades


def test_order_ranks_follow_the_household():
    hh = taxopt.from_dict(base_household())
    n = len(hh.lots)
    orders = Orders.make(hh.lots.account, hh.lots.security, np.zeros(n, bool),
                         hh.lots.shares.copy(), np.arange(n), hh)
    ids = [hh.lots.lot_id[i] for i in orders.lot]
    assert ids == sorted(ids)
    sym_rank, lot_rank = hh._memo["order_ranks"]
    np.testing.assert_array_equal(lot_rank, np.argsort(np.argsort(hh.lots.lot_id)))
    assert not sym_rank.flags.writeable


# -- validated securities shared by households with the same input -------------------

def _with_security(**fields):
    raw = base_household()
    raw["securities"][0] = {**raw["securities"][0], **fields}
    return raw


def test_a_security_record_is_reused_only_for_the_same_input():
    from taxopt.domain import load

    load._SECURITIES.clear()
    load._TABLES.clear()
    one = taxopt.from_dict(base_household())
    two = taxopt.from_dict(base_household())
    assert len(load._SECURITIES) == 3                   # one record per distinct security
    np.testing.assert_array_equal(one.securities.price, two.securities.price)
    cheaper = taxopt.from_dict(_with_security(price=90.0))
    eq = cheaper.securities.symbol.index("EQ")
    assert cheaper.securities.price[eq] == 90.0         # its own price, not the cached 100
    # 0.0 and -0.0 (equal as numbers, not as input) stay apart
    plus = taxopt.from_dict(_with_security(**{"yield": 0.0}))
    minus = taxopt.from_dict(_with_security(**{"yield": -0.0}))
    assert not np.signbit(plus.securities.dist_yield[eq])
    assert np.signbit(minus.securities.dist_yield[eq])


def test_a_bad_security_gets_the_same_message_after_a_good_one():
    from taxopt.domain import load
    from taxopt.errors import InvalidInput

    def message(raw):
        with pytest.raises(InvalidInput) as err:
            taxopt.from_dict(raw)
        return str(err.value)

    load._SECURITIES.clear()
    load._TABLES.clear()
    cold = message(_with_security(price=True))          # a bool is not a price
    taxopt.from_dict(base_household())                  # EQ at 100.0 now cached
    assert message(_with_security(price=True)) == cold
    assert "price" in cold and "securities[0]" in cold
    assert all(s.price != True for s in load._SECURITIES.values())  # noqa: E712


def test_the_security_cache_is_bounded(monkeypatch):
    from taxopt.domain import load

    load._SECURITIES.clear()
    load._TABLES.clear()
    monkeypatch.setattr(load, "SECURITIES_KEPT", 4)
    for price in (10.0, 11.0, 12.0):
        taxopt.from_dict(_with_security(price=price))
    assert len(load._SECURITIES) <= 4


def test_households_with_one_securities_table_share_its_read_only_arrays():
    from taxopt.domain import load

    load._TABLES.clear()
    one = taxopt.from_dict(base_household())
    two = taxopt.from_dict(base_household())
    assert two.securities is one.securities              # packed once for the table
    with pytest.raises(ValueError, match="read-only"):
        one.securities.price[0] = 1.0                     # so no household can change it
    cheaper = taxopt.from_dict(_with_security(price=90.0))
    assert cheaper.securities is not one.securities
    assert cheaper.securities.price[cheaper.securities.symbol.index("EQ")] == 90.0
    assert one.securities.price[one.securities.symbol.index("EQ")] == 100.0
    assert len(load._TABLES) == 2
