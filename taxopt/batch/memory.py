"""Give back to the system the memory a big step freed, so the driver's peak stays low.

Arrow's allocator (mimalloc or jemalloc) keeps the pages it freed for its own
later use, and glibc's ``malloc`` keeps freed blocks of numpy arrays in its
heap: after reading a large table or merging the result parts, the driver
would sit on memory it no longer uses, and the next step's peak would stack
on top of it. Nothing here changes a result; where an allocator offers no
such call (another libc, another platform) it does nothing.
"""

from __future__ import annotations

import ctypes
import sys
from functools import cache

__all__ = ["release_memory"]


def release_memory() -> None:
    """Return freed memory to the system: Arrow's pool, then the C heap (glibc)."""
    pa = sys.modules.get("pyarrow")       # no Arrow imported: nothing of Arrow's to free
    if pa is not None:
        pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library has none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return getattr(ctypes.CDLL(None), "malloc_trim", None)   # the process's own libc
    except OSError:
        return None
