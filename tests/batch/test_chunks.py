"""A chunk shipped to a worker assembles exactly the households the driver would."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from taxopt.batch.tables import read_tables

from .conftest import make_households, write_tables

ROOT = Path(__file__).resolve().parents[2]


def _same_through_a_chunk(tables, ids):
    blob = pickle.dumps(tables.chunk(ids), protocol=pickle.HIGHEST_PROTOCOL)
    got = list(pickle.loads(blob))
    want = list(tables.items(ids))
    assert [h for h, _, _ in got] == ids
    assert [(h, r) for h, r, _ in got] == [(h, r) for h, r, _ in want]
    # key order too (a row's empty cells left out, the others in column order)
    assert json.dumps([r for _, r, _ in got], default=str) == json.dumps(
        [r for _, r, _ in want], default=str)
    assert [e and str(e) for _, _, e in got] == [e and str(e) for _, _, e in want]
    return blob


def test_the_nightly_scenario_folder_through_chunks_of_every_size():
    """Per-household options, security overrides, bands, recent trades, empty cells."""
    tables = read_tables(ROOT / "scenarios" / "batch")
    ids = tables.household_ids
    for size in (1, 2, len(ids)):
        for i in range(0, len(ids), size):
            _same_through_a_chunk(tables, ids[i:i + size])


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_chunk_carries_only_its_households_values(tmp_path, fmt):
    from taxopt import synth

    tables = read_tables(write_tables(synth.to_tables(make_households(12)), tmp_path, fmt))
    ids = tables.household_ids
    small = _same_through_a_chunk(tables, ids[3:5])
    whole = _same_through_a_chunk(tables, ids)
    # two households' slices, not the batch's (both carry the shared securities)
    assert len(small) < 0.5 * len(whole)
    chunk = tables.chunk(ids[3:5])
    lot_ids = chunk.splits["lots"].data[chunk.splits["lots"].columns.index("lot_id")].values
    assert len(lot_ids) - 1 == len({r["lot_id"] for h in ids[3:5]
                                    for r in tables.assemble(h)["lots"]})


def test_a_households_rejected_rows_travel_with_its_chunk(tmp_path):
    from taxopt import synth

    rows = synth.to_tables(make_households(4))
    rows["lots"].append({**rows["lots"][0], "household_id": " syn-000002"})   # padded id
    tables = read_tables(write_tables(rows, tmp_path, "csv"))
    assert set(tables.bad_rows) == {"syn-000002"}
    (_, raw, err), = list(pickle.loads(pickle.dumps(tables.chunk(["syn-000002"]))))
    assert raw is None
    assert str(err).startswith("household syn-000002: table lots (lots.csv) row ")
    assert tables.chunk(["syn-000001"]).bad_rows == {}
