"""Batch output: per-chunk part files, and their deterministic merge into the final tables.

Each finished chunk is written at once under ``OUT/.parts/`` (its trades part,
then its results part, each atomically; a results part is the proof that the
chunk is done, which is what ``--resume`` reads). At the end the parts are
merged, in household order, into ``trades.parquet`` and ``results.parquet``
(and CSV on request), streamed through fixed-size row groups so that the
bytes depend on the rows only, not on how the batch was chunked, how many
workers ran or whether it was resumed. Every final file is written under a
temporary name and renamed.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..output import format_number
from ..plan.report import TRADE_COLUMNS
from .results_row import REVIEW_TYPES
from .work import RESULT_COLUMNS

PARTS = ".parts"
ROW_GROUP = 65_536
COMPRESSION = "zstd"

_TRADE_TYPES: dict[str, pa.DataType] = {
    "household_id": pa.string(), "account_id": pa.string(), "symbol": pa.string(),
    "side": pa.string(), "shares": pa.float64(), "price": pa.float64(),
    "value": pa.float64(), "lot_id": pa.string(), "term": pa.string(),
    "realized_gain": pa.float64(), "est_tax": pa.float64(), "wash_disallowed": pa.float64(),
    "reason": pa.string(),
}
_RESULT_TYPES: dict[str, pa.DataType] = {
    "household_id": pa.string(), "status": pa.string(), "message": pa.string(),
    "est_tax": pa.float64(), "drift_before": pa.float64(), "drift_after": pa.float64(),
    "orders": pa.int64(), "seconds": pa.float64(), "solver": pa.string(),
}
_RESULT_TYPES.update({c: getattr(pa, t)() for c, t in REVIEW_TYPES.items()})

RESULTS_SCHEMA = pa.schema([(c, _RESULT_TYPES[c]) for c in RESULT_COLUMNS])
# a trade column added upstream without a type here is written as text (see the tests)
TRADES_SCHEMA = pa.schema([(c, _TRADE_TYPES.get(c, pa.string())) for c in TRADE_COLUMNS])


def to_table(columns: dict[str, list[Any]], schema: pa.Schema) -> pa.Table:
    """Plain columns as an Arrow table of the given schema (unknown-typed columns as text)."""
    arrays = []
    for f in schema:
        values = columns[f.name]
        if f.name not in _TRADE_TYPES and f.name not in _RESULT_TYPES:
            values = [None if v is None else str(v) for v in values]
        arrays.append(pa.array(values, type=f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression=COMPRESSION, row_group_size=ROW_GROUP)
    return buf.getvalue()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()


def _temp(path: Path) -> tuple[int, Path]:
    """A temporary file next to ``path``, readable as a normal new file would be."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, _FILE_MODE)   # mkstemp makes 0600; outputs are for other readers too
    return fd, Path(tmp)


def atomic_write(path: Path, data: bytes) -> None:
    """Write a file so that readers see the old content or the new, never a part."""
    fd, tmp = _temp(Path(path))
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- parts


def part_stem(first: int, last: int) -> str:
    """A part's name: the positions of its first and last household in the sorted id list."""
    return f"p{first:09d}-{last:09d}"


def write_part(parts_dir: Path, stem: str, out: dict[str, dict[str, list[Any]]]) -> None:
    """Write one chunk's trades, then its results (the results part marks the chunk done)."""
    atomic_write(parts_dir / f"{stem}.trades.parquet",
                 parquet_bytes(to_table(out["trades"], TRADES_SCHEMA)))
    atomic_write(parts_dir / f"{stem}.results.parquet",
                 parquet_bytes(to_table(out["results"], RESULTS_SCHEMA)))


def done_parts(parts_dir: Path) -> list[str]:
    """Stems of the finished parts; removes trades parts and temp files of unfinished ones."""
    if not parts_dir.is_dir():
        return []
    stems = sorted(p.name.removesuffix(".results.parquet")
                   for p in parts_dir.glob("*.results.parquet"))
    keep = set(stems)
    for p in parts_dir.iterdir():
        if p.name.endswith(".trades.parquet") and p.name.removesuffix(".trades.parquet") in keep:
            continue
        if p.name.endswith(".results.parquet") or p.name == "state.json":
            continue
        p.unlink()
    return stems


def part_household_ids(parts_dir: Path, stem: str) -> list[str]:
    return pq.read_table(parts_dir / f"{stem}.results.parquet",
                         columns=["household_id"]).column(0).to_pylist()


# --------------------------------------------------------------------------- merge


class _ParquetOut:
    """A Parquet file written in row groups of exactly ``ROW_GROUP`` rows, then renamed."""

    def __init__(self, path: Path, schema: pa.Schema):
        self.path = path
        fd, self.tmp = _temp(path)
        os.close(fd)
        self.writer = pq.ParquetWriter(self.tmp, schema, compression=COMPRESSION)
        self.buffer: list[pa.Table] = []
        self.buffered = 0

    def write(self, table: pa.Table) -> None:
        self.buffer.append(table)
        self.buffered += table.num_rows
        while self.buffered >= ROW_GROUP:
            self._flush(ROW_GROUP)

    def _flush(self, n: int) -> None:
        table = pa.concat_tables(self.buffer).combine_chunks()
        self.writer.write_table(table.slice(0, n), row_group_size=ROW_GROUP)
        rest = table.slice(n)
        self.buffer, self.buffered = [rest], rest.num_rows

    def close(self) -> None:
        if self.buffered:
            self._flush(self.buffered)
        self.writer.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        try:
            self.writer.close()
        finally:
            self.tmp.unlink(missing_ok=True)


class _CsvOut:
    """A CSV file (the `taxopt solve` number format), written under a temp name then renamed."""

    def __init__(self, path: Path, schema: pa.Schema):
        self.path = path
        fd, self.tmp = _temp(path)
        self.fh = os.fdopen(fd, "w", encoding="utf-8", newline="")
        self.writer = csv.writer(self.fh, lineterminator="\n")
        self.writer.writerow(schema.names)

    def write(self, table: pa.Table) -> None:
        cols = [[_cell(v) for v in col.to_pylist()] for col in table.columns]
        self.writer.writerows(zip(*cols, strict=True))

    def close(self) -> None:
        self.fh.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.fh.close()
        self.tmp.unlink(missing_ok=True)


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, float):
        return format_number(v)
    return v


def _write_all(name: str, out_dir: Path, schema: pa.Schema, tables: Iterator[pa.Table],
               csv_too: bool) -> list[Path]:
    outs: list[Any] = [_ParquetOut(out_dir / f"{name}.parquet", schema)]
    if csv_too:
        outs.append(_CsvOut(out_dir / f"{name}.csv", schema))
    try:
        for t in tables:
            for o in outs:
                o.write(t)
    except BaseException:
        for o in outs:
            o.abort()
        raise
    for o in outs:
        o.close()
    return [o.path for o in outs]


def merge_parts(parts_dir: Path, out_dir: Path, csv_too: bool) -> list[Path]:
    """Merge the finished parts into the final tables, sorted by household id."""
    stems = done_parts(parts_dir)
    results = [pq.read_table(parts_dir / f"{s}.results.parquet") for s in stems]
    # parts cover disjoint ranges of the sorted ids, so their name order is household
    # order; check it, and fall back to a full (stable) sort if it ever is not
    bounds = [(t.column(0)[0].as_py(), t.column(0)[-1].as_py()) for t in results
              if t.num_rows]
    ordered = all(a[1] < b[0] for a, b in pairwise(bounds)) and all(
        _sorted_ids(t) for t in results)
    res = pa.concat_tables(results) if results else RESULTS_SCHEMA.empty_table()
    res = res.cast(RESULTS_SCHEMA)
    if not ordered:
        res = res.sort_by("household_id")
    paths = _write_all("results", out_dir, RESULTS_SCHEMA, iter([res]), csv_too)

    def trade_parts() -> Iterator[pa.Table]:
        for s in stems:
            yield pq.read_table(parts_dir / f"{s}.trades.parquet").cast(TRADES_SCHEMA)

    if ordered:
        trades: Iterator[pa.Table] = trade_parts()
    else:
        allt = pa.concat_tables(list(trade_parts())) if stems else TRADES_SCHEMA.empty_table()
        trades = iter([allt.sort_by("household_id")])   # Arrow's sort is stable
    paths += _write_all("trades", out_dir, TRADES_SCHEMA, trades, csv_too)
    paths += _write_all("rejects", out_dir, REJECTS_SCHEMA, iter([rejects_table(res)]), csv_too)
    return paths


REJECTS_SCHEMA = pa.schema([("household_id", pa.string()), ("table", pa.string()),
                            ("record", pa.string()), ("field", pa.string()),
                            ("problem", pa.string())])
_REJECT = re.compile(r"^household (?P<hh>.+?): (?P<record>(?P<table>[a-z_]+)[^:]*?)"
                     r"(?:: field '(?P<field>[^']*)')?: (?P<problem>.*)$")


def rejects_table(results: pa.Table) -> pa.Table:
    """The ops team's to-do list: one row per household rejected as invalid input, with
    the table, record and field at fault (each household's first problem; fixing it
    and re-running shows the next, if any)."""
    bad = results.filter(pc.equal(results.column("status"), "invalid_input"))
    rows = []
    for hh, message in zip(bad.column("household_id").to_pylist(),
                           bad.column("message").to_pylist(), strict=True):
        m = _REJECT.match(message or "")
        if m:
            rows.append((hh, m["table"], m["record"], m["field"] or "", m["problem"]))
        else:
            rows.append((hh, "", "", "", message or ""))
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in REJECTS_SCHEMA]
    return pa.table({f.name: pa.array(c, pa.string()) for f, c in
                     zip(REJECTS_SCHEMA, cols, strict=True)}, schema=REJECTS_SCHEMA)


def _sorted_ids(t: pa.Table) -> bool:
    ids = t.column("household_id").to_pylist()
    return all(a < b for a, b in pairwise(ids))
