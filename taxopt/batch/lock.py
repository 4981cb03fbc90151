"""One batch at a time per output folder: an exclusive lock file in ``--out``.

Two batches writing into one folder mix households from both runs (each
deletes the other's parts, the manifest describes only one). So a batch
holds ``OUT/.taxopt.lock`` for its whole run: an ``flock`` on the file (the
kernel drops it when the process dies, even by ``kill -9``) and, inside,
who holds it (pid, host, start time, run id) for the message another run
shows. A lock file left by a dead run on this host is stale and taken over;
one written by another host is refused (its pid cannot be checked from here)
with the command that clears it. A lock file whose record cannot be read (a
run killed while writing it) is stale once this run holds its flock; where
the file system ignores flock, only once it is `UNREADABLE_GRACE` seconds old.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import socket
import time
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
    if info is _UNREADABLE:
        return "who holds it is unknown: its lock file cannot be read"
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
        #: the lock file taken over could not be read (for the log)
        self.unreadable = False

    def acquire(self) -> OutLock:
        import fcntl

        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                info = _read(fd) or _UNREADABLE
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
        if info is None:
            # a body that does not parse (a run killed while writing it, a damaged
            # disk) and a lock no one holds: stale, unless flock is not honoured here
            # and the file is fresh enough to be a holder still writing it
            if not _flock_works(self.path) and _age(fd) < UNREADABLE_GRACE:
                os.close(fd)
                raise OutputLocked(f"{self.out_dir}: another taxopt batch may be writing "
                                   f"here (its lock file {self.path} is being written); "
                                   "try again in a few seconds")
            self.unreadable = True
        elif info:
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
        from ..interrupts import interrupts_deferred

        # an interrupt while the lock is taken would leave its file behind (``with`` calls
        # no __exit__ for an __enter__ that raised): it waits for the taking to finish,
        # and then releases what was taken
        try:
            with interrupts_deferred():
                return self.acquire()
        except BaseException:
            self.release()
            raise

    def __exit__(self, *exc: Any) -> None:
        self.release()


#: what the message of a refused lock says of a holder whose lock file cannot be read
_UNREADABLE = {"pid": None, "host": None, "started": "(unreadable lock file)"}

#: Seconds an unreadable lock file is left alone where flock does not work (a holder
#: writes its body right after taking the lock; older than this it is stale).
UNREADABLE_GRACE = 5.0


def _read(fd: int) -> dict[str, Any] | None:
    """The lock file's record; ``{}`` when empty, ``None`` when it cannot be parsed."""
    try:
        data = os.pread(fd, 4096, 0)
        info = json.loads(data.decode()) if data.strip() else {}
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def _age(fd: int) -> float:
    return time.time() - os.fstat(fd).st_mtime


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
