"""A small on-disk cache for what every report needs and never changes between runs.

The report inlines the Vega JavaScript (vl-convert makes it in ~2.5 s of CPU)
and compiles its Jinja template (~0.8 s): on a 2-core machine that is the
time of a few hundred households, every night, for the same bytes. Both are
kept under ``$TAXOPT_CACHE_DIR`` (default ``$XDG_CACHE_HOME/taxopt`` or
``~/.cache/taxopt``), keyed by the version that made them. A cache that
cannot be read or written is ignored: the value is made again, never wrong.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from ..files import atomic_write

#: ``TAXOPT_CACHE_DIR=off`` turns the cache off.
ENV = "TAXOPT_CACHE_DIR"


def cache_dir() -> Path | None:
    """The cache folder (created), or None when it is off or cannot be made."""
    chosen = os.environ.get(ENV)
    if chosen is not None and chosen.strip().lower() in ("", "off", "0", "none"):
        return None
    if chosen:
        path = Path(chosen)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"),
                                                                ".cache")
        path = Path(base) / "taxopt"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path if os.access(path, os.W_OK | os.X_OK) else None


def cached_text(name: str, version: str, make: Callable[[], str]) -> str:
    """``make()``, kept in the cache as ``name-version.txt`` for the next run."""
    folder = cache_dir()
    if folder is None:
        return make()
    path = folder / f"{name}-{re.sub(r'[^A-Za-z0-9_.+-]', '_', version)}.txt"
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        pass
    text = make()
    try:
        atomic_write(path, text.encode("utf-8"))
    except OSError:
        pass
    return text
