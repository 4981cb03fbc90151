"""A chunk's part files: uncompressed (read once, by the merge), the final tables zstd."""

from __future__ import annotations

import io

import pyarrow.parquet as pq

from taxopt.batch import sink, work
from taxopt.batch.tables import read_tables

from .conftest import assert_same_outputs


def _codecs(data: bytes) -> set[str]:
    meta = pq.ParquetFile(io.BytesIO(data)).metadata
    return {meta.row_group(g).column(c).compression
            for g in range(meta.num_row_groups) for c in range(meta.num_columns)}


def test_parts_are_uncompressed_and_the_merged_tables_zstd(small_batch, tmp_path):
    tables = read_tables(small_batch["input"])
    files = sink.part_files(work.solve_chunk(tables.chunk(tables.household_ids[:4]),
                                             timings=False))
    for kind in ("trades", "results"):
        assert _codecs(files[kind]) == {"UNCOMPRESSED"}, kind
        assert pq.read_table(io.BytesIO(files[kind])).num_rows > 0
    for name in ("trades.parquet", "results.parquet"):
        assert _codecs((small_batch["out"] / name).read_bytes()) == {"ZSTD"}, name


def test_merged_tables_do_not_depend_on_how_the_parts_were_compressed(
        small_batch, tmp_path, monkeypatch):
    tables = read_tables(small_batch["input"])
    ids = tables.household_ids
    chunks = [work.solve_chunk(tables.chunk(ids[:4]), timings=False),
              work.solve_chunk(tables.chunk(ids[4:]), timings=False)]
    stems = [sink.part_stem(0, 3), sink.part_stem(4, len(ids) - 1)]
    finals = {}
    for codec in ("none", "zstd"):
        monkeypatch.setattr(sink, "PART_COMPRESSION", codec)
        parts, final = tmp_path / codec / "parts", tmp_path / codec / "final"
        parts.mkdir(parents=True)
        final.mkdir()
        for stem, out in zip(stems, chunks, strict=True):
            sink.write_part(parts, stem, out)
        assert _codecs((parts / f"{stems[0]}.trades.parquet").read_bytes()) == {
            "UNCOMPRESSED" if codec == "none" else "ZSTD"}
        sink.merge_parts(parts, final, csv_too=True)
        finals[codec] = final
    assert_same_outputs(finals["none"], finals["zstd"])
    # and the same as the whole batch's own tables
    assert_same_outputs(small_batch["out"], finals["none"])
