"""Rule-of-thumb and proportional sourcing of goal-level flows in the heuristics.

The households are those of `tests/model/test_goal_flows.py` (VTI $100, fractional;
taxable lot T1 at a 90 % gain; $200,000 in each account), so each split is by hand.
"""

from __future__ import annotations

import numpy as np

from taxopt.audit import assess, violations
from taxopt.compare import compare
from taxopt.domain.load import from_dict
from taxopt.heuristics import HEURISTICS, source_flows

from ..model.test_goal_flows import BRACKETS, retiree


def test_taxable_first_and_proportional_splits():
    hh = from_dict(retiree())
    # taxable first: the brokerage account can pay all $60,000
    w, d = source_flows(hh, "taxable_first")
    assert w.tolist() == [60000.0, 0.0] and d.tolist() == [0.0, 0.0]
    # pro rata to what each can pay: $200,000 each, so $30,000 each
    w, d = source_flows(hh, "proportional")
    assert w.tolist() == [30000.0, 30000.0]


def test_required_distribution_comes_first_and_its_excess_goes_to_taxable():
    raw = retiree()
    raw["goals"][0]["cash_flow"] = -20000.0
    raw["accounts"][1]["min_withdrawal"] = 50000.0
    for rule in ("taxable_first", "proportional"):
        w, d = source_flows(from_dict(raw), rule)
        assert w.tolist() == [0.0, 50000.0] and d.tolist() == [30000.0, 0.0]


def test_deposit_fills_roth_room_first_by_the_rule_of_thumb():
    raw = retiree()
    raw["goals"][0]["cash_flow"] = 30000.0
    raw["accounts"].append({"account_id": "roth", "goal_id": "retirement",
                            "tax_type": "tax_free", "cash": 0.0, "max_deposit": 7000.0})
    hh = from_dict(raw)
    w, d = source_flows(hh, "taxable_first")
    assert d.tolist() == [23000.0, 0.0, 7000.0] and w.tolist() == [0.0, 0.0, 0.0]
    # pro rata to value within room: the Roth (value 0, weight $1) gets almost nothing,
    # the IRA has no room, so the brokerage account takes the rest
    w, d = source_flows(hh, "proportional")
    assert d[1] == 0.0 and d.sum() == 30000.0 and d[2] < 1.0


def test_every_heuristic_places_the_goal_flow_and_passes_the_audit():
    raw = retiree()
    raw["tax_profile"].update(ordinary_brackets=BRACKETS, ordinary_income=46950.0)
    hh = from_dict(raw)
    for name, heuristic in HEURISTICS.items():
        orders = heuristic(hh)
        assert violations(hh, orders) == [], name
        assert orders.withdraw is not None and orders.withdraw.sum() == 60000.0, name


def test_compare_shows_what_optimized_sourcing_is_worth():
    # Tax only (location off), brackets on $46,950 of other income: taxopt pays
    # $1,350 + $6,000 = $7,350 (see test_ira_fills_the_bracket_and_taxable_pays_the_rest).
    # Taxable first: 60,000 x 0.9 x 15 % = $8,100 of gains tax.
    # Proportional: $30,000 each: 30,000 x 13.5 % = $4,050 of gains tax, and the IRA's
    # $30,000 all in the 12 % bracket: $3,600.
    raw = retiree()
    raw["tax_profile"].update(ordinary_brackets=BRACKETS, ordinary_income=46950.0)
    rows = {r["method"]: r for r in compare([from_dict(raw)],
                                            ["taxopt", "rule_of_thumb_locator",
                                             "proportional_sourcing"])}
    total = {m: round(r["tax"] + r["tax_distributions"], 2) for m, r in rows.items()}
    assert total == {"taxopt": 7350.0, "rule_of_thumb_locator": 8100.0,
                     "proportional_sourcing": 7650.0}


def test_heuristics_without_goal_flows_are_unchanged():
    from taxopt.heuristics.rules import lockstep_fifo

    from ..conftest import base_household

    hh = from_dict(base_household())
    a, b = HEURISTICS["lockstep_fifo"](hh), lockstep_fifo(hh)
    assert a.withdraw is None and a.shares.tolist() == b.shares.tolist()
    assert np.array_equal(assess(hh, a).cash_after, assess(hh, b).cash_after)
