"""rejects.parquet lists every bad row of every table, not only each household's first."""

from __future__ import annotations

import pyarrow.parquet as pq

from taxopt import synth
from taxopt.batch import run_batch
from taxopt.batch.convert import to_rows, write_folder
from taxopt.batch.tables import read_tables

from .conftest import make_households


def _rows_of(rows, table, hid):
    return [r for r in rows[table] if r["household_id"] == hid]


def _spoiled(tmp_path):
    rows = to_rows(make_households(3))
    lots = _rows_of(rows, "lots", "syn-000001")
    lots[0]["shares"] = -5.0
    lots[2]["shares"] = "lots"
    _rows_of(rows, "accounts", "syn-000001")[0]["tax_type"] = "brokerage"
    _rows_of(rows, "goals", "syn-000001")[0]["target"] = 1.5
    _rows_of(rows, "households", "syn-000002")[0]["short_term_rate"] = 1.2
    _rows_of(rows, "accounts", "syn-000002")[0]["penalty_applies"] = "maybe"
    folder = tmp_path / "in"
    write_folder(rows, folder)
    return rows, folder


def _file_row(rows, table, row):
    return f"table {table} ({table}.csv) row {rows[table].index(row) + 1}"


def test_every_bad_row_is_listed_with_household_table_row_and_field(tmp_path):
    rows, folder = _spoiled(tmp_path)
    lots = _rows_of(rows, "lots", "syn-000001")
    acc1 = _rows_of(rows, "accounts", "syn-000001")[0]
    goal1 = _rows_of(rows, "goals", "syn-000001")[0]
    hh2 = _rows_of(rows, "households", "syn-000002")[0]
    acc2 = _rows_of(rows, "accounts", "syn-000002")[0]
    assert read_tables(folder).listed == [
        ("syn-000001", "goals", _file_row(rows, "goals", goal1), "target",
         "must be <= 1, got 1.5"),
        ("syn-000001", "accounts", _file_row(rows, "accounts", acc1), "tax_type",
         "must be one of 'taxable', 'tax_deferred', 'tax_free', got 'brokerage'"),
        ("syn-000001", "lots", _file_row(rows, "lots", lots[0]), "shares",
         "must be > 0, got -5.0"),
        ("syn-000001", "lots", _file_row(rows, "lots", lots[2]), "shares",
         "expected a number, got 'lots'"),
        ("syn-000002", "households", _file_row(rows, "households", hh2), "short_term_rate",
         "must be <= 1, got 1.2"),
        ("syn-000002", "accounts", _file_row(rows, "accounts", acc2), "penalty_applies",
         "expected true or false, got 'maybe'"),
    ]


def _rejects_of_a_batch(folder, tmp_path):
    """The rejects of a batch of three households, two of them rejected."""
    out = tmp_path / "out"
    outcome = run_batch(folder, out, workers=1, report=False)
    assert outcome.exit_code == 1
    assert outcome.counts["invalid_input"] == 2 and outcome.counts["optimal"] == 1
    return pq.read_table(out / "rejects.parquet").to_pylist()


def test_the_batch_writes_them_all_and_each_household_still_says_its_first(tmp_path):
    _, folder = _spoiled(tmp_path)
    rej = _rejects_of_a_batch(folder, tmp_path)
    out = tmp_path / "out"
    assert [(r["household_id"], r["table"], r["field"]) for r in rej] == [
        ("syn-000001", "goals", "target"), ("syn-000001", "accounts", "tax_type"),
        ("syn-000001", "lots", "shares"), ("syn-000001", "lots", "shares"),
        ("syn-000002", "households", "short_term_rate"),
        ("syn-000002", "accounts", "penalty_applies")]
    res = {r["household_id"]: r["message"] for r in pq.read_table(
        out / "results.parquet", columns=["household_id", "message"]).to_pylist()}
    # the status message is the contract's own (as from a scenario file): its first problem
    assert res["syn-000002"].startswith("household syn-000002: tax_profile: field "
                                        "'short_term_rate'")


def test_a_clean_batch_lists_nothing(tmp_path):
    folder = tmp_path / "in"
    write_folder(synth.to_tables(make_households(3)), folder)
    assert read_tables(folder).listed == []


def _disagreeing(tmp_path):
    """Households whose rows disagree with each other, several times each."""
    rows = to_rows(make_households(3))
    g1 = _rows_of(rows, "goals", "syn-000001")[0]
    rows["goals"].append(dict(g1))                                  # a class twice
    rows["bands"].append({"household_id": "syn-000001", "account_id": "nope",
                          "asset_class": g1["asset_class"], "lo": 0.1, "hi": 0.5})
    rows.setdefault("options", []).extend(
        [{"household_id": "syn-000001", "key": "tracking_weight", "value": "0.2"},
         {"household_id": "syn-000001", "key": "tracking_weight", "value": "0.3"}])
    g2 = _rows_of(rows, "goals", "syn-000002")[0]
    g2["target"] = 1.5                                              # a bad cell, listed
    rows["bands"].append({"household_id": "syn-000002", "account_id": "gone",
                          "asset_class": g2["asset_class"], "lo": 0.1, "hi": 0.5})
    folder = tmp_path / "in"
    write_folder(rows, folder)
    return rows, folder


def test_every_disagreement_of_a_household_is_found_not_only_the_first(tmp_path):
    rows, folder = _disagreeing(tmp_path)
    band1 = next(r for r in rows["bands"] if r["account_id"] == "nope")
    g2 = _rows_of(rows, "goals", "syn-000002")[0]
    errors = {h: e for h, _, e in read_tables(folder).items()}
    assert errors["syn-000000"] is None
    first = errors["syn-000001"]
    # the status names the first problem: a row the reader found bad (a band on an
    # account the household does not have), then the rows that disagree
    assert str(first) == (f"household syn-000001: {_file_row(rows, 'bands', band1)}: field "
                          "'account_id': unknown account 'nope'")
    assert [str(e) for e in first.more] == [
        "household syn-000001: goals (goal_id retirement): field 'asset_class': two rows "
        "for class 'us_equity'",
        "household syn-000001: options (key tracking_weight): field 'key': two rows for "
        "option 'tracking_weight'"]
    # a household named by a file row is named by its first bad row (the goal's cell)
    assert str(errors["syn-000002"]) == (f"household syn-000002: {_file_row(rows, 'goals', g2)}"
                                         ": field 'target': must be <= 1, got 1.5")
    assert errors["syn-000002"].more == []


def test_the_batch_lists_each_disagreement_and_each_bad_cell(tmp_path):
    rows, folder = _disagreeing(tmp_path)
    rej = _rejects_of_a_batch(folder, tmp_path)
    g2 = _rows_of(rows, "goals", "syn-000002")[0]
    band1 = next(r for r in rows["bands"] if r["account_id"] == "nope")
    band2 = next(r for r in rows["bands"] if r["account_id"] == "gone")
    assert [(r["household_id"], r["table"], r["record"], r["field"], r["problem"])
            for r in rej] == [
        # the disagreements the worker found, then the rows the reader listed by file row
        ("syn-000001", "goals", "goals (goal_id retirement)", "asset_class",
         "two rows for class 'us_equity'"),
        ("syn-000001", "options", "options (key tracking_weight)", "key",
         "two rows for option 'tracking_weight'"),
        ("syn-000001", "bands", _file_row(rows, "bands", band1), "account_id",
         "unknown account 'nope'"),
        ("syn-000002", "goals", _file_row(rows, "goals", g2), "target",
         "must be <= 1, got 1.5"),
        ("syn-000002", "bands", _file_row(rows, "bands", band2), "account_id",
         "unknown account 'gone'")]
