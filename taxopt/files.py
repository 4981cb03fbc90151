"""Files written whole or not at all: written under a temporary name beside the
target, then renamed over it, so a reader sees the old content or the new.

The temporary file is opened with mode ``0o666`` and the kernel applies the
process's umask, so an output is readable like any new file of the user's,
with no ``os.umask`` round trip (which would change the umask of every thread
for a moment).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["atomic_write", "temp_beside", "write_temp"]

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def temp_beside(path: Path) -> tuple[int, Path]:
    """A new, empty file ``.NAME.RANDOM.tmp`` next to ``path`` (its folder made if
    needed): its open descriptor and its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, _FLAGS, 0o666), tmp
        except FileExistsError:   # 48 random bits taken: draw again
            continue


def write_temp(path: Path, data: bytes) -> Path:
    """``data`` in a new temporary file next to ``path``; removed again if writing fails."""
    fd, tmp = temp_beside(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def atomic_write(path: Path, data: bytes) -> None:
    """Write a file so that readers see the old content or the new, never a part."""
    tmp = write_temp(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
