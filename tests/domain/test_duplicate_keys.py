"""A key given twice in one object of a scenario file is refused, naming the key.

JSON and PyYAML both keep the last value silently, so a stray second ``as_of`` or
``cost_basis`` would change dates and gains unseen; which one was meant is not
for taxopt to guess.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import taxopt
from taxopt.cli import cli

SCENARIO = {
    "format": "taxopt.household/1", "household_id": "dup", "as_of": "2026-11-24",
    "tax_profile": {"short_term_rate": 0.40, "long_term_rate": 0.20},
    "securities": [{"symbol": "AAA", "price": 100.0, "asset_class": "us_equity"}],
    "goals": [{"goal_id": "g", "targets": {"us_equity": 1.0}}],
    "accounts": [{"account_id": "tx", "goal_id": "g", "tax_type": "taxable", "cash": 0.0}],
    "lots": [{"lot_id": "L1", "account_id": "tx", "symbol": "AAA", "shares": 10,
              "cost_basis": 500.0, "acquired": "2020-01-02"}],
}


def _json_with(old: str, new: str) -> str:
    text = json.dumps(SCENARIO)
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize("old, new, key", [
    ('"as_of": "2026-11-24"', '"as_of": "2020-01-01", "as_of": "2026-11-24"', "as_of"),
    ('"cost_basis": 500.0', '"cost_basis": 5000.0, "cost_basis": 500.0', "cost_basis"),
], ids=["top-level", "in-a-lot"])
def test_a_json_key_given_twice_is_refused_with_exit_code_2(tmp_path, old, new, key):
    path = tmp_path / "dup.json"
    path.write_text(_json_with(old, new), encoding="utf-8")
    res = CliRunner().invoke(cli, ["validate", str(path)])
    assert res.exit_code == 2
    assert res.output == (f"error: input: {path}: duplicate key '{key}'; a key may appear "
                          "once in an object\n")


def test_the_same_json_without_the_duplicate_loads(tmp_path):
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(SCENARIO), encoding="utf-8")
    assert taxopt.load(path).household_id == "dup"


YAML = """format: taxopt.household/1
household_id: dup
as_of: 2026-11-24
tax_profile: {short_term_rate: 0.4, long_term_rate: 0.2}
securities:
  - {symbol: AAA, price: 100, asset_class: us_equity}
goals:
  - {goal_id: g, targets: {us_equity: 1.0}}
accounts:
  - {account_id: tx, goal_id: g, tax_type: taxable, cash: 0}
lots:
  - {lot_id: L1, account_id: tx, symbol: AAA, shares: 10, cost_basis: 500,
     acquired: 2020-01-02}
"""


def test_a_yaml_key_given_twice_is_refused_with_its_line(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text(YAML.replace("cost_basis: 500,", "cost_basis: 5000, cost_basis: 500,"),
                    encoding="utf-8")
    with pytest.raises(taxopt.InvalidInput) as err:
        taxopt.load(path)
    assert str(err.value) == (f"input: {path}: duplicate key 'cost_basis' at line 12; a key "
                              "may appear once in a mapping")


def test_yaml_merge_keys_may_still_be_overridden(tmp_path):
    # ``<<`` merges a mapping's keys in; a key written beside it overrides the merged one
    path = tmp_path / "merge.yaml"
    path.write_text(YAML.replace(
        "  - {lot_id: L1, account_id: tx, symbol: AAA, shares: 10, cost_basis: 500,\n"
        "     acquired: 2020-01-02}\n",
        "  - &lot {lot_id: L1, account_id: tx, symbol: AAA, shares: 10, cost_basis: 500,\n"
        "     acquired: 2020-01-02}\n"
        "  - {<<: *lot, lot_id: L2, cost_basis: 800}\n"), encoding="utf-8")
    hh = taxopt.load(path)
    assert list(hh.lots.lot_id) == ["L1", "L2"]
    assert hh.lots.basis.tolist() == [500.0, 800.0]
