"""The batch's first second: bad options, a config that is not text, an output that is a
file, a damaged lock file, an early signal. Each gives its exit code and one log record
(a JSON line, stderr not being a terminal), like every later message."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from taxopt import synth
from taxopt.batch.failures import OutputLocked
from taxopt.batch.lock import LOCK_NAME, OutLock
from taxopt.cli import cli

from .conftest import make_households, write_tables

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def batch2(tmp_path_factory) -> Path:
    return write_tables(synth.to_tables(make_households(2)),
                        tmp_path_factory.mktemp("early") / "in", "csv")


def _cli(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _record(stderr: str) -> dict:
    (line,) = stderr.splitlines()
    return json.loads(line)


def test_a_bad_set_is_a_json_record_with_exit_2(batch2, tmp_path):
    res = _cli("batch", batch2, "--out", tmp_path / "o", "--set", "bad")
    assert res.exit_code == 2
    rec = _record(res.stderr)
    assert (rec["level"], rec["exit_code"]) == ("error", 2)
    assert rec["message"] == "input: --set: expected KEY=VALUE, got 'bad'"
    assert rec["run_id"]
    assert not (tmp_path / "o").exists()


@pytest.fixture
def binary_toml(tmp_path) -> Path:
    path = tmp_path / "bin.toml"
    path.write_bytes(b"\xff\xfe[options]\n")
    return path


def test_a_config_that_is_not_utf8_is_exit_2_naming_the_file(batch2, tmp_path, binary_toml):
    res = _cli("batch", batch2, "--out", tmp_path / "o", "--config", binary_toml)
    assert res.exit_code == 2
    assert _record(res.stderr)["message"] == (
        f"input: --config {binary_toml}: not UTF-8 text (byte 0xff at offset 0); TOML "
        "files are UTF-8")
    res = _cli("extract", batch2, "--household", "syn-000000", "--config", binary_toml)
    assert res.exit_code == 2
    assert res.stderr == (f"error: input: --config {binary_toml}: not UTF-8 text (byte 0xff "
                          "at offset 0); TOML files are UTF-8\n")


def test_out_naming_a_file_is_exit_3_naming_it(batch2, tmp_path):
    blocker = tmp_path / "night.out"
    blocker.write_text("not a folder")
    res = _cli("batch", batch2, "--out", blocker, "--quiet")
    assert res.exit_code == 3
    rec = _record(res.stderr)
    assert rec["message"] == (f"{blocker}: cannot write the batch output there: it is a "
                              "file, not a folder")
    assert rec["exit_code"] == 3
    assert blocker.read_text() == "not a folder"


def test_an_interrupt_before_logging_is_set_up_is_a_json_record(monkeypatch, batch2,
                                                                 tmp_path):
    from taxopt.batch import logs

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(logs, "attach", interrupted)
    res = _cli("batch", batch2, "--out", tmp_path / "o")
    assert res.exit_code == 130
    rec = _record(res.stderr)
    assert (rec["level"], rec["message"], rec["exit_code"]) == ("warning", "interrupted", 130)


def test_an_interrupt_while_reading_the_config_is_exit_130(monkeypatch, batch2, tmp_path):
    from taxopt.batch import settings

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(settings, "batch_defaults", interrupted)
    res = _cli("batch", batch2, "--out", tmp_path / "o")
    assert res.exit_code == 130
    rec = _record(res.stderr)
    assert rec["exit_code"] == 130
    assert rec["message"] == ("interrupted before any chunk finished; run the same command "
                              "again")
    assert not (tmp_path / "o" / LOCK_NAME).exists()


def test_sigterm_in_the_first_second_is_exit_130_with_one_record(batch2, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    codes = []
    for i, delay in enumerate((0.4, 0.6, 0.9)):
        proc = subprocess.Popen([sys.executable, "-m", "taxopt.cli", "batch", str(batch2),
                                 "--out", str(tmp_path / f"o{i}"), "--quiet"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(delay)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        codes.append(proc.returncode)
        if proc.returncode == 0:      # it finished first: nothing to check
            continue
        assert proc.returncode == 130, (delay, err)
        rec = _record(err.decode())
        assert rec["exit_code"] == 130 and rec["message"].startswith("interrupted")
        assert out == b""
    # the batch takes over a second to start: the first SIGTERM (0.4 s) comes before its end
    assert codes[0] == 130, codes


# --------------------------------------------------------------------------- the lock


def test_an_unreadable_lock_file_no_one_holds_is_taken_over(batch2, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / LOCK_NAME).write_text('{"host": "vm", "pi')      # a run killed mid-write
    res = _cli("batch", batch2, "--out", out, "--quiet")
    assert res.exit_code == 0, res.stderr
    rec = _record(res.stderr)
    assert rec["level"] == "warning"
    assert rec["message"] == (f"took over the lock file {out / LOCK_NAME}: it could not be "
                              "read and no batch holds it")
    assert (out / "manifest.json").is_file() and not (out / LOCK_NAME).exists()


def test_an_unreadable_lock_file_that_is_held_is_refused(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / LOCK_NAME).write_text('{"host": "vm", "pi')
    fd = os.open(out / LOCK_NAME, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)       # a holder, between taking the lock and writing it
    try:
        with pytest.raises(OutputLocked) as err:
            OutLock(out).acquire()
    finally:
        os.close(fd)
    assert str(err.value) == (f"{out}: another taxopt batch is writing here (who holds it "
                              "is unknown: its lock file cannot be read); wait for it to "
                              "finish or use another --out")
    with OutLock(out) as lock:          # released: now it is stale
        assert lock.unreadable


def test_where_flock_is_ignored_a_fresh_unreadable_lock_file_is_left_alone(monkeypatch,
                                                                         tmp_path):
    from taxopt.batch import lock as lock_mod

    out = tmp_path / "o"
    out.mkdir()
    (out / LOCK_NAME).write_text('{"host": "vm", "pi')
    monkeypatch.setattr(lock_mod, "_flock_works", lambda path: False)
    with pytest.raises(OutputLocked, match=r"its lock file .* is being written"):
        OutLock(out).acquire()
    old = time.time() - 60
    os.utime(out / LOCK_NAME, (old, old))
    with OutLock(out) as lock:
        assert lock.unreadable
