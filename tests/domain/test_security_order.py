"""The order of the `securities` list never changes the output.

Securities are packed in symbol order (as lots are in lot-id order), so interchangeable
funds that tie exactly are broken the same way whatever order the file lists them in.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

import taxopt
from taxopt.output import summary_json, trades_csv

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.mark.parametrize("name", ["three_account_location", "withdrawal",
                                  "tax_wash_matching"])
def test_output_identical_under_any_security_order(name):
    raw = json.loads((SCENARIOS / f"{name}.json").read_text())
    n = len(raw["securities"])
    orders = [list(range(n)), list(reversed(range(n)))]
    orders += [np.random.default_rng(k).permutation(n).tolist() for k in range(2)]
    outputs = set()
    trades = 0
    for order in orders:
        shuffled = copy.deepcopy(raw)
        shuffled["securities"] = [raw["securities"][i] for i in order]
        result = taxopt.rebalance(taxopt.from_dict(shuffled))
        assert result.ok, result.message
        cols = result.trade_columns()
        trades = len(cols["lot_id"])
        outputs.add((trades_csv(cols), summary_json(result.summary())))
    assert trades > 0          # the scenario trades, so the comparison says something
    assert len(outputs) == 1


def test_security_arrays_follow_the_symbol_order():
    raw = json.loads((SCENARIOS / "withdrawal.json").read_text())
    raw["securities"].reverse()
    hh = taxopt.from_dict(raw)
    assert hh.securities.symbol == ("BND", "ITOT", "VTEB", "VTI", "VXUS")
    # Lots point at their own symbol's row after the reordering.
    by_lot = {lot["lot_id"]: lot["symbol"] for lot in raw["lots"]}
    got = [hh.securities.symbol[s] for s in hh.lots.security]
    assert got == [by_lot[lot_id] for lot_id in hh.lots.lot_id]


def test_a_duplicate_symbol_names_the_input_index():
    raw = json.loads((SCENARIOS / "withdrawal.json").read_text())
    raw["securities"].append(dict(raw["securities"][0]))   # a second VTI at index 5
    with pytest.raises(taxopt.InvalidInput) as info:
        taxopt.from_dict(raw)
    assert "securities[5] (symbol VTI)" in info.value.line()
    assert "already used by securities[0]" in info.value.line()
