"""`taxopt batch --compare-lockstep`: the lockstep columns filled, on every engine."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from taxopt import synth
from taxopt.audit import assess
from taxopt.batch import run_batch
from taxopt.batch.tables import read_tables
from taxopt.cli import cli
from taxopt.domain.load import from_dict
from taxopt.heuristics import HEURISTICS

from .conftest import make_households, write_tables


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    root = tmp_path_factory.mktemp("lockstep")
    inp = write_tables(synth.to_tables(make_households(4)), root / "in", "parquet")
    out = root / "local"
    res = CliRunner().invoke(cli, ["batch", str(inp), "--out", str(out), "--workers", "1",
                                   "--no-timings", "--quiet", "--compare-lockstep"])
    assert res.exit_code == 0, res.output
    return inp, out


def test_the_flag_fills_the_lockstep_columns_with_the_heuristics_audited_tax(night):
    inp, out = night
    rows = pq.read_table(out / "results.parquet").to_pylist()
    raw = {h: r for h, r, _ in read_tables(inp).items()}
    assert [r["status"] for r in rows] == ["optimal"] * 4
    for r in rows:
        hh = from_dict(raw[r["household_id"]])
        theirs = round(float(assess(hh, HEURISTICS["lockstep_fifo"](hh)).est_tax), 2)
        assert r["lockstep_est_tax"] == theirs
        assert r["tax_saved_vs_lockstep"] == round(theirs - r["est_tax"], 2)
    assert json.loads((out / "manifest.json").read_text())["compare_lockstep"] is True


def test_without_the_flag_the_columns_stay_empty(night, tmp_path):
    inp, _ = night
    outcome = run_batch(inp, tmp_path / "o", workers=1, timings=False, report=False)
    assert outcome.exit_code == 0
    res = pq.read_table(tmp_path / "o" / "results.parquet").to_pydict()
    assert res["tax_saved_vs_lockstep"] == [None] * 4
    assert res["lockstep_est_tax"] == [None] * 4
    assert json.loads((tmp_path / "o" / "manifest.json").read_text())["compare_lockstep"] \
        is False


def test_resuming_with_the_flag_changed_starts_afresh(night, tmp_path, caplog):
    from taxopt.batch import run as run_mod

    inp, _ = night
    out = tmp_path / "o"

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    real = run_mod._drive
    run_mod._drive = stop
    try:
        with pytest.raises(KeyboardInterrupt):
            run_batch(inp, out, workers=1, timings=False, compare_lockstep=True)
    finally:
        run_mod._drive = real
    outcome = run_batch(inp, out, workers=1, timings=False, resume=True)
    assert outcome.reused == 0
    assert f"the interrupted run in {out} used other options (compare_lockstep); its " \
        "finished chunks are discarded and the batch starts afresh" in caplog.messages
    lockstep = pq.read_table(out / "results.parquet", columns=["lockstep_est_tax"])
    assert lockstep.column(0).null_count == lockstep.num_rows   # the flag is off now


def test_dask_fills_them_alike(night, tmp_path):
    pytest.importorskip("dask.distributed")
    inp, out = night
    outcome = run_batch(inp, tmp_path / "d", engine="dask", workers=1, timings=False,
                        report=False, compare_lockstep=True)
    assert outcome.exit_code == 0
    assert (tmp_path / "d" / "results.parquet").read_bytes() == (
        out / "results.parquet").read_bytes()
