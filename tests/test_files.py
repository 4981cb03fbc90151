"""The one atomic writer and the one worker initializer every output and pool uses."""

from __future__ import annotations

import os
import stat

import pytest

from taxopt import files, workers


def test_atomic_write_gives_a_normal_file_mode_without_touching_the_umask(tmp_path,
                                                                          monkeypatch):
    old = os.umask(0o027)
    try:
        calls = []
        monkeypatch.setattr(os, "umask", lambda m: calls.append(m) or 0)
        files.atomic_write(tmp_path / "sub" / "a.csv", b"x,y\n")
    finally:
        monkeypatch.undo()
        os.umask(old)
    assert calls == []       # the kernel applied the umask: no process-wide round trip
    path = tmp_path / "sub" / "a.csv"
    assert path.read_bytes() == b"x,y\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640      # 0o666 & ~0o027
    assert [p.name for p in path.parent.iterdir()] == ["a.csv"]


def test_a_failed_rename_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "summary.json"
    path.write_bytes(b"old")

    def broken(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk gone"):
        files.atomic_write(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_init_worker_caps_the_thread_pools(monkeypatch):
    for v in workers.THREAD_VARS:
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")          # the user's choice stays
    workers.init_worker()
    assert os.environ["OMP_NUM_THREADS"] == "3"
    assert all(os.environ[v] == "1" for v in workers.THREAD_VARS[1:])
