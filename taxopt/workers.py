"""Worker processes for every pool taxopt starts (batch, backtest): one core each,
and none outliving the run that started it.

A worker per core, each with its own BLAS/OpenMP thread pool, ran 35 % slower
than one thread each: every pool starts its workers single-threaded
(`single_threaded_env` around the start, `init_worker` in each worker).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

__all__ = ["THREAD_VARS", "WATCH_EVERY", "children_without_sigint", "die_with_parent",
           "init_worker", "process_alive", "process_context", "single_threaded_env"]

#: Libraries whose thread pools would oversubscribe the cores when every worker runs its own.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "BLIS_NUM_THREADS")


@contextmanager
def single_threaded_env() -> Iterator[None]:
    """Numerical libraries single-threaded in processes started inside (unless the user chose)."""
    saved = {v: os.environ.get(v) for v in THREAD_VARS}
    for v in THREAD_VARS:
        os.environ.setdefault(v, "1")
    try:
        yield
    finally:
        for v, old in saved.items():
            if old is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = old


@contextmanager
def children_without_sigint() -> Iterator[None]:
    """Processes started inside (the forkserver, hence every worker) never receive SIGINT.

    Ctrl-C reaches every process of the terminal's process group. A forkserver
    and workers that ignore it print no traceback while still importing, and no
    worker dies in the middle of sending its result; the driver alone handles
    it and stops them (`taxopt.batch.engines.stop_pool`). SIGINT is blocked in
    this thread while the processes start (they inherit the mask); another
    thread of this process still takes it, so the driver's own Ctrl-C is not
    lost. Main thread only.
    """
    if not hasattr(signal, "pthread_sigmask") or (
            threading.current_thread() is not threading.main_thread()):
        yield
        return
    from multiprocessing import resource_tracker

    # started before: starting it unblocks SIGINT, whatever the caller had blocked
    resource_tracker.ensure_running()
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def init_worker(driver_pid: int | None = None) -> None:
    """One core per worker, and no worker outliving the batch that started it.

    BLAS/OpenMP threads in every worker would fight over the cores: on Linux
    the forkserver already started single-threaded; with spawn this runs
    before numpy is imported. threadpoolctl, when installed, also caps
    libraries that were loaded earlier.
    """
    if driver_pid is not None:
        die_with_parent(driver_pid)
    for v in THREAD_VARS:
        os.environ.setdefault(v, "1")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(1)


#: How often a worker checks that the batch that started it is still alive (seconds).
WATCH_EVERY = 0.5
_PR_SET_PDEATHSIG = 1


def die_with_parent(driver_pid: int) -> None:
    """End this worker when its parent or the batch driver dies (even by ``kill -9``).

    Two guards: on Linux the kernel sends SIGKILL when the parent (the
    forkserver, which itself exits when the driver is gone) dies
    (``prctl(PR_SET_PDEATHSIG)``); and a daemon thread checks every
    `WATCH_EVERY` seconds that the parent is unchanged and the driver alive,
    which also covers platforms without prctl.
    """
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent or not process_alive(driver_pid):
        os._exit(1)      # the parent died before the guard was set

    def watch() -> None:
        while True:
            time.sleep(WATCH_EVERY)
            if os.getppid() != parent or not process_alive(driver_pid):
                os._exit(1)

    threading.Thread(target=watch, name="taxopt-watch-parent", daemon=True).start()


def process_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, killed but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in (b"Z", b"X")


def process_context(preload: Sequence[str] = ()) -> Any:
    """How to start workers: on Linux a forkserver (started single-threaded, with
    ``preload`` imported once so each worker forks ready), elsewhere spawn."""
    if sys.platform.startswith("linux"):
        import multiprocessing.forkserver as fs

        ctx = multiprocessing.get_context("forkserver")
        if preload:
            ctx.set_forkserver_preload(list(preload))
        # the server (and every worker, forked from it) keeps this environment and mask;
        # a server that died is started again here, so every start is shielded
        with single_threaded_env(), children_without_sigint():
            fs.ensure_running()
        return ctx
    return multiprocessing.get_context("spawn")
