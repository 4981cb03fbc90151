"""Where chunks run: a local process pool or a Dask cluster, behind one small interface.

An engine takes work (a chunk id and its households), runs `task.solve_part` on
it somewhere and hands back ``(chunk id, output or exception)`` as chunks
finish. The driver (`run.py`) keeps at most ``capacity`` chunks in flight,
so memory stays flat however large the batch. Dask is imported only by the
Dask engine.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from ..interrupts import interrupts_deferred
from ..workers import init_worker, process_context
from .task import solve_part
from .work import Chunk

log = logging.getLogger(__name__)

PRELOAD = ("numpy", "scipy.sparse", "taxopt.batch.task", "taxopt.batch.tables",
           "taxopt.engine", "taxopt.adapters.highs",
           "taxopt.domain.load")


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class LocalEngine:
    """`concurrent.futures.ProcessPoolExecutor` with ``workers`` processes.

    On Linux the workers fork from a forkserver that has already imported the
    engine (fast start, and no fork of a parent that runs a progress thread),
    started with numerical libraries single-threaded: a worker per core, each
    with its own BLAS thread pool, ran 35 % slower than one thread each.
    A pool broken by a dying worker is replaced on the next submit. Workers
    exit when the driver dies (`taxopt.workers.die_with_parent`), so a ``kill -9`` of the
    batch leaves no process behind.
    """

    name = "local"

    def __init__(self, workers: int, time_limit: float | None, timings: bool,
                 lockstep: bool = False):
        self.workers = workers
        self.capacity = 2 * workers
        self.args = (time_limit, timings, lockstep)
        self._pool: ProcessPoolExecutor | None = None
        self._futures: dict[Future, Any] = {}

    def _ensure(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers,
                                             mp_context=process_context(PRELOAD),
                                             initializer=init_worker, initargs=(os.getpid(),))
        return self._pool

    def describe(self) -> dict[str, Any]:
        return {"engine": self.name, "workers": self.workers}

    def pending(self) -> int:
        return len(self._futures)

    def submit(self, key: Any, items: Chunk) -> None:
        # a submit may start a worker: an interrupt in the middle would leave one the pool
        # does not know (`stop_pool` could not stop it), so it waits for the submit's end
        with interrupts_deferred():
            pool = self._ensure()
            try:
                fut = pool.submit(solve_part, items, *self.args)
            except RuntimeError:  # the pool broke since the last submit: start a new one
                self._discard_pool()
                fut = self._ensure().submit(solve_part, items, *self.args)
            self._futures[fut] = key

    def next_done(self) -> tuple[Any, Any]:
        """Block until a chunk finishes; its key and its output (or the exception)."""
        done, _ = wait(list(self._futures), return_when=FIRST_COMPLETED)
        fut = min(done, key=lambda f: str(self._futures[f]))
        key = self._futures.pop(fut)
        exc = fut.exception()
        if exc is not None:
            from concurrent.futures.process import BrokenProcessPool

            if isinstance(exc, BrokenProcessPool):
                self._discard_pool()
            return key, exc
        return key, fut.result()

    def _discard_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self, cancel: bool = False) -> None:
        pool, self._pool = self._pool, None
        self._futures.clear()
        if pool is None:
            return
        if cancel:
            stop_pool(pool)
        else:
            pool.shutdown(wait=True)


#: Seconds `stop_pool` gives workers to end on SIGTERM, then the pool's thread to finish.
STOP_GRACE = 3.0


def stop_pool(pool: ProcessPoolExecutor, grace: float = STOP_GRACE) -> None:
    """Stop a pool now, leaving no process and no thread behind (an interrupted batch).

    Its workers are terminated (killed if they linger). A worker that dies while
    sending its result (terminated here, or by a Ctrl-C to the process group when
    its forkserver was started elsewhere) leaves half a message in the result
    pipe; the pool's manager thread then waits in ``recv()`` for bytes no one
    will send, and the interpreter, which joins that thread at exit, never exits.
    This process holds the pipe's last write end once the workers are gone:
    closing it turns the wait into end-of-file, the pool breaks, and its thread
    ends.
    """
    procs = list((getattr(pool, "_processes", None) or {}).values())
    results = getattr(pool, "_result_queue", None)
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        p.terminate()
    deadline = time.monotonic() + grace
    for p in procs:
        p.join(timeout=max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join(timeout=grace)
    if results is not None and not any(p.is_alive() for p in procs):
        try:
            results._writer.close()
        except (AttributeError, OSError):
            pass
    if manager is not None:
        manager.join(timeout=grace)
        if manager.is_alive():
            log.warning("the worker pool's thread did not stop within %g s; the batch "
                        "exits without it", grace)
        _forget_manager(manager)


def _forget_manager(manager: threading.Thread) -> None:
    """The interpreter's exit neither wakes nor waits for this pool thread any more.

    At exit Python 3.11 writes to the wake-up pipe of every pool thread it knows
    (`concurrent.futures.process._python_exit`), racing a thread that is closing
    that pipe (an ``OSError: Bad file descriptor`` traceback), then joins each
    with no timeout, as it joins every non-daemon thread: one stuck in ``recv()``
    would hold the exit forever. Stopped or stuck, the thread is dropped from
    both lists; a stuck one then dies with the process, like a daemon thread.
    """
    from concurrent.futures import process as cf_process

    wakeups = getattr(cf_process, "_threads_wakeups", None)
    if wakeups is not None:
        wakeups.pop(manager, None)
    if not manager.is_alive():
        return
    lock = getattr(manager, "_tstate_lock", None)
    locks = getattr(threading, "_shutdown_locks", None)
    guard = getattr(threading, "_shutdown_locks_lock", None)
    if lock is not None and locks is not None and guard is not None:
        with guard:
            locks.discard(lock)
        manager._daemonic = True  # type: ignore[attr-defined]  # what it now is


#: Seconds to reach a Dask scheduler before the batch gives up (exit code 3, retryable).
CONNECT_TIMEOUT = 10.0

#: Dask settings of a cluster that `DaskEngine` starts itself (and, as environment
#: variables, recommended for a batch cluster of one's own: docs/batch-operations.md).
#: Each removes a timer of Dask's own diagnostics that runs in every scheduler, nanny
#: and worker whether anyone reads it or not: the 10 ms stack sampler (holding the GIL
#: in the worker), the event loop's 20 ms health tick, the 0.5 s system monitor and the
#: 0.1 s memory poll. An idle cluster of 2 workers spent 0.1 s of CPU a second on them
#: (5 % of 2 cores) and 0.015 s with these; the workers' chunks are unchanged.
DASK_SETTINGS: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",                 # default 20ms
    "distributed.admin.system-monitor.interval": "2s",       # default 500ms
    "distributed.worker.memory.monitor-interval": "1s",      # default 100ms
}


def dask_environment(settings: dict[str, Any] = DASK_SETTINGS) -> dict[str, str]:
    """`DASK_SETTINGS` as the environment variables that set them in a process Dask
    starts (``dask scheduler``, ``dask worker``)."""
    return {"DASK_" + key.upper().replace(".", "__").replace("-", "_"): str(value)
            for key, value in settings.items()}


def check_reachable(address: str, timeout: float = 3.0) -> None:
    """Fail at once (`OSError`) when nothing listens at a ``tcp://host:port`` address.

    Dask's client retries a refused connection until its timeout; a scheduler
    that is down should fail the night's job in seconds, not in half a minute.
    """
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls") or not parts.hostname or parts.port is None:
        return          # another transport (inproc, ucx ...): let Dask decide
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout):
        pass


class DaskEngine:
    """Chunks as Dask tasks: on the cluster at ``scheduler``, or a LocalCluster of processes.

    Workers of a remote cluster need taxopt installed (same version); the
    household data travels with each task, so no shared file system is needed.
    """

    name = "dask"

    def __init__(self, workers: int | None, scheduler: str | None,
                 time_limit: float | None, timings: bool, lockstep: bool = False):
        import logging

        from dask.distributed import Client, LocalCluster

        self.args = (time_limit, timings, lockstep)
        self.scheduler = scheduler
        self._cluster = None
        if scheduler:
            check_reachable(scheduler)
            self.client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        else:
            import dask

            # no one reads Dask's own diagnostics on a cluster made here (`DASK_SETTINGS`)
            with dask.config.set(DASK_SETTINGS):
                self._cluster = LocalCluster(n_workers=workers or default_workers(),
                                             threads_per_worker=1, processes=True,
                                             dashboard_address=None,
                                             silence_logs=logging.ERROR)
            self.client = Client(self._cluster)
        threads = sum(self.client.nthreads().values()) or 1
        self.workers = threads
        self.capacity = 2 * threads
        self._futures: dict[Any, Any] = {}
        from dask.distributed import as_completed

        self._done = as_completed()

    def describe(self) -> dict[str, Any]:
        return {"engine": self.name, "workers": self.workers,
                "scheduler": self.scheduler or "LocalCluster"}

    def pending(self) -> int:
        return len(self._futures)

    def submit(self, key: Any, items: Chunk) -> None:
        import pickle

        from .task import solve_pickled_chunk

        # one bytes payload: Dask scans a task's arguments for futures, nested objects and all
        blob = pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL)
        fut = self.client.submit(solve_pickled_chunk, blob, *self.args, pure=False,
                                 key=f"taxopt-chunk-{key}-{uuid.uuid4().hex}")
        self._futures[fut.key] = (key, fut)
        self._done.add(fut)

    def next_done(self) -> tuple[Any, Any]:
        fut = next(self._done)
        key, _ = self._futures.pop(fut.key)
        try:
            return key, fut.result()
        except Exception as exc:
            return key, exc
        finally:
            fut.release()

    def close(self, cancel: bool = False) -> None:
        try:
            if cancel and self._futures:
                self.client.cancel([f for _, f in self._futures.values()])
            self._futures.clear()
            self.client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()
