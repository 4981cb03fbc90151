"""One batch at a time per output folder: an exclusive lock file in ``--out``.

Two batches writing into one folder mix households from both runs (each
deletes the other's parts, the manifest describes only one). So a batch
holds ``OUT/.taxopt.lock`` for its whole run: an ``flock`` on the file (the
kernel drops it when the process dies, even by ``kill -9``) and, inside,
who holds it (pid, host, start time, run id) for the message another run
shows. A lock file left by a dead run on this host is stale and taken over;
one written by another host is refused (its pid cannot be checked from here)
with the command that clears it.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import socket
from pathlib import Path
from typing import Any

from .failures import OutputLocked

__all__ = ["LOCK_NAME", "OutLock", "OutputLocked"]

LOCK_NAME = ".taxopt.lock"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:      # alive, owned by someone else
        return True
    return True


def _holder_text(info: dict[str, Any]) -> str:
    return (f"pid {info.get('pid')} on host {info.get('host')}, started "
            f"{info.get('started')}")


class OutLock:
    """The exclusive lock of one output folder; a context manager (`acquire` / `release`)."""

    def __init__(self, out_dir: Path, run_id: str = ""):
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / LOCK_NAME
        self.run_id = run_id
        self.fd: int | None = None
        #: what the lock file said when a dead run's lock was taken over (for the log)
        self.took_over: dict[str, Any] | None = None

    def acquire(self) -> OutLock:
        import fcntl

        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                info = _read(fd)
                os.close(fd)
                if err.errno in (errno.EWOULDBLOCK, errno.EACCES):
                    raise OutputLocked(
                        f"{self.out_dir}: another taxopt batch is writing here "
                        f"({_holder_text(info)}); wait for it to finish or use another "
                        "--out") from None
                raise
            # the holder may have removed the file between our open and our lock
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            break
        info = _read(fd)
        if info:
            if info.get("host") != socket.gethostname():
                os.close(fd)
                raise OutputLocked(
                    f"{self.out_dir}: locked by a taxopt batch on another host "
                    f"({_holder_text(info)}); if no batch runs there, delete "
                    f"{self.path} and run again")
            pid = info.get("pid")
            if isinstance(pid, int) and pid != os.getpid() and _pid_alive(pid) and (
                    not _flock_works(self.path)):
                os.close(fd)
                raise OutputLocked(f"{self.out_dir}: another taxopt batch is writing here "
                                   f"({_holder_text(info)})")
            self.took_over = info       # its process is gone: the lock was stale
        record = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                  "run_id": self.run_id}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(record, sort_keys=True) + "\n").encode(), 0)
        self.fd = fd
        return self

    def release(self) -> None:
        """Remove the lock file, then drop the lock (in this order: no window without it)."""
        if self.fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> OutLock:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _read(fd: int) -> dict[str, Any]:
    try:
        data = os.pread(fd, 4096, 0)
        info = json.loads(data.decode()) if data.strip() else {}
    except (OSError, ValueError):
        return {"pid": None, "host": None, "started": "(unreadable lock file)"}
    return info if isinstance(info, dict) else {}


def _flock_works(path: Path) -> bool:
    """Whether this file system honours flock (a second open of the file cannot lock it)."""
    import fcntl

    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
