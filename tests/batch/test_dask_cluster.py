"""The dask engine against a real cluster: a scheduler and two workers as separate processes.

The processes listen on 127.0.0.1 only, on ports the OS picks, and are stopped
(terminate, then kill, their whole process group) whatever the test does.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from taxopt import synth
from taxopt.batch import run_batch

from .conftest import assert_same_outputs, make_households, write_tables

pytestmark = pytest.mark.skipif(importlib.util.find_spec("distributed") is None,
                                reason="dask[distributed] is not installed")

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
PARQUET = ("trades.parquet", "results.parquet")


def _start(args: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    # own session: cleanup signals the whole group, so no child outlives the test
    return subprocess.Popen([sys.executable, "-m", *args], stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, env=env, start_new_session=True,
                            cwd=Path(__file__).resolve().parents[2])


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
    try:   # the group too: a process may be gone while a child of it is not
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pass


def _logs(folder: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                     for p in sorted(folder.glob("*.log")))


class Cluster:
    def __init__(self, address: str, workers: list[subprocess.Popen], folder: Path):
        self.address, self.workers, self.folder = address, workers, folder


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A scheduler and two single-threaded workers, ready (both workers joined) or failed."""
    from distributed import Client

    folder = tmp_path / "cluster"
    folder.mkdir()
    sched_file = folder / "scheduler.json"
    procs: list[subprocess.Popen] = []
    try:
        procs.append(_start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                             "--port", "0", "--scheduler-file", str(sched_file),
                             "--no-dashboard"], folder / "scheduler.log"))
        for i in range(2):
            # no nanny: the process we kill in a test is the worker itself
            procs.append(_start(["distributed.cli.dask_worker", "--scheduler-file",
                                 str(sched_file), "--host", "127.0.0.1", "--nthreads", "1",
                                 "--nworkers", "1", "--no-nanny", "--no-dashboard",
                                 "--name", f"w{i}"], folder / f"worker{i}.log"))
        deadline = time.monotonic() + START_TIMEOUT
        address = None
        while address is None:
            if any(p.poll() is not None for p in procs):
                pytest.fail("a cluster process exited at start\n" + _logs(folder))
            if time.monotonic() > deadline:
                pytest.fail("no scheduler file after "
                            f"{START_TIMEOUT:.0f} s\n" + _logs(folder))
            try:
                address = json.loads(sched_file.read_text())["address"]
            except (OSError, ValueError, KeyError):
                time.sleep(0.1)
        with Client(address, timeout=START_TIMEOUT) as client:
            try:
                client.wait_for_workers(2, timeout=max(1.0, deadline - time.monotonic()))
            except TimeoutError:
                pytest.fail("the two workers did not join\n" + _logs(folder))
        yield Cluster(address, procs[1:], folder)
    finally:
        for p in reversed(procs):
            _stop(p)


def test_real_cluster_gives_the_same_output(small_batch, cluster, tmp_path):
    out = tmp_path / "dask"
    outcome = run_batch(small_batch["input"], out, engine="dask", scheduler=cluster.address,
                        chunk_size=3, csv=True, timings=False)
    assert outcome.exit_code == 0 and outcome.counts["optimal"] == 10
    assert_same_outputs(small_batch["out"], out)
    engine = json.loads((out / "manifest.json").read_text())["engine"]
    assert engine == {"engine": "dask", "workers": 2, "scheduler": cluster.address,
                      "chunk_size": 3}


N_KILL = 60


@pytest.fixture(scope="module")
def bigger_batch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Sixty households and their local-engine reference output."""
    root = tmp_path_factory.mktemp("bigger")
    inp = write_tables(synth.to_tables(make_households(N_KILL)), root / "in", "parquet")
    ref = root / "ref"
    run_batch(inp, ref, workers=2, chunk_size=3, timings=False, report=False)
    return {"input": inp, "out": ref}


def test_batch_survives_a_worker_killed_mid_run(bigger_batch, cluster, tmp_path):
    victim = cluster.workers[1]
    events: list[dict] = []

    def kill_after_first_chunk(event):
        events.append(event)
        if event["event"] == "chunk" and victim.poll() is None:
            # four chunks in flight on two workers: this one most likely dies holding one
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait(timeout=STOP_TIMEOUT)

    out = tmp_path / "killed"
    outcome = run_batch(bigger_batch["input"], out, engine="dask", scheduler=cluster.address,
                        chunk_size=3, timings=False, report=False,
                        progress=kill_after_first_chunk)
    assert victim.returncode == -signal.SIGKILL
    chunks = [e for e in events if e["event"] == "chunk"]
    assert chunks[0]["done"] < N_KILL   # the kill landed with work left to do
    assert outcome.total == N_KILL and outcome.exit_code == 0
    res = pq.read_table(out / "results.parquet").to_pydict()
    ref = pq.read_table(bigger_batch["out"] / "results.parquet").to_pydict()
    assert res["household_id"] == ref["household_id"]
    assert len(set(res["household_id"])) == N_KILL
    assert res["status"] == ref["status"]
    assert_same_outputs(bigger_batch["out"], out, PARQUET)
    assert not (out / ".parts").exists()
