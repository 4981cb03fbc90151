"""The batch's log: standard `logging` records, as JSON lines for collectors or text for people.

Every record of the ``taxopt`` loggers carries the run id of the batch that
wrote it (`run_context`) and, where one applies, a ``household_id``. On a
terminal they read as ``error: ...`` / ``warning: ...`` lines; anywhere else
as one JSON object per line (``ts``, ``level``, ``logger``, ``run_id``,
``message`` and the record's own fields, e.g. a progress event's counts).
Text bound for a terminal never carries a control character raw (an id could
forge a line or recolour the screen): `printable` escapes them.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..output import printable

LOGGER = "taxopt.batch"
_RUN_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("taxopt_run_id",
                                                                      default=None)
# the attributes every LogRecord has; anything else was passed in ``extra``
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message",
                                                                           "asctime"}

__all__ = ["HumanFormatter", "JsonFormatter", "attach", "detach", "emit", "new_run_id",
           "printable", "run_context"]


@contextmanager
def run_context(run_id: str) -> Iterator[None]:
    """Inside, every record of this thread carries ``run_id``."""
    token = _RUN_ID.set(run_id)
    try:
        yield
    finally:
        _RUN_ID.reset(token)


def new_run_id(started: dt.datetime) -> str:
    """A run's id: its UTC start time and a random suffix (sortable, unique)."""
    return started.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


def current_run_id() -> str | None:
    return _RUN_ID.get()


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, run_id, message, then its own fields."""

    def format(self, record: logging.LogRecord) -> str:
        rec: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(record.created)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "run_id": getattr(record, "run_id", None) or current_run_id(),
            "message": record.getMessage(),
        }
        for k, v in vars(record).items():
            if k not in _STANDARD and k not in rec:
                rec[k] = v
        if record.exc_info and record.levelno >= logging.ERROR:
            rec["exception"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(rec, default=str)


class HumanFormatter(logging.Formatter):
    """``error: message`` / ``warning: message`` / ``message``, on one printable line."""

    def format(self, record: logging.LogRecord) -> str:
        text = printable(record.getMessage())
        if record.levelno >= logging.ERROR:
            return f"error: {text}"
        if record.levelno >= logging.WARNING:
            return f"warning: {text}"
        return text


def attach(stream: Any = None, json_lines: bool | None = None,
           level: int = logging.INFO) -> logging.Handler:
    """Send the ``taxopt`` records to ``stream`` (default stderr): JSON unless a terminal."""
    stream = stream if stream is not None else sys.stderr
    if json_lines is None:
        json_lines = not _isatty(stream)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if json_lines else HumanFormatter())
    handler.setLevel(level)
    log = logging.getLogger("taxopt")
    log.addHandler(handler)
    log.setLevel(min(h.level for h in log.handlers))
    log.propagate = False
    return handler


def emit(level: int, message: str, stream: Any = None, json_lines: bool | None = None,
         **fields: Any) -> None:
    """Write one record as `attach`'s handler would, for a message before (or without) it.

    An error found before the batch's logging is set up (a bad ``--set``, an
    early Ctrl-C) still reaches a collector as a JSON line, in the same format.
    """
    stream = stream if stream is not None else sys.stderr
    if json_lines is None:
        json_lines = not _isatty(stream)
    record = logging.LogRecord(LOGGER, level, "", 0, message, None, None)
    record.__dict__.update(fields)
    formatter = JsonFormatter() if json_lines else HumanFormatter()
    stream.write(formatter.format(record) + "\n")
    stream.flush()


def detach(handler: logging.Handler) -> None:
    log = logging.getLogger("taxopt")
    log.removeHandler(handler)
    handler.flush()
    if not log.handlers:
        log.propagate = True
        log.setLevel(logging.NOTSET)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
