"""Progress of a batch: a rich progress bar on a terminal, JSON log lines otherwise.

`run_batch` reports events (plain dicts) to a callable: ``start``, ``chunk``
(after each finished chunk) and ``end``. `make_reporter` picks the display:
``"auto"`` is rich when stderr is a terminal, JSON lines on stderr when not
(a log collector reads one object per line: `logging` records of the
``taxopt.batch`` logger, formatted by `logs.JsonFormatter`); ``None`` is
silent; any callable receives the events itself.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any

Event = dict[str, Any]
Reporter = Callable[[Event], None]


class _Silent:
    def __call__(self, event: Event) -> None:
        pass

    def close(self) -> None:
        pass


class JsonLines:
    """Each event as a `logging` record of ``taxopt.batch.progress``, written as one JSON line
    on ``stream``; chunk events at most every ``every`` seconds."""

    def __init__(self, stream: Any = None, every: float = 1.0):
        from .logs import JsonFormatter

        self.every = every
        self._last = 0.0
        self.log = logging.getLogger("taxopt.batch.progress")
        self.log.setLevel(logging.INFO)
        self.handler: logging.Handler | None = None
        if stream is None and logging.getLogger("taxopt").handlers:
            return                     # the command line's handler writes the records
        self.handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
        self.handler.setFormatter(JsonFormatter())
        self.log.addHandler(self.handler)
        self.log.propagate = False     # its own handler writes them; not twice

    def __call__(self, event: Event) -> None:
        now = time.monotonic()
        if event["event"] == "chunk" and event["done"] < event["total"] and (
                now - self._last < self.every):
            return
        self._last = now
        self.log.info(event["event"], extra=event)

    def close(self) -> None:
        if self.handler is not None:
            self.log.removeHandler(self.handler)
            self.handler.flush()
            self.log.propagate = True
            self.handler = None


class RichBar:
    """A rich progress bar on stderr: done/total, households per second, failures, ETA."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]batch"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>7.1f} hh/s"),
            TextColumn("[red]{task.fields[failed]} failed"),
            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
            console=Console(stderr=True), transient=False,
        )
        self.task = None

    def __call__(self, event: Event) -> None:
        kind = event["event"]
        if kind == "start":
            self.progress.start()
            self.task = self.progress.add_task("batch", total=event["total"],
                                               completed=event["skipped"], rate=0.0, failed=0)
        elif kind in ("chunk", "end") and self.task is not None:
            self.progress.update(self.task, completed=event["done"], rate=event["rate"],
                                 failed=event["failed"])

    def close(self) -> None:
        self.progress.stop()


def make_reporter(progress: Any) -> Any:
    """A reporter with ``__call__(event)`` and ``close()`` for the ``progress`` argument."""
    if progress is None or progress is False:
        return _Silent()
    if progress == "auto":
        return RichBar() if sys.stderr.isatty() else JsonLines()
    if progress == "rich":
        return RichBar()
    if progress == "json":
        return JsonLines()
    if callable(progress):
        return _Wrapped(progress)
    raise ValueError(f"progress must be 'auto', 'rich', 'json', None or a callable, "
                     f"got {progress!r}")


class _Wrapped:
    def __init__(self, fn: Reporter):
        self.fn = fn

    def __call__(self, event: Event) -> None:
        self.fn(event)

    def close(self) -> None:
        close = getattr(self.fn, "close", None)
        if callable(close):
            close()
