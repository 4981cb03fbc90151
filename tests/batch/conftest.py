"""Batch fixtures: small synthetic batches written as CSV or Parquet tables."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from taxopt import synth

N_LOTS = 30          # small households keep the batch tests fast
SEED = 11


def make_households(n: int, seed: int = SEED) -> list[dict[str, Any]]:
    return list(synth.households(n, seed=seed, n_lots=N_LOTS))


def write_tables(tables: dict[str, list[dict[str, Any]]], folder: Path, fmt: str) -> Path:
    """Write ``synth.to_tables`` rows as one file per table (``csv`` or ``parquet``)."""
    folder.mkdir(parents=True, exist_ok=True)
    from taxopt.batch.tables import SPECS

    for name, rows in tables.items():
        spec = SPECS[name]
        frame = pd.DataFrame(rows) if rows else pd.DataFrame(
            {c: pd.Series([], dtype=object) for c in spec.required + spec.optional})
        if fmt == "csv":
            frame.to_csv(folder / f"{name}.csv", index=False)
        else:
            frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def canonical(raw: dict[str, Any]) -> dict[str, Any]:
    """A JSON household in the order the table reader gives any household (`SORT_KEYS`):
    securities by symbol, goals, accounts, lots and recent trades by their ids and dates,
    class-keyed maps by class."""
    def by_class(d: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if d is None else dict(sorted(d.items()))

    out = dict(raw)
    out["securities"] = sorted(({**s, **({"exposures": by_class(s["exposures"])}
                                         if "exposures" in s else {})}
                                for s in raw["securities"]), key=lambda s: s["symbol"])
    out["goals"] = sorted(({**g, "targets": by_class(g["targets"])} for g in raw["goals"]),
                          key=lambda g: g["goal_id"])
    out["accounts"] = sorted(({**a, **({"bands": by_class(a["bands"])} if a.get("bands")
                                       else {})} for a in raw["accounts"]),
                             key=lambda a: a["account_id"])
    out["lots"] = sorted(raw["lots"], key=lambda r: (r["lot_id"], r["account_id"], r["symbol"]))
    out["recent_trades"] = sorted(raw.get("recent_trades", []), key=lambda r: (
        str(r["date"]), r["account_id"], r["symbol"], r["side"], r["shares"]))
    return out


def same_household(a: Any, b: Any, path: str = "household") -> None:
    """Assert two validated households hold the same values, field by field."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), path
        for f in dataclasses.fields(a):
            same_household(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, path
        if a.dtype.kind in "fcmM":
            assert np.array_equal(a, b, equal_nan=True), path
        else:
            assert np.array_equal(a, b), path
    else:
        assert a == b, path


@pytest.fixture(scope="session")
def small_batch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Ten households as Parquet tables, and the reference output of one batch run."""
    from taxopt.batch import run_batch

    hhs = make_households(10)
    root = tmp_path_factory.mktemp("batch")
    inp = write_tables(synth.to_tables(hhs), root / "in", "parquet")
    out = root / "ref"
    outcome = run_batch(inp, out, workers=1, chunk_size=3, csv=True, timings=False)
    return {"households": hhs, "input": inp, "out": out, "outcome": outcome}


OUTPUTS = ("trades.parquet", "results.parquet", "trades.csv", "results.csv")


def assert_same_outputs(a: Path, b: Path, names: tuple[str, ...] = OUTPUTS) -> None:
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
