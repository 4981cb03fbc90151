"""Batch output: per-chunk part files, and their deterministic merge into the final tables.

Each finished chunk is written at once under ``OUT/.parts/`` (its trades part,
then its results part, each atomically; a results part is the proof that the
chunk is done, which is what ``--resume`` reads). At the end the parts are
merged, in household order, into ``trades.parquet`` and ``results.parquet``
(and CSV on request), streamed through fixed-size row groups so that the
bytes depend on the rows only, not on how the batch was chunked, how many
workers ran or whether it was resumed. Every final file is written under a
temporary name and renamed.

The output set (tables, manifest, report) is built in a staging folder
``OUT/.staging-RUNID/`` and swapped in by `publish`: the old manifest goes
first, then every old output, then the new files, the new manifest last. So
``manifest.json`` present means the folder holds one run's complete set,
and at no moment does it hold a new table beside an old run's files (a
``kill -9`` during the swap leaves some new files and no manifest: an
incomplete set, which the next run replaces).

CSV cells that a spreadsheet would run as a formula (text beginning with
``=``, ``+``, ``-``, ``@``, tab or carriage return) are written with a
leading single quote; numbers are written as numbers.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..files import atomic_write, temp_beside
from ..output import csv_text, format_number
from ..plan.report import TRADE_COLUMNS
from .failures import OutputFailure
from .memory import release_memory
from .results_row import REVIEW_TYPES
from .work import REJECT_COLUMNS, RESULT_COLUMNS

log = logging.getLogger(__name__)

PARTS = ".parts"
STAGING = ".staging-"
#: Every file a batch writes into ``--out`` (a later run removes those it does not write).
OUTPUT_NAMES = ("manifest.json", "report.html", "results.parquet", "trades.parquet",
                "rejects.parquet", "results.csv", "trades.csv", "rejects.csv")
ROW_GROUP = 65_536
COMPRESSION = "zstd"
#: A chunk's part files are read once, by the merge, and then deleted: the worker
#: writes them uncompressed (zstd was a third of making them, and the driver then
#: decompressed them again); the final tables are written with `COMPRESSION`.
PART_COMPRESSION = "none"

_TRADE_TYPES: dict[str, pa.DataType] = {
    "household_id": pa.string(), "account_id": pa.string(), "symbol": pa.string(),
    "side": pa.string(), "shares": pa.float64(), "price": pa.float64(),
    "value": pa.float64(), "lot_id": pa.string(), "term": pa.string(),
    "realized_gain": pa.float64(), "est_tax": pa.float64(), "wash_disallowed": pa.float64(),
    "reason": pa.string(), "wash_kind": pa.string(), "replacement_lot_id": pa.string(),
    "replacement_basis": pa.float64(), "replacement_acquired": pa.string(),
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


def parquet_bytes(table: pa.Table, compression: str = COMPRESSION) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression=compression, row_group_size=ROW_GROUP)
    return buf.getvalue()


# --------------------------------------------------------------------------- parts


def part_stem(first: int, last: int) -> str:
    """A part's name: the positions of its first and last household in the sorted id list."""
    return f"p{first:09d}-{last:09d}"


def part_files(out: dict[str, dict[str, list[Any]]]) -> dict[str, bytes]:
    """A chunk's output columns as the bytes of its three part files (made in the worker,
    so that the driver only writes them)."""
    return {"trades": parquet_bytes(to_table(out["trades"], TRADES_SCHEMA), PART_COMPRESSION),
            "rejects": parquet_bytes(rejects_from_columns(out.get("rejects")),
                                     PART_COMPRESSION),
            "results": parquet_bytes(to_table(out["results"], RESULTS_SCHEMA),
                                     PART_COMPRESSION)}


def write_part(parts_dir: Path, stem: str, out: dict[str, Any]) -> None:
    """Write one chunk's trades and rejects, then its results (which mark the chunk done).

    ``out`` is `work.solve_chunk`'s columns, or `task.solve_part`'s part files."""
    files = out.get("files") or part_files(out)
    for kind in ("trades", "rejects", "results"):     # results last: the chunk is done
        atomic_write(parts_dir / f"{stem}.{kind}.parquet", files[kind])


def done_parts(parts_dir: Path) -> list[str]:
    """Stems of the finished parts; removes trades parts and temp files of unfinished ones.

    A finished part whose files cannot be read (a damaged disk, a file cut short by a
    crash of the machine) is unfinished: its chunk is solved again with a warning, since
    a scheduler passes --resume every night and must not fail on it until someone clears
    the folder by hand."""
    if not parts_dir.is_dir():
        return []
    stems = sorted(p.name.removesuffix(".results.parquet")
                   for p in parts_dir.glob("*.results.parquet"))
    damaged = [s for s in stems if not _readable(parts_dir, s)]
    for stem in damaged:
        log.warning("%s: a finished chunk of the interrupted run cannot be read; it is "
                    "solved again", parts_dir / f"{stem}.results.parquet")
        (parts_dir / f"{stem}.results.parquet").unlink()
    keep = set(stems) - set(damaged)
    stems = sorted(keep)
    for p in parts_dir.iterdir():
        kind = p.name.split(".")[1] if p.name.count(".") == 2 else ""
        if kind in ("trades", "rejects") and p.name.split(".")[0] in keep:
            continue
        if p.name.endswith(".results.parquet") or p.name == "state.json":
            continue
        p.unlink()
    return stems


def _readable(parts_dir: Path, stem: str) -> bool:
    """Whether a finished part's three files read back (the results whole, the others'
    footers, which a file cut short or overwritten does not keep)."""
    try:
        pq.read_table(parts_dir / f"{stem}.results.parquet")
        for kind in ("trades", "rejects"):
            pq.read_metadata(parts_dir / f"{stem}.{kind}.parquet")
    except (OSError, ValueError, pa.ArrowException):
        return False
    return True


def part_household_ids(parts_dir: Path, stem: str) -> list[str]:
    return read_part(parts_dir, stem, "results", ["household_id"]).column(0).to_pylist()


def read_part(parts_dir: Path, stem: str, kind: str,
              columns: list[str] | None = None) -> pa.Table:
    """One part file; `OutputFailure` naming it when it cannot be read (a damaged disk)."""
    path = parts_dir / f"{stem}.{kind}.parquet"
    try:
        return pq.read_table(path, columns=columns)
    except (OSError, ValueError, pa.ArrowException) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise OutputFailure(f"{path}: a finished chunk of the interrupted run cannot be "
                            f"read ({first}); run again without --resume") from None


# --------------------------------------------------------------------------- the output set


def clean_stale(out_dir: Path) -> list[str]:
    """Remove what a killed run left in ``out_dir`` (staging folders, temp files); their names."""
    import shutil

    removed = []
    for p in sorted(out_dir.iterdir()):
        if p.name.startswith(STAGING) and p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.name.startswith(".") and p.name.endswith(".tmp") and not p.is_dir():
            p.unlink()
        else:
            continue
        removed.append(p.name)
    return removed


def publish(staging: Path, out_dir: Path) -> list[Path]:
    """Swap the staged output set into ``out_dir``: old manifest out first, new one in last."""
    new = sorted(p.name for p in staging.iterdir())
    old_manifest = out_dir / "manifest.json"
    before = _listed_outputs(old_manifest)
    old_manifest.unlink(missing_ok=True)
    _sync_dir(out_dir)
    for name in sorted(set(OUTPUT_NAMES) | before):    # every old output, not only stale
        (out_dir / name).unlink(missing_ok=True)
    _sync_dir(out_dir)
    for name in new:
        if name != "manifest.json":
            os.replace(staging / name, out_dir / name)
    if "manifest.json" in new:
        _sync_dir(out_dir)
        os.replace(staging / "manifest.json", out_dir / "manifest.json")
    _sync_dir(out_dir)
    staging.rmdir()
    return [out_dir / n for n in new]


def _listed_outputs(manifest: Path) -> set[str]:
    """Names of the outputs an earlier manifest lists (plain file names only)."""
    import json

    try:
        names = json.loads(manifest.read_text()).get("outputs") or {}
    except (OSError, ValueError, AttributeError):
        return set()
    return {n for n in names if isinstance(n, str) and n == Path(n).name
            and not n.startswith(".")}


def _sync_dir(path: Path) -> None:
    """Make the renames in ``path`` durable in this order (a crash cannot reorder them)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- merge


class _ParquetOut:
    """A Parquet file written in row groups of exactly ``ROW_GROUP`` rows, then renamed."""

    def __init__(self, path: Path, schema: pa.Schema):
        self.path = path
        fd, self.tmp = temp_beside(path)
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
        fd, self.tmp = temp_beside(path)
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
    if isinstance(v, str):
        return csv_text(v)
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
            del t
            release_memory()     # a part's Arrow pages, not every part's, at the peak
    except BaseException:
        for o in outs:
            o.abort()
        raise
    for o in outs:
        o.close()
    return [o.path for o in outs]


def merge_parts(parts_dir: Path, out_dir: Path, csv_too: bool,
                table_rejects: pa.Table | None = None,
                covered: pa.Table | None = None) -> list[Path]:
    """Merge the finished parts into the final tables, sorted by household id.

    ``table_rejects`` are the rows the table reader rejected: without a
    household to blame (an empty ``household_id``, a bad shared security),
    and every bad row of each household. A worker's reject row (the problem
    that made its household ``invalid_input``) in a table where ``covered``
    lists rows of that household is left out: those rows already name the
    problem, with its file row.
    """
    stems = done_parts(parts_dir)
    results = [read_part(parts_dir, s, "results") for s in stems]
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
            yield read_part(parts_dir, s, "trades").cast(TRADES_SCHEMA)

    if ordered:
        trades: Iterator[pa.Table] = trade_parts()
    else:
        allt = pa.concat_tables(list(trade_parts())) if stems else TRADES_SCHEMA.empty_table()
        trades = iter([allt.sort_by("household_id")])   # Arrow's sort is stable
    paths += _write_all("trades", out_dir, TRADES_SCHEMA, trades, csv_too)
    rej = [read_part(parts_dir, s, "rejects").cast(REJECTS_SCHEMA) for s in stems]
    if covered is not None and covered.num_rows:
        rej = [_not_covered(t, covered) for t in rej]
    if table_rejects is not None:
        rej.append(table_rejects.cast(REJECTS_SCHEMA))
    rejects = pa.concat_tables(rej) if rej else REJECTS_SCHEMA.empty_table()
    rejects = rejects.sort_by("household_id")   # stable: each part and table in its order
    paths += _write_all("rejects", out_dir, REJECTS_SCHEMA, iter([rejects]), csv_too)
    return paths


REJECTS_SCHEMA = pa.schema([(c, pa.string()) for c in REJECT_COLUMNS])


def _reject_keys(t: pa.Table, *columns: str) -> pa.Array:
    import pyarrow.compute as pc

    return pc.binary_join_element_wise(*(t.column(c) for c in columns), "\x1f")


def _not_covered(t: pa.Table, covered: pa.Table) -> pa.Table:
    """The rows of a part's rejects that ``covered`` does not already name.

    A household's first row is the problem its status names: left out when
    ``covered`` lists rows of that household in that table. Its other rows
    (rows of the household that disagree with each other) are left out only
    when ``covered`` names the same table and field (an empty required cell,
    found by both)."""
    import numpy as np
    import pyarrow.compute as pc

    if not t.num_rows:
        return t
    ids = t.column("household_id").to_numpy(zero_copy_only=False)
    first = np.ones(len(ids), dtype=bool)
    first[1:] = ids[1:] != ids[:-1]
    keys = ("household_id", "table")
    same_table = pc.is_in(_reject_keys(t, *keys), value_set=_reject_keys(covered, *keys))
    keys = ("household_id", "table", "field")
    same_field = pc.is_in(_reject_keys(t, *keys), value_set=_reject_keys(covered, *keys))
    drop = np.where(first, same_table.to_numpy(zero_copy_only=False),
                    same_field.to_numpy(zero_copy_only=False))
    return t.filter(pa.array(~drop))


def rejects_from_columns(columns: dict[str, list[Any]] | None) -> pa.Table:
    """The ops team's to-do list: one row per rejected household or row, with the table,
    record and field at fault, carried as fields from the error itself (never parsed
    back out of its message, which may hold any character an id holds)."""
    if not columns:
        return REJECTS_SCHEMA.empty_table()
    return pa.table({c: pa.array([v or "" for v in columns[c]], pa.string())
                     for c in REJECT_COLUMNS}, schema=REJECTS_SCHEMA)


def _sorted_ids(t: pa.Table) -> bool:
    ids = t.column("household_id").to_pylist()
    return all(a < b for a, b in pairwise(ids))
