"""Scenario files to batch tables and back: every field a scenario may set has a column."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from taxopt.batch.convert import to_rows, write_folder
from taxopt.batch.tables import read_tables
from taxopt.domain.load import from_dict, read_raw

from .conftest import canonical, same_household

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.json"))


def _through_tables(raws, folder, fmt="csv"):
    write_folder(to_rows(raws), folder, fmt)
    return {h: (raw, err) for h, raw, err in read_tables(folder).items()}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_every_bundled_scenario_reads_back_the_same_from_tables(tmp_path, fmt):
    raws = [read_raw(p) for p in SCENARIOS]
    got = _through_tables(raws, tmp_path, fmt)
    assert sorted(got) == sorted(r["household_id"] for r in raws)
    for raw in raws:
        back, err = got[raw["household_id"]]
        assert err is None, err
        same_household(from_dict(back), from_dict(canonical(raw)), raw["household_id"])


def test_version_1_1_columns_are_read(tmp_path):
    """Goal cash flows, account flow limits, the profile's distribution rates and brackets."""
    raw = copy.deepcopy(read_raw(SCENARIOS[0]))
    tp = raw["tax_profile"]
    tp.update(niit_rate=0.038, ordinary_rate=0.32, early_withdrawal_penalty=0.2,
              ordinary_income=85000.0, ordinary_brackets=[[0, 0.1], [11600, 0.12],
                                                          [47150, 0.22]])
    raw["goals"][0]["cash_flow"] = -5000.0
    acc = raw["accounts"][0]
    acc.update(max_withdrawal=4000.0, max_deposit=100.0)
    deferred = {**acc, "account_id": "ira", "tax_type": "tax_deferred", "cash": 0.0,
                "min_withdrawal": 1200.0, "penalty_applies": True, "max_deposit": None,
                "allowed": []}
    deferred.pop("bands", None)
    deferred.pop("restricted", None)
    raw["accounts"].append(deferred)
    folder = tmp_path / "t"
    back, err = _through_tables([raw], folder)[raw["household_id"]]
    assert err is None
    assert back["tax_profile"]["ordinary_brackets"] == [[0, 0.1], [11600, 0.12], [47150, 0.22]]
    assert back["goals"][0]["cash_flow"] == -5000.0
    ira = next(a for a in back["accounts"] if a["account_id"] == "ira")
    assert (ira["min_withdrawal"], ira["penalty_applies"], ira["allowed"]) == (1200.0, True, [])
    assert "max_deposit" not in ira          # an empty cell: the schema's default
    same_household(from_dict(back), from_dict(canonical(raw)))
    # the brackets are one JSON text cell
    text = (folder / "households.csv").read_text()
    assert '"[[0, 0.1], [11600, 0.12], [47150, 0.22]]"' in text


def test_brackets_that_are_not_json_reject_the_household(tmp_path):
    raw = read_raw(SCENARIOS[0])
    rows = to_rows([raw])
    rows["households"][0]["ordinary_brackets"] = "0:0.1,11600:0.12"
    write_folder(rows, tmp_path)
    (_, _, err), = read_tables(tmp_path).items()
    assert str(err) == (f"household {raw['household_id']}: households: field "
                        "'ordinary_brackets': expected JSON text such as [[0, 0.1], "
                        "[11600, 0.12]], got '0:0.1,11600:0.12'")
