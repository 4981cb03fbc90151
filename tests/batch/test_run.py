"""Running a batch: statuses and messages, atomic and deterministic output, resume, engines."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from taxopt import synth
from taxopt.batch import run_batch
from taxopt.batch.run import BatchAborted, _drive, _Work
from taxopt.batch.sink import _TRADE_TYPES, TRADES_SCHEMA
from taxopt.batch.tables import read_tables
from taxopt.batch.work import RESULT_COLUMNS, solve_chunk
from taxopt.cli import cli
from taxopt.plan.report import TRADE_COLUMNS

from .conftest import assert_same_outputs, make_households, write_tables


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_reference_batch(small_batch):
    out, outcome = small_batch["out"], small_batch["outcome"]
    assert outcome.total == 10 and outcome.counts["optimal"] == 10 and outcome.exit_code == 0
    # nothing but the outputs: no temp files, no parts
    assert _listing(out) == ["manifest.json", "rejects.csv", "rejects.parquet", "report.html",
                             "results.csv", "results.parquet", "trades.csv", "trades.parquet"]
    assert pq.read_table(out / "rejects.parquet").num_rows == 0   # nothing to fix
    res = pq.read_table(out / "results.parquet")
    assert res.column_names == list(RESULT_COLUMNS)
    ids = res.column("household_id").to_pylist()
    assert ids == sorted(h["household_id"] for h in small_batch["households"])
    trades = pq.read_table(out / "trades.parquet")
    assert trades.column_names == list(TRADE_COLUMNS)
    tid = trades.column("household_id").to_pylist()
    assert tid == sorted(tid)
    orders = dict(zip(ids, res.column("orders").to_pylist(), strict=True))
    assert sum(orders.values()) == trades.num_rows
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["optimal"] == 10 and manifest["households"] == 10
    assert set(manifest["inputs"]) == {"households", "securities", "goals", "accounts",
                                       "bands", "lots", "recent_trades", "options"}
    assert all(len(v["sha256"]) == 64 for v in manifest["inputs"].values())
    assert "taxopt" in manifest["versions"] and manifest["options"]["time_limit"] > 0


def test_same_output_twice_and_with_two_workers(small_batch, tmp_path):
    out = tmp_path / "again"
    run_batch(small_batch["input"], out, workers=2, chunk_size=2, csv=True, timings=False)
    assert_same_outputs(small_batch["out"], out)


def test_timings_are_recorded_by_default(small_batch, tmp_path):
    out = tmp_path / "timed"
    run_batch(small_batch["input"], out, workers=1, report=False)
    secs = pq.read_table(out / "results.parquet").column("seconds").to_pylist()
    assert all(s is not None and s > 0 for s in secs)
    assert not (out / "report.html").exists() and not (out / "trades.csv").exists()


class _Stop(Exception):
    pass


def test_resume_after_an_interruption(small_batch, tmp_path):
    out = tmp_path / "resumed"
    seen = []

    def stop_after_two_chunks(event):
        seen.append(event["event"])
        if seen.count("chunk") == 2:
            raise _Stop

    with pytest.raises(_Stop):
        run_batch(small_batch["input"], out, workers=1, chunk_size=3, csv=True,
                  timings=False, progress=stop_after_two_chunks)
    parts = _listing(out / ".parts")
    assert "state.json" in parts and len([p for p in parts if "results" in p]) == 2
    assert not (out / "results.parquet").exists()

    events = []
    outcome = run_batch(small_batch["input"], out, workers=1, chunk_size=2, csv=True,
                        timings=False, resume=True, progress=events.append)
    assert outcome.reused == 6 and events[0]["skipped"] == 6 and events[0]["pending"] == 4
    assert_same_outputs(small_batch["out"], out)
    assert not (out / ".parts").exists()
    assert json.loads((out / "manifest.json").read_text())["households_reused"] == 6


def test_resume_after_changed_inputs_discards_the_parts_and_starts_afresh(tmp_path):
    """A scheduler passes --resume every night: an interrupted night, then new tables."""
    inp = write_tables(synth.to_tables(make_households(4)), tmp_path / "in", "csv")
    out = tmp_path / "out"
    with pytest.raises(_Stop):
        run_batch(inp, out, workers=1, chunk_size=2, timings=False, progress=_raise_on_chunk)
    lots = (inp / "lots.csv").read_text()
    row = lots.splitlines()[1].split(",")        # a cost basis changes: 314.47 -> 300.0
    (inp / "lots.csv").write_text(lots.replace(",".join(row), ",".join(
        [*row[:5], "300.0", *row[6:]]), 1))
    assert (inp / "lots.csv").read_text() != lots

    res = CliRunner().invoke(cli, ["batch", str(inp), "--out", str(out), "--resume",
                                   "--no-timings", "--quiet"])
    assert res.exit_code == 0, res.stderr
    (rec,) = [json.loads(line) for line in res.stderr.splitlines()]
    assert rec["level"] == "warning"
    assert rec["message"] == (f"the interrupted run in {out} used other input tables (lots "
                              "differ); its finished chunks are discarded and the batch starts "
                              "afresh")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["households_reused"] == 0 and manifest["counts"]["optimal"] == 4
    fresh = tmp_path / "fresh"
    run_batch(inp, fresh, workers=1, chunk_size=2, timings=False, report=False)
    assert_same_outputs(fresh, out, ("trades.parquet", "results.parquet", "rejects.parquet"))

    # other options: the same, named
    with pytest.raises(_Stop):
        run_batch(inp, out, workers=1, chunk_size=2, timings=False, progress=_raise_on_chunk)
    res = CliRunner().invoke(cli, ["batch", str(inp), "--out", str(out), "--resume",
                                   "--no-timings", "--quiet", "--time-limit", "5"])
    assert res.exit_code == 0, res.stderr
    (rec,) = [json.loads(line) for line in res.stderr.splitlines()]
    assert rec["message"] == (f"the interrupted run in {out} used other options (time_limit); "
                              "its finished chunks are discarded and the batch starts afresh")
    assert not (out / ".parts").exists()


def test_resume_csv_of_a_run_finished_without_csv_writes_the_csv(small_batch, tmp_path):
    out = tmp_path / "out"
    run_batch(small_batch["input"], out, workers=1, timings=False)
    assert not (out / "trades.csv").exists()
    res = CliRunner().invoke(cli, ["batch", str(small_batch["input"]), "--out", str(out),
                                   "--resume", "--csv", "--no-timings"])
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stderr.splitlines()[0])["message"] == (
        f"the finished run in {out} wrote no rejects.csv, results.csv, trades.csv; starting "
        "a new run to write them")
    manifest = json.loads((out / "manifest.json").read_text())
    assert {"trades.csv", "results.csv", "rejects.csv"} <= set(manifest["outputs"])
    # the same files, byte for byte, as the reference run with --csv
    assert_same_outputs(small_batch["out"], out)
    # now complete: another --resume --csv has nothing to do
    res = CliRunner().invoke(cli, ["batch", str(small_batch["input"]), "--out", str(out),
                                   "--resume", "--csv", "--no-timings"])
    assert res.exit_code == 0 and "already finished" in res.stdout


def _raise_on_chunk(event):
    if event["event"] == "chunk":
        raise _Stop


def test_bad_households_are_rows_and_exit_code_1(tmp_path):
    hhs = make_households(8)
    rows = synth.to_tables(hhs)
    lots3 = [r for r in rows["lots"] if r["household_id"] == "syn-000003"]
    lots3[4]["symbol"] = "ZZZZ"
    goal5 = [r for r in rows["goals"] if r["household_id"] == "syn-000005"]
    goal5[-1]["target"] = round(goal5[-1]["target"] - 0.1, 6)
    inp = write_tables(rows, tmp_path / "in", "csv")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["batch", str(inp), "--out", str(out), "--workers", "2",
                                      "--chunk-size", "3", "--csv", "--quiet"])
    assert result.exit_code == 1, result.output
    res = pq.read_table(out / "results.parquet").to_pydict()
    status = dict(zip(res["household_id"], res["status"], strict=True))
    message = dict(zip(res["household_id"], res["message"], strict=True))
    assert status.pop("syn-000003") == "invalid_input"
    lot_row = f"table lots (lots.csv) row {rows['lots'].index(lots3[4]) + 1}"
    assert message["syn-000003"] == (f"household syn-000003: {lot_row}: "
                                     "field 'symbol': unknown symbol 'ZZZZ'")
    assert status.pop("syn-000005") == "invalid_input"
    assert message["syn-000005"] == ("household syn-000005: goals[0] (goal_id retirement): "
                                     "field 'targets': targets must sum to 1, they sum to 0.9")
    assert set(status.values()) == {"optimal"}
    trades = pq.read_table(out / "trades.parquet").column("household_id").to_pylist()
    assert "syn-000003" not in trades and "syn-000005" not in trades
    # the rejects table: what to fix, by household, table, record and field
    assert pq.read_table(out / "rejects.parquet").to_pylist() == [
        {"household_id": "syn-000003", "table": "lots", "record": lot_row,
         "field": "symbol", "problem": "unknown symbol 'ZZZZ'"},
        {"household_id": "syn-000005", "table": "goals",
         "record": "goals[0] (goal_id retirement)", "field": "targets",
         "problem": "targets must sum to 1, they sum to 0.9"}]
    assert (out / "rejects.csv").read_text().splitlines()[0] == (
        "household_id,table,record,field,problem")
    report = (out / "report.html").read_text()
    assert "unknown symbol &#39;ZZZZ&#39;" in report and "Failures (2)" in report
    # the report can be made again from the folder alone
    (out / "report.html").unlink()
    again = CliRunner().invoke(cli, ["report", str(out)])
    assert again.exit_code == 0 and (out / "report.html").read_text() == report


def test_cli_exit_codes_0_and_2(small_batch, tmp_path):
    ok = CliRunner().invoke(cli, ["batch", str(small_batch["input"]), "--out",
                                  str(tmp_path / "ok"), "--workers", "1", "--quiet"])
    assert ok.exit_code == 0, ok.output
    bad = tmp_path / "bad"
    write_tables(synth.to_tables(make_households(2)), bad, "csv")
    text = (bad / "lots.csv").read_text().replace("symbol", "ticker", 1)
    (bad / "lots.csv").write_text(text)
    res = CliRunner().invoke(cli, ["batch", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    (record,) = [json.loads(line) for line in res.stderr.splitlines()]
    assert record["level"] == "error" and record["exit_code"] == 2 and record["run_id"]
    assert record["message"] == ("input: table lots (lots.csv): field 'symbol': required "
                                 "column is missing")
    assert "Traceback" not in res.output
    res = CliRunner().invoke(cli, ["batch", str(bad), "--out", str(tmp_path / "o"),
                                   "--scheduler", "tcp://localhost:1"])
    assert res.exit_code == 2 and "--scheduler: needs --engine dask" in res.output
    res = CliRunner().invoke(cli, ["report", str(tmp_path / "nothing")])
    assert res.exit_code == 2


def test_every_trade_column_has_a_type():
    """A trade column added upstream needs its Arrow type in batch/sink.py."""
    assert set(TRADE_COLUMNS) <= set(_TRADE_TYPES)
    assert TRADES_SCHEMA.names == list(TRADE_COLUMNS)


class _FlakyEngine:
    """Runs chunks inline; a chunk holding ``poison`` fails as if its worker died."""

    workers, capacity = 1, 2

    def __init__(self, poison):
        self.poison, self.queue = poison, []

    def pending(self):
        return len(self.queue)

    def submit(self, key, items):
        self.queue.append((key, items))

    def next_done(self):
        key, items = self.queue.pop(0)
        if any(hid in self.poison for hid, _, _ in items):
            return key, RuntimeError("worker died")
        return key, solve_chunk(items, None, False)


def test_a_household_that_kills_its_worker_is_an_error_row(tmp_path):
    from taxopt.batch import sink

    tables = read_tables(write_tables(synth.to_tables(make_households(5)), tmp_path / "i",
                                      "csv"))
    parts = tmp_path / "parts"
    parts.mkdir()
    counts: dict[str, int] = {}
    work = iter([_Work(sink.part_stem(0, 2), [0, 1, 2]), _Work(sink.part_stem(3, 4), [3, 4])])
    _drive(_FlakyEngine({"syn-000001"}), tables, parts, work, counts, 0, 5,
           lambda e: None, 0.0)
    assert counts == {"optimal": 4, "error": 1}
    sink.merge_parts(parts, tmp_path, False)
    res = pq.read_table(tmp_path / "results.parquet").to_pydict()
    assert res["household_id"] == [f"syn-00000{i}" for i in range(5)]
    assert res["message"][1] == ("household syn-000001: the worker failed twice while "
                                 "solving it: RuntimeError: worker died")

    everything = {f"syn-00000{i}" for i in range(5)}
    work = iter([_Work(sink.part_stem(i, i), [i]) for i in range(5)])
    with pytest.raises(BatchAborted, match="chunks failed in their workers"):
        _drive(_FlakyEngine(everything), tables, parts, work, {}, 0, 5, lambda e: None, 0.0)


def test_dask_local_cluster_gives_the_same_output(small_batch, tmp_path):
    pytest.importorskip("dask.distributed")
    out = tmp_path / "dask"
    outcome = run_batch(small_batch["input"], out, engine="dask", workers=2, chunk_size=3,
                        csv=True, timings=False)
    assert outcome.exit_code == 0
    assert_same_outputs(small_batch["out"], out)
    assert json.loads((out / "manifest.json").read_text())["engine"]["engine"] == "dask"


class _KillsTheWorker:
    """Unpickling this in a worker ends the process, as a crash in native code would."""

    def __reduce__(self):
        import os

        return (os._exit, (3,))


def test_local_engine_survives_a_dead_worker(small_batch):
    from concurrent.futures.process import BrokenProcessPool

    from taxopt.batch.engines import LocalEngine

    tables = read_tables(small_batch["input"])
    good = list(tables.items(tables.household_ids[:2]))
    eng = LocalEngine(1, None, False)
    try:
        eng.submit("poison", [("x", _KillsTheWorker(), None)])
        key, out = eng.next_done()
        assert key == "poison" and isinstance(out, BrokenProcessPool)
        eng.submit("good", good)
        key, out = eng.next_done()
        assert key == "good" and out["results"]["status"] == ["optimal", "optimal"]
    finally:
        eng.close()


def test_progress_as_json_lines(small_batch, tmp_path):
    import io

    from taxopt.batch.progress import JsonLines

    stream = io.StringIO()
    run_batch(small_batch["input"], tmp_path / "o", workers=1, chunk_size=4, report=False,
              progress=JsonLines(stream, every=0.0))
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [e["event"] for e in events] == ["start", "chunk", "chunk", "chunk", "end"]
    assert events[0]["total"] == 10 and events[-1]["counts"]["optimal"] == 10
    assert events[2]["done"] == 8 and events[2]["failed"] == 0 and events[2]["rate"] > 0
    assert all(e["logger"] == "taxopt.batch.progress" and "ts" in e for e in events)
    assert all(e["level"] == "info" and e["run_id"] == events[0]["run_id"] for e in events)
    assert events[0]["run_id"] and events[-1]["message"] == "end"


def test_rich_progress_runs(small_batch, tmp_path):
    from taxopt.batch.progress import make_reporter

    bar = make_reporter("rich")
    bar({"event": "start", "total": 10, "skipped": 2})
    bar({"event": "chunk", "done": 6, "total": 10, "failed": 1, "rate": 3.0})
    bar.close()
    with pytest.raises(ValueError, match="progress must be"):
        make_reporter("loud")


def test_chunk_sizes():
    from taxopt.batch.run import choose_chunk_size

    assert choose_chunk_size(100_000, 8) == 500          # capped
    assert choose_chunk_size(10_000, 8) == 313           # about four chunks per worker
    assert choose_chunk_size(1_000, 2) == 125
    assert choose_chunk_size(1_000, 16) == 50            # at least 50 ...
    assert choose_chunk_size(100, 8) == 13               # ... unless workers would idle
    assert choose_chunk_size(0, 4) == 1


def test_the_last_chunks_shrink_so_the_workers_finish_together():
    from taxopt.batch.run import _chunks

    work = list(_chunks(list(range(1000)), 125, workers=2))
    # full chunks while more than 4 x 125 are left, then left / 4 (375 / 4 -> 94, ...),
    # never under 25 but for the remainder
    assert [len(w.positions) for w in work] == [125] * 5 + [94, 71, 53, 40, 30, 25, 25, 25,
                                                            12]
    assert [i for w in work for i in w.positions] == list(range(1000))
    assert work[5].stem == "p000000625-000000718"
    # a size the user gave is kept to the end; a chunk never spans a household done earlier
    assert [len(w.positions) for w in _chunks(list(range(10)), 3)] == [3, 3, 3, 1]
    assert [w.positions for w in _chunks([0, 1, 2, 5, 6], 4, workers=1)] == [[0, 1, 2],
                                                                            [5, 6]]
