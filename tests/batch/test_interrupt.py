"""An interrupted batch ends: exit 130, no process or thread left waiting, the parts kept.

Ctrl-C reaches every process of the batch's group, workers included; a worker that
dies while it writes its result leaves half a message in the pool's result pipe.
"""

from __future__ import annotations

import inspect
import json
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from taxopt import synth
from taxopt.batch.engines import LocalEngine
from taxopt.batch.lock import LOCK_NAME
from taxopt.interrupts import INTERRUPTS, interrupts_deferred, interrupts_once, raise_interrupt

from .conftest import make_households, write_tables

ROOT = Path(__file__).resolve().parents[2]
CLAIMED = 1 << 20      # bytes a half-written result announces
SENT = 100             # bytes of it that reach the pipe


def die_mid_result() -> None:
    """In a pool worker: send the start of a result message, then die, as Ctrl-C can."""
    frame = inspect.currentframe()
    while frame is not None and "result_queue" not in frame.f_locals:
        frame = frame.f_back
    assert frame is not None, "not in a ProcessPoolExecutor worker"
    fd = frame.f_locals["result_queue"]._writer.fileno()
    os.write(fd, struct.pack("!i", CLAIMED) + b"\0" * SENT)
    os._exit(1)


def test_stopping_a_pool_after_a_worker_died_mid_message_leaves_no_thread():
    eng = LocalEngine(1, None, False)
    pool = eng._ensure()
    manager_holder: list = []
    fut = pool.submit(die_mid_result)
    manager_holder.append(pool._executor_manager_thread)
    proc = next(iter(pool._processes.values()))
    proc.join(timeout=30)
    assert not proc.is_alive()
    time.sleep(0.3)       # the manager thread is now in recv(), waiting for the rest
    manager = manager_holder[0]
    writer = pool._result_queue._writer
    t0 = time.monotonic()
    eng.close(cancel=True)
    try:
        assert time.monotonic() - t0 < 10
        assert not manager.is_alive(), "the pool's thread still waits for the half message"
        assert fut.done()
    finally:
        if manager.is_alive():     # unblock it, or this test process could not exit
            os.write(writer.fileno(), b"\0" * (CLAIMED - SENT))
            manager.join(timeout=10)


def _default_sigint() -> None:
    """In a child: SIGINT's default action, as at a terminal. A runner started by a
    non-interactive shell's ``&`` ignores SIGINT, and a child inherits that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(autouse=True)
def _sigint_as_at_a_terminal():
    """These tests press Ctrl-C: Python's own SIGINT handler in this process too, however
    the runner was started; the runner's own disposition comes back afterwards."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.fixture(scope="module")
def batch64(tmp_path_factory) -> Path:
    return write_tables(synth.to_tables(make_households(64)),
                        tmp_path_factory.mktemp("int") / "in", "csv")


def _batch(batch: Path, out: Path, *extra: str) -> subprocess.Popen:
    """The batch in a session of its own: a signal to its group reaches its workers too."""
    return subprocess.Popen(
        [sys.executable, "-m", "taxopt.cli", "batch", str(batch), "--out", str(out),
         "--no-timings", "--csv", "--workers", "1", "--chunk-size", "1", *extra],
        env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        preexec_fn=_default_sigint)


def _wait_for_a_part(proc: subprocess.Popen, out: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not any((out / ".parts").glob("*.results.parquet")):
        assert proc.poll() is None and time.monotonic() < deadline, "no chunk finished"
        time.sleep(0.02)


def _interrupted_records(proc: subprocess.Popen, out: Path, what: str) -> list[dict]:
    """Wait (with a hard deadline: a hang fails) and check the interrupted batch's ending."""
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"the batch interrupted {what} did not exit")
    # stderr is a pipe: every line is a JSON log record, no traceback from any process
    records = _records(err.decode())
    if proc.returncode == 130:
        assert not (out / LOCK_NAME).exists()
        assert records[-1]["exit_code"] == 130
        if any((out / ".parts").glob("*.results.parquet")):
            assert records[-1]["message"] == (
                f"interrupted: finished chunks are kept in {out / '.parts'}; run the same "
                "command with --resume to finish"), what
        else:       # the bare word: before the batch command itself had started
            assert records[-1]["message"] in (
                "interrupted", "interrupted before any chunk finished; run the same "
                "command again"), what
    return records


def test_ctrl_c_at_any_moment_ends_the_batch_with_130(batch64, tmp_path):
    """Interrupts at spread-out moments, the last once a chunk has finished."""
    # from 0.4 s: an interpreter not yet running Python code dies of the signal unheard
    delays: list[float | None] = [0.4, 0.55, 0.7, 0.9, 1.1, 1.3, 1.5, 1.9, 2.6, None]
    codes = []
    for i, delay in enumerate(delays):
        out = tmp_path / f"o{i}"
        proc = _batch(batch64, out)
        if delay is None:
            _wait_for_a_part(proc, out)    # however loaded the machine
        else:
            time.sleep(delay)
        os.killpg(proc.pid, signal.SIGINT)
        _interrupted_records(proc, out, f"after {delay or 'a chunk'} s")
        codes.append(proc.returncode)
    # an interrupt after the run finished has no effect; the early ones all give 130
    assert set(codes) <= {0, 130}
    assert codes.count(130) >= len(delays) // 2
    # what an interrupt leaves is resumable: the chunks it finished are kept and reused
    resumable = [i for i, c in enumerate(codes) if c == 130
                 and any((tmp_path / f"o{i}" / ".parts").glob("*.results.parquet"))]
    assert resumable, "no interrupt came after a finished chunk"
    out = tmp_path / f"o{resumable[-1]}"
    kept = len(list((out / ".parts").glob("*.results.parquet")))
    res = subprocess.run([sys.executable, "-m", "taxopt.cli", "batch", str(batch64), "--out",
                          str(out), "--no-timings", "--csv", "--workers", "1", "--resume"],
                         env=_env(), capture_output=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert f"\n{kept} of them finished by the interrupted run\n" in res.stdout.decode()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["households_reused"] == kept and manifest["counts"]["optimal"] == 64


def _records(stderr: str) -> list[dict]:
    try:
        return [json.loads(line) for line in stderr.splitlines()]
    except ValueError:
        pytest.fail(f"stderr is not JSON lines:\n{stderr}")


@pytest.mark.parametrize("gap", [0.01, 0.03, 0.1, 0.2])
def test_a_second_ctrl_c_during_the_shutdown_changes_nothing(batch64, tmp_path, gap):
    """Ctrl-C twice: still exit 130, one JSON line, no traceback, the lock released."""
    out = tmp_path / "o"
    proc = _batch(batch64, out)
    _wait_for_a_part(proc, out)          # the pool runs: its stop takes a while
    os.killpg(proc.pid, signal.SIGINT)
    time.sleep(gap)
    try:
        os.killpg(proc.pid, signal.SIGINT)
    except ProcessLookupError:
        pass                             # already gone: the first one was enough
    _interrupted_records(proc, out, f"twice, {gap} s apart")
    assert proc.returncode == 130


def test_sigterm_then_ctrl_c_while_the_tables_are_read(batch64, tmp_path):
    out = tmp_path / "o"
    proc = _batch(batch64, out)
    time.sleep(0.6)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)
    records = _interrupted_records(proc, out, "by SIGTERM then Ctrl-C")
    assert proc.returncode == 130
    assert [r["exit_code"] for r in records if "exit_code" in r] == [130]


# --------------------------------------------------------------------------- one handler


@pytest.fixture
def usr_handlers():
    """SIGUSR1/SIGUSR2 counted by handlers of their own; both put back after the test."""
    calls: list[int] = []
    saved = {s: signal.getsignal(s) for s in (signal.SIGUSR1, signal.SIGUSR2)}
    for s in saved:
        signal.signal(s, lambda signum, frame: calls.append(signum))
    yield calls
    for s, h in saved.items():
        signal.signal(s, h)


def test_a_signal_raised_while_deferred_is_delivered_once_on_leaving(usr_handlers):
    handlers = {s: signal.getsignal(s) for s in (signal.SIGUSR1, signal.SIGUSR2)}
    with interrupts_deferred((signal.SIGUSR1, signal.SIGUSR2)):
        signal.raise_signal(signal.SIGUSR1)
        signal.raise_signal(signal.SIGUSR1)
        assert usr_handlers == []
    assert usr_handlers == [signal.SIGUSR1]
    assert {s: signal.getsignal(s) for s in handlers} == handlers


def test_ctrl_c_while_deferred_is_one_keyboard_interrupt_on_leaving():
    reached = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts_deferred():
            signal.raise_signal(signal.SIGINT)
            reached.append("end of the block")
    assert reached == ["end of the block"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_handler_python_cannot_put_back_becomes_the_default(usr_handlers, monkeypatch):
    real = signal.signal

    def installed_from_c(signum, handler):     # what signal.signal answers for such a one
        previous = real(signum, handler)
        return None if signum == signal.SIGUSR1 else previous

    monkeypatch.setattr(signal, "signal", installed_from_c)
    with interrupts_deferred((signal.SIGUSR1,)):
        pass
    monkeypatch.undo()
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL


def test_a_handler_firing_between_two_restores_leaves_none_unrestored(usr_handlers,
                                                                       monkeypatch):
    """A Ctrl-C handled after SIGINT's handler is back and before SIGTERM's: both are back."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGUSR1, interrupt)
    usr2 = signal.getsignal(signal.SIGUSR2)
    real = signal.signal
    arrived: list[int] = []

    def arrives_right_after(signum, handler):
        previous = real(signum, handler)
        if handler is interrupt and not arrived:   # put back: a Ctrl-C comes in right then
            arrived.append(signum)
            signal.raise_signal(signal.SIGUSR1)
        return previous

    with pytest.raises(KeyboardInterrupt):
        with interrupts_deferred((signal.SIGUSR1, signal.SIGUSR2)):
            monkeypatch.setattr(signal, "signal", arrives_right_after)
    monkeypatch.undo()
    assert arrived == [signal.SIGUSR1]
    assert signal.getsignal(signal.SIGUSR1) is interrupt
    assert signal.getsignal(signal.SIGUSR2) is usr2


def test_after_the_first_interrupt_both_signals_are_ignored_to_the_end():
    before = {s: signal.getsignal(s) for s in INTERRUPTS}
    try:
        with pytest.raises(KeyboardInterrupt):
            with interrupts_once():
                signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGINT)         # ignored: no KeyboardInterrupt
        signal.raise_signal(signal.SIGTERM)        # ignored: the test process lives on
        assert [signal.getsignal(s) for s in INTERRUPTS] == [signal.SIG_IGN] * 2
    finally:
        for s, h in before.items():
            signal.signal(s, h)


def test_without_an_interrupt_the_handlers_of_before_come_back():
    before = {s: signal.getsignal(s) for s in INTERRUPTS}
    with interrupts_once():
        assert signal.getsignal(signal.SIGINT) is raise_interrupt
    assert {s: signal.getsignal(s) for s in INTERRUPTS} == before


# --------------------------------------------------------------------------- the workers

SIGINT_BIT = 1 << (signal.SIGINT - 1)


def _sigint_state(pid: int) -> dict[str, bool]:
    fields = dict(line.split(":\t", 1) for line in
                  Path(f"/proc/{pid}/status").read_text().splitlines() if ":\t" in line)
    return {k: bool(int(fields[k], 16) & SIGINT_BIT) for k in ("SigBlk", "SigIgn")}


SHIELD_SCRIPT = """
import json, multiprocessing.forkserver as fs, os, signal, time
from concurrent.futures import ProcessPoolExecutor
from taxopt.workers import process_context
process_context()
first = fs._forkserver._forkserver_pid
os.kill(first, signal.SIGKILL)      # the server died: the next pool starts another
time.sleep(0.3)
ctx = process_context()
server = fs._forkserver._forkserver_pid
with ProcessPoolExecutor(1, mp_context=ctx) as pool:
    worker = pool.submit(os.getpid).result()
    print(json.dumps({"first": first, "server": server, "worker": worker}), flush=True)
    input()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forkserver, /proc: Linux")
def test_a_restarted_forkserver_and_its_workers_never_get_ctrl_c():
    proc = subprocess.Popen([sys.executable, "-c", SHIELD_SCRIPT], env=_env(), text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            preexec_fn=_default_sigint)
    try:
        pids = json.loads(proc.stdout.readline())
        assert pids["server"] != pids["first"]
        assert _sigint_state(pids["server"])["SigBlk"]
        assert _sigint_state(pids["worker"])["SigBlk"]
        assert _sigint_state(proc.pid) == {"SigBlk": False, "SigIgn": False}
    finally:
        proc.communicate("\n", timeout=30)
    assert proc.returncode == 0


STUCK_SCRIPT = """
import logging, os, sys, time
from taxopt.batch.engines import LocalEngine, stop_pool
from tests.batch.test_interrupt import die_mid_result
logging.basicConfig(level=logging.WARNING)
pool = LocalEngine(1, None, False)._ensure()
pool.submit(die_mid_result)
next(iter(pool._processes.values())).join(timeout=30)
spare = os.dup(pool._result_queue._writer.fileno())  # the pipe's end never comes now
time.sleep(0.3)
stop_pool(pool, grace=0.5)
print("stopped", flush=True)
"""


def test_a_pool_thread_that_cannot_stop_does_not_hold_the_exit():
    t0 = time.monotonic()
    res = subprocess.run([sys.executable, "-c", STUCK_SCRIPT], env=_env(), cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout == "stopped\n"
    assert "the worker pool's thread did not stop within 0.5 s" in res.stderr
    assert time.monotonic() - t0 < 30
