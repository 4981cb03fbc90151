"""taxopt.compare and the `taxopt compare` command."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

import taxopt
from taxopt.cli import cli
from taxopt.compare import (
    COLUMNS,
    all_methods,
    compare,
    csv_text,
    load_households,
    summarize,
    write_outputs,
)
from taxopt.errors import InvalidInput

from ..conftest import ROOT, base_household

SCEN = ROOT / "scenarios"


@pytest.fixture(scope="module")
def rows():
    return compare([taxopt.from_dict(base_household()), SCEN / "deposit.json"])


def test_rows_cover_every_household_and_method(rows):
    methods = all_methods()
    assert methods[:2] == ("taxopt", "taxopt_tax_only") and len(methods) == 8
    assert [(r["household_id"], r["method"]) for r in rows] == (
        [("hh-test", m) for m in methods] + [("deposit", m) for m in methods])
    for r in rows:
        assert tuple(r) == COLUMNS
    lock = {r["method"]: r for r in rows if r["household_id"] == "hh-test"}
    assert lock["lockstep_fifo"]["tax"] == pytest.approx(384.0)
    assert lock["lockstep_hifo"]["tax"] == pytest.approx(144.0)
    assert lock["lockstep_fifo"]["turnover"] == pytest.approx(4800 * 2 + 3000 * 2)
    assert lock["lockstep_fifo"]["orders"] == 4
    assert lock["lockstep_fifo"]["violations"] == 0
    assert lock["lockstep_fifo"]["status"] == "feasible"
    assert lock["taxopt"]["status"] == "optimal"


def test_status_is_the_enum_until_the_csv(rows):
    """Rows carry `taxopt.Status` members; the CSV writes the contract's words."""
    first = [r for r in rows if r["household_id"] == "hh-test"]
    assert first[0]["status"] is taxopt.Status.OPTIMAL
    assert {r["status"] for r in first[2:]} == {taxopt.Status.FEASIBLE}
    lines = csv_text(first).splitlines()
    assert lines[1].split(",")[8] == "optimal" and lines[3].split(",")[8] == "feasible"


def test_methods_subset_and_unknown():
    hh = taxopt.from_dict(base_household())
    got = compare([hh], ["lockstep_hifo", "taxopt"])
    assert [r["method"] for r in got] == ["lockstep_hifo", "taxopt"]
    with pytest.raises(InvalidInput, match="unknown method 'nope'"):
        compare([hh], ["nope"])


def test_csv_is_deterministic():
    row = {"household_id": "h", "method": "m", "tax": -0.001, "drift_after": 0.1234567,
           "turnover": 1234.5, "orders": 3, "violations": 0, "seconds": 0.123456,
           "status": "ok"}
    assert csv_text([row]) == ("household_id,method,tax,drift_after,turnover,orders,"
                               "violations,seconds,status,tax_distributions\n"
                               "h,m,0.00,0.123457,1234.50,3,0,0.1235,ok,0.00\n")


def test_summary(rows):
    s = {x["method"]: x for x in summarize(rows)}
    assert list(s) == list(all_methods())
    fifo = s["lockstep_fifo"]
    assert fifo["households"] == 2
    mine = [r["tax"] for r in rows if r["method"] == "lockstep_fifo"]
    assert fifo["tax_total"] == pytest.approx(sum(mine))
    assert fifo["tax_median"] == pytest.approx(sum(mine) / 2)


def test_write_outputs(rows, tmp_path):
    pytest.importorskip("matplotlib")
    written, warnings = write_outputs(rows, tmp_path / "out")
    assert warnings == []
    assert [p.name for p in written] == ["compare.csv", "compare.png"]
    assert (tmp_path / "out" / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = (tmp_path / "out" / "compare.csv").read_text().splitlines()
    assert lines[0] == ",".join(COLUMNS) and len(lines) == len(rows) + 1


def test_load_households_folder(tmp_path):
    for name in ("withdrawal.json", "deposit.json"):
        shutil.copy(SCEN / name, tmp_path / name)
    (tmp_path / "notes.txt").write_text("not a scenario")
    assert [h.household_id for h in load_households(tmp_path)] == ["deposit", "withdrawal"]


def test_cli_compare_folder(tmp_path):
    pytest.importorskip("matplotlib")
    src = tmp_path / "in"
    src.mkdir()
    for name in ("withdrawal.json", "taxable_only.json"):
        shutil.copy(SCEN / name, src / name)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["compare", str(src), "--out", str(out)])
    assert res.exit_code == 0, res.output
    for m in all_methods():
        assert m in res.output
    assert (out / "compare.csv").is_file() and (out / "compare.png").is_file()
    assert len((out / "compare.csv").read_text().splitlines()) == 1 + 2 * 8


def test_cli_compare_one_file_without_out():
    res = CliRunner().invoke(cli, ["compare", str(SCEN / "deposit.json"),
                                   "--method", "lockstep_fifo"])
    assert res.exit_code == 0, res.output
    assert "lockstep_fifo" in res.output and "taxopt" not in res.output.split("\n", 1)[1]


@pytest.mark.parametrize("case", ["missing", "empty_dir", "bad_json", "bad_method"])
def test_cli_compare_invalid_input_exits_2(tmp_path, case):
    args = {"missing": [str(tmp_path / "nope.json")],
            "empty_dir": [str(tmp_path)],
            "bad_json": [str(tmp_path / "bad.json")],
            "bad_method": [str(SCEN / "deposit.json"), "--method", "magic"]}[case]
    (tmp_path / "bad.json").write_text("{not json") if case == "bad_json" else None
    res = CliRunner().invoke(cli, ["compare", *args])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
