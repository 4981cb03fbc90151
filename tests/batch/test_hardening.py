"""Batch hardening: one run per output folder, a consistent output set, ids and rows that
are never silently regrouped, strict readers, safe CSV, and exit codes a scheduler trusts.

Most tests run on 300 generated households (30 lots each); the reference run is made
once per session.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from taxopt import synth
from taxopt.batch import run_batch
from taxopt.batch.failures import OutputFailure, OutputLocked
from taxopt.batch.lock import LOCK_NAME, OutLock
from taxopt.batch.tables import read_tables
from taxopt.cli import cli

from .conftest import assert_same_outputs, make_households, write_tables

N = 300
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def batch300(tmp_path_factory):
    """300 households as Parquet tables, their rows, and a reference run (CSV too)."""
    root = tmp_path_factory.mktemp("b300")
    rows = synth.to_tables(make_households(N))
    inp = write_tables(rows, root / "in", "parquet")
    ref = root / "ref"
    outcome = run_batch(inp, ref, workers=2, csv=True, timings=False)
    assert outcome.exit_code == 0 and outcome.total == N
    return {"rows": rows, "input": inp, "ref": ref}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _consistent(out: Path) -> dict:
    """The folder holds one run's complete set: its manifest's hashes match the files."""
    manifest = json.loads((out / "manifest.json").read_text())
    for name, meta in manifest["outputs"].items():
        assert _sha(out / name) == meta["sha256"], name
    outputs = {p.name for p in out.iterdir() if not p.name.startswith(".")}
    assert outputs == set(manifest["outputs"]) | {"manifest.json", "report.html"}
    return manifest


def _cli(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _records(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines()]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


# --------------------------------------------------------------------------- the lock


def test_a_second_run_is_refused_while_the_first_holds_the_folder(batch300, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with OutLock(out, "first-run"):
        info = json.loads((out / LOCK_NAME).read_text())
        assert info["pid"] == os.getpid() and info["host"] == socket.gethostname()
        assert info["run_id"] == "first-run" and info["started"].endswith("+00:00")
        res = _cli("batch", batch300["input"], "--out", out, "--workers", "1")
        assert res.exit_code == 3
        (rec,) = _records(res.stderr)
        assert rec["level"] == "error" and rec["exit_code"] == 3
        assert rec["message"] == (
            f"{out}: another taxopt batch is writing here (pid {os.getpid()} on host "
            f"{socket.gethostname()}, started {info['started']}); wait for it to finish or "
            "use another --out")
        assert "Traceback" not in res.output
    assert not (out / LOCK_NAME).exists() and not (out / "results.parquet").exists()


def test_an_interrupt_while_the_lock_is_taken_leaves_no_lock_file(tmp_path, monkeypatch):
    # Ctrl-C arriving in the middle of taking the lock: it is acted on once the lock is
    # taken, and what was taken is released (a `with` calls no __exit__ for a failed
    # __enter__, so the file used to stay behind)
    import signal

    from taxopt.batch import lock as lock_mod

    read = lock_mod._read

    def read_and_press_ctrl_c(fd):
        signal.raise_signal(signal.SIGINT)
        return read(fd)

    monkeypatch.setattr(lock_mod, "_read", read_and_press_ctrl_c)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt), lock_mod.OutLock(tmp_path, "r1"):
            pytest.fail("the body of the with must not run")
    finally:
        signal.signal(signal.SIGINT, before)
    assert not (tmp_path / LOCK_NAME).exists()


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "out"
    out.mkdir()
    stale = {"pid": dead.pid, "host": socket.gethostname(), "started": "2026-01-01T00:00:00",
             "run_id": "old"}
    (out / LOCK_NAME).write_text(json.dumps(stale))
    inp = write_tables(synth.to_tables(make_households(4)), tmp_path / "in", "csv")
    res = _cli("batch", inp, "--out", out, "--workers", "1")
    assert res.exit_code == 0, res.output
    warn = [r for r in _records(res.stderr) if r["level"] == "warning"]
    assert [w["message"] for w in warn] == [
        f"took over the lock of a batch that is gone (pid {dead.pid} on host "
        f"{socket.gethostname()}, started 2026-01-01T00:00:00)"]
    assert not (out / LOCK_NAME).exists()
    _consistent(out)


def test_a_lock_written_on_another_host_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK_NAME).write_text(json.dumps({"pid": 1, "host": "other-host",
                                             "started": "2026-01-01T00:00:00"}))
    with pytest.raises(OutputLocked, match=r"locked by a taxopt batch on another host \(pid 1 "
                                           r"on host other-host, .*delete .*\.taxopt\.lock"):
        OutLock(out).acquire()
    assert (out / LOCK_NAME).exists()


def test_two_batches_started_together_into_one_folder(batch300, tmp_path):
    """The one that comes second is refused (exit 3); the other writes all 300 households
    and a manifest that counts what the merged table holds."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "taxopt.cli", "batch", str(batch300["input"]), "--out",
           str(out), "--workers", "1", "--quiet", "--no-timings"]
    procs = [subprocess.Popen(cmd, env=_env(), stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 3], results
    refused = next(err for code, err in results if code == 3)
    assert "another taxopt batch is writing here" in refused and "Traceback" not in refused
    manifest = _consistent(out)
    res = pq.read_table(out / "results.parquet")
    assert res.num_rows == N and manifest["counts"]["optimal"] == N
    assert_same_outputs(batch300["ref"], out, ("trades.parquet", "results.parquet"))


# --------------------------------------------------------------------------- the output set


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_bytes()
            except OSError:
                continue
            ppid = int(stat.rsplit(b")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_mid_run_leaves_no_process_and_the_previous_set_intact(batch300, tmp_path):
    from taxopt.workers import process_alive

    out = tmp_path / "out"
    # the folder holds a finished batch of other data: its set must survive intact
    old = write_tables(synth.to_tables(make_households(5, seed=3)), tmp_path / "old", "csv")
    run_batch(old, out, workers=1, timings=False)
    before = _consistent(out)
    proc = subprocess.Popen([sys.executable, "-m", "taxopt.cli", "batch",
                             str(batch300["input"]), "--out", str(out), "--workers", "2",
                             "--chunk-size", "5", "--quiet", "--no-timings"],
                            env=_env(), stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(list((out / ".parts").glob("*.results.parquet"))) < 3:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    kids = _descendants(proc.pid)
    assert len(kids) >= 3        # forkserver, resource tracker, two workers
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 15
    while any(process_alive(k) for k in kids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [k for k in kids if process_alive(k)] == []
    assert _consistent(out) == before            # the old run's set, untouched
    # the next run cleans what the killed one left and finishes from its parts
    (out / ".staging-killed").mkdir()
    (out / ".results.parquet.x.tmp").write_bytes(b"half")
    outcome = run_batch(batch300["input"], out, workers=2, resume=True, csv=True,
                        timings=False)
    assert 15 <= outcome.reused < N
    _consistent(out)
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []
    assert_same_outputs(batch300["ref"], out)


def test_a_failure_while_swapping_in_never_mixes_two_runs(monkeypatch, tmp_path):
    from taxopt.batch import sink

    a = write_tables(synth.to_tables(make_households(6)), tmp_path / "a", "csv")
    b = write_tables(synth.to_tables(make_households(4, seed=5)), tmp_path / "b", "csv")
    out = tmp_path / "out"
    run_batch(a, out, workers=1, csv=True, timings=False)
    old = {p.name: p.read_bytes() for p in out.iterdir()}
    real, calls = os.replace, []

    def fail_on_fourth(src, dst):
        if Path(dst).parent == out:
            calls.append(Path(dst).name)
            if len(calls) == 4:   # rejects, report and results are in
                raise OSError(28, "No space left on device", str(dst))
        return real(src, dst)

    monkeypatch.setattr(sink.os, "replace", fail_on_fourth)
    with pytest.raises(OutputFailure, match="No space left on device"):
        run_batch(b, out, workers=1, timings=False)
    monkeypatch.undo()
    left = {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith(".")}
    # no manifest (the set is incomplete), and nothing from the previous run: the tables
    # left are the new run's (as a clean run of b writes them)
    assert "manifest.json" not in left and left
    run_batch(b, tmp_path / "clean", workers=1, timings=False)
    tables = [n for n in left if n.endswith(".parquet")]
    assert tables and all(left[n] == (tmp_path / "clean" / n).read_bytes() for n in tables)
    assert all(left[n] != old[n] for n in left if n not in tables)   # e.g. the report
    assert old["results.parquet"] != left["results.parquet"]
    assert not (out / "trades.csv").exists()   # the first run's CSV does not linger
    outcome = run_batch(b, out, workers=1, timings=False, resume=True)
    assert outcome.reused == 4
    _consistent(out)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_a_run_without_csv_removes_an_earlier_runs_csv(tmp_path):
    inp = write_tables(synth.to_tables(make_households(3)), tmp_path / "in", "csv")
    out = tmp_path / "out"
    run_batch(inp, out, workers=1, csv=True, report=False)
    assert (out / "trades.csv").exists() and (out / "results.csv").exists()
    run_batch(inp, out, workers=1, report=False)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["manifest.json", "rejects.parquet", "results.parquet", "trades.parquet"]


def test_manifest_has_a_run_id_and_counts_the_merged_table(batch300):
    manifest = _consistent(batch300["ref"])
    assert len(manifest["run_id"]) == 25 and manifest["run_id"][8] == "T"
    status = pq.read_table(batch300["ref"] / "results.parquet").column("status").to_pylist()
    assert manifest["counts"] == {s: status.count(s) for s in manifest["counts"]}
    assert sum(manifest["counts"].values()) == manifest["households"] == N


def test_the_order_of_the_rows_in_the_files_never_changes_the_output(batch300, tmp_path):
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    for k, path in enumerate(sorted(batch300["input"].iterdir())):
        frame = pd.read_parquet(path)
        frame.sample(frac=1.0, random_state=k).to_parquet(shuffled / path.name, index=False)
    lots = pd.read_parquet(shuffled / "lots.parquet")
    assert not lots.household_id.is_monotonic_increasing
    out = tmp_path / "out"
    run_batch(shuffled, out, workers=2, csv=True, timings=False, report=False)
    assert_same_outputs(batch300["ref"], out)


# --------------------------------------------------------------------------- ids and rows


def _folder(tmp_path, rows, fmt="csv", name="t"):
    return write_tables(rows, tmp_path / name, fmt)


def _errors(folder):
    tables = read_tables(folder)
    return tables, {h: e and str(e) for h, _, e in tables.items()}


def test_a_padded_id_makes_its_household_invalid_not_solved_without_the_row(batch300,
                                                                            tmp_path):
    rows = copy.deepcopy(batch300["rows"])
    i = next(i for i, r in enumerate(rows["lots"]) if r["household_id"] == "syn-000040")
    rows["lots"][i]["household_id"] = "syn-000040 "
    j = next(i for i, r in enumerate(rows["lots"]) if r["household_id"] == "syn-000041")
    rows["lots"][j]["household_id"] = "\tsyn-000041"
    out = tmp_path / "out"
    res = _cli("batch", _folder(tmp_path, rows), "--out", out, "--workers", "2", "--quiet",
               "--no-timings")
    assert res.exit_code == 1
    results = pq.read_table(out / "results.parquet").to_pydict()
    assert results["household_id"] == [f"syn-{k:06d}" for k in range(N)]   # no phantom
    status = dict(zip(results["household_id"], results["status"], strict=True))
    assert status.pop("syn-000040") == status.pop("syn-000041") == "invalid_input"
    assert set(status.values()) == {"optimal"}
    assert pq.read_table(out / "rejects.parquet").to_pylist() == [
        {"household_id": "syn-000040", "table": "lots",
         "record": f"table lots (lots.csv) row {i + 1}", "field": "household_id",
         "problem": "has leading or trailing whitespace, got 'syn-000040 ' (meant for "
                    "household 'syn-000040'?)"},
        {"household_id": "syn-000041", "table": "lots",
         "record": f"table lots (lots.csv) row {j + 1}", "field": "household_id",
         "problem": "contains a control character (U+0009) at position 0; ids must be "
                    "printable, got '\\tsyn-000041' (meant for household 'syn-000041'?)"}]
    # the others are the same plans as in the reference run
    ref = pq.read_table(batch300["ref"] / "trades.parquet").to_pandas()
    got = pq.read_table(out / "trades.parquet").to_pandas()
    ref = ref[~ref.household_id.isin(["syn-000040", "syn-000041"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, ref)


def test_integer_and_float_ids_in_parquet_read_as_one_id(tmp_path):
    rows = synth.to_tables(make_households(3))
    num = {f"syn-{k:06d}": 1000 + k for k in range(3)}
    for table in rows.values():
        for r in table:
            if r.get("household_id") is not None:
                r["household_id"] = num[r["household_id"]]
    folder = _folder(tmp_path, rows, "parquet")
    for name in ("lots", "accounts"):     # float64 here, int64 elsewhere
        frame = pd.read_parquet(folder / f"{name}.parquet")
        frame["household_id"] = frame["household_id"].astype("float64")
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    assert pa.types.is_floating(pq.read_schema(folder / "lots.parquet").field(
        "household_id").type)
    tables, errors = _errors(folder)
    assert errors == {"1000": None, "1001": None, "1002": None}
    raw = dict((h, r) for h, r, _ in tables.items())
    assert len(raw["1001"]["lots"]) == 30 and raw["1001"]["household_id"] == "1001"


def test_an_id_in_another_format_is_blamed_on_the_real_household(tmp_path):
    rows = synth.to_tables(make_households(3))
    for table in rows.values():
        for r in table:
            if r.get("household_id") == "syn-000001":
                r["household_id"] = "1000"
    i = next(i for i, r in enumerate(rows["lots"]) if r["household_id"] == "1000")
    rows["lots"][i]["household_id"] = "1000.0"       # a float column written as text
    tables, errors = _errors(_folder(tmp_path, rows))
    assert errors == {"1000": f"household 1000: table lots (lots.csv) row {i + 1}: field "
                              "'household_id': '1000.0' is not '1000': write the household "
                              "id exactly as in table households",
                      "syn-000000": None, "syn-000002": None}
    assert tables.rejects == []


def test_rows_of_no_household_are_rejects_and_the_rest_runs(tmp_path):
    rows = synth.to_tables(make_households(3))
    rows["lots"].append({**rows["lots"][0], "household_id": "nobody "})
    rows["lots"].append({**rows["lots"][0], "household_id": "ev\x1b[31mil"})
    rows["lots"].append({**rows["lots"][0], "household_id": ""})
    n = len(rows["lots"])
    tables, errors = _errors(_folder(tmp_path, rows))
    where = "table lots (lots.csv) row"
    # an unusable id is a household of its own (escaped), never solved; the others run
    # the schema's words for every id, the household's too
    padded = "has leading or trailing whitespace, got 'nobody '"
    control = ("contains a control character (U+001B) at position 2; ids must be printable, "
               "got 'ev\\x1b[31mil'")
    assert errors == {**dict.fromkeys(("syn-000000", "syn-000001", "syn-000002")),
                      "nobody ": f"household nobody : {where} {n - 2}: field "
                                 f"'household_id': {padded}",
                      "ev\\x1b[31mil": f"household ev\\x1b[31mil: {where} {n - 1}: field "
                                       f"'household_id': {control}"}
    assert tables.listed == [("ev\\x1b[31mil", "lots", f"{where} {n - 1}", "household_id",
                              control),
                             ("nobody ", "lots", f"{where} {n - 2}", "household_id", padded)]
    # a row with no id at all belongs to no household
    assert tables.rejects == [("", "lots", f"{where} {n}", "household_id",
                               "empty; every row must name its household")]


# --------------------------------------------------------------------------- readers


@pytest.mark.parametrize(("value", "problem"), [
    ("0", "expected an ISO date YYYY-MM-DD, got '0'"),
    ("20240115", "expected an ISO date YYYY-MM-DD (for 20240115 write 2024-01-15), "
                 "got '20240115'"),
    ("01/15/2024", "expected an ISO date YYYY-MM-DD, got '01/15/2024'"),
])
def test_dates_are_iso_text_only(tmp_path, value, problem):
    rows = synth.to_tables(make_households(3))
    i = next(i for i, r in enumerate(rows["lots"]) if r["household_id"] == "syn-000002")
    rows["lots"][i]["acquired"] = value
    _, errors = _errors(_folder(tmp_path, rows))
    assert errors == {"syn-000000": None, "syn-000001": None,
                      "syn-000002": f"household syn-000002: table lots (lots.csv) row {i + 1}: "
                                    f"field 'acquired': {problem}"}


def test_an_integer_date_column_in_parquet_is_not_read_as_epoch(tmp_path):
    rows = synth.to_tables(make_households(2))
    folder = _folder(tmp_path, rows, "parquet")
    frame = pd.read_parquet(folder / "households.parquet")
    frame["as_of"] = np.array([1_764_000_000, 1_764_000_000], dtype=np.int64)
    frame.to_parquet(folder / "households.parquet", index=False)
    _, errors = _errors(folder)
    assert errors == {h: f"household {h}: table households (households.parquet) row {k + 1}: "
                         "field 'as_of': 1764000000 is a number, not a date; expected an ISO "
                         "date YYYY-MM-DD" for k, h in enumerate(("syn-000000", "syn-000001"))}


def test_parquet_nan_is_an_error_and_null_takes_the_default(tmp_path):
    rows = synth.to_tables(make_households(3))
    folder = _folder(tmp_path, rows, "parquet")
    col = pa.array([float("nan"), None, -100.0], pa.float64())
    t = pq.read_table(folder / "households.parquet")
    t = t.set_column(t.schema.get_field_index("realized_ytd_long_term"),
                     "realized_ytd_long_term", col)
    pq.write_table(t, folder / "households.parquet")
    tables, errors = _errors(folder)
    assert errors == {
        "syn-000000": "household syn-000000: table households (households.parquet) row 1: "
                      "field 'realized_ytd_long_term': NaN is not a number; leave the cell "
                      "empty for the default, or give a value",
        "syn-000001": None, "syn-000002": None}
    raw = {h: r for h, r, _ in tables.items()}
    assert "long_term" not in raw["syn-000001"]["tax_profile"].get("realized_ytd", {})
    assert raw["syn-000002"]["tax_profile"]["realized_ytd"]["long_term"] == -100.0


def test_nan_text_in_a_csv_number_column_is_an_error(tmp_path):
    rows = synth.to_tables(make_households(2))
    rows["lots"][3]["cost_basis"] = "NaN"
    _, errors = _errors(_folder(tmp_path, rows))
    assert errors["syn-000000"] == ("household syn-000000: table lots (lots.csv) row 4: field "
                                    "'cost_basis': NaN is not a number; leave the cell empty "
                                    "for the default, or give a value")


# --------------------------------------------------------------------------- CSV and terminal


def test_formula_cells_are_escaped_and_numbers_stay_numbers(tmp_path):
    hhs = make_households(3)
    names = ["=HYPERLINK(\"http://x\")", "@SUM(1)", "+cmd"]
    for hh, name in zip(hhs, names, strict=True):
        hh["household_id"] = name
    rows = synth.to_tables(hhs)
    bad = next(r for r in rows["goals"] if r["household_id"] == "+cmd")
    bad["target"] = 0.0                 # +cmd is rejected: its id reaches rejects.csv
    out = tmp_path / "out"
    run_batch(_folder(tmp_path, rows), out, workers=1, csv=True, timings=False)
    results = list(csv.DictReader((out / "results.csv").open()))
    assert [r["household_id"] for r in results] == ["'+cmd", "'=HYPERLINK(\"http://x\")",
                                                     "'@SUM(1)"]
    assert results[0]["message"].startswith("household +cmd: ")   # not at the cell's start
    trades = list(csv.DictReader((out / "trades.csv").open()))
    assert {t["household_id"] for t in trades} == {"'=HYPERLINK(\"http://x\")", "'@SUM(1)"}
    gains = [t["realized_gain"] for t in trades if t["realized_gain"].startswith("-")]
    assert gains and all(float(g) < 0 for g in gains)     # negative numbers are numbers
    (rej,) = list(csv.DictReader((out / "rejects.csv").open()))
    assert rej["household_id"] == "'+cmd" and rej["table"] == "goals"
    # the Parquet tables keep the ids exactly
    assert pq.read_table(out / "results.parquet").column(0).to_pylist()[0] == "+cmd"


def test_rejects_keep_table_and_field_when_ids_hold_colons(tmp_path):
    hhs = make_households(2)
    hhs[0]["household_id"] = "a: lots: field 'x': b"
    hhs[0]["lots"][2]["lot_id"] = "L: 3: field 'y'"
    # a rule of the contract's own validation (not of one row): read back last of 30,
    # ':' sorts after '-'
    hhs[0]["lots"][2]["acquired"] = "2099-01-02"
    out = tmp_path / "out"
    run_batch(_folder(tmp_path, synth.to_tables(hhs)), out, workers=1, report=False)
    assert pq.read_table(out / "rejects.parquet").to_pylist() == [
        {"household_id": "a: lots: field 'x': b", "table": "lots",
         "record": "lots[29] (lot_id L: 3: field 'y')", "field": "acquired",
         "problem": f"2099-01-02 is after as_of {hhs[0]['as_of']}"}]


def test_error_lines_escape_control_characters(tmp_path):
    raw = make_households(1)[0]
    raw["household_id"] = "x\n\x1b]0;owned\x07error: forged"
    raw["goals"][0]["targets"] = {k: 0.0 for k in raw["goals"][0]["targets"]}
    path = tmp_path / "h.json"
    path.write_text(json.dumps(raw))
    res = _cli("validate", path)
    assert res.exit_code == 2
    assert len(res.stderr.splitlines()) == 1 and "\x1b" not in res.stderr
    assert "\\n\\x1b]0;owned\\x07error: forged" in res.stderr


def test_display_never_reads_ids_as_markup(tmp_path):
    raw = make_households(1)[0]
    raw["household_id"] = "[bold red]x[/bold red]"
    path = tmp_path / "h.json"
    path.write_text(json.dumps(raw))
    res = _cli("solve", path, "--out", tmp_path / "o")
    assert res.exit_code == 0, res.output
    assert "[bold red]x[/bold red]: " in res.stdout


# --------------------------------------------------------------------------- solve output


def test_solve_writes_trades_and_summary_both_or_neither(monkeypatch, tmp_path):
    from taxopt import output

    raw = make_households(1)[0]
    path = tmp_path / "h.json"
    path.write_text(json.dumps(raw))
    out = tmp_path / "o"
    out.mkdir()
    (out / "trades.csv").write_text("old trades\n")
    (out / "summary.json").write_text("{}\n")
    real = os.replace

    def no_room_for_summary(src, dst):
        if Path(dst).name == "summary.json":
            raise OSError(28, "No space left on device", str(dst))
        return real(src, dst)

    monkeypatch.setattr(output.os, "replace", no_room_for_summary)
    res = _cli("solve", path, "--out", out, "--quiet")
    assert res.exit_code == 3
    assert res.stderr == f"error: {out / 'summary.json'}: No space left on device\n"
    # never the new trades beside the old summary; and a run that failed leaves none of
    # the previous run's outputs to be taken for its own (nor a temporary file)
    assert list(out.iterdir()) == []


# --------------------------------------------------------------------------- exit codes


def test_exit_3_when_out_cannot_be_written(tmp_path):
    inp = write_tables(synth.to_tables(make_households(2)), tmp_path / "in", "csv")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = _cli("batch", inp, "--out", blocker / "out", "--quiet")
    assert res.exit_code == 3
    (rec,) = _records(res.stderr)
    assert rec["message"] == (f"{blocker / 'out'}: cannot create the output folder: "
                              "Not a directory")
    raw = make_households(1)[0]
    (tmp_path / "h.json").write_text(json.dumps(raw))
    res = _cli("solve", tmp_path / "h.json", "--out", blocker / "out", "--quiet")
    assert res.exit_code == 3 and res.stderr.count("\n") == 1
    assert res.stderr.startswith("error: ") and "Not a directory" in res.stderr


def test_exit_3_for_a_parts_symlink(tmp_path):
    inp = write_tables(synth.to_tables(make_households(4)), tmp_path / "in", "csv")
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (out / ".parts").symlink_to(tmp_path / "elsewhere")
    res = _cli("batch", inp, "--out", out, "--quiet")
    assert res.exit_code == 3
    assert _records(res.stderr)[0]["message"] == (
        f"{out / '.parts'}: is a symbolic link or a file, not taxopt's parts folder; taxopt "
        "does not follow links in --out: remove it")


@pytest.mark.parametrize("kind", ["results", "trades"])
def test_a_damaged_part_is_solved_again_on_resume(tmp_path, kind):
    # A scheduler passes --resume every night: a chunk that cannot be read back is solved
    # again (with a warning), not a failure on every retry until someone clears --out.
    inp = write_tables(synth.to_tables(make_households(6)), tmp_path / "in", "csv")
    fresh = tmp_path / "fresh"
    assert _cli("batch", inp, "--out", fresh, "--quiet", "--no-timings").exit_code == 0
    out = tmp_path / "out"
    calls = []

    def stop(event):
        if event["event"] == "chunk":
            calls.append(event)
            if len(calls) == 2:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(inp, out, workers=1, chunk_size=2, progress=stop, timings=False)
    first, *_ = sorted((out / ".parts").glob(f"*.{kind}.parquet"))
    first.write_bytes(b"PAR1 not really")
    res = _cli("batch", inp, "--out", out, "--resume", "--no-timings")
    assert res.exit_code == 0, res.stderr
    stem = first.name.split(".")[0]
    warned = [r["message"] for r in _records(res.stderr) if r["level"] == "warning"]
    assert warned == [f"{out / '.parts' / stem}.results.parquet: a finished chunk of the "
                      "interrupted run cannot be read; it is solved again"]
    for name in ("results.parquet", "trades.parquet", "rejects.parquet"):
        assert (out / name).read_bytes() == (fresh / name).read_bytes()


def test_exit_2_when_every_household_is_rejected(tmp_path):
    rows = synth.to_tables(make_households(3))
    for r in rows["goals"]:
        r["target"] = 0.5
    res = _cli("batch", _folder(tmp_path, rows), "--out", tmp_path / "o", "--quiet")
    assert res.exit_code == 2
    status = pq.read_table(tmp_path / "o" / "results.parquet").column("status").to_pylist()
    assert status == ["invalid_input"] * 3


def test_exit_3_fast_when_the_scheduler_is_unreachable(tmp_path):
    pytest.importorskip("dask.distributed")
    with socket.socket() as s:            # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inp = write_tables(synth.to_tables(make_households(2)), tmp_path / "in", "csv")
    t0 = time.monotonic()
    res = _cli("batch", inp, "--out", tmp_path / "o", "--engine", "dask", "--scheduler",
               f"tcp://127.0.0.1:{port}", "--quiet")
    assert time.monotonic() - t0 < 10
    assert res.exit_code == 3
    (rec,) = _records(res.stderr)
    assert rec["message"].startswith(f"cannot reach the Dask scheduler tcp://127.0.0.1:{port}: ")
    assert not (tmp_path / "o" / LOCK_NAME).exists()


def test_exit_130_when_interrupted_is_a_log_record(monkeypatch, tmp_path):
    from taxopt.batch import run as run_mod

    inp = write_tables(synth.to_tables(make_households(4)), tmp_path / "in", "csv")
    real = run_mod._drive

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_mod, "_drive", interrupted)
    res = _cli("batch", inp, "--out", tmp_path / "o")
    assert res.exit_code == 130
    recs = _records(res.stderr)
    assert recs[-1]["level"] == "warning" and recs[-1]["exit_code"] == 130
    # interrupted before any chunk was solved: nothing to resume from
    assert recs[-1]["message"] == ("interrupted before any chunk finished; run the same "
                                   "command again")
    assert len({r["run_id"] for r in recs}) == 1
    monkeypatch.setattr(run_mod, "_drive", real)


def test_resume_of_a_finished_run_says_so_and_computes_nothing(tmp_path):
    inp = write_tables(synth.to_tables(make_households(3)), tmp_path / "in", "csv")
    out = tmp_path / "o"
    assert _cli("batch", inp, "--out", out, "--quiet").exit_code == 0
    manifest = (out / "manifest.json").read_bytes()
    stamp = (out / "results.parquet").stat().st_mtime_ns
    res = _cli("batch", inp, "--out", out, "--resume")
    assert res.exit_code == 0
    run_id = json.loads(manifest)["run_id"]
    assert res.stdout == (f"{out}: the batch already finished (run {run_id}); nothing to "
                          "resume\n")
    assert (out / "manifest.json").read_bytes() == manifest
    assert (out / "results.parquet").stat().st_mtime_ns == stamp
    # after a run of other inputs (last night's), --resume runs the new batch
    (inp / "households.csv").write_text((inp / "households.csv").read_text()
                                        .replace("0.219", "0.2"))
    res = _cli("batch", inp, "--out", out, "--resume")
    assert res.exit_code == 0
    assert _records(res.stderr)[0]["message"] == (
        f"the finished run in {out} used other input tables, options or code; nothing to "
        "resume, starting a new run")
    assert json.loads((out / "manifest.json").read_text())["run_id"] != run_id


def test_exit_3_when_workers_are_lost_beyond_retries(monkeypatch, tmp_path):
    from taxopt.batch import run as run_mod

    inp = write_tables(synth.to_tables(make_households(2)), tmp_path / "in", "csv")

    def lost(*args, **kwargs):
        raise run_mod.BatchAborted("the last 4 chunks failed in their workers, the last with "
                                   "BrokenProcessPool: gone; finished chunks are kept, run "
                                   "again with --resume once the cause is fixed")

    monkeypatch.setattr(run_mod, "_drive", lost)
    res = _cli("batch", inp, "--out", tmp_path / "o", "--quiet")
    assert res.exit_code == 3
    (rec,) = _records(res.stderr)
    assert rec["message"].startswith("the last 4 chunks failed in their workers")
    assert not (tmp_path / "o" / LOCK_NAME).exists()


def test_a_rejected_row_alone_gives_exit_1_and_is_reported(tmp_path):
    rows = synth.to_tables(make_households(3))
    rows["lots"].append({**rows["lots"][0], "household_id": None})
    folder = _folder(tmp_path, rows)
    frame = pd.read_csv(folder / "accounts.csv")
    frame["colour"] = "blue"
    frame.to_csv(folder / "accounts.csv", index=False)
    out = tmp_path / "o"
    res = _cli("batch", folder, "--out", out, "--workers", "1")
    assert res.exit_code == 1
    assert "3 households: 3 optimal" in res.stdout
    assert "1 rows rejected without a household (see rejects.parquet)" in res.stdout
    warnings = [r["message"] for r in _records(res.stderr) if r["level"] == "warning"]
    assert warnings == ["table accounts (accounts.csv): column 'colour' is not a column of "
                        "this table; ignored (known columns: household_id, account_id, "
                        "goal_id, tax_type, cash, cash_flow, min_cash, restricted, allowed, "
                        "max_withdrawal, max_deposit, min_withdrawal, penalty_applies)"]
    manifest = _consistent(out)
    assert manifest["warnings"] == warnings and manifest["rejected_rows"] == 1
    assert manifest["exit_code"] == 1
    assert pq.read_table(out / "rejects.parquet").to_pylist() == [
        {"household_id": "", "table": "lots", "record": f"table lots (lots.csv) row "
         f"{len(rows['lots'])}", "field": "household_id",
         "problem": "empty; every row must name its household"}]


def test_log_records_on_a_terminal_are_one_escaped_line(tmp_path):
    import io
    import logging

    from taxopt.batch.logs import attach, detach, run_context

    stream, lines = io.StringIO(), io.StringIO()
    human = attach(stream, json_lines=False)
    machine = attach(lines, json_lines=True)
    try:
        with run_context("r-1"):
            logging.getLogger("taxopt.batch").warning("household %s: odd", "x\n\x1b[2Jerror: y",
                                                      extra={"household_id": "x"})
    finally:
        detach(human)
        detach(machine)
    assert stream.getvalue() == "warning: household x\\n\\x1b[2Jerror: y: odd\n"
    rec = json.loads(lines.getvalue())
    assert rec["level"] == "warning" and rec["run_id"] == "r-1" and rec["household_id"] == "x"
    assert rec["message"] == "household x\n\x1b[2Jerror: y: odd"    # JSON escapes it itself
    assert logging.getLogger("taxopt").handlers == []
