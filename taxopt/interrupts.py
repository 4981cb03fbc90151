"""Ctrl-C and SIGTERM in a driver process: one interrupt, acted on once, its cleanup never
cut short.

The first SIGINT or SIGTERM raises KeyboardInterrupt; from then on both are
ignored (`raise_interrupt`), so a second Ctrl-C cannot break the cleanup that
the first started (stopping the workers, releasing the output lock, logging the
line, the interpreter's own exit) into a traceback or a death by signal.
Light on purpose: the console entry point imports it before any command.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["INTERRUPTS", "ignore_interrupts", "interrupts_deferred", "interrupts_once",
           "raise_interrupt", "restore_handlers"]

#: The signals that interrupt a run.
INTERRUPTS = (signal.SIGINT, signal.SIGTERM)

Handler = Callable[[int, Any], Any] | int | None

# set by the first interrupt; a handler put back afterwards (`restore_handlers`) stays inert
_interrupted = threading.Event()


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def ignore_interrupts() -> None:
    """SIGINT and SIGTERM ignored by the process itself (not only by Python code), so they
    cannot end it even while the interpreter finalizes. Main thread only."""
    if _in_main_thread():
        for s in INTERRUPTS:
            signal.signal(s, signal.SIG_IGN)


def raise_interrupt(signum: int, frame: Any) -> None:
    """Handler of SIGINT and SIGTERM: the first raises KeyboardInterrupt, later ones do nothing."""
    if _interrupted.is_set():
        return
    _interrupted.set()
    ignore_interrupts()
    raise KeyboardInterrupt


def interrupted() -> bool:
    """Whether `raise_interrupt` has fired since the last `interrupts_once` began."""
    return _interrupted.is_set()


@contextmanager
def interrupts_once() -> Iterator[None]:
    """Inside, SIGINT and SIGTERM go through `raise_interrupt`.

    On leaving after such an interrupt both stay ignored: the process is
    unwinding it, and a handler put back now would let a second Ctrl-C into the
    caller's cleanup or the interpreter's exit. Otherwise the previous
    handlers come back. Main thread only.
    """
    if not _in_main_thread():
        yield
        return
    _interrupted.clear()
    previous = {s: signal.signal(s, raise_interrupt) for s in INTERRUPTS}
    try:
        yield
    finally:
        if _interrupted.is_set():
            ignore_interrupts()
        else:
            restore_handlers(previous)


def restore_handlers(previous: dict[int, Handler]) -> BaseException | None:
    """Put every handler of ``previous`` back, even if one of them fires in between.

    A signal can be handled between any two of the calls; a handler put back
    first may then raise (KeyboardInterrupt) before the next is restored, which
    would leave that one as it was. The exception (KeyboardInterrupt or
    SystemExit) is held until all are back and returned. ``None`` (a handler
    installed from C, which Python cannot put back) restores the default action.
    """
    caught: BaseException | None = None
    todo = list(previous.items())
    while todo:
        try:
            while todo:
                s, handler = todo[0]
                signal.signal(s, signal.SIG_DFL if handler is None else handler)
                todo.pop(0)
        except (KeyboardInterrupt, SystemExit) as exc:   # a restored handler fired
            caught = caught or exc
    return caught


@contextmanager
def interrupts_deferred(signals: tuple[int, ...] = INTERRUPTS) -> Iterator[None]:
    """Inside, ``signals`` are noted, not acted on; on leaving, each noted one is raised
    again, once, under the handlers of before.

    Python runs signal handlers in the main thread between bytecodes, whichever
    thread the kernel picked: swapping the handlers (not the signal mask, which is
    per thread) is what keeps an interrupt out of a block. Main thread only.
    """
    if not _in_main_thread():
        yield
        return
    noted: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: noted.append(signum))
                for s in signals}
    try:
        yield
    finally:
        fired = restore_handlers(previous)
        if fired is not None:
            raise fired     # a handler put back took the interrupt already
        for s in dict.fromkeys(noted):
            signal.raise_signal(s)       # its own handler now: KeyboardInterrupt, or exit
