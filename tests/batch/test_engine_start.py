"""How the engines start: Dask clusters with their diagnostic timers slowed or off, the
local pool importing the solver while the tables are read."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from taxopt.batch.engines import DASK_SETTINGS, DaskEngine, dask_environment


def test_environment_names_are_the_ones_dask_reads():
    env = dask_environment()
    assert env == {"DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False",
                   "DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL": "1s",
                   "DASK_DISTRIBUTED__ADMIN__SYSTEM_MONITOR__INTERVAL": "2s",
                   "DASK_DISTRIBUTED__WORKER__MEMORY__MONITOR_INTERVAL": "1s"}
    pytest.importorskip("dask")
    # a fresh process with only these variables set reads every setting back
    code = ("import dask, distributed, json; print(json.dumps([dask.config.get(k) for k in "
            f"{list(DASK_SETTINGS)!r}]))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASK_")}
    out = subprocess.run([sys.executable, "-c", code], env={**env, **dask_environment()},
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == '[false, "1s", "2s", "1s"]'


def test_a_local_cluster_of_the_engine_runs_with_the_settings():
    pytest.importorskip("dask.distributed")
    import dask

    eng = DaskEngine(1, None, None, timings=False)
    try:
        got = eng.client.run(lambda: [dask.config.get(k) for k in DASK_SETTINGS])
        assert list(got.values()) == [[False, "1s", "2s", "1s"]]
        # the worker's own timers were made with them (Dask reads them once, at start)
        ticks = eng.client.run(lambda dask_worker: (
            dask_worker.periodic_callbacks["tick"].callback_time,
            dask_worker.periodic_callbacks["monitor"].callback_time))
        assert list(ticks.values()) == [(1000.0, 2000.0)]
    finally:
        eng.close()
    # the settings were set for the cluster's start only, not for the rest of the process
    assert dask.config.get("distributed.admin.tick.interval") == "20ms"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forkserver: Linux only")
def test_the_local_pool_starts_importing_before_the_tables_are_read(tmp_path):
    """The forkserver (which imports the solver for the pool's workers) already runs when
    the tables are read, so that import overlaps the reading instead of following it."""
    code = """
import multiprocessing.forkserver as fs, sys
import taxopt.batch.run as run

def read_tables(path):
    pid = fs._forkserver._forkserver_pid
    print("forkserver running" if pid else "no forkserver")
    raise SystemExit(0)

run.read_tables = read_tables
run.run_batch(sys.argv[1], sys.argv[2], workers=1)
"""
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path), str(tmp_path / "o")],
                         capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "forkserver running", out.stderr[-2000:]
