"""A failed ``taxopt solve`` leaves no earlier run's trades in its --out folder.

An ops script reading OUT/trades.csv after a failed run must not act on yesterday's
orders: a run that ends in an error (bad input or arguments, exit 2; an output
failure, exit 3) removes trades.csv and summary.json, and nothing else.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from taxopt import output
from taxopt.cli import cli

from .conftest import SCENARIOS

GOOD = next(p for p in SCENARIOS if p.stem == "three_account_location")


def _solve(scenario: Path, out: Path, *extra: str) -> int:
    return CliRunner().invoke(cli, ["solve", str(scenario), "--out", str(out), "--quiet",
                                    *extra]).exit_code


def _good_run(out: Path) -> None:
    """A run that trades, so stale rows would show; and a file that is not taxopt's."""
    assert _solve(GOOD, out) == 0
    assert len((out / "trades.csv").read_text().splitlines()) > 1
    (out / "notes.txt").write_text("not taxopt's", encoding="utf-8")


def test_a_bad_input_run_removes_the_previous_outputs(tmp_path):
    out = tmp_path / "out"
    _good_run(out)
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    assert _solve(bad, out) == 2
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_a_bad_option_removes_the_previous_outputs(tmp_path):
    out = tmp_path / "out"
    _good_run(out)
    assert _solve(GOOD, out, "--set", "no_such_knob=1") == 2
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_a_run_that_cannot_write_its_plan_leaves_no_previous_outputs(tmp_path, monkeypatch):
    out = tmp_path / "out"
    _good_run(out)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output, "write_solve_output", full_disk)
    assert _solve(GOOD, out) == 3
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_an_infeasible_run_writes_its_own_outputs(tmp_path):
    # exit 1 is a run's own result, not a failure to run: its summary says why
    out = tmp_path / "out"
    _good_run(out)
    infeasible = next(p for p in SCENARIOS if p.stem == "infeasible")
    assert _solve(infeasible, out) == 1
    assert '"status": "infeasible"' in (out / "summary.json").read_text()
    assert len((out / "trades.csv").read_text().splitlines()) == 1
