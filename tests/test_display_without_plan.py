"""The terminal display of a result without a plan shows no "after".

An infeasible household has no plan: the weights "after" would be today's holdings
less the cash flows (here a withdrawal larger than the account, cash -$1,900), a
state no plan produces. Only the targets and today's weights are shown.
"""

from __future__ import annotations

import taxopt
from taxopt.display import print_result


def _overdrawn(cash_flow: float = -2000.0) -> taxopt.Household:
    """10 AAA at $100 and $100 cash ($1,100), asked to pay out $2,000: infeasible."""
    return taxopt.from_dict({
        "format": "taxopt.household/1", "household_id": "overdrawn", "as_of": "2026-11-24",
        "tax_profile": {"short_term_rate": 0.40, "long_term_rate": 0.20},
        "securities": [{"symbol": "AAA", "price": 100.0, "asset_class": "us_equity"}],
        "goals": [{"goal_id": "g", "targets": {"us_equity": 1.0}}],
        "accounts": [{"account_id": "ira", "goal_id": "g", "tax_type": "tax_deferred",
                      "cash": 100.0, "cash_flow": cash_flow}],
        "lots": [{"lot_id": "L1", "account_id": "ira", "symbol": "AAA", "shares": 10}],
    })


def test_an_infeasible_result_shows_today_s_weights_only(capsys):
    result = taxopt.rebalance(_overdrawn())
    assert result.status.value == "infeasible"
    print_result(result)
    lines = capsys.readouterr().out.splitlines()
    # 1,000 / 1,100 = 90.91 % equity, 100 / 1,100 = 9.09 % cash
    assert "goal g: drift 9.09% now (no plan)" in lines
    assert [line for line in lines if "us_equity" in line or "│ cash" in line] == [
        "│ us_equity │ 100.00% │ 90.91% │",
        "│ cash      │   0.00% │  9.09% │",
    ]
    assert "┃ class     ┃  target ┃ before ┃" in lines      # no "after" column


def test_a_solved_result_still_shows_after(capsys):
    # Paying out $100 from the $100 cash leaves 10 AAA: 100 % equity, on target.
    result = taxopt.rebalance(_overdrawn(-100.0))
    assert result.ok
    print_result(result)
    lines = capsys.readouterr().out.splitlines()
    assert "goal g: drift 9.09% -> 0.00%" in lines
    assert "│ us_equity │ 100.00% │ 90.91% │ 100.00% │" in lines
