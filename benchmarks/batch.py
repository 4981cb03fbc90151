"""Batch benchmark: households per second, medians and memory of `taxopt batch`.

One command::

    .venv/bin/python benchmarks/batch.py [--households 10000] [--workers 2] [--quick]
                                         [--repeats 1] [--small 2000] [--seed 0] [--no-dask]
                                         [--out benchmarks/results/batch]

1. generates N typical synthetic households (``taxopt.synth`` defaults: 150 lots,
   3 accounts) into a temporary folder of Parquet tables (``synth.to_tables``,
   written in blocks with pyarrow, explicit schemas);
2. runs ``taxopt batch`` (the CLI, in a subprocess, so that the parent's memory is
   the batch driver's alone) with the local engine, 1 worker and ``--workers``;
3. starts a real Dask cluster on 127.0.0.1 as separate processes (``dask scheduler
   --port 0`` with a scheduler file, ``--workers`` times ``dask worker --nthreads 1
   --nworkers 1``), runs the batch against it with ``--engine dask --scheduler``,
   measures the scheduler's round trip per task and per chunk-sized payload, and
   stops the cluster (everything bounded in time; ``--idle-timeout`` and
   ``--death-timeout`` end a leaked scheduler or worker on their own);
4. measures households per second, the per-household median seconds (results.parquet),
   peak RSS (``VmHWM``) of the parent and of each worker, CPU seconds per household
   (psutil), and memory flatness (the same runs at ``--small`` households);
5. profiles one chunk in a fresh single-threaded worker process: the stages' share
   (validate / build / solve / decode / audit / output) and a cProfile listing;
6. prints and writes the table (Markdown + CSV + the profile) to ``--out`` with the
   machine (CPU, cores, RAM, load average before/after) and an extrapolation to one
   million households on a cluster.

``--quick`` is 1,000 households (small run: 200, local only), for a check in under 2 minutes;
it writes ``quick.*`` so that the full ``latest.*`` stays. Other sessions may be
loading the machine: the load average is recorded before and after every run, each
run's *run-queue wait* (from ``/proc/PID/task/*/schedstat``: how long the workers were
runnable but had no CPU) says how much it was held back, CPU seconds per household are
given next to wall-clock rates, and ``--repeats N`` runs every engine N times,
interleaved, the ratios using the fastest run of each.

This file only measures the package; it never changes it.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import csv  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import pickle  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from itertools import islice  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_RATE = 300.0            # the goal: households per second, local, on 2 cores
MILLION = 1_000_000
WINDOWS_H = (1.0, 2.0, 4.0)   # nightly windows for the extrapolation
BLOCK = 1000                   # households generated and written per block
SAMPLE_EVERY = 0.1             # seconds between memory/CPU samples
CLUSTER_START_TIMEOUT = 90.0
STAGES = ("validate", "build", "solve", "decode", "audit", "repair", "explain", "other",
          "output")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------- machine


def loadavg() -> tuple[float, float, float]:
    try:
        return os.getloadavg()
    except OSError:
        return (math.nan, math.nan, math.nan)


def fmt_load(la: tuple[float, float, float]) -> str:
    return " ".join(f"{x:.2f}" for x in la)


def _autogroup() -> bool:
    try:
        return Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() == "1"
    except OSError:
        return False


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    mhz = None
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name") and cpu in ("", platform.machine()):
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("cpu MHz") and mhz is None:
                mhz = float(line.split(":", 1)[1])
    ram = None
    with contextlib.suppress(OSError), open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal"):
                ram = int(line.split()[1]) * 1024
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {"cpu": cpu + (f" @ {mhz:.0f} MHz" if mhz else ""), "cores": os.cpu_count(),
            "usable_cores": usable, "ram": ram, "os": platform.platform(),
            "python": platform.python_version(), "taxopt": _git_state(),
            "versions": _versions()}


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for n in ("numpy", "scipy", "highspy", "pyarrow", "pandas", "dask", "distributed",
              "psutil"):
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = "not installed"
    return out


def _git_state() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "taxopt"], cwd=ROOT,
                               text=True, capture_output=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    n = len(dirty.splitlines())
    return head + (f" + uncommitted changes in {n} taxopt/ paths" if n else "")


# --------------------------------------------------------------------------- data


def _schemas() -> dict[str, Any]:
    import pyarrow as pa

    s, f = pa.string(), pa.float64()
    return {
        "households": pa.schema([("household_id", s), ("as_of", s),
                                 ("short_term_rate", f), ("long_term_rate", f),
                                 ("realized_ytd_short_term", f), ("realized_ytd_long_term", f),
                                 ("loss_carryforward_short_term", f),
                                 ("loss_carryforward_long_term", f),
                                 ("ordinary_offset_limit", f)]),
        "goals": pa.schema([("household_id", s), ("goal_id", s), ("asset_class", s),
                            ("target", f), ("drift_tolerance", f)]),
        "accounts": pa.schema([("household_id", s), ("account_id", s), ("goal_id", s),
                               ("tax_type", s), ("cash", f), ("cash_flow", f),
                               ("min_cash", f), ("restricted", s), ("allowed", s)]),
        "bands": pa.schema([("household_id", s), ("account_id", s), ("asset_class", s),
                            ("lo", f), ("hi", f)]),
        "lots": pa.schema([("household_id", s), ("lot_id", s), ("account_id", s),
                           ("symbol", s), ("shares", f), ("cost_basis", f), ("acquired", s)]),
        "recent_trades": pa.schema([("household_id", s), ("account_id", s), ("symbol", s),
                                    ("side", s), ("shares", f), ("date", s),
                                    ("realized_gain", f)]),
    }


def write_dataset(n: int, seed: int, folder: Path) -> dict[str, Any]:
    """``n`` synth households as Parquet tables in ``folder``, generated block by block."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from taxopt.synth import households, to_tables

    folder.mkdir(parents=True, exist_ok=True)
    schemas = _schemas()
    writers = {name: pq.ParquetWriter(folder / f"{name}.parquet", schema)
               for name, schema in schemas.items()}
    rows = Counter()
    shared: dict[tuple[str, str], dict[str, Any]] = {}
    overrides: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    gen = households(n, seed=seed)
    try:
        while True:
            block = list(islice(gen, BLOCK))
            if not block:
                break
            tables = to_tables(block)
            for name, schema in schemas.items():
                if tables[name]:
                    writers[name].write_table(pa.Table.from_pylist(tables[name], schema=schema))
                    rows[name] += len(tables[name])
            for r in tables["securities"]:
                if r.get("household_id") is not None:
                    overrides.append(r)
                else:
                    r = {k: v for k, v in r.items() if k != "household_id"}
                    shared.setdefault((r["symbol"], r["asset_class"]), r)
    finally:
        for w in writers.values():
            w.close()
    secs = list(shared.values())
    if overrides:
        secs = [{**r, "household_id": None} for r in secs] + overrides
    pd.DataFrame(secs).to_parquet(folder / "securities.parquet", index=False)
    rows["securities"] = len(secs)
    size = sum(p.stat().st_size for p in folder.iterdir())
    return {"households": n, "rows": dict(rows), "bytes": size,
            "seconds": time.perf_counter() - t0}


# --------------------------------------------------------------------------- sampling


@dataclass
class Proc:
    pid: int
    role: str
    hwm: int = 0              # peak RSS (bytes): VmHWM, or the largest sampled RSS
    cpu0: float | None = None
    cpu: float = 0.0
    rss: list[tuple[float, int]] = field(default_factory=list)   # (time, RSS) samples
    sched0: tuple[int, int] | None = None   # (on-CPU ns, runnable-but-waiting ns), all threads
    sched: tuple[int, int] = (0, 0)


def _schedstat(pid: int) -> tuple[int, int] | None:
    """Nanoseconds on a CPU and waiting on a run queue, summed over the process's threads."""
    run = wait = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as fh:
                a = fh.read().split()
            run += int(a[0])
            wait += int(a[1])
    except (OSError, ValueError, IndexError):
        return None
    return run, wait


def _vmhwm(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


class TreeSampler(threading.Thread):
    """Every `SAMPLE_EVERY` s: the peak RSS and CPU seconds of every process of a run.

    ``roots`` maps a pid to a function ``(psutil.Process, depth) -> role`` that names
    it and each of its descendants (``None``: not counted). CPU seconds are counted
    from the first sample, so a cluster started earlier does not count its start-up.
    """

    def __init__(self, roots: dict[int, Any]):
        super().__init__(daemon=True)
        import psutil

        self.psutil = psutil
        self.roots = roots
        self.procs: dict[int, Proc] = {}
        self._halt = threading.Event()
        self._first = True
        self.sample()            # the baseline before the run's work starts
        self._first = False

    def run(self) -> None:
        while not self._halt.wait(SAMPLE_EVERY):
            self.sample()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)

    def sample(self) -> None:
        ps = self.psutil
        for root, namer in list(self.roots.items()):
            try:
                top = ps.Process(root)
                tree = [(top, 0)] + [(c, _depth(c, root)) for c in top.children(recursive=True)]
            except ps.Error:
                continue
            for p, depth in tree:
                try:
                    rec = self.procs.get(p.pid)
                    if rec is None:
                        role = namer(p, depth)
                        if role is None:
                            continue
                        rec = self.procs[p.pid] = Proc(p.pid, role)
                    t = p.cpu_times()
                    cpu = t.user + t.system
                    if rec.cpu0 is None:
                        rec.cpu0 = cpu if self._first else 0.0
                    rec.cpu = max(rec.cpu, cpu)
                    st = _schedstat(p.pid)
                    if st is not None:
                        if rec.sched0 is None:
                            rec.sched0 = st if self._first else (0, 0)
                        rec.sched = st
                    rss = p.memory_info().rss
                    rec.hwm = max(rec.hwm, _vmhwm(p.pid) or rss)
                    if rec.role == "parent":
                        rec.rss.append((time.perf_counter(), rss))
                except ps.Error:
                    continue

    def by_role(self) -> dict[str, list[Proc]]:
        out: dict[str, list[Proc]] = {}
        for p in self.procs.values():
            out.setdefault(p.role, []).append(p)
        return out


def _depth(p: Any, root: int) -> int:
    d = 0
    with contextlib.suppress(Exception):
        while p is not None and p.pid != root and d < 10:
            p = p.parent()
            d += 1
    return d


def _cmd(p: Any) -> str:
    try:
        return " ".join(p.cmdline())
    except Exception:
        return ""


def local_roles(p: Any, depth: int) -> str | None:
    """The CLI (parent), its forkserver and resource tracker, and the pool's workers."""
    if depth == 0:
        return "parent"
    cmd = _cmd(p)
    if "resource_tracker" in cmd:
        return "tracker"
    if depth == 1:
        return "forkserver" if "forkserver" in cmd else "other"
    return "worker"


def dask_roles(kind: str):
    def namer(p: Any, depth: int) -> str | None:
        if kind == "scheduler":
            return "scheduler" if depth == 0 else "other"
        if depth == 0:
            return "nanny"
        return "tracker" if "resource_tracker" in _cmd(p) else "worker"
    return namer


# --------------------------------------------------------------------------- one run


@dataclass
class Run:
    label: str
    engine: str
    workers: int
    households: int
    chunk_size: int = 0
    chunks: int = 0
    wall: float = math.nan           # the CLI process, start to exit
    batch_seconds: float = math.nan  # run_batch's own (manifest)
    startup: float = math.nan        # process start, imports, read_tables: until 'start'
    solve_phase: float = math.nan    # 'start' event to the last chunk
    finish: float = math.nan         # last chunk to exit: merge, manifest, report
    rate: float = math.nan           # households / batch_seconds
    solve_rate: float = math.nan     # households / solve_phase
    median_ms: float = math.nan
    p90_ms: float = math.nan
    max_ms: float = math.nan
    sum_seconds: float = math.nan    # sum of the results' per-household seconds
    parent_peak: int = 0
    parent_after_read: int = 0       # the parent's largest RSS until the batch's start event
    worker_peak_max: int = 0
    worker_peak_sum: int = 0
    scheduler_peak: int = 0
    nanny_peak_max: int = 0
    parent_cpu_ms: float = math.nan  # per household
    worker_cpu_ms: float = math.nan  # per household
    core_share: float = math.nan     # worker CPU s / (solve phase s x workers)
    worker_wait: float = math.nan    # share of the workers' runnable time spent waiting for a CPU
    problems: list[str] = field(default_factory=list)   # first messages of unsolved households
    slow: int = 0                    # households over max(0.1 s, 10 x median)
    slow_share: float = math.nan     # their share of the sum of per-household seconds
    slowest: str = ""
    statuses: str = ""
    solver: str = ""
    load_before: tuple[float, float, float] = (math.nan,) * 3
    load_after: tuple[float, float, float] = (math.nan,) * 3
    exit_code: int | None = None
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def run_cli(label: str, input_dir: Path, out_dir: Path, n: int, engine: str, workers: int,
            scheduler: str | None = None, cluster_pids: dict[int, Any] | None = None,
            timeout: float = 600.0) -> Run:
    """``taxopt batch`` in a subprocess, sampled; its tables read back for the medians."""
    import pyarrow.parquet as pq

    run = Run(label, engine, workers, n)
    shutil.rmtree(out_dir, ignore_errors=True)
    cmd = [sys.executable, "-c", "import sys; from taxopt.cli import main; sys.exit(main())",
           "batch", str(input_dir), "--out", str(out_dir), "--workers", str(workers),
           "--engine", engine]
    if scheduler:
        cmd += ["--scheduler", scheduler]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run.load_before = loadavg()
    events: list[tuple[float, dict[str, Any]]] = []
    other: list[str] = []
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, process_group=0)
    roots = {proc.pid: local_roles, **(cluster_pids or {})}
    sampler = TreeSampler(roots)
    sampler.start()

    def read_stderr() -> None:
        for line in proc.stderr:
            now = time.perf_counter() - t0
            try:
                ev = json.loads(line)
            except ValueError:
                other.append(line.rstrip())
                continue
            if isinstance(ev, dict) and "event" in ev:
                events.append((now, ev))
            else:
                other.append(line.rstrip())

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    try:
        proc.wait(timeout=timeout)     # the reader thread drains stderr meanwhile
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        run.error = f"timed out after {timeout:.0f} s"
    run.wall = time.perf_counter() - t0
    reader.join(timeout=5)
    sampler.stop()
    run.exit_code = proc.returncode
    run.load_after = loadavg()
    if proc.returncode not in (0, 1) and not run.error:
        run.error = f"exit code {proc.returncode}: " + " | ".join(other[-3:])

    roles = sampler.by_role()
    parent = roles.get("parent", [])
    wk = roles.get("worker", [])
    run.parent_peak = max((p.hwm for p in parent), default=0)
    run.worker_peak_max = max((p.hwm for p in wk), default=0)
    run.worker_peak_sum = sum(p.hwm for p in wk)
    run.scheduler_peak = max((p.hwm for p in roles.get("scheduler", [])), default=0)
    run.nanny_peak_max = max((p.hwm for p in roles.get("nanny", [])), default=0)
    run.parent_cpu_ms = 1e3 * sum(p.cpu - (p.cpu0 or 0) for p in parent) / n
    run.worker_cpu_ms = 1e3 * sum(p.cpu - (p.cpu0 or 0) for p in wk) / n
    run.extra["worker_processes"] = len(wk)
    ran = sum(p.sched[0] - (p.sched0 or (0, 0))[0] for p in wk)
    waited = sum(p.sched[1] - (p.sched0 or (0, 0))[1] for p in wk)
    if ran + waited > 0:
        run.worker_wait = waited / (ran + waited)

    start = next((t for t, e in events if e["event"] == "start"), None)
    chunk = [t for t, e in events if e["event"] == "chunk"]
    end = next((e for t, e in events if e["event"] == "end"), None)
    startev = next((e for t, e in events if e["event"] == "start"), {})
    run.chunk_size = int(startev.get("chunk_size") or 0)
    run.chunks = math.ceil(n / run.chunk_size) if run.chunk_size else 0
    if start is not None and chunk:
        run.startup = start
        run.solve_phase = chunk[-1] - start
        run.finish = run.wall - chunk[-1]
        run.solve_rate = n / run.solve_phase if run.solve_phase > 0 else math.nan
        run.core_share = (run.worker_cpu_ms * n / 1e3) / (run.solve_phase * workers)
        samples = [b for p in parent for a, b in p.rss if a - t0 <= start]
        run.parent_after_read = max(samples, default=0)
    if end is not None:
        run.batch_seconds = float(end["seconds"])
    man = out_dir / "manifest.json"
    if man.is_file():
        m = json.loads(man.read_text())
        run.batch_seconds = float(m["seconds"])
        run.chunk_size = int(m["engine"].get("chunk_size") or run.chunk_size)
        run.chunks = math.ceil(n / run.chunk_size) if run.chunk_size else 0
    if chunk:              # the chunks as run (the last ones are smaller: `run._chunks`)
        run.chunks = len(chunk)
    if run.batch_seconds > 0:
        run.rate = n / run.batch_seconds
    res = out_dir / "results.parquet"
    if res.is_file():
        t = pq.read_table(res, columns=["household_id", "status", "message", "seconds",
                                        "solver"]).to_pydict()
        run.problems = [f"{h}: {st}: {m}" for h, st, m in zip(
            t["household_id"], t["status"], t["message"], strict=True)
            if st not in ("optimal", "feasible")][:5]
        secs = sorted(s for s in t["seconds"] if s is not None)
        if secs:
            cut = max(0.1, 10 * statistics.median(secs))
            slow = [x for x in secs if x > cut]
            run.slow, run.slow_share = len(slow), sum(slow) / sum(secs)
            top = max((x, h) for x, h in zip(t["seconds"], t["household_id"], strict=True)
                      if x is not None)
            run.slowest = f"{top[1]} {top[0]:.2f} s"
            run.median_ms = 1e3 * statistics.median(secs)
            run.p90_ms = 1e3 * secs[min(len(secs) - 1, int(0.9 * len(secs)))]
            run.max_ms = 1e3 * secs[-1]
            run.sum_seconds = sum(secs)
        run.statuses = ", ".join(f"{k} {v}" for k, v in Counter(t["status"]).most_common())
        run.solver = (Counter(s for s in t["solver"] if s).most_common(1) or [("", 0)])[0][0]
    shutil.rmtree(out_dir, ignore_errors=True)
    return run


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM the process group this script started (``process_group=0``), then SIGKILL."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


# --------------------------------------------------------------------------- dask cluster


class Cluster:
    """A scheduler and ``workers`` single-threaded workers on 127.0.0.1, separate processes."""

    def __init__(self, workers: int, folder: Path, settings: dict[str, str] | None = None):
        self.n = workers
        self.folder = folder
        self.settings = settings or {}    # environment variables of Dask's settings
        self.procs: list[subprocess.Popen] = []
        self.logs: list[Any] = []
        self.address = ""
        self.start_seconds = math.nan

    def __enter__(self) -> Cluster:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _start(self) -> None:
        dask = str(Path(sys.executable).with_name("dask"))
        base = [dask] if Path(dask).exists() else [sys.executable, "-m", "distributed.cli.dask_"]
        self.folder.mkdir(parents=True, exist_ok=True)
        sfile = self.folder / "scheduler.json"
        sfile.unlink(missing_ok=True)
        # the scheduler and the workers as docs/batch-operations.md recommends for a
        # cluster of one's own (`taxopt.batch.engines.DASK_SETTINGS`), unless
        # --dask-profiler / --dask-defaults ask for Dask's own
        env = {**os.environ, "PYTHONPATH": str(ROOT), **self.settings}
        t0 = time.perf_counter()
        logs = self.folder
        self.procs.append(subprocess.Popen(
            [*base, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                    "--scheduler-file", str(sfile), "--idle-timeout", "600s"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
            stderr=self._log("scheduler.log"), process_group=0))
        deadline = t0 + CLUSTER_START_TIMEOUT
        while not sfile.is_file() or not sfile.read_text().strip():
            if time.perf_counter() > deadline or self.procs[0].poll() is not None:
                raise RuntimeError("the dask scheduler did not start; see "
                                   f"{logs / 'scheduler.log'}")
            time.sleep(0.1)
        self.address = json.loads(sfile.read_text())["address"]
        for i in range(self.n):
            self.procs.append(subprocess.Popen(
                [*base, "worker", "--scheduler-file", str(sfile), "--nthreads", "1",
                        "--nworkers", "1", "--no-dashboard", "--host", "127.0.0.1",
                        "--name", f"bench-{i}", "--death-timeout", "60s",
                        "--local-directory", str(self.folder / f"w{i}")],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                stderr=self._log(f"worker{i}.log"), process_group=0))
        from dask.distributed import Client

        with Client(self.address, timeout=30) as c:
            c.wait_for_workers(self.n, timeout=max(1.0, deadline - time.perf_counter()))
        self.start_seconds = time.perf_counter() - t0

    def _log(self, name: str) -> Any:
        fh = open(self.folder / name, "w")   # closed in stop()
        self.logs.append(fh)
        return fh

    def roots(self) -> dict[int, Any]:
        out = {}
        for i, p in enumerate(self.procs):
            out[p.pid] = dask_roles("scheduler" if i == 0 else "worker")
        return out

    def stop(self) -> None:
        for p in reversed(self.procs):   # workers first, then the scheduler
            _kill_group(p)
        self.procs.clear()
        for fh in self.logs:
            fh.close()
        self.logs.clear()


def dask_settings(args: argparse.Namespace) -> dict[str, str]:
    """Environment variables of the Dask settings the benchmark's cluster runs with."""
    if args.dask_defaults:
        return {}
    from taxopt.batch.engines import DASK_SETTINGS, dask_environment

    keep = {k: v for k, v in DASK_SETTINGS.items()
            if not (args.dask_profiler and k == "distributed.worker.profile.enabled")}
    return dask_environment(keep)


def _noop(x: Any) -> int:
    return 0


def _size(items: Any) -> int:
    return len(items)


def _size_bytes(blob: bytes) -> int:
    return len(pickle.loads(blob))


def probe_scheduler(address: str, payload: list[Any], rounds: int = 50) -> dict[str, float]:
    """Round trip of a no-op task, throughput of many, and of one chunk-sized payload."""
    from dask.distributed import Client, wait

    out: dict[str, float] = {}
    with Client(address, timeout=30) as c:
        c.submit(_noop, 0, pure=False).result()          # warm
        t = []
        for i in range(rounds):
            t0 = time.perf_counter()
            c.submit(_noop, i, pure=False).result()
            t.append(time.perf_counter() - t0)
        out["noop_roundtrip_ms"] = 1e3 * statistics.median(t)
        t0 = time.perf_counter()
        futs = [c.submit(_noop, i, pure=False) for i in range(10 * rounds)]
        wait(futs, timeout=120)
        out["noop_throughput_ms"] = 1e3 * (time.perf_counter() - t0) / len(futs)
        del futs
        blob = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        for name, fn, arg in (("payload", _size, payload), ("bytes", _size_bytes, blob)):
            sub, t = [], []
            for _ in range(max(3, rounds // 10)):
                t0 = time.perf_counter()
                fut = c.submit(fn, arg, pure=False)
                sub.append(time.perf_counter() - t0)
                fut.result()
                t.append(time.perf_counter() - t0)
                del fut
            out[f"{name}_submit_ms"] = 1e3 * statistics.median(sub)
            out[f"{name}_roundtrip_ms"] = 1e3 * statistics.median(t)
        out["payload_mb"] = len(blob) / 2**20
        out["payload_households"] = len(payload)
    return out


# --------------------------------------------------------------------------- profile


def _stages(items: list[Any], clock: Any) -> dict[str, float]:
    """Seconds per stage over ``items``, every stage read from ``clock``."""
    from taxopt.batch.results_row import plan_fields
    from taxopt.domain.load import from_dict
    from taxopt.engine import rebalance

    per: dict[str, float] = dict.fromkeys(STAGES, 0.0)
    for _hid, raw, _err in items:
        t0 = clock()
        hh = from_dict(raw)
        t1 = clock()
        res = rebalance(hh)
        t2 = clock()
        plan_fields(res)           # the results row, as the batch makes it
        res.trade_columns()
        t3 = clock()
        per["validate"] += t1 - t0
        for k, v in res.timings.items():
            per[k if k in per else "other"] += v
        per["other"] += (t2 - t1) - sum(res.timings.values())
        per["output"] += t3 - t2
    return per


def _stage_times(items: list[Any]) -> dict[str, Any]:
    """In a fresh worker: each household's stages as `work.solve_chunk` runs them.

    Wall seconds from ``Result.timings``; then the same with the engine's clock
    swapped for this thread's CPU clock (only in this throwaway process), so that
    the shares do not depend on how often other processes took the core.
    """
    import cProfile
    import io
    import pstats
    import types

    import taxopt.engine as engine
    from taxopt.batch.work import solve_chunk

    solve_chunk(items[:3])        # warm: imports, caches
    n = len(items)
    c0, t0 = time.process_time(), time.perf_counter()
    wall = _stages(items, time.perf_counter)
    total_wall, total_cpu = time.perf_counter() - t0, time.process_time() - c0
    real = engine.time
    engine.time = types.SimpleNamespace(
        **{k: getattr(time, k) for k in dir(time) if not k.startswith("_")})
    engine.time.perf_counter = time.thread_time
    try:
        cpu = _stages(items, time.thread_time)
    finally:
        engine.time = real
    t0, c0 = time.perf_counter(), time.process_time()
    solve_chunk(items)
    chunk_wall, chunk_cpu = time.perf_counter() - t0, time.process_time() - c0
    prof = cProfile.Profile(time.process_time)
    prof.enable()
    solve_chunk(items)
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(40)
    return {"n": n, "ms": {k: 1e3 * v / n for k, v in wall.items()},
            "cpu_stage_ms": {k: 1e3 * v / n for k, v in cpu.items()},
            "wall_ms": 1e3 * total_wall / n, "cpu_ms": 1e3 * total_cpu / n,
            "chunk_wall_ms": 1e3 * chunk_wall / n, "chunk_cpu_ms": 1e3 * chunk_cpu / n,
            "cprofile": "cProfile of solve_chunk on one chunk, CPU clock "
                        f"({n} households)\n\n" + buf.getvalue()}


def profile_chunk(input_dir: Path, size: int) -> dict[str, Any]:
    """The driver's share (read, cut a chunk, pickle it) here; the worker's in a fresh process.

    The driver ships each chunk as slices of the sorted tables (`Tables.chunk`); the
    worker unpickles it and assembles the households: that share is timed here too
    (on this process's CPU clock) and reported as the worker's.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from taxopt.batch.tables import read_tables

    t0, c0 = time.perf_counter(), time.process_time()
    tables = read_tables(input_dir)
    n_all = len(tables)
    read_ms = 1e3 * (time.process_time() - c0) / n_all
    read_wall = time.perf_counter() - t0
    ids = tables.household_ids[:size]
    c0 = time.process_time()
    blob = pickle.dumps(tables.chunk(ids), protocol=pickle.HIGHEST_PROTOCOL)
    slice_ms = 1e3 * (time.process_time() - c0) / len(ids)
    c0 = time.process_time()
    items = list(pickle.loads(blob))
    assemble_ms = 1e3 * (time.process_time() - c0) / len(items)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=ctx) as pool:
        out = pool.submit(_stage_times, items).result(timeout=600)
    out.update({"read_cpu_ms": read_ms, "read_wall_s": read_wall, "read_households": n_all,
                "slice_cpu_ms": slice_ms, "assemble_cpu_ms": assemble_ms,
                "kb_per_household": len(blob) / len(items) / 1024})
    return out


def _status_bytes(key: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _read_memory(input_dir: Path, traced: bool) -> dict[str, int]:
    """In a fresh process: RSS around `read_tables`, or (traced) its live and peak Python bytes."""
    import tracemalloc

    import pandas as pd
    import pyarrow.parquet as pq

    from taxopt.batch.tables import read_tables

    # what read_tables imports lazily, imported before the measurement starts
    pd.DataFrame({"a": ["x"]}).astype("category")
    pq.read_table(input_dir / "households.parquet", columns=["household_id"]).to_pandas()
    out = {"rss_before": _status_bytes("VmRSS")}
    if traced:
        tracemalloc.start()
    tables = read_tables(input_dir)
    if traced:
        out["py_live"], out["py_peak"] = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    out.update({"rss_after": _status_bytes("VmRSS"), "hwm": _status_bytes("VmHWM"),
                "households": len(tables)})
    return out


def read_memory(input_dir: Path) -> dict[str, int]:
    """How much of the driver's memory `read_tables` takes: kept, and at its peak."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("spawn")
    out: dict[str, int] = {}
    for traced in (False, True):
        with ProcessPoolExecutor(1, mp_context=ctx) as pool:
            r = pool.submit(_read_memory, input_dir, traced).result(timeout=600)
        out.update(r if not traced else {k: r[k] for k in ("py_live", "py_peak")})
    return out


# --------------------------------------------------------------------------- report


def mb(b: float) -> str:
    return f"{b / 2**20:,.0f}" if b else "—"


def num(x: float, nd: int = 1) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.{nd}f}"


CSV_FIELDS = ("label", "engine", "workers", "households", "chunk_size", "chunks", "wall",
              "batch_seconds", "startup", "solve_phase", "finish", "rate", "solve_rate",
              "median_ms", "p90_ms", "max_ms", "parent_peak", "worker_peak_max",
              "worker_peak_sum", "scheduler_peak", "nanny_peak_max", "parent_after_read",
              "parent_cpu_ms", "worker_cpu_ms", "core_share", "worker_wait", "slow",
              "slow_share", "slowest", "statuses",
              "solver",
              "load_before", "load_after",
              "exit_code", "error")


def fastest(runs: list[Run]) -> Run | None:
    """The run with the highest solve-phase rate: sharing the machine only slows runs down."""
    ok = [r for r in runs if not r.error and r.solve_rate == r.solve_rate]
    return max(ok, key=lambda r: r.solve_rate, default=None)


def write_csv(path: Path, runs: list[Run]) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_FIELDS)
        for r in runs:
            row = []
            for f in CSV_FIELDS:
                v = getattr(r, f)
                if isinstance(v, tuple):
                    v = fmt_load(v)
                elif isinstance(v, float):
                    v = "" if math.isnan(v) else round(v, 4)
                row.append(v)
            w.writerow(row)


def extrapolate(main_local1: Run | None, main_localw: Run | None, main_dask: Run | None,
                prof: dict[str, Any] | None, probe: dict[str, float] | None,
                readmem: dict[str, int] | None, small: dict[str, Run], big: dict[str, Run],
                workers: int) -> list[str]:
    out = ["## One million households on a cluster (extrapolation)", ""]
    if main_local1 is None or math.isnan(main_local1.solve_rate):
        return [*out, "(no local 1-worker run to extrapolate from)"]
    per_core_wall = main_local1.solve_rate
    per_core_cpu = 1e3 / main_local1.worker_cpu_ms if main_local1.worker_cpu_ms > 0 else math.nan
    eff = math.nan
    if main_dask is not None and main_dask.solve_rate > 0:
        eff = main_dask.solve_rate / (workers * per_core_wall)
    out += [
        f"- Per core, measured here: **{per_core_wall:.0f} hh/s** wall-clock (local, 1 worker, "
        f"solve phase, run-queue wait {main_local1.worker_wait:.0%}) and "
        f"**{per_core_cpu:.0f} hh/s** per CPU-second of the worker "
        f"({main_local1.worker_cpu_ms:.2f} ms CPU per household): the first is what a core "
        "gave under this run's sharing, the second what a dedicated core gives.",
    ]
    if not math.isnan(eff):
        out.append(f"- Dask with {workers} workers reached {eff:.0%} of {workers} × the "
                   "1-worker rate here, with its scheduler and the driver on the same "
                   f"{workers} cores; on a cluster they run beside the workers.")
    out += ["", "| window | cores needed at the measured wall rate | at the dedicated-core rate | "
            "with 30 % headroom (dedicated) |", "|:--|--:|--:|--:|"]
    for h in WINDOWS_H:
        s = h * 3600
        a = MILLION / (per_core_wall * s)
        b = MILLION / (per_core_cpu * s) if per_core_cpu > 0 else math.nan
        out.append(f"| {h:g} h | {a:.1f} | {b:.1f} | {math.ceil(b * 1.3) if b == b else '—'} |")
    out.append("")
    chunk = 500
    chunks = MILLION // chunk
    if probe:
        per_hh = probe["payload_submit_ms"] / probe["payload_households"]
        out += [
            f"- Scheduler overhead measured on the local Dask cluster: a no-op task's round "
            f"trip {probe['noop_roundtrip_ms']:.1f} ms, {probe['noop_throughput_ms']:.2f} ms "
            f"per task when {10 * 50} are in flight: with {chunks:,} chunks of {chunk} "
            f"households for 1M, ~{chunks * probe['noop_roundtrip_ms'] / 1e3:.0f} s in all, "
            "negligible. The payload is not: `client.submit` walks every "
            f"nested object of a chunk's household dicts, {probe['payload_submit_ms']:.0f} ms "
            f"for {probe['payload_households']} households ({per_hh:.2f} ms per household, "
            "serial, in the driver's thread), i.e. "
            f"~{MILLION * per_hh / 1e3 / 60:.0f} min of driver time for 1M households and a "
            f"ceiling of ~{1e3 / per_hh:,.0f} hh/s from that alone; so `DaskEngine.submit` "
            f"ships each chunk as one pickled payload, {probe['bytes_submit_ms']:.0f} ms per "
            "submit.",
        ]
    if main_dask is not None and main_localw is not None and main_dask.chunks and max(
            main_dask.worker_wait, main_localw.worker_wait) < 0.3:   # else it measures the load
        d = (main_dask.solve_phase - main_localw.solve_phase) / main_dask.chunks
        out.append(f"- Measured directly: the Dask run's solve phase took {d * 1e3:+.0f} ms per "
                   f"chunk ({main_dask.chunks} chunks of up to {main_dask.chunk_size}) against the "
                   f"local pool with the same {workers} workers.")
    if prof:
        driver = prof["slice_cpu_ms"] + prof["read_cpu_ms"]
        out.append(
            f"- The driver is one process and does serial work per household: reading the "
            f"tables ({prof['read_cpu_ms']:.2f} ms CPU) and cutting and pickling its chunk's "
            f"slices ({prof['slice_cpu_ms']:.3f} ms, {prof['kb_per_household']:.1f} KB; the "
            f"worker assembles the household, {prof['assemble_cpu_ms']:.2f} ms): "
            f"{driver:.2f} ms per household, so one "
            f"driver feeds at most ~{1e3 / driver:,.0f} hh/s whatever the cluster's size "
            f"(1M households: ≥ {MILLION * driver / 1e3 / 60:.0f} min of driver CPU), plus the "
            "final merge of the part files.")
        if probe:
            both = driver + probe["bytes_submit_ms"] / probe["payload_households"]
            out.append(
                f"- Put together, the Dask driver spends ~{both:.2f} ms per household "
                f"in series (chunks shipped as bytes): ≤ ~{1e3 / both:,.0f} hh/s however many "
                f"workers, 1M households in ≥ {MILLION * both / 1e3 / 60:.0f} min.")
    if "local" in small and "local" in big:
        s, b = small["local"], big["local"]
        dn = b.households - s.households
        slope = (b.parent_peak - s.parent_peak) / dn if dn else math.nan
        if slope == slope:
            at_m = b.parent_peak + slope * (MILLION - b.households)
            line = (f"- The driver's peak grows by {slope / 1024:.0f} KB "
                    f"per household ({s.households:,} → {b.households:,} households: "
                    f"{mb(s.parent_peak)} → {mb(b.parent_peak)} MB), ~{at_m / 2**30:.0f} GiB "
                    "for 1M households in one batch, if it kept growing so")
            if readmem:
                n = readmem["households"]
                line += (f". In a fresh process, `read_tables` on {n:,} households keeps "
                         f"{readmem['py_live'] / 2**20:.0f} MB of Python objects "
                         f"({readmem['py_live'] / n / 1024:.1f} KB per household: the compact "
                         f"columns) but peaks at {readmem['py_peak'] / 2**20:.0f} MB of Python "
                         f"objects (one per cell while converting) and VmHWM "
                         f"{mb(readmem['hwm'] - readmem['rss_before'])} MB above its start; "
                         f"RSS stays at +{mb(readmem['rss_after'] - readmem['rss_before'])} MB "
                         "after (freed memory is not returned to the OS)")
            per_100k = (b.parent_peak + slope * (100_000 - b.households)) / 2**30
            out.append(line + ". Parquet is read one column at a time, its text and date "
                       "cells dictionary-encoded in Arrow (one Python object per distinct "
                       "value); what still grows with the rows is the sorted, compact columns "
                       "(8 bytes a cell or less) and the end-of-run merge and report. A "
                       "1M-household night is safest cut into batches of ~100k households "
                       f"(~{per_100k:.1f} GiB of driver memory each).")
    return out


def render(args: Any, mach: dict[str, Any], data: dict[str, Any], runs: list[Run],
           small: dict[str, Run], big: dict[str, Run], prof: dict[str, Any] | None,
           probe: dict[str, float] | None, readmem: dict[str, int] | None,
           cluster_start: float, t_total: float,
           la0: tuple, la1: tuple) -> str:
    cmd = "python benchmarks/batch.py" + (" --quick" if args.quick else
                                          f" --households {args.households}") + \
        f" --workers {args.workers}" + (f" --repeats {args.repeats}" if args.repeats > 1 else "")
    L = [f"# taxopt batch benchmark{' (quick)' if args.quick else ''}", "",
         f"Command: `{cmd}`", "", "| machine | |", "|:--|:--|",
         f"| date | {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M UTC} |",
         f"| cpu | {mach['cpu']} |",
         f"| cores | {mach['cores']} logical, {mach['usable_cores']} usable |",
         f"| ram | {mach['ram'] / 2**30:.1f} GiB |" if mach["ram"] else "| ram | ? |",
         f"| os | {mach['os']} |", f"| python | {mach['python']} |",
         "| versions | " + ", ".join(f"{k} {v}" for k, v in mach["versions"].items()) + " |",
         f"| taxopt | {mach['taxopt']} |",
         f"| load average (1/5/15 min) at start | {fmt_load(la0)} |",
         f"| load average (1/5/15 min) at end | {fmt_load(la1)} |",
         f"| benchmark wall time | {t_total:.0f} s |", ""]
    cores = mach["usable_cores"] or 1
    waited = [r for r in runs if not r.error and r.worker_wait > 0.15]
    if waited or la0[0] > 0.5 * cores:
        L += [f"**The machine was shared.** The 1-minute load average was {la0[0]:.1f} on "
              f"{cores} cores when this benchmark started (before it ran anything: other "
              "sessions); later load averages include this benchmark's own processes. "
              "The *run-queue wait* column says how much each run was held back: "
              + (", ".join(f"*{r.label}* {r.worker_wait:.0%}" for r in waited)
                 + " of the workers' runnable time went to waiting for a CPU (for Dask, "
                 "its scheduler and the driver's submit also ran on these 2 cores), so "
                 "those rates are lower than on an idle machine; "
                 if waited else "no run waited more than 15 %; ")
              + "the CPU ms per household columns are less affected.", ""]
    if _autogroup():
        L += ["The kernel shares the CPU between sessions (`sched_autogroup_enabled` = 1): "
              "every process of this benchmark (CLI, pool workers, Dask scheduler and "
              "workers) runs in its one session, so under load a run gets its session's "
              "share of the cores however many workers it has (see *core share*), and the "
              "1 → 2 worker ratio says more about the machine than about taxopt.", ""]
    L += [f"Input: {data['households']:,} synthetic households (synth defaults: 150 lots, "
          f"3 accounts), {data['rows'].get('lots', 0):,} lots, Parquet "
          f"{data['bytes'] / 2**20:.0f} MB, generated in {data['seconds']:.0f} s; small "
          f"runs for memory flatness: {args.small:,} households (first ones of the same "
          "seed).", "",
          "| run | hh | chunk (max) × n | batch s | hh/s | solve-phase hh/s | median ms/hh | "
          "p90 ms | parent MB after read / peak | worker peak MB (max / sum) | CPU ms/hh "
          "parent + workers | core share | run-queue wait | load before → after | statuses |",
          "|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|:--|:--|"]
    for r in runs:
        if r.error:
            L.append(f"| {r.label} | {r.households:,} | | | | | | | | | | | | "
                     f"{fmt_load(r.load_before)} | **{r.error}** |")
            continue
        L.append(
            f"| {r.label} | {r.households:,} | {r.chunk_size} × {r.chunks} | "
            f"{num(r.batch_seconds)} | **{num(r.rate, 0)}** | {num(r.solve_rate, 0)} | "
            f"{num(r.median_ms, 2)} | {num(r.p90_ms, 2)} | "
            f"{mb(r.parent_after_read)} / {mb(r.parent_peak)} | "
            f"{mb(r.worker_peak_max)} / {mb(r.worker_peak_sum)} | "
            f"{num(r.parent_cpu_ms, 2)} + {num(r.worker_cpu_ms, 2)} | "
            f"{num(100 * r.core_share, 0)} % | {num(100 * r.worker_wait, 0)} % | "
            f"{r.load_before[0]:.1f} → {r.load_after[0]:.1f} | {r.statuses} |")
    L.append("")
    L += ["- *batch s*: `run_batch` start to end (manifest: read tables, solve, merge, "
          "report); *hh/s* = households / batch s; *solve-phase hh/s* counts only from the "
          "batch's start event to its last chunk. *median ms/hh*: results.parquet "
          "`seconds` (wall per household, in the worker). Peak RSS is each process's VmHWM; "
          "*after read*: the parent's RSS when the solving starts (tables read). "
          "*core share*: the workers' CPU seconds ÷ (solve phase × workers), the part of "
          "their cores they actually got; below ~90 % the machine was shared. *run-queue "
          "wait*: of the time the workers' threads were runnable, the share spent waiting "
          "for a CPU (`/proc/PID/task/*/schedstat`); ~0 % on an idle machine. "
          "CPU ms/hh: the CLI process and the worker processes, user + system.", ""]
    tail = [r for r in runs if r.slow and not r.error]
    if tail:
        L += ["- slow tail (households over max(0.1 s, 10 × the median)): " + "; ".join(
            f"*{r.label}* {r.slow} households = {r.slow_share:.0%} of the summed seconds "
            f"(slowest {r.slowest})" for r in tail), ""]
    for r in runs:
        if r.problems:
            L.append(f"- not solved in *{r.label}*: " + "; ".join(f"`{m}`" for m in r.problems))
    if any(r.problems for r in runs):
        L.append("")
    l1 = big.get("local1")
    lw = big.get("local")
    dk = big.get("dask")
    L.append("### Ratios")
    L.append("")
    if args.repeats > 1:
        L += [f"From the fastest of the {args.repeats} runs of each engine (solve phase; "
              "sharing the machine only slows a run down): "
              f"{', '.join(f'*{r.label}*' for r in (l1, lw, dk) if r)}.", ""]
    if l1 and lw and lw.workers > 1:
        L.append(f"- local {lw.workers} workers ÷ local 1 worker: **{lw.rate / l1.rate:.2f}×** "
                 f"(solve phase {lw.solve_rate / l1.solve_rate:.2f}×; ideal "
                 f"{lw.workers}×)")
    if dk and lw:
        L.append(f"- dask ÷ local, {dk.workers} workers each: **{dk.rate / lw.rate:.2f}×** "
                 f"(solve phase {dk.solve_rate / lw.solve_rate:.2f}×); Dask cluster start: "
                 f"{cluster_start:.1f} s (not in the rates); " + (
                     "Dask's own settings (--dask-defaults)" if args.dask_defaults else
                     "Dask's stack profiler on in the workers (--dask-profiler), its other "
                     "timers as docs/batch-operations.md recommends" if args.dask_profiler
                     else "the cluster's Dask settings as docs/batch-operations.md recommends "
                     "(no stack profiler, 1 s event-loop tick, slower monitors; "
                     "--dask-defaults: Dask's own)"))
    if lw:
        verdict = "PASS" if lw.rate >= TARGET_RATE else "MISS"
        L.append(f"- issue-6 target ≥ {TARGET_RATE:.0f} hh/s locally ({lw.workers} workers): "
                 f"**{verdict}** at {lw.rate:.0f} hh/s (solve phase {lw.solve_rate:.0f})")
        tot = lw.parent_cpu_ms + lw.worker_cpu_ms
        if tot > 0:
            L.append(f"- on an idle {cores}-core machine the CPU the run used ({tot:.2f} ms per "
                     f"household, all processes) allows at most ~{1e3 * cores / tot:.0f} hh/s; "
                     f"{TARGET_RATE:.0f} hh/s needs ≤ {1e3 * cores / TARGET_RATE:.2f} ms of CPU "
                     "per household in all")
        if tot > 0 and prof:
            iso = prof["chunk_cpu_ms"] + lw.parent_cpu_ms
            L.append(f"- CPU is itself inflated by sharing the cores (caches, SMT): the profiled "
                     f"chunk alone took {prof['chunk_cpu_ms']:.2f} ms CPU per household in "
                     f"`solve_chunk`; with the driver's {lw.parent_cpu_ms:.2f} ms that is "
                     f"{iso:.2f} ms, ~{1e3 * cores / iso:.0f} hh/s on an idle {cores}-core "
                     "machine at best")
    L.append("")
    L.append("### Memory flatness")
    L.append("")
    L.append("| engine | households | parent peak MB | worker peak MB (max) | ratio parent | "
             "ratio worker |")
    L.append("|:--|--:|--:|--:|--:|--:|")
    for eng in ("local", "dask"):
        if eng in small and eng in big:
            s, b = small[eng], big[eng]
            L.append(f"| {eng} | {s.households:,} → {b.households:,} | {mb(s.parent_peak)} → "
                     f"{mb(b.parent_peak)} | {mb(s.worker_peak_max)} → {mb(b.worker_peak_max)} "
                     f"| {b.parent_peak / max(1, s.parent_peak):.2f}× | "
                     f"{b.worker_peak_max / max(1, s.worker_peak_max):.2f}× |")
    L.append("")
    if probe:
        L += ["### Dask scheduler overhead", "",
              f"- no-op task round trip (submit → result): {probe['noop_roundtrip_ms']:.1f} ms "
              "(median of 50)",
              f"- {10 * 50} no-op tasks in flight: {probe['noop_throughput_ms']:.2f} ms per task",
              f"- one chunk's payload ({probe['payload_households']} households, "
              f"{probe['payload_mb']:.1f} MB pickled) to a worker and back: "
              f"{probe['payload_roundtrip_ms']:.0f} ms, of which "
              f"{probe['payload_submit_ms']:.0f} ms inside `client.submit` in the driver "
              "(dask walks every nested object of the argument looking for futures)",
              f"- the same chunk pickled to bytes first: submit "
              f"{probe['bytes_submit_ms']:.0f} ms, round trip "
              f"{probe['bytes_roundtrip_ms']:.0f} ms (incl. unpickling in the worker)", ""]
    if prof:
        ms = prof["ms"]
        tot = sum(ms.values())
        cms = prof["cpu_stage_ms"]
        ctot = sum(cms.values())
        L += [f"### Where a household's time goes (one chunk of {prof['n']} in a fresh "
              "single-threaded worker)", "",
              "| stage | ms/hh CPU | share of CPU | ms/hh wall | share of wall |",
              "|:--|--:|--:|--:|--:|"]
        for k in STAGES:
            if ms.get(k, 0) > 0.0005 or cms.get(k, 0) > 0.0005:
                L.append(f"| {k} | {cms[k]:.2f} | {cms[k] / ctot:.0%} | {ms[k]:.2f} | "
                         f"{ms[k] / tot:.0%} |")
        L += [f"| **total** | **{ctot:.2f}** | | **{tot:.2f}** | |", "",
              f"- `solve_chunk` on the same chunk: {prof['chunk_wall_ms']:.2f} ms/hh wall, "
              f"{prof['chunk_cpu_ms']:.2f} ms/hh CPU (wall above CPU = waiting for a core).",
              "- validate = `from_dict`; build/solve/decode/audit/repair = "
              "`Result.timings`; other = the rest of `rebalance` (lot relief comparison, "
              "result); output = the results row (`results_row.plan_fields`) + `trade_columns()`.",
              f"- driver side, per household: read_tables {prof['read_cpu_ms']:.2f} ms CPU "
              f"({prof['read_households']:,} households in {prof['read_wall_s']:.1f} s), "
              f"cut and pickle its chunk {prof['slice_cpu_ms']:.3f} ms "
              f"({prof['kb_per_household']:.1f} KB); worker side, unpickle and assemble the "
              f"household {prof['assemble_cpu_ms']:.2f} ms.",
              f"- cProfile listing: `{args.prefix}-profile.txt` beside this file.", ""]
    L += extrapolate(l1, lw, dk, prof, probe, readmem, small, big, args.workers)
    return "\n".join(L) + "\n"


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--households", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--small", type=int, default=None,
                    help="households of the memory-flatness runs (default 2000; quick 200)")
    ap.add_argument("--quick", action="store_true", help="1,000 households, in < 2 minutes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask runs")
    ap.add_argument("--dask-profiler", action="store_true",
                    help="keep Dask's stack profiler on in the workers (off by default, as "
                         "docs/batch-operations.md recommends)")
    ap.add_argument("--dask-defaults", action="store_true",
                    help="start the Dask cluster with Dask's own settings (profiler, 20 ms "
                         "tick, monitors), not those docs/batch-operations.md recommends")
    ap.add_argument("--repeats", type=int, default=1,
                    help="runs of each engine at full size, interleaved; the ratios and the "
                    "target use the fastest of each")
    ap.add_argument("--profile-chunk", type=int, default=None,
                    help="households of the profiled chunk (default 200; quick 50)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "batch")
    ap.add_argument("--tmp", type=Path, default=None, help="folder for the data (default: a "
                    "temporary folder, removed at the end)")
    args = ap.parse_args(argv)
    if args.quick:
        args.households = 1000
    args.small = args.small or (200 if args.quick else 2000)
    args.small = min(args.small, args.households)
    args.profile_chunk = args.profile_chunk or (50 if args.quick else 200)
    args.prefix = "quick" if args.quick else "latest"
    try:
        import psutil  # noqa: F401
    except ImportError:
        print("psutil is needed: .venv/bin/pip install psutil", file=sys.stderr)
        return 2

    t_total = time.perf_counter()
    la0 = loadavg()
    mach = machine()
    log(f"machine: {mach['cpu']}, {mach['usable_cores']} cores, load {fmt_load(la0)}")
    tmp = Path(tempfile.mkdtemp(prefix="taxopt-batch-bench-", dir=args.tmp))
    runs: list[Run] = []
    small: dict[str, Run] = {}
    big: dict[str, Run] = {}
    prof = probe = readmem = None
    cluster_start = math.nan
    try:
        big_dir, small_dir = tmp / "big", tmp / "small"
        log(f"generating {args.households:,} households ...")
        data = write_dataset(args.households, args.seed, big_dir)
        log(f"  {data['rows']} in {data['seconds']:.1f} s, {data['bytes'] / 2**20:.0f} MB")
        log(f"generating {args.small:,} households ...")
        write_dataset(args.small, args.seed, small_dir)
        timeout_big = max(120.0, args.households / 5)
        timeout_small = max(120.0, args.small / 5)

        def go(label: str, folder: Path, n: int, engine: str, w: int, **kw: Any) -> Run:
            log(f"{label}: {n:,} households (load {fmt_load(loadavg())}) ...")
            r = run_cli(label, folder, tmp / "out", n, engine, w, **kw)
            runs.append(r)
            msg = r.error or (f"{r.rate:.0f} hh/s (solve phase {r.solve_rate:.0f}), median "
                              f"{r.median_ms:.2f} ms, parent {mb(r.parent_peak)} MB, worker "
                              f"{mb(r.worker_peak_max)} MB, CPU ms/hh {r.parent_cpu_ms:.2f} + "
                              f"{r.worker_cpu_ms:.2f}, core share {r.core_share:.0%}, "
                              f"run-queue wait {r.worker_wait:.0%}, {r.statuses}")
            log("  " + msg)
            return r

        payload: list[Any] = []
        if not args.no_dask:
            from taxopt.batch.run import choose_chunk_size
            from taxopt.batch.tables import read_tables

            tables = read_tables(small_dir)
            size = choose_chunk_size(args.households, args.workers)
            payload = list(tables.items(tables.household_ids[:size]))
            del tables

        def dask_run(label: str, folder: Path, n: int, tmo: float, probe_it: bool) -> Run:
            nonlocal probe, cluster_start
            try:
                log(f"starting a dask cluster (scheduler + {args.workers} workers) ...")
                with Cluster(args.workers, tmp / "cluster", dask_settings(args)) as cl:
                    log(f"  {cl.address}, up in {cl.start_seconds:.1f} s")
                    if math.isnan(cluster_start):
                        cluster_start = cl.start_seconds
                    r = go(label, folder, n, "dask", args.workers, scheduler=cl.address,
                           cluster_pids=cl.roots(), timeout=tmo)
                    if probe_it:
                        log("  probing the scheduler's overhead ...")
                        probe = probe_scheduler(cl.address, payload)
                        log(f"  {probe}")
                    return r
            except Exception as err:   # the local numbers still stand
                log(f"dask run failed: {type(err).__name__}: {err}")
                r = Run(label, "dask", args.workers, n, error=f"{type(err).__name__}: {err}")
                runs.append(r)
                return r

        w = args.workers
        reps: dict[str, list[Run]] = {"local1": [], "local": [], "dask": []}
        for k in range(args.repeats):   # interleaved, so that the load falls on every engine
            tag = f" #{k + 1}" if args.repeats > 1 else ""
            reps["local1"].append(go(f"local, 1 worker{tag}", big_dir, args.households,
                                     "local", 1, timeout=timeout_big * 2))
            reps["local"].append(go(f"local, {w} workers{tag}", big_dir, args.households,
                                    "local", w, timeout=timeout_big))
            if not args.no_dask:
                reps["dask"].append(dask_run(f"dask, {w} workers{tag}", big_dir,
                                             args.households, timeout_big, k == 0))
        for key, rs in reps.items():
            best = fastest(rs)
            if best is not None:
                big[key] = best
        small["local"] = go(f"local, {w} workers (small)", small_dir, args.small,
                            "local", w, timeout=timeout_small)
        if not args.no_dask and not args.quick:   # --quick: flatness from the local runs
            small["dask"] = dask_run(f"dask, {w} workers (small)", small_dir, args.small,
                                     timeout_small, False)
        log(f"profiling one chunk of {args.profile_chunk} households in a worker ...")
        prof = profile_chunk(small_dir, args.profile_chunk)
        log(f"  {prof['wall_ms']:.2f} ms/hh wall, {prof['cpu_ms']:.2f} ms/hh CPU: "
            + ", ".join(f"{k} {v:.2f}" for k, v in prof["cpu_stage_ms"].items()
                        if v > 0.0005))
        log(f"measuring read_tables' memory on {args.households:,} households ...")
        readmem = read_memory(big_dir)
        log(f"  {readmem}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    la1 = loadavg()
    t_total = time.perf_counter() - t_total
    md = render(args, mach, data, runs, small, big, prof, probe, readmem, cluster_start,
                t_total, la0, la1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.prefix}.md").write_text(md)
    write_csv(args.out / f"{args.prefix}.csv", runs)
    if prof:
        (args.out / f"{args.prefix}-profile.txt").write_text(prof["cprofile"])
    print()
    print(md)
    log(f"wrote {args.out / (args.prefix + '.md')}, .csv and -profile.txt "
        f"({t_total:.0f} s in all)")
    return 0 if all(not r.error for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
