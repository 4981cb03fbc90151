"""`run_batch`: a folder of tables in, the batch's tables, manifest and report out.

The flow, one way: read and split the tables once (`tables.py`); cut the
households, sorted by id, into chunks; keep a bounded number of chunks in
flight on an engine (`engines.py`), each running `work.solve_chunk`; write
each finished chunk as a part file at once (`sink.py`); at the end merge the
parts into ``trades.parquet`` and ``results.parquet`` (CSV on request),
write ``manifest.json`` and ``report.html``, and remove the parts.

``resume=True`` keeps the parts of an interrupted run (same input files and
options, checked by fingerprint) and solves only the households they lack; the
parts of a run of other inputs or options are discarded (a warning names what
differs) and the batch starts afresh, so a scheduler may pass it every night.

One run at a time writes into an output folder (`lock.OutLock`); the new
output set is built in a staging folder and swapped in at the end, manifest
last (`sink.publish`), so the folder never mixes two runs' files.
A chunk whose worker dies is tried again once, then household by household,
so one household that crashes its process is an ``error`` row, not a lost
batch.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import platform
import shutil
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import InvalidInput
from ..options import Options
from ..plan.report import TRADE_COLUMNS
from ..version import __version__
from . import sink
from .failures import InfrastructureFailure, OutputFailure
from .lock import OutLock
from .logs import new_run_id, run_context
from .memory import release_memory
from .progress import make_reporter
from .tables import Tables, read_tables
from .work import RESULT_COLUMNS, SOLVED, STATUSES, empty_columns

log = logging.getLogger(__name__)

MANIFEST_FORMAT = "taxopt.batch-manifest/1"
MIN_CHUNK, MAX_CHUNK = 50, 500
TAPER_MIN = 25     # households: the smallest of the last chunks (`_chunks`)
EXIT_OK, EXIT_FAILED, EXIT_NOTHING_VALID = 0, 1, 2


class BatchAborted(InfrastructureFailure):
    """The workers keep failing whatever they run (they cannot start, or run out of memory)."""


@dataclass
class BatchOutcome:
    """What a batch did: counts by status, files written, and the exit code it implies."""

    out_dir: Path
    total: int
    counts: dict[str, int]
    reused: int
    seconds: float
    files: list[Path] = field(default_factory=list)
    run_id: str = ""
    warnings: list[str] = field(default_factory=list)
    rejected_rows: int = 0
    #: ``--resume`` found the run already finished: nothing was computed
    finished_before: bool = False

    @property
    def failed(self) -> int:
        return sum(n for s, n in self.counts.items() if s not in SOLVED)

    @property
    def exit_code(self) -> int:
        """0 when every household is solved; 1 when some failed, are infeasible or a row was
        rejected; 2 when there was nothing valid to solve (no household, or all rejected)."""
        if self.finished_before:
            return EXIT_OK
        if self.total == 0 or self.counts.get("invalid_input", 0) == self.total:
            return EXIT_NOTHING_VALID
        return EXIT_OK if self.failed == 0 and self.rejected_rows == 0 else EXIT_FAILED


def choose_chunk_size(n: int, workers: int) -> int:
    """50 to 500 households per chunk, about four chunks per worker, all workers busy."""
    if n <= 0:
        return 1
    size = min(MAX_CHUNK, max(MIN_CHUNK, math.ceil(n / (4 * workers))))
    return max(1, min(size, math.ceil(n / workers)))


@dataclass
class _Work:
    stem: str
    positions: list[int]
    attempt: int = 0


def run_batch(input_dir: str | Path, out_dir: str | Path, workers: int | None = None,
              engine: str = "local", scheduler: str | None = None,
              time_limit: float | None = None, resume: bool = False, csv: bool = False,
              progress: Any = None, chunk_size: int | None = None, timings: bool = True,
              report: bool = True, run_id: str | None = None,
              options: dict[str, Any] | None = None,
              compare_lockstep: bool = False) -> BatchOutcome:
    """Rebalance every household of a folder of tables.

    Parameters
    ----------
    input_dir
        Folder with the contract's tables (section 2), CSV or Parquet.
    out_dir
        Folder for ``trades.parquet``, ``results.parquet``, ``manifest.json``
        and ``report.html`` (created if needed).
    workers
        Processes (local) or LocalCluster workers (dask); default: the cores.
    engine
        ``"local"`` (a process pool) or ``"dask"``.
    scheduler
        Address of a Dask scheduler (``tcp://host:8786``); without it the dask
        engine starts a LocalCluster.
    time_limit
        Seconds the solver may spend on each household.
    resume
        Keep the finished chunks of an interrupted run into the same ``out_dir``
        (of the same inputs and options; otherwise they are discarded). After a
        finished run of the same inputs, nothing is done unless it lacks the
        CSV files ``csv`` asks for.
    csv
        Also write ``trades.csv`` and ``results.csv``.
    progress
        ``"auto"`` (rich bar on a terminal, JSON lines on stderr otherwise),
        ``"rich"``, ``"json"``, ``None`` (silent) or a callable taking event dicts.
    chunk_size
        Households per chunk; default `choose_chunk_size`.
    timings
        Record each household's seconds; ``False`` leaves the column empty so
        that ``results`` is byte-identical across runs (``trades`` always is).
    report
        Write ``report.html``.
    run_id
        The run's id (manifest, lock, every log record); default `new_run_id`.
    options
        Batch-wide option defaults (config file and ``--set``, see
        `settings.batch_defaults`); a household's rows in table ``options`` win.
    compare_lockstep
        Also rebalance each solved household with the ``lockstep_fifo`` heuristic and
        fill ``lockstep_est_tax`` and ``tax_saved_vs_lockstep`` (about 2 ms a household).

    Raises
    ------
    InvalidInput
        Bad arguments or malformed tables (exit code 2); nothing is solved.
    InfrastructureFailure
        The output folder cannot be written or is locked by another run, the
        scheduler cannot be reached, or workers keep dying (exit code 3; worth
        retrying). A part file that cannot be read back is not one: its chunk is
        solved again.
    """
    started = dt.datetime.now(dt.UTC)
    t_start = time.perf_counter()
    run_id = run_id or new_run_id(started)
    _check_args(engine, scheduler, workers, chunk_size)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():     # before the tables are read
        raise OutputFailure(f"{out_dir}: cannot write the batch output there: it is a file, "
                            "not a folder")
    defaults = dict(options or {})
    base_options = Options.from_dict(defaults)
    if time_limit is not None:
        base_options = base_options.replace(time_limit=time_limit)
    if engine == "local":
        _start_local_workers()
    tables = read_tables(input_dir)
    tables.defaults = defaults
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputFailure(f"{out_dir}: cannot create the output folder: "
                            f"{err.strerror or err}") from None
    with run_context(run_id), _output_errors(out_dir), OutLock(out_dir, run_id) as lock:
        if lock.unreadable:
            log.warning("took over the lock file %s: it could not be read and no batch "
                        "holds it", lock.path)
        if lock.took_over:
            log.warning("took over the lock of a batch that is gone (pid %s on host %s, "
                        "started %s)", lock.took_over.get("pid"), lock.took_over.get("host"),
                        lock.took_over.get("started"))
        for w in tables.warnings:
            log.warning(w)
        return _run_locked(tables, input_dir, out_dir, run_id, started, t_start, base_options,
                           workers, engine, scheduler, time_limit, resume, csv, progress,
                           chunk_size, timings, report, compare_lockstep)


def _start_local_workers() -> None:
    """Start the local pool's forkserver now, before the tables are read: it imports the
    solver (`engines.PRELOAD`, about 0.7 s of CPU) on another core while this process
    reads, instead of after it, with one core idle, before the first chunk can start.
    The pool's workers fork from it later (`engines.LocalEngine`)."""
    from ..workers import process_context
    from .engines import PRELOAD

    process_context(PRELOAD)    # the server and its workers leave Ctrl-C to the driver


@contextmanager
def _output_errors(out_dir: Path) -> Iterator[None]:
    """An OS error while writing the outputs is an `OutputFailure` (exit 3), in one line."""
    try:
        yield
    except OSError as err:
        where = err.filename or out_dir
        raise OutputFailure(f"{where}: cannot write the batch output: "
                            f"{err.strerror or err}") from None


def _run_locked(tables: Tables, input_dir: str | Path, out_dir: Path, run_id: str,
                started: dt.datetime, t_start: float, base_options: Options,
                workers: int | None, engine: str, scheduler: str | None,
                time_limit: float | None, resume: bool, csv: bool, progress: Any,
                chunk_size: int | None, timings: bool, report: bool,
                compare_lockstep: bool = False) -> BatchOutcome:
    """The batch, once this run holds the output folder's lock."""
    sink.clean_stale(out_dir)
    parts_dir = out_dir / sink.PARTS
    fingerprints = tables.fingerprints()
    # what the parts depend on: resuming with any of it changed would mix two batches
    state = {"inputs": fingerprints, "time_limit": time_limit, "timings": timings,
             "options": tables.defaults, "compare_lockstep": compare_lockstep,
             "households": len(tables), "taxopt": __version__,
             "trade_columns": list(TRADE_COLUMNS)}
    if resume and not (parts_dir / "state.json").is_file():
        finished = _finished_run(out_dir, state, t_start, csv)
        if finished is not None:
            return finished
    stems = _prepare_parts(parts_dir, state, resume)

    ids = tables.household_ids
    done_ids: set[str] = set()
    for stem in stems:
        done_ids.update(sink.part_household_ids(parts_dir, stem))
    counts = dict.fromkeys(STATUSES, 0)
    for stem in stems:
        for st in sink.read_part(parts_dir, stem, "results", ["status"]).column(0).to_pylist():
            counts[st] = counts.get(st, 0) + 1
    reused = len(done_ids)
    pending = [i for i, hid in enumerate(ids) if hid not in done_ids]

    eng = _make_engine(engine, workers, scheduler, time_limit, timings, compare_lockstep)
    reporter = make_reporter(progress)
    size = chunk_size or choose_chunk_size(len(pending), eng.workers)
    try:
        reporter({"event": "start", "total": len(ids), "skipped": reused,
                  "pending": len(pending), "chunk_size": size, "run_id": run_id,
                  **eng.describe()})
        work = _chunks(pending, size, 0 if chunk_size else eng.workers)
        _drive(eng, tables, parts_dir, work, counts, reused, len(ids),
               reporter, t_start)
    except BaseException:
        eng.close(cancel=True)
        reporter.close()
        raise
    eng.close()
    tables.release_rows()     # every chunk is shipped: the merge and the report need ids only
    release_memory()

    staging = out_dir / f"{sink.STAGING}{run_id}"
    staging.mkdir()
    listed = _listed_rejects(tables)
    files = sink.merge_parts(parts_dir, staging, csv, pa.concat_tables(
        [_table_rejects(tables), listed]), covered=listed)
    # the manifest counts what the merged tables hold, not what this process remembers
    counts = _counts(staging / "results.parquet")
    rejected_rows = len(tables.rejects)   # rows of no household (others fail their household)
    seconds = time.perf_counter() - t_start
    outcome = BatchOutcome(out_dir, sum(counts.values()), counts, reused, seconds, files,
                           run_id, list(tables.warnings), rejected_rows)
    manifest = _manifest(input_dir, fingerprints, base_options, eng.describe(), size,
                         resume, reused, started, outcome, len(pending))
    manifest["compare_lockstep"] = compare_lockstep
    manifest["state_sha256"] = _state_hash(state)
    sink.atomic_write(staging / "manifest.json",
                      (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    if report:
        from .report import write_report

        write_report(staging)
    outcome.files = _ordered_files(sink.publish(staging, out_dir), out_dir, report)
    shutil.rmtree(parts_dir, ignore_errors=True)
    reporter({"event": "end", "done": len(ids), "total": len(ids), "failed": outcome.failed,
              "counts": counts, "seconds": round(seconds, 3),
              "rate": round(len(pending) / seconds, 2) if seconds > 0 else 0.0,
              "exit_code": outcome.exit_code, "run_id": run_id})
    reporter.close()
    return outcome


def _state_hash(state: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def _finished_run(out_dir: Path, state: dict[str, Any], t_start: float,
                  csv: bool = False) -> BatchOutcome | None:
    """The outcome of the finished run in ``out_dir`` when ``--resume`` has nothing to do.

    Its manifest must describe the same inputs, options and code; after a run of
    other inputs (last night's), ``--resume`` starts a new run, so a scheduler
    may always pass it.
    """
    mpath = out_dir / "manifest.json"
    if not mpath.is_file():
        return None
    try:
        manifest = json.loads(mpath.read_text())
    except ValueError:
        return None
    if not isinstance(manifest, dict) or manifest.get("state_sha256") != _state_hash(state):
        log.info("the finished run in %s used other input tables, options or code; nothing "
                 "to resume, starting a new run", out_dir)
        return None
    missing = _missing_outputs(manifest, csv)
    if missing:
        # the finished run wrote no CSV: solving again writes the whole set, each file
        # byte for byte what a run with --csv writes (the Parquet files included)
        log.info("the finished run in %s wrote no %s; starting a new run to write them",
                 out_dir, ", ".join(missing))
        return None
    counts = {k: int(v) for k, v in (manifest.get("counts") or {}).items()}
    total = int(manifest.get("households") or 0)
    log.info("the batch in %s already finished (run %s at %s): nothing to resume",
             out_dir, manifest.get("run_id"), manifest.get("finished"))
    return BatchOutcome(out_dir, total, counts, total, time.perf_counter() - t_start,
                        [out_dir / n for n in sorted(manifest.get("outputs") or {})],
                        str(manifest.get("run_id") or ""), list(manifest.get("warnings") or []),
                        int(manifest.get("rejected_rows") or 0), finished_before=True)


def _missing_outputs(manifest: dict[str, Any], csv: bool) -> list[str]:
    """The CSV files asked for that the finished run's manifest does not list."""
    listed = set(manifest.get("outputs") or {})
    if not csv:
        return []
    wanted = sorted(n[: -len(".parquet")] + ".csv" for n in listed if n.endswith(".parquet"))
    return [n for n in wanted if n not in listed]


def _ordered_files(published: list[Path], out_dir: Path, report: bool) -> list[Path]:
    """The written files in the order a person reads them: tables, manifest, report."""
    out = [p for p in published if p.name not in ("manifest.json", "report.html")]
    order = {n: i for i, n in enumerate(("results.parquet", "results.csv", "trades.parquet",
                                         "trades.csv", "rejects.parquet", "rejects.csv"))}
    out.sort(key=lambda p: order.get(p.name, len(order)))
    out.append(out_dir / "manifest.json")
    if report:
        out.append(out_dir / "report.html")
    return out


def _counts(results_path: Path) -> dict[str, int]:
    """Households by status, read from the merged results table."""
    status = pq.read_table(results_path, columns=["status"]).column(0)
    counts = dict.fromkeys(STATUSES, 0)
    if len(status):
        vc = pc.value_counts(status)
        for v, n in zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist(),
                        strict=True):
            counts[v] = counts.get(v, 0) + n
    return counts


def _table_rejects(tables: Tables) -> pa.Table:
    """Rows the reader rejected without a household to blame, as rejects rows."""
    from .work import REJECT_COLUMNS

    cols = {c: [r[i] for r in tables.rejects] for i, c in enumerate(REJECT_COLUMNS)}
    return sink.rejects_from_columns(cols)


def _listed_rejects(tables: Tables) -> pa.Table:
    """Every bad row of every household, as rejects rows (not only each household's first)."""
    from .work import REJECT_COLUMNS

    cols = {c: [r[i] for r in tables.listed] for i, c in enumerate(REJECT_COLUMNS)}
    return sink.rejects_from_columns(cols)


def _check_args(engine: str, scheduler: str | None, workers: int | None,
                chunk_size: int | None) -> None:
    if engine not in ("local", "dask"):
        raise InvalidInput(None, "--engine", None, f"must be 'local' or 'dask', got {engine!r}")
    if scheduler and engine != "dask":
        raise InvalidInput(None, "--scheduler", None, "needs --engine dask")
    for name, value in (("--workers", workers), ("--chunk-size", chunk_size)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):
            raise InvalidInput(None, name, None, f"must be a whole number >= 1, got {value!r}")


def _prepare_parts(parts_dir: Path, state: dict[str, Any], resume: bool) -> list[str]:
    """Start a fresh parts folder, or on resume check the earlier run matches and keep it."""
    state_path = parts_dir / "state.json"
    if parts_dir.is_symlink() or (parts_dir.exists() and not parts_dir.is_dir()):
        raise OutputFailure(f"{parts_dir}: is a symbolic link or a file, not taxopt's parts "
                            "folder; taxopt does not follow links in --out: remove it")
    if resume and state_path.is_file():
        try:
            before = json.loads(state_path.read_text())
        except ValueError:
            before = None
        if before == state:
            return sink.done_parts(parts_dir)
        # a scheduler passes --resume every night: an interrupted night followed by
        # new inputs must run the new batch, not fail until someone clears --out
        log.warning("the interrupted run in %s used other %s; its finished chunks are "
                    "discarded and the batch starts afresh", parts_dir.parent,
                    _what_changed(before, state))
    if parts_dir.exists():
        shutil.rmtree(parts_dir)
    parts_dir.mkdir(parents=True)
    sink.atomic_write(state_path, (json.dumps(state, sort_keys=True) + "\n").encode())
    return []


def _what_changed(before: Any, now: dict[str, Any]) -> str:
    if not isinstance(before, dict):
        return "settings (its state file is unreadable)"
    if before.get("inputs") != now["inputs"]:
        names = sorted(set(before.get("inputs") or {}) | set(now["inputs"]))
        diff = [n for n in names if (before.get("inputs") or {}).get(n) != now["inputs"].get(n)]
        return "input tables (" + ", ".join(diff) + " differ)"
    if before.get("taxopt") != now["taxopt"] or before.get("trade_columns") != now[
            "trade_columns"]:
        return "code (taxopt " + str(before.get("taxopt")) + ")"
    keys = [k for k in now if k != "inputs" and before.get(k) != now[k]]
    return "options (" + ", ".join(keys) + ")"


def _chunks(pending: list[int], size: int, workers: int = 0):
    """Chunks of consecutive pending positions; a chunk never spans a household done earlier.

    With ``workers`` (the chunk size chosen by taxopt, not given), the last chunks
    shrink: each holds at most the households left over twice the workers (and no
    fewer than `TAPER_MIN`), so the workers finish together instead of one of them
    solving the last full chunk alone.
    """
    left = len(pending)

    def limit() -> int:
        if not workers:
            return size
        return max(1, min(size, max(TAPER_MIN, math.ceil(left / (2 * workers)))))

    run: list[int] = []
    most = limit()
    for i in pending:
        if run and (i != run[-1] + 1 or len(run) == most):
            yield _Work(sink.part_stem(run[0], run[-1]), run)
            left -= len(run)
            most = limit()
            run = []
        run.append(i)
    if run:
        yield _Work(sink.part_stem(run[0], run[-1]), run)


def _make_engine(engine: str, workers: int | None, scheduler: str | None,
                 time_limit: float | None, timings: bool, lockstep: bool = False) -> Any:
    from .engines import DaskEngine, LocalEngine, default_workers

    if engine == "dask":
        try:
            return DaskEngine(workers, scheduler, time_limit, timings, lockstep)
        except ImportError as err:
            raise InvalidInput(None, "--engine", None,
                               f"dask is not installed ({err.name}); "
                               "pip install 'taxopt[dask]'") from None
        except (OSError, TimeoutError) as err:
            raise InfrastructureFailure(f"cannot reach the Dask scheduler {scheduler}: "
                                        f"{str(err).splitlines()[0] if str(err) else err!r}"
                                        ) from None
    return LocalEngine(workers or default_workers(), time_limit, timings, lockstep)


def _drive(eng: Any, tables: Tables, parts_dir: Path, work: Any, counts: dict[str, int],
           reused: int, total: int, reporter: Any, t_start: float) -> None:
    """Keep the engine busy, write each finished chunk, retry chunks whose worker died."""
    ids = tables.household_ids
    retry: deque[_Work] = deque()
    in_flight: dict[str, _Work] = {}
    done = reused
    solved_now = 0
    failures_in_a_row = 0
    t_run = time.perf_counter()
    while True:
        while eng.pending() < eng.capacity:
            w = retry.popleft() if retry else next(work, None)
            if w is None:
                break
            key = f"{w.stem}#{w.attempt}"
            in_flight[key] = w
            # the chunk's slices of the sorted tables; its worker assembles the households
            eng.submit(key, tables.chunk([ids[i] for i in w.positions]))
        if eng.pending() == 0:
            return
        key, out = eng.next_done()
        w = in_flight.pop(key)
        if isinstance(out, BaseException):
            failures_in_a_row += 1
            if failures_in_a_row >= 3 * eng.capacity:
                raise BatchAborted(
                    f"the last {failures_in_a_row} chunks failed in their workers, the last "
                    f"with {type(out).__name__}: {out}; finished chunks are kept, run again "
                    "with --resume once the cause is fixed") from out
            if w.attempt == 0:
                retry.append(_Work(w.stem, w.positions, 1))
                continue
            if len(w.positions) > 1:
                retry.extend(_Work(sink.part_stem(i, i), [i], 2) for i in w.positions)
                continue
            out = _worker_failed(ids[w.positions[0]], out)
        else:
            failures_in_a_row = 0
        sink.write_part(parts_dir, w.stem, out)
        for s in out["results"]["status"]:
            counts[s] = counts.get(s, 0) + 1
        n = len(w.positions)
        done += n
        solved_now += n
        elapsed = time.perf_counter() - t_run
        rate = solved_now / elapsed if elapsed > 0 else 0.0
        reporter({"event": "chunk", "done": done, "total": total,
                  "failed": sum(v for s, v in counts.items() if s not in SOLVED),
                  "counts": dict(counts), "rate": round(rate, 2),
                  "eta": round((total - done) / rate, 1) if rate > 0 else None,
                  "elapsed": round(time.perf_counter() - t_start, 3)})


def _worker_failed(hid: str, exc: BaseException) -> dict[str, dict[str, list[Any]]]:
    results = empty_columns(RESULT_COLUMNS)
    row = {"household_id": hid, "status": "error", "orders": 0,
           "message": f"household {hid}: the worker failed twice while solving it: "
                      f"{type(exc).__name__}: {exc}".rstrip(": ")}
    for c in RESULT_COLUMNS:
        results[c].append(row.get(c))
    return {"results": results, "trades": empty_columns(TRADE_COLUMNS)}


def _versions(engine: str) -> dict[str, str]:
    from importlib import metadata

    names = ["taxopt", "numpy", "pandas", "pyarrow", "highspy", "cvxpy", "pydantic", "scipy"]
    if engine == "dask":
        names += ["dask", "distributed"]
    out = {"python": platform.python_version()}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            out[n] = "not installed"
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _manifest(input_dir: str | Path, fingerprints: dict[str, Any],
              options: Options, engine: dict[str, Any], chunk_size: int, resume: bool,
              reused: int, started: dt.datetime, outcome: BatchOutcome,
              solved_now: int) -> dict[str, Any]:
    finished = dt.datetime.now(dt.UTC)
    return {
        "format": MANIFEST_FORMAT,
        "run_id": outcome.run_id,
        "input_dir": str(Path(input_dir).resolve()),
        "inputs": fingerprints,
        "options": options.as_dict(),
        "engine": {**engine, "chunk_size": chunk_size},
        "resume": resume,
        "households": outcome.total,
        "households_reused": reused,
        "counts": outcome.counts,
        "rejected_rows": outcome.rejected_rows,
        "warnings": outcome.warnings,
        "exit_code": outcome.exit_code,
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "seconds": round(outcome.seconds, 3),
        "households_per_second": round(solved_now / outcome.seconds, 2)
        if outcome.seconds > 0 else None,
        "outputs": {p.name: {"bytes": p.stat().st_size, "sha256": _sha256(p)}
                    for p in outcome.files},
        "versions": _versions(engine["engine"]),
        "platform": platform.platform(),
    }
