"""The latest as_of is the last one whose do-not-buy date the outputs can write.

A loss sale on as_of may not be bought back before as_of + 31 days; past 9999-11-30
that date has a five-digit year ("10000-01-20"), which is not an ISO date. Such an
as_of is refused at validation, one line naming the field (exit code 2).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

import taxopt
from taxopt.cli import cli
from taxopt.limits import AS_OF_MAX


def _harvest(as_of: str) -> dict[str, Any]:
    """10 AAA bought at $150 now at $100: a $50-a-share loss to harvest (short-term)."""
    return {
        "format": "taxopt.household/1", "household_id": "late", "as_of": as_of,
        "tax_profile": {"short_term_rate": 0.40, "long_term_rate": 0.20},
        "securities": [{"symbol": "AAA", "price": 100.0, "asset_class": "us_equity"},
                       {"symbol": "BBB", "price": 50.0, "asset_class": "us_bonds"}],
        "goals": [{"goal_id": "g", "targets": {"us_equity": 0.5, "us_bonds": 0.5}}],
        "accounts": [{"account_id": "tx", "goal_id": "g", "tax_type": "taxable",
                      "cash": 0.0}],
        "lots": [{"lot_id": "L1", "account_id": "tx", "symbol": "AAA", "shares": 10,
                  "cost_basis": 1500.0, "acquired": "9999-01-02"},
                 {"lot_id": "L2", "account_id": "tx", "symbol": "BBB", "shares": 10,
                  "cost_basis": 500.0, "acquired": "9999-01-02"}],
    }


REFUSED = ("household late: household: field 'as_of': is after taxopt's latest as_of "
           "9999-11-30 (the do-not-buy date, 31 days on, must be a date YYYY-MM-DD), "
           "got '{}'")


def test_the_limit_leaves_room_for_the_do_not_buy_date():
    assert AS_OF_MAX.isoformat() == "9999-11-30"


@pytest.mark.parametrize("as_of", ["9999-12-01", "9999-12-20", "9999-12-31"])
def test_an_as_of_past_the_limit_is_refused_naming_the_field(as_of):
    with pytest.raises(taxopt.InvalidInput) as err:
        taxopt.from_dict(_harvest(as_of))
    assert str(err.value) == REFUSED.format(as_of)


def test_the_cli_refuses_it_in_one_line_with_exit_code_2(tmp_path):
    path = tmp_path / "late.json"
    path.write_text(json.dumps(_harvest("9999-12-20")), encoding="utf-8")
    res = CliRunner().invoke(cli, ["solve", str(path), "--out", str(tmp_path / "o"),
                                   "--quiet"])
    assert res.exit_code == 2
    assert res.output == f"error: {REFUSED.format('9999-12-20')}\n"


def test_the_last_as_of_states_its_do_not_buy_date():
    # Selling AAA at a loss on 9999-11-30: not to be bought before 9999-11-30 + 31 days.
    result = taxopt.rebalance(taxopt.from_dict(_harvest("9999-11-30")))
    assert result.status.value == "optimal", result.message
    restrictions = result.summary()["wash_sale_restrictions"]
    assert [r["do_not_buy_before"] for r in restrictions] == ["9999-12-31"]
