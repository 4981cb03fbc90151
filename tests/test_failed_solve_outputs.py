"""A failed ``taxopt solve`` leaves no earlier run's trades in its --out folder.

An ops script reading OUT/trades.csv after a failed run must not act on yesterday's
orders: the folder then holds a header-only trades.csv and a summary whose status
says the run failed, or (when even that cannot be written) neither file.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from taxopt import output
from taxopt.cli import cli

from .conftest import SCENARIOS

HEADER = ("household_id,account_id,symbol,side,shares,price,value,lot_id,term,"
          "realized_gain,est_tax,wash_disallowed,reason,wash_kind,"
          "replacement_lot_id,replacement_basis,replacement_acquired")


def _solve(scenario: Path, out: Path, *extra: str) -> int:
    return CliRunner().invoke(cli, ["solve", str(scenario), "--out", str(out), "--quiet",
                                    *extra]).exit_code


def _good_run(out: Path) -> None:
    """A run that trades, so stale rows would show."""
    assert _solve(next(p for p in SCENARIOS if p.stem == "three_account_location"), out) == 0
    assert len((out / "trades.csv").read_text().splitlines()) > 1


def test_a_bad_input_run_replaces_the_previous_trades_by_a_failure(tmp_path):
    out = tmp_path / "out"
    _good_run(out)
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    assert _solve(bad, out) == 2
    assert (out / "trades.csv").read_text().splitlines() == [HEADER]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "invalid_input"
    assert summary["household_id"] is None
    assert summary["message"].startswith(f"input: {bad}: not valid JSON")
    assert summary["orders"] == 0


def test_a_bad_option_names_the_household_in_the_failure_summary(tmp_path):
    out = tmp_path / "out"
    _good_run(out)
    path = next(p for p in SCENARIOS if p.stem == "three_account_location")
    assert _solve(path, out, "--set", "no_such_knob=1") == 2
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["household_id"], summary["status"]) == ("three_account_location",
                                                            "invalid_input")
    assert summary["message"].startswith(
        "household three_account_location: options: field 'no_such_knob': unknown option")
    assert (out / "trades.csv").read_text().splitlines() == [HEADER]


def test_an_unwritable_failure_set_removes_the_previous_outputs(tmp_path, monkeypatch):
    out = tmp_path / "out"
    _good_run(out)
    (out / "notes.txt").write_text("not taxopt's", encoding="utf-8")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output, "write_solve_output", full_disk)
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    assert _solve(bad, out) == 2
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_a_run_that_cannot_write_its_plan_leaves_no_previous_outputs(tmp_path, monkeypatch):
    out = tmp_path / "out"
    _good_run(out)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output, "write_solve_output", full_disk)
    path = next(p for p in SCENARIOS if p.stem == "three_account_location")
    assert _solve(path, out) == 3
    assert list(out.iterdir()) == []


def test_a_failed_run_into_a_new_folder_creates_nothing(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    assert _solve(bad, tmp_path / "new") == 2
    assert not (tmp_path / "new").exists()
