"""The report's on-disk cache: the same bytes as made fresh, made once, never required."""

from __future__ import annotations

import pytest

from taxopt.batch import cache


def test_cached_text_is_made_once_and_read_back(monkeypatch, tmp_path):
    monkeypatch.setenv(cache.ENV, str(tmp_path / "c"))
    calls = []

    def make():
        calls.append(1)
        return "bundle ✓ </script>"

    assert cache.cached_text("thing", "1.2/3", make) == "bundle ✓ </script>"
    assert cache.cached_text("thing", "1.2/3", make) == "bundle ✓ </script>"
    assert calls == [1]
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["thing-1.2_3.txt"]
    # another version is made again
    assert cache.cached_text("thing", "1.3", make) == "bundle ✓ </script>"
    assert calls == [1, 1]


def test_the_cache_can_be_off_or_unusable(monkeypatch, tmp_path):
    monkeypatch.setenv(cache.ENV, "off")
    assert cache.cache_dir() is None
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv(cache.ENV, str(blocker / "sub"))     # a file where a folder should be
    assert cache.cache_dir() is None
    assert cache.cached_text("thing", "1", lambda: "made") == "made"


def test_the_cached_vega_bundle_is_vl_converts_own(monkeypatch, tmp_path):
    vl_convert = pytest.importorskip("vl_convert")
    from taxopt.batch.report import _vega_bundle

    monkeypatch.setenv(cache.ENV, "off")
    fresh = _vega_bundle()
    monkeypatch.setenv(cache.ENV, str(tmp_path))
    assert _vega_bundle() == fresh
    monkeypatch.setattr(vl_convert, "javascript_bundle", lambda: pytest.fail("not cached"))
    assert _vega_bundle() == fresh
    assert "</script" not in fresh.lower()
