"""A folder of tables (contract section 2) read once and split into household dicts.

Every table is read whole (CSV or Parquet), its columns converted once to
Python values (``None`` where a cell is empty), sorted by ``household_id``
and cut at the household boundaries (``factorize`` + stable ``argsort`` +
``bincount``), so nothing loops over the rows of a table to find a
household's rows. A chunk of consecutive households is one slice of every
sorted column (`Tables.chunk`): that is what the driver ships to a worker,
which assembles each household into the contract's JSON shape (`Tables.items`,
lazily), so the driver's work per household is a few array slices.

Three kinds of problem, three outcomes:

- a table cannot be read at all (a missing file or required column, two
  files for one table, a present file without even a header, an unknown
  column that nearly spells an absent known one): `InvalidInput` naming the
  table and the column, raised by `read_tables`; the batch does not start
  (exit code 2);
- a row is bad on its own (an empty, padded or control-character
  ``household_id``; a NaN; a date that is not ISO or not a day of the
  calendar; a padded id; an account or symbol its household does not have; a
  shared security that fails validation): the row is rejected, and every
  household it may belong to is ``invalid_input`` naming its first such row
  by file row (a household is never solved on an incomplete book). A row
  whose household id differs from a real household's only by surrounding
  whitespace or number format (``"1000.0"`` for ``"1000"``) is blamed on that
  household; an unusable id that matches none is a household of its own
  (named with its control characters escaped, never solved); a row with no
  id at all is listed in ``Tables.rejects``. A bad shared security rejects
  the households that use it (`_use_of`: hold, traded or offer it in a menu)
  without rows of their own for the attributes at fault; the others are
  solved (a warning says so). Any other unknown column is ignored with a
  warning;
- one household's rows are inconsistent (two rows for one household, a band
  on an unknown account, targets that do not sum to 1, ...): that household
  becomes a failed item with its reason; the others still run. Rules that the
  JSON contract already has are left to `taxopt.domain.from_dict`, so a
  household read from tables fails with the same message as from JSON.

Within a household, each table's rows are taken in one canonical order (its
key columns in `SORT_KEYS`, then every other column), so shuffling the rows of
any file never changes a household, and so never a plan.

Ids are text, made one way for every table: a number becomes its digits (an
integer-valued float without ``.0``: int64 ``1000`` and float64 ``1000.0``
are both ``"1000"``). Dates are ISO text (``YYYY-MM-DD``) or real Parquet
date/timestamp values, nothing else (no epoch numbers). A NaN in a number
column is an error; an empty (null) cell of an optional column takes the
default.

The columns and their encodings are `layout.SPECS` (derived from the
schema: every optional field of the contract, 1.1 included, is a column, and
an empty cell takes the schema's default). A household's rows in
``securities`` (its ``household_id`` filled) replace the shared rows of their
symbol for that household only; their empty cells keep the shared values.
Table ``options`` gives a household's optimizer options; `Tables.defaults`
(the batch's config file and ``--set``) sit under them.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..domain.schema import FORMAT, Security
from ..errors import InvalidInput
from .checks import Factors
from .layout import (
    BOOL,
    DATE,
    FLOAT,
    JSON,
    KINDS,
    LIST,
    PAIRS,
    SPECS,
    STR,
    TERMS,
    TableSpec,
    shown,
)
from .memory import release_memory

__all__ = ["BOOL", "DATE", "FLOAT", "KINDS", "SPECS", "STR", "TableSpec", "Tables",
           "read_tables"]


def read_kind(column: str) -> str:
    """How a column's cells are converted: LIST and JSON cells are read as text."""
    kind = KINDS.get(column, FLOAT)
    return STR if kind in (LIST, JSON) else kind


SUFFIXES = (".parquet", ".csv", ".csv.gz")

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
# a security's attributes that hold for the symbol as a whole (not per class row)
_SYMBOL_ATTRS = ("price", *(c for c in SPECS["securities"].optional
                            if c not in ("weight", "household_id")))


# --------------------------------------------------------------------------- reading


def find_table_files(input_dir: Path) -> dict[str, Path]:
    """The file of each table present in ``input_dir`` (one per table, CSV or Parquet)."""
    input_dir = Path(input_dir)
    if not input_dir.is_dir():
        raise InvalidInput(None, str(input_dir), None, "no such folder")
    found: dict[str, Path] = {}
    for name, spec in SPECS.items():
        paths = [input_dir / f"{name}{sfx}" for sfx in SUFFIXES]
        paths = [p for p in paths if p.is_file()]
        if len(paths) > 1:
            raise InvalidInput(None, f"table {name}", None,
                               f"found {' and '.join(p.name for p in paths)}; keep one")
        if paths:
            found[name] = paths[0]
        elif spec.mandatory_table:
            raise InvalidInput(None, f"table {name}", None,
                               f"missing: expected {name}.parquet or {name}.csv in {input_dir}")
    return found


def _read_frame(name: str, path: Path) -> tuple[Any, dict[str, np.ndarray]]:
    """The table's columns (a dict of Series for Parquet, a DataFrame for CSV), and for
    Parquet number columns where a cell is a real NaN.

    Arrow tells a NaN from a null; pandas does not (both become NaN), so the
    NaN cells are found before the conversion.
    """
    import pandas as pd

    where = f"table {name} ({path.name})"
    nans: dict[str, np.ndarray] = {}
    parquet = path.name.endswith(".parquet")
    # a present file without even a header is a truncated export, never "no rows":
    # reading it as empty would drop bands, options or the wash-sale history silently
    empty = ("the file is empty (0 bytes)" if parquet else
             "the file is empty (not even a header)") + (
        "" if SPECS[name].mandatory_table else
        "; for no rows write the header alone, or leave the file out")
    try:
        if path.stat().st_size == 0:
            raise InvalidInput(None, where, None, empty)
    except OSError:
        pass                 # the read below says why it cannot be read
    try:
        if parquet:
            import pyarrow as pa
            import pyarrow.compute as pc
            import pyarrow.parquet as pq

            pf = pq.ParquetFile(path)
            # text columns read as Parquet stores them (a dictionary of distinct values and
            # codes), never as one Arrow string per cell
            text = {f.name for f in pf.schema_arrow
                    if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)}
            if text:
                pf = pq.ParquetFile(path, read_dictionary=sorted(text))
            data: dict[str, Any] = {}
            for fname in pf.schema_arrow.names:     # one column in Arrow memory at a time
                col = pf.read(columns=[fname]).column(0)
                if pa.types.is_floating(col.type):
                    mask = pc.fill_null(pc.is_nan(col), False).to_numpy(zero_copy_only=False)
                    if mask.any():
                        nans[fname] = mask
                data[fname] = (_series_of_dictionary(col) if pa.types.is_dictionary(col.type)
                               and fname in text else _series_of(col))
                del col
                # Arrow's allocator keeps freed pages: give them back before the next column
                pa.default_memory_pool().release_unused()
            return data, nans      # columns by name (a DataFrame would consolidate them)
        return _read_csv(path), nans
    except pd.errors.EmptyDataError:        # blank lines only, or a gzip of nothing
        raise InvalidInput(None, where, None, empty) from None
    except (OSError, ValueError, pd.errors.ParserError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InvalidInput(None, where, None, f"cannot be read: {shown(first)}") from None


def _read_csv(path: Path) -> Any:
    """A CSV table as text cells, its index each row's place in the file (0-based, header
    excluded) counting blank lines, so that a problem names the row an editor shows.

    pandas would skip blank lines and number the rows after them one short: they
    are read as rows and dropped here (a row with no cell at all carries nothing).
    """
    import pandas as pd

    def read(skip_blank_lines: bool) -> Any:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""],
                           skip_blank_lines=skip_blank_lines)

    try:
        frame = read(False)
    except pd.errors.EmptyDataError:
        # nothing but blank lines (empty: raised again), or blank lines before the header,
        # which pandas cannot find among them: that rare file is read skipping blank
        # lines, so its later blank lines go uncounted
        return read(True)
    blank = frame.isna().to_numpy().all(axis=1) if len(frame.columns) else None
    return frame[~blank] if blank is not None and blank.any() else frame


def _file_rows(frame: Any) -> np.ndarray | None:
    """Each row's place in its file (0-based, header excluded) when rows were left out on
    reading (a CSV's blank lines), else None: the rows are the file's."""
    import pandas as pd

    if isinstance(frame, dict) or isinstance(frame.index, pd.RangeIndex):
        return None
    return frame.index.to_numpy(dtype=np.int64)


def _series_of(col: Any) -> Any:
    """A pandas Series of an Arrow column whose text (and date) cells share one Python object
    per distinct value.

    ``to_pandas`` makes a new object for every cell: a million lots carry four
    text columns of few distinct values each (household, lot, account, symbol)
    and a date, so the driver's peak memory would grow with the rows. They are
    dictionary-encoded in Arrow instead and expanded by numpy indexing into the
    few distinct values (8 bytes a cell).
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    t = col.type
    if not (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_date(t)):
        return col.to_pandas()
    enc = pc.dictionary_encode(col).combine_chunks()
    values = np.empty(len(enc.dictionary) + 1, dtype=object)
    values[:-1] = enc.dictionary.to_pylist()
    values[-1] = None
    codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False)
    return pd.Series(values[codes], dtype=object, copy=False)


def _series_of_dictionary(col: Any) -> Any:
    """`_series_of` for a text column read as a dictionary: the same cells, and no dense
    Arrow string array made on the way."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    if col.num_chunks == 0:
        return pd.Series(np.empty(0, dtype=object), dtype=object, copy=False)
    col = col.unify_dictionaries()          # every chunk on one dictionary
    dictionary = col.chunk(0).dictionary
    values = np.empty(len(dictionary) + 1, dtype=object)
    values[:-1] = dictionary.to_pylist()
    values[-1] = None
    indices = pa.chunked_array([c.indices for c in col.chunks], type=col.type.index_type)
    codes = pc.fill_null(indices, -1).to_numpy()
    return pd.Series(values[codes], dtype=object, copy=False)


def _check_columns(name: str, path: Path, columns: list[Any]) -> tuple[list[Any], list[str]]:
    """The known columns to read, and a warning for each unknown one (it is ignored).

    The contract allows columns of its own beside ours, but an unknown column that
    is one typo away from an absent optional column is refused: ignoring it would
    give every household the column's default (``min_cash_typo`` -> ``min_cash`` 0).
    """
    spec = SPECS[name]
    where = f"table {name} ({path.name})"
    known = set(spec.required) | set(spec.optional)
    unknown = [col for col in columns if not isinstance(col, str) or col not in known]
    absent = [c for c in spec.required + spec.optional if c not in columns]
    for col in unknown:
        meant = near_column(col, absent)
        if meant is not None:
            raise InvalidInput(None, where, None, f"unknown column {shown(str(col))} "
                               f"(did you mean '{meant}'?)")
    warnings = [f"{where}: column {shown(str(col))} is not a column of this table; "
                "ignored (known columns: " + ", ".join(spec.required + spec.optional) + ")"
                for col in unknown]
    for col in spec.required:
        if col not in columns:
            raise InvalidInput(None, where, col, "required column is missing")
    return [c for c in columns if isinstance(c, str) and c in known], warnings


def near_column(column: Any, absent: list[str]) -> str | None:
    """The absent known column an unknown one misspells, or None.

    Only a near-exact misspelling counts: the same name but for case and the
    separators ``-``, space and ``_`` (``Min-Cash``), or one character apart (one
    inserted, deleted, replaced, or two neighbours swapped: ``min_csh``). The
    contract allows columns of one's own: ``min_cash_pct`` or ``cash_flow_date``
    are other columns, not ``min_cash`` or ``cash_flow`` mistyped."""
    if not isinstance(column, str):
        return None
    name = _column_words(column)
    for known in absent:
        if _one_edit_apart(name, _column_words(known)):
            return known
    return None


def _column_words(name: str) -> str:
    """A column name with case and the separators ``-``, space and ``_`` made alike."""
    return re.sub(r"[-\s_]", "_", name.strip().casefold())


def _one_edit_apart(a: str, b: str) -> bool:
    """Whether two names are equal, or one insertion, deletion, replacement or swap of two
    neighbouring characters apart."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        if a[i + 1:] == b[i + 1:]:                                          # replaced
            return True
        return (i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i]   # swapped
                and a[i + 2:] == b[i + 2:])
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    return longer[i + 1:] == shorter[i:]                                    # one more


# pandas sizes a factorization's hash table for every row being distinct (70 MB for a
# million and a half ids); a column's distinct values are few, so the table starts
# small and grows only as far as they need (the codes are the same)
_HINT = 1024


def date_problems(series: Any) -> list[tuple[int, str]]:
    """Rows whose date is not ISO text or a real date: (row index, problem)."""
    import pandas as pd
    from pandas.api import types as pt

    if pt.is_datetime64_any_dtype(series.dtype):
        return []
    missing = series.isna().to_numpy()
    if pt.is_numeric_dtype(series.dtype) or pt.is_bool_dtype(series.dtype):
        rows = np.flatnonzero(~missing).tolist()
        values = series.to_numpy(dtype=object)
        return [(i, f"{shown(values[i])} is a number, not a date; expected an ISO date "
                    "YYYY-MM-DD") for i in rows]
    values = series.to_numpy(dtype=object)
    # dates repeat (a lot's acquisition date): each distinct value is checked once, by the
    # schema's own rule (and words)
    codes, uniques = pd.factorize(values, use_na_sentinel=True, size_hint=_HINT)
    verdict = [_date_problem(v) for v in np.asarray(uniques, dtype=object).tolist()]
    bad = np.array([v is not None for v in verdict] + [False], dtype=bool)
    rows = np.flatnonzero(~missing & bad[codes]).tolist()
    return [(i, f"{verdict[codes[i]]}, got {shown(values[i])}") for i in rows]


def _date_problem(value: Any) -> str | None:
    """Why the schema refuses a date cell (`iso_date`'s words), or None."""
    from ..domain.schema import iso_date

    try:
        iso_date(value)
    except ValueError as err:
        return str(err)
    return None


def nan_problems(series: Any, nan_mask: np.ndarray | None) -> list[tuple[int, str]]:
    """Rows holding NaN in a number column (a NaN is not an empty cell: it is an error)."""
    import pandas as pd
    from pandas.api import types as pt

    rows: np.ndarray
    if nan_mask is not None:
        rows = np.flatnonzero(nan_mask)
    elif not pt.is_numeric_dtype(series.dtype) and not pt.is_bool_dtype(series.dtype):
        text = pd.Series(series.to_numpy(dtype=object), dtype=object)
        low = text.where(text.map(lambda v: isinstance(v, str)), "").str.strip().str.lower()
        rows = np.flatnonzero(low.isin(["nan", "+nan", "-nan"]).to_numpy(dtype=bool))
    else:
        return []
    return [(i, "NaN is not a number; leave the cell empty for the default, or give a "
                "value") for i in rows.tolist()]


def _id_text(values: np.ndarray) -> np.ndarray:
    """Ids as text, one way: numbers as their digits (1000.0 -> "1000"), empty as None."""
    return _id_text_factors(values)[0]


def _id_text_factors(values: np.ndarray) -> tuple[np.ndarray, Factors | None]:
    """`_id_text`, and the text's codes and distinct values when they came for free (text
    ids are factorized to be converted: the checks and `_split` reuse the codes)."""
    if values.dtype.kind == "f":
        out = values.astype(str).astype(object)
        whole = np.isfinite(values) & (np.floor(values) == values) & (np.abs(values) < 2**53)
        out[whole] = values[whole].astype(np.int64).astype(str)
        out[np.isnan(values)] = None
        return out, None
    if values.dtype.kind in "iu":
        return values.astype(str).astype(object), None
    import pandas as pd

    codes, uniques = pd.factorize(values, use_na_sentinel=True,   # each distinct id once
                                  size_hint=_HINT)
    text = np.empty(len(uniques) + 1, dtype=object)
    text[:-1] = [_one_id_text(v) for v in np.asarray(uniques, dtype=object)]
    distinct = text[:-1]
    # two cells of one text (1000 and "1000") would be two codes: factorized again then
    texts = distinct.tolist()
    same = None not in texts and len(set(texts)) == len(texts)
    return text[codes], ((codes, distinct) if same else None)   # code -1: the last, None


def _one_id_text(v: Any) -> Any:
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, float | np.floating):
        if v != v:
            return None
        return str(int(v)) if float(v).is_integer() and abs(v) < 2**53 else repr(float(v))
    if isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_):
        return str(int(v))
    return str(v)


def household_id_problems(ids: np.ndarray, factors: Factors | None = None
                          ) -> list[tuple[int, str]]:
    """Rows whose household id is unusable: empty, padded with spaces, or control characters.

    Each distinct id is checked once (a household's id repeats on each of its rows)."""
    import pandas as pd

    if factors is None:
        codes, uniques = pd.factorize(np.asarray(ids, dtype=object), use_na_sentinel=True,
                                      size_hint=_HINT)
        distinct = np.asarray(uniques, dtype=object)
    else:
        codes, distinct = factors
    found = dict(_id_problems(np.append(distinct, None).astype(object)))
    if not found:
        return []
    codes = np.where(codes < 0, len(distinct), codes)
    bad = np.array(sorted(found), dtype=np.int64)
    rows = np.flatnonzero(np.isin(codes, bad))
    return [(i, found[int(codes[i])]) for i in rows.tolist()]


def _id_problems(ids: np.ndarray) -> list[tuple[int, str]]:
    """Problems of distinct household ids (text or None): the schema's id check and words,
    as for every other id; the ids are tested all at once first (`all_plain_ids`)."""
    from ..domain.schema import _printable_id
    from .checks import all_plain_ids

    values = ids.tolist()
    text = [v for v in values if isinstance(v, str) and v != ""]
    if len(text) == len(values) and all_plain_ids(text):
        return []
    out = []
    for i, v in enumerate(values):
        if v is None or v == "" or (isinstance(v, float) and v != v):
            out.append((i, "empty; every row must name its household"))
        elif isinstance(v, str):
            try:
                _printable_id(v)
            except ValueError as err:
                out.append((i, f"{err}, got {shown(v)}"))
    return out


def printable_id(hid: str) -> str:
    """An id with its control characters escaped (``line\\nbreak``), so that results and
    rejects can name it on one line: the escaper of every message (`output.printable`)."""
    from ..output import printable

    return printable(hid)


def near_id(hid: Any) -> str | None:
    """What a mistyped id was probably meant to be: no spaces or control characters around
    it, a whole number without decimals (``" 1000.0 "`` -> ``"1000"``); None if empty."""
    if not isinstance(hid, str):
        return None
    text = "".join(ch for ch in hid if ch.isprintable()).strip()
    if not text:
        return None
    if re.fullmatch(r"[+-]?\d+(\.\d*)?([eE][+-]?\d+)?", text):
        from decimal import Decimal, InvalidOperation

        try:
            d = Decimal(text)
        except InvalidOperation:
            return text
        if d == d.to_integral_value() and abs(d) < 10**30:
            return str(int(d))
    return text


def convert_column(series: Any, kind: str) -> np.ndarray:
    """One column as Python-ready values: float64 (NaN where empty) or objects (``None``).

    A number column whose every cell is a number (or empty) stays a float64 array;
    any other column is an object array. Cells that cannot be converted keep their
    text, so the household that carries them fails validation with a message
    naming the field, while the rest of the column is usable.
    """
    import pandas as pd
    from pandas.api import types as pt

    missing = series.isna().to_numpy()
    if kind == FLOAT and pt.is_numeric_dtype(series.dtype) and not pt.is_bool_dtype(
            series.dtype):
        return series.to_numpy(dtype=float, na_value=np.nan)
    if kind == FLOAT and not pt.is_bool_dtype(series.dtype):
        num = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = np.isnan(num) & ~missing
        if not bad.any():
            return num
        out = num.astype(object)
        out[bad] = series.to_numpy(dtype=object)[bad]
    elif kind == BOOL and not pt.is_bool_dtype(series.dtype):
        raw = series.to_numpy(dtype=object)
        text = series.astype(str).str.strip().str.lower().to_numpy(dtype=object)
        out = raw.copy()
        out[np.isin(text, list(_TRUE))] = True
        out[np.isin(text, list(_FALSE))] = False
    elif kind == DATE and pt.is_datetime64_any_dtype(series.dtype):
        out = series.dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
    elif kind == STR and pt.is_numeric_dtype(series.dtype) and not pt.is_bool_dtype(
            series.dtype):
        out = _id_text(series.to_numpy())     # 1000.0 -> "1000", as an int64 column reads
    elif kind == STR and not (pt.is_string_dtype(series.dtype)
                              or pt.is_object_dtype(series.dtype)):
        out = series.astype(str).to_numpy(dtype=object)
    else:
        out = series.to_numpy(dtype=object)
    if not (isinstance(out, np.ndarray) and out.dtype == object and out.flags.writeable
            ):
        out = np.array(out, dtype=object)     # a writable copy (Arrow-backed views are not)
    out[missing] = None
    if kind == STR and pt.is_object_dtype(series.dtype) and not _all_text(out):
        # object columns (Parquet, pandas) may mix in numbers: ids written as ints
        odd = np.fromiter((v is not None and not isinstance(v, str) for v in out), bool,
                          len(out))
        if odd.any():
            out[odd] = [_one_id_text(v) for v in out[odd]]
    return out


def _all_text(values: np.ndarray) -> bool:
    """Whether every cell of an object column is text or None (a NaN is not: a pass in C)."""
    from pandas.api.types import infer_dtype

    filled = values[~np.equal(values, None)]
    return len(filled) == 0 or infer_dtype(filled, skipna=False) == "string"


def _pylist(values: np.ndarray) -> list[Any]:
    """Python values of a converted column, ``None`` where empty."""
    out = values.tolist()
    if values.dtype.kind == "f":
        nan = np.flatnonzero(np.isnan(values)).tolist()
        for i in nan:
            out[i] = None
    return out


def _objects(values: list[Any]) -> np.ndarray:
    """Distinct values as an object array indexable by code (-1, the last: None); cells
    that are lists stay one object each."""
    return np.fromiter((*values, None), dtype=object, count=len(values) + 1)


@functools.lru_cache(maxsize=64)
def _row_maker(names: tuple[str, ...]) -> Any:
    """A function of a table's columns (lists) that returns its rows as dicts.

    Made once per table layout: a list comprehension with the column names as
    literal keys builds the dicts 2.5x as fast as ``dict(zip(names, row))``, and
    a batch builds one a lot (150 a household). The names only appear as string
    literals (``repr``), so no column name can change the code.
    """
    cols = [f"c{i}" for i in range(len(names))]
    cells = [f"v{i}" for i in range(len(names))]
    row = ", ".join(f"{n!r}: {v}" for n, v in zip(names, cells, strict=True))
    src = (f"def rows({', '.join(cols)}):\n"
           f"    return [{{{row}}} for ({', '.join(cells)},) in zip({', '.join(cols)})]\n")
    scope: dict[str, Any] = {}
    exec(src, scope)      # the source above: the names only as literals
    return scope["rows"]


@dataclass
class _Column:
    """A sorted column kept compact: float64 (NaN = empty) or codes into its distinct values.

    Ids, symbols, dates repeat a lot: int32 codes take a fraction of the memory
    of one Python object per cell, so a large batch's tables fit in memory.
    """

    floats: np.ndarray | None = None
    codes: np.ndarray | None = None
    values: list[Any] | None = None        # distinct values, then None (code -1)

    @classmethod
    def encode(cls, values: np.ndarray, factors: Factors | None = None
               ) -> tuple[_Column, np.ndarray]:
        """The column kept compact (rows as given) and its sort key (`_sort_key`'s order).

        Text is factorized once; the key is each distinct value's rank, so no
        sorted copy of the cells is made (empty cells rank first)."""
        import pandas as pd

        if values.dtype.kind == "f":
            return cls(floats=values), values
        if factors is None:
            codes, uniques = pd.factorize(values, size_hint=_HINT)
            distinct = np.asarray(uniques, dtype=object)
        else:
            codes, distinct = factors
        rank = np.full(len(distinct) + 1, -1, dtype=np.int32)   # the last: code -1, empty
        if len(distinct):
            rank[:-1] = _sort_key(distinct)
        codes = codes.astype(np.int32)
        return cls(codes=codes, values=[*distinct.tolist(), None]), rank[codes]

    def reorder(self, order: np.ndarray) -> _Column:
        """The column's rows in ``order``."""
        if self.floats is not None:
            return _Column(floats=self.floats[order])
        return _Column(codes=self.codes[order], values=self.values)

    def slice(self, a: int, b: int) -> list[Any]:
        if self.floats is not None:
            return _pylist(self.floats[a:b])
        vals = self.values
        return [vals[c] for c in self.codes[a:b].tolist()]

    def cells(self) -> list[Any]:
        """Every row's Python value (`slice` of all rows, at a chunk's size: one lookup
        per cell in numpy, not in Python)."""
        if self.floats is not None:
            return _pylist(self.floats)
        return _objects(self.values)[self.codes].tolist()

    def take(self, a: int, b: int) -> _Column:
        """Rows ``a:b`` as a column of their own, carrying only the distinct values they use
        (what a chunk ships to its worker: a few arrays, not the batch's every value)."""
        if self.floats is not None:
            return _Column(floats=self.floats[a:b].copy())
        import pandas as pd

        codes, used = pd.factorize(self.codes[a:b])     # hashing: no sort
        vals = self.values
        return _Column(codes=codes.astype(np.int32),
                       values=[vals[c] for c in used.tolist()] + [None])

    def empty(self) -> np.ndarray:
        """Which rows are empty (NaN, or the code of None)."""
        if self.floats is not None:
            return np.isnan(self.floats)
        none = np.array([v is None for v in self.values] + [True], dtype=bool)
        return none[self.codes]      # code -1 (the last entry): empty

    def dates(self) -> _Column:
        """The column with each distinct date converted once (`_date`)."""
        if self.values is None:
            return self
        return _Column(codes=self.codes, values=[_date(v) for v in self.values])


@dataclass
class _Split:
    """A per-household table: columns sorted by household, and each household's row range."""

    name: str
    columns: tuple[str, ...]
    data: list[_Column]                        # one per column, rows sorted by household
    ranges: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: the file's row index (0-based, header excluded) of each sorted row
    source_rows: np.ndarray | None = None

    #: a chunk's columns as Python lists, made once in the worker (`take` marks a chunk)
    _lists: list[list[Any]] | None = field(default=None, repr=False, compare=False)
    #: the chunk's rows with an empty cell, in order (the others fill every column)
    _holes: list[int] = field(default_factory=list, repr=False, compare=False)
    chunk: bool = False

    def rows(self, hid: str) -> list[dict[str, Any]]:
        span = self.ranges.get(hid)
        if span is None:
            return []
        a, b = span
        cols = self.columns
        if self.chunk:
            if self._lists is None:
                self._lists = [col.cells() for col in self.data]
                self._holes = np.flatnonzero(np.logical_or.reduce(
                    [col.empty() for col in self.data])).tolist() if self.data else []
            return self._chunk_rows(a, b)
        else:
            parts = [col.slice(a, b) for col in self.data]
        return [{k: v for k, v in zip(cols, vals, strict=True) if v is not None}
                for vals in zip(*parts, strict=True)]

    def _chunk_rows(self, a: int, b: int) -> list[dict[str, Any]]:
        """Rows ``a:b`` of a chunk, as `rows` makes them (an empty cell leaves its key
        out): every row with every column, then the few rows with an empty cell without
        it."""
        import bisect

        if not self.columns:
            return [{} for _ in range(b - a)]
        out = _row_maker(self.columns)(*(col[a:b] for col in self._lists))
        holes = self._holes
        for j in holes[bisect.bisect_left(holes, a):bisect.bisect_left(holes, b)]:
            out[j - a] = {k: v for k, v in out[j - a].items() if v is not None}
        return out

    def take(self, ids: list[str]) -> _Split:
        """The rows of ``ids`` (consecutive in the sorted id order) as a split of their own.

        A chunk's households are consecutive ids, so their rows are one slice of
        every sorted column: the driver cuts arrays and ships them; the worker
        turns them into rows (`rows`)."""
        spans = [self.ranges[h] for h in ids if h in self.ranges]
        a = min((s for s, _ in spans), default=0)
        b = max((e for _, e in spans), default=0)
        ranges = {h: (self.ranges[h][0] - a, self.ranges[h][1] - a)
                  for h in ids if h in self.ranges}
        data = [col.take(a, b) for col in self.data]
        source = (self.source_rows[a:b].copy() if self.source_rows is not None
                  else np.arange(a, b))
        return _Split(self.name, self.columns, data, ranges, source, chunk=True)

    def first_row(self, hid: str) -> int:
        """The file row (0-based) of the household's first row in this table."""
        a, b = self.ranges[hid]
        return int(self.source_rows[a:b].min()) if self.source_rows is not None else a


@dataclass(frozen=True)
class _BadRow:
    """A rejected row: where it is, the household id it carries, and what is wrong."""

    table: str
    file: str
    row: int                 # 0-based, header excluded
    hid: Any
    field: str
    problem: str

    @property
    def record(self) -> str:
        return f"table {self.table} ({self.file}) row {self.row + 1}"


#: Each table's rows are read in this order within a household (then by every other
#: column), so the order of the rows in the file never changes a plan.
SORT_KEYS: dict[str, tuple[str, ...]] = {
    "households": (),
    "securities": ("symbol", "asset_class"),
    "goals": ("goal_id", "asset_class"),
    "accounts": ("account_id",),
    "bands": ("account_id", "asset_class"),
    "lots": ("lot_id", "account_id", "symbol"),
    "recent_trades": ("date", "account_id", "symbol", "side"),
}


def _sort_key(values: np.ndarray) -> np.ndarray:
    """One column as sortable integer codes (empty first; text in code-point order)."""
    import pandas as pd

    if values.dtype.kind == "f":
        return values
    text = np.array([None if v is None else (v.isoformat() if isinstance(v, dt.date)
                                             else repr(v) if not isinstance(v, str) else v)
                     for v in values], dtype=object) if values.dtype == object and not (
        _all_text(values)) else values
    codes, _ = pd.factorize(text, sort=True)
    return codes


def canonical_order(name: str, household_codes: np.ndarray,
                    columns: dict[str, np.ndarray]) -> np.ndarray:
    """The rows sorted by household, then by the table's key columns, then by every other
    column: the same households however the file's rows are ordered."""
    return _order(name, household_codes, {c: _sort_key(v) for c, v in columns.items()})


def _order(name: str, household_codes: np.ndarray, sort_keys: dict[str, np.ndarray]
           ) -> np.ndarray:
    """`canonical_order` from each column's sort key (`_sort_key`, `_Column.encode`)."""
    keys = [c for c in SORT_KEYS.get(name, ()) if c in sort_keys]
    rest = [c for c in sort_keys if c not in keys]
    if not keys + rest or len(household_codes) < 2:
        return np.argsort(household_codes, kind="stable")
    if keys and rest:
        # the key columns usually tell every row apart: then the others cannot matter
        order = np.lexsort([sort_keys[c] for c in reversed(keys)] + [household_codes])
        tied = np.ones(len(order) - 1, dtype=bool)
        for k in [household_codes, *(sort_keys[c] for c in keys)]:
            tied &= _same_as_next(k[order])
        if not tied.any():
            return order
    # np.lexsort sorts by the last key first
    return np.lexsort([sort_keys[c] for c in reversed(keys + rest)] + [household_codes])


def _same_as_next(values: np.ndarray) -> np.ndarray:
    """Whether each sorted value equals the next one (two empty number cells are equal)."""
    same = values[1:] == values[:-1]
    if values.dtype.kind == "f":
        same |= np.isnan(values[1:]) & np.isnan(values[:-1])
    return same


def _split(name: str, path: Path, columns: dict[str, np.ndarray],
           factors: _Factorized | None = None) -> tuple[_Split, list[_BadRow]]:
    """Sort a table's rows by household (stable), leaving out rows whose id is unusable.

    ``factors``: the table's columns already factorized by the checks, reused."""
    factors = factors if factors is not None else _Factorized(columns)
    hid = columns.pop("household_id")
    hid_factors = factors.of("household_id", hid)
    bad = [_BadRow(name, path.name, i, hid[i], "household_id", problem)
           for i, problem in household_id_problems(hid, hid_factors)]
    source = None
    keep = None
    if bad:
        keep = np.ones(len(hid), dtype=bool)
        keep[[b.row for b in bad]] = False
        source = np.flatnonzero(keep)
        columns = {c: v[keep] for c, v in columns.items()}
    codes, uniques = _sorted_codes(*hid_factors, keep)
    factors.drop("household_id")
    del hid, hid_factors
    names = tuple(columns)
    # each column compacted (and its sort key made) before the rows are ordered, one
    # column at a time: the driver never holds a table's text cells and its sort keys
    encoded: dict[str, _Column] = {}
    keys: dict[str, np.ndarray] = {}
    for c in names:
        values = columns.pop(c)
        known = factors.get(c)
        if known is not None and keep is not None:
            known = (known[0][keep], known[1])
        encoded[c], keys[c] = _Column.encode(values, known)
        factors.drop(c)
    order = _order(name, codes, keys)
    del keys
    counts = np.bincount(codes, minlength=len(uniques))
    ends = np.cumsum(counts)
    starts = ends - counts
    data = []
    for c in names:
        col = encoded.pop(c).reorder(order)
        # each distinct date converted once here, not on every household's rows
        data.append(col.dates() if KINDS.get(c) == DATE else col)
    ranges = dict(zip(np.asarray(uniques, dtype=object).tolist(),
                      zip(starts.tolist(), ends.tolist(), strict=True), strict=True))
    source_rows = order if source is None else source[order]
    return _Split(name, names, data, ranges, source_rows), bad


def _sorted_codes(codes: np.ndarray, distinct: np.ndarray, keep: np.ndarray | None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Household codes numbered in the ids' sorted order (``factorize(sort=True)``'s), from
    codes made once: only the distinct ids are sorted. ``keep``: the rows left (the
    unusable ids' rows are all of their id's rows, so their ids go too)."""
    if keep is not None:
        codes = codes[keep]
    used = np.zeros(len(distinct) + 1, dtype=bool)
    used[codes] = True
    present = np.flatnonzero(used[:-1])
    ids = distinct[present]
    order = np.argsort(ids, kind="stable")
    renumber = np.full(len(distinct) + 1, -1, dtype=np.int64)
    renumber[present[order]] = np.arange(len(order))
    return renumber[codes], ids[order]


class _Factorized:
    """A table's text columns, each factorized at most once however many checks use it
    (a million lots' ids were hashed five times over)."""

    def __init__(self, columns: dict[str, np.ndarray]):
        self._done: dict[str, Factors] = {}
        self._columns = columns

    def of(self, column: str, values: np.ndarray | None = None) -> Factors:
        """The column's codes and distinct values (made now if no check made them)."""
        if column not in self._done:
            import pandas as pd

            values = self._columns[column] if values is None else values
            codes, uniques = pd.factorize(values, use_na_sentinel=True, size_hint=_HINT)
            if len(uniques) < 2**31 - 1:        # kept until encoded: half the memory
                codes = codes.astype(np.int32)
            self._done[column] = (codes, np.asarray(uniques, dtype=object))
        return self._done[column]

    def get(self, column: str) -> Factors | None:
        return self._done.get(column)

    def put(self, column: str, factors: Factors | None) -> None:
        if factors is not None:
            self._done[column] = factors

    def drop(self, column: str) -> None:
        self._done.pop(column, None)


def read_tables(input_dir: str | Path) -> Tables:
    """Read the folder's tables once; raise `InvalidInput` when a table cannot be used."""
    files = find_table_files(Path(input_dir))
    splits: dict[str, _Split] = {}
    shared: list[dict[str, Any]] = []
    overrides: _Split | None = None
    bad_rows: list[_BadRow] = []
    warnings: list[str] = []
    bad_securities: dict[str, _BadSymbol] = {}
    checked: list[_BadRow] = []
    accounts: tuple[np.ndarray, np.ndarray] | None = None   # (household_id, account_id)
    symbols: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None      # `_symbols`
    goals: tuple[np.ndarray, np.ndarray] | None = None      # (household_id, goal_id)
    for name, path in files.items():
        frame, nans = _read_frame(name, path)
        known, warned = _check_columns(name, path, list(frame))
        warnings += warned
        file_rows = _file_rows(frame)
        marks = (len(bad_rows), len(checked))
        # one column at a time: its raw cells are dropped once converted and checked, so
        # the driver never holds a table twice (its peak memory stays flat with the rows)
        raw = frame if isinstance(frame, dict) else {c: frame[c] for c in frame.columns}
        del frame
        cols: dict[str, np.ndarray] = {}
        found_in: dict[str, list[tuple[int, str]]] = {}
        for c in known:
            kind = read_kind(c)
            series = raw.pop(c)
            cols[c] = convert_column(series, kind)
            found_in[c] = (date_problems(series) if kind == DATE else
                           nan_problems(series, nans.get(c)) if kind == FLOAT else [])
            del series
        raw.clear()
        factors = _Factorized(cols)
        if "household_id" in cols:
            cols["household_id"], hid_factors = _id_text_factors(cols["household_id"])
            factors.put("household_id", hid_factors)
        value_bad: list[_BadRow] = []
        for c in known:
            hids = cols.get("household_id")
            value_bad += [_BadRow(name, path.name, i, None if hids is None else hids[i], c, p)
                          for i, p in found_in[c]]
        if name != "securities":
            from .checks import column_problems

            hids = cols["household_id"]
            checked += [_BadRow(name, path.name, i, hids[i], c, p) for c in known
                        if c != "household_id"
                        for i, p in column_problems(name, c, KINDS.get(c, FLOAT), cols[c])]
            value_bad += [_BadRow(name, path.name, i, hids[i], c, p)
                          for c, found in _row_problems(name, cols, accounts,
                                                        symbols, goals, factors).items()
                          for i, p in found]
            if name == "accounts":
                accounts = (hids, cols["account_id"])
            elif name == "goals":
                goals = (hids, cols["goal_id"])
        if name == "options":
            hids = cols["household_id"]
            value_bad += [_BadRow(name, path.name, i, hids[i], f, p)
                          for i, f, p in option_problems(cols["key"], cols["value"])]
        if name == "securities":
            symbols = _symbols(cols)
            shared, overrides, bad_securities, more = _securities(path, cols, value_bad)
            bad_rows += more
        else:
            splits[name], id_bad = _split(name, path, cols, factors)
            bad_rows += value_bad + id_bad
        if file_rows is not None:       # rows were counted without the blank lines
            _renumber(file_rows, bad_rows, marks[0], checked, marks[1],
                      splits.get(name) if name != "securities" else overrides,
                      bad_securities if name == "securities" else {})
    warnings += [f"{b.row.record}: symbol {shown(sym)} rejected (field '{b.row.field}': "
                 f"{b.row.problem}); the households that hold, traded or offer it in a menu "
                 "without rows of their own for it are rejected, the others are solved"
                 for sym, b in bad_securities.items()]
    tables = Tables(files, splits, shared, overrides, warnings=warnings,
                    bad_securities=bad_securities)._resolve(bad_rows, checked)
    release_memory()      # the conversions' scratch, before the batch's own peak stacks on it
    return tables


def _renumber(file_rows: np.ndarray, bad_rows: list[_BadRow], first_bad: int,
              checked: list[_BadRow], first_checked: int, split: _Split | None,
              bad_symbols: dict[str, _BadSymbol]) -> None:
    """One table's rows named by their place in the file, not in the table as read: its
    bad rows (from ``first_bad``, ``first_checked`` on), its split's rows, its shared
    symbols' bad rows."""
    import dataclasses

    def moved(b: _BadRow) -> _BadRow:
        return dataclasses.replace(b, row=int(file_rows[b.row]))

    bad_rows[first_bad:] = [moved(b) for b in bad_rows[first_bad:]]
    checked[first_checked:] = [moved(b) for b in checked[first_checked:]]
    if split is not None and split.source_rows is not None:
        split.source_rows = file_rows[split.source_rows]
    for sym, bad in bad_symbols.items():
        bad_symbols[sym] = dataclasses.replace(bad, row=moved(bad.row))


#: tables whose ``account_id`` names a row of the household's table ``accounts``
_ACCOUNT_REFERENCES = ("bands", "lots", "recent_trades")
#: tables whose ``symbol`` names a security (shared, or the household's own)
_SYMBOL_REFERENCES = ("lots", "recent_trades")


def _row_problems(name: str, cols: dict[str, np.ndarray],
                  accounts: tuple[np.ndarray, np.ndarray] | None,
                  symbols: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                  goals: tuple[np.ndarray, np.ndarray] | None = None,
                  factors: _Factorized | None = None) -> dict[str, list[tuple[int, str]]]:
    """Problems the schema would find in one row at a time, found for every row of the
    table at once (each a reject naming its file row; the first is its household's
    status): a padded id, a goal or account the household does not have, a symbol
    that is neither shared nor its own.

    Found when the household is assembled they would name only the first bad row, by
    its place in the household (``lots[3]``), not by the file's row.
    """
    from .checks import id_problems, is_id_column, unknown_references

    factors = factors if factors is not None else _Factorized(cols)
    out: dict[str, list[tuple[int, str]]] = {}
    for c, values in cols.items():
        if c != "household_id" and is_id_column(name, c):
            # factorized here for the check, kept for `_split` (which encodes every column)
            out[c] = id_problems(values, factors.of(c))

    def unknown(column: str, known: tuple[np.ndarray, ...], what: str,
                shared: np.ndarray | None = None) -> list[tuple[int, str]]:
        return unknown_references(cols["household_id"], cols[column], *known, what, shared,
                                  hid_factors=factors.of("household_id"),
                                  value_factors=factors.of(column))

    if name == "accounts" and goals is not None and "goal_id" in cols:
        out["goal_id"] = out.get("goal_id", []) + unknown("goal_id", goals, "goal")
    if name in _ACCOUNT_REFERENCES and accounts is not None and "account_id" in cols:
        out["account_id"] = out.get("account_id", []) + unknown("account_id", accounts,
                                                                "account")
    if name in _SYMBOL_REFERENCES and symbols is not None and "symbol" in cols:
        own_hids, own_symbols, shared = symbols
        out["symbol"] = out.get("symbol", []) + unknown("symbol", (own_hids, own_symbols),
                                                        "symbol", shared)
    return {c: found for c, found in out.items() if found}


def _symbols(cols: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Table ``securities``' symbols: each household's own (household_id, symbol), and the
    shared ones (a rejected shared symbol included: its holders are told why)."""
    symbol = cols["symbol"]
    hids = cols.get("household_id")
    own = (~np.equal(hids, None) if hids is not None
           else np.zeros(len(symbol), dtype=bool))
    shared = symbol[~own]
    return (hids[own] if hids is not None else symbol[:0], symbol[own],
            shared[~np.equal(shared, None)])


# --------------------------------------------------------------------------- securities


def _securities(path: Path, cols: dict[str, np.ndarray], value_problems: list[_BadRow]
                ) -> tuple[list[dict[str, Any]], _Split | None, dict[str, _BadSymbol],
                           list[_BadRow]]:
    """The shared security list, the per-household override rows, the shared symbols that
    failed validation (with why), and the override rows whose household id is unusable."""
    n = len(cols["symbol"])
    if "household_id" in cols:
        own = ~np.equal(cols["household_id"], None)
    else:
        own = np.zeros(n, dtype=bool)
    file = path.name
    shared_rows = np.flatnonzero(~own)
    shared_cols = {c: v[~own] for c, v in cols.items() if c != "household_id"}
    order = canonical_order("securities", np.zeros(len(shared_rows), dtype=np.int64),
                            shared_cols)
    shared_rows = shared_rows[order]
    shared_cols = {c: v[order] for c, v in shared_cols.items()}
    names = tuple(shared_cols)
    rows = [{k: v for k, v in zip(names, vals, strict=True) if v is not None}
            for vals in zip(*(_pylist(shared_cols[c]) for c in names), strict=True)]
    # a shared row with a bad value (NaN, ...) spoils its symbol, not the batch
    spoiled: dict[int, _BadRow] = {}
    for b in value_problems:
        spoiled.setdefault(int(b.row), b)
    by_symbol: dict[str, list[dict[str, Any]]] = {}
    bad: dict[str, _BadRow] = {}
    orphans: list[_BadRow] = []
    for i, row in enumerate(rows):
        sym = row.get("symbol")
        src = int(shared_rows[i])
        if sym is None:
            orphans.append(_BadRow("securities", file, src, "", "symbol", "empty"))
            continue
        by_symbol.setdefault(sym, []).append(row)
        if src in spoiled and sym not in bad:
            b = spoiled[src]
            bad[sym] = _BadRow("securities", file, src, "", b.field, b.problem)
    shared = []
    for sym, srows in by_symbol.items():
        if sym in bad:
            continue
        src = int(shared_rows[next(i for i, r in enumerate(rows) if r.get("symbol") == sym)])
        try:
            entry = security_entry(srows)
            _validate_security(f"table securities ({file})", entry)
        except _RowProblem as err:
            bad[sym] = _BadRow("securities", file, src, "", err.field or "", err.problem)
            continue
        except InvalidInput as err:
            bad[sym] = _BadRow("securities", file, src, "", err.field or "", err.problem)
            continue
        shared.append(entry)
    spoiled_fields: dict[str, set[str]] = {}
    for i, row in enumerate(rows):
        src = int(shared_rows[i])
        if src in spoiled and row.get("symbol") is not None:
            spoiled_fields.setdefault(row["symbol"], set()).add(spoiled[src].field)
    bad_symbols = {sym: _BadSymbol(b, *_salvage(by_symbol[sym], spoiled_fields.get(sym, set())))
                   for sym, b in bad.items()}
    overrides = None
    if own.any():
        over = {c: v[own] for c, v in cols.items()}
        overrides, id_bad = _split("securities", path, over)
        src = np.flatnonzero(own)
        orphans += [_BadRow(b.table, b.file, int(src[b.row]), b.hid, b.field, b.problem)
                    for b in id_bad]
        if overrides.source_rows is not None:
            overrides.source_rows = src[overrides.source_rows]
    # a shared symbol's own rows are blamed on the symbol, not on a household
    orphans += list(bad.values())
    orphans += [b for b in value_problems if own[b.row]]     # a household's override row
    return shared, overrides, bad_symbols, orphans


#: a security's columns that together give its classes (one row per class)
_CLASS_FIELDS = frozenset({"asset_class", "weight", "exposures"})


@dataclass(frozen=True)
class _BadSymbol:
    """A shared symbol whose rows are rejected: the first bad row, the attributes at fault,
    and the attributes that are sound (a household's own rows may lean on them)."""

    row: _BadRow
    fields: frozenset[str]
    rest: dict[str, Any]


def _salvage(rows: list[dict[str, Any]], spoiled: set[str]
             ) -> tuple[frozenset[str], dict[str, Any]]:
    """The attributes of a rejected shared symbol that are at fault, and the sound rest.

    A household's own rows replace the shared rows attribute by attribute: a
    household that gives every attribute at fault itself does not use the bad
    shared cells, and is solved; one that leaves one of them to the shared rows
    is rejected with them.
    """
    from pydantic import ValidationError

    fields = set(spoiled)
    fields.update(_disagreeing(rows))
    clean = [{k: v for k, v in r.items() if k not in fields} for r in rows]
    try:
        entry = security_entry(clean)
    except _RowProblem:
        fields |= _CLASS_FIELDS
        entry = {k: clean[0][k] for k in ("symbol", *_SYMBOL_ATTRS) if k in clean[0]}
    try:
        Security.model_validate(entry)
    except ValidationError as err:
        fields.update(str(e["loc"][0]) for e in err.errors(include_url=False) if e["loc"])
    if fields & _CLASS_FIELDS:
        fields |= _CLASS_FIELDS
    return frozenset(fields), {k: v for k, v in entry.items() if k not in fields}


def _use_of(raw: dict[str, Any], sym: str) -> str | None:
    """How a household would use a shared symbol, or None: it holds it, traded it, or an
    account's ``allowed`` menu offers it. A household that merely could buy it (no menu)
    or names it in ``restricted`` is solved without it, as one bad row in a shared table
    must not stop the night; a menu that promised it would change without a word. One
    rule for rejecting households on a bad shared symbol and for the warning that says
    which are."""
    if any(r.get("symbol") == sym for r in raw.get("lots", ())):
        return "holds it"
    if any(r.get("symbol") == sym for r in raw.get("recent_trades", ())):
        return "traded it in the last 30 days"
    for acc in raw.get("accounts", ()):
        if isinstance(acc.get("allowed"), list) and sym in acc["allowed"]:
            return f"names it in 'allowed' of account {acc.get('account_id')}"
    return None


class _RowProblem(Exception):
    def __init__(self, field: str | None, problem: str):
        super().__init__(problem)
        self.field, self.problem = field, problem


def security_entry(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A contract ``securities`` entry from the rows of one symbol (one row per class)."""
    first = rows[0]
    disagree = _disagreeing(rows)
    if disagree:
        raise _RowProblem(disagree[0], f"the rows of this symbol disagree on '{disagree[0]}'")
    entry = {k: first[k] for k in ("symbol", *_SYMBOL_ATTRS) if k in first}
    weights = [r.get("weight") for r in rows]
    if len(rows) == 1 and (weights[0] is None or weights[0] == 1.0):
        if "asset_class" in first:
            entry["asset_class"] = first["asset_class"]
        return entry
    exposures: dict[str, Any] = {}
    for r in rows:
        cls = r.get("asset_class")
        if cls is None:
            raise _RowProblem("asset_class", "empty")
        if r.get("weight") is None:
            raise _RowProblem("weight", "a fund with one row per class needs a weight on "
                              "every row")
        if cls in exposures:
            raise _RowProblem("asset_class", f"two rows for class '{cls}'")
        exposures[cls] = r["weight"]
    entry["exposures"] = exposures
    return entry


def _disagreeing(rows: list[dict[str, Any]]) -> list[str]:
    """The attributes of the symbol as a whole (`_SYMBOL_ATTRS`) on which its class rows
    differ (an empty cell differs from a value): the one rule `security_entry` refuses
    by and `_salvage` sets aside by."""
    return [a for a in _SYMBOL_ATTRS if len({_key(r.get(a)) for r in rows}) > 1]


def _key(value: Any) -> Any:
    return ("f", value) if isinstance(value, float) else ("v", repr(value))


def _validate_security(where: str, entry: dict[str, Any]) -> None:
    from pydantic import ValidationError

    try:
        Security.model_validate(entry)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        field_name = ".".join(str(p) for p in first["loc"]) or None
        msg = first["msg"].removeprefix("Value error, ")
        raise InvalidInput(None, f"{where}: symbol {entry.get('symbol')}", field_name,
                           msg) from None


# --------------------------------------------------------------------------- assembling


@dataclass
class Tables:
    """The tables of one batch, split by household; `items` assembles households lazily."""

    files: dict[str, Path]
    splits: dict[str, _Split]
    shared_securities: list[dict[str, Any]]
    overrides: _Split | None = None
    _ids: list[str] | None = None
    #: what the ops team should know but need not stop for (an ignored column, ...)
    warnings: list[str] = field(default_factory=list)
    #: shared symbols that failed validation: the households using one are rejected
    bad_securities: dict[str, _BadSymbol] = field(default_factory=dict)
    #: each household's first rejected row (record, field, problem)
    bad_rows: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    #: rows that belong to no household: (household_id, table, record, field, problem)
    rejects: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    #: ids that only mistype a real household's id (their rows are that household's problem)
    merged: set[str] = field(default_factory=set)
    #: batch-wide options (config file, ``--set``); a household's ``options`` rows win
    defaults: dict[str, Any] = field(default_factory=dict)
    #: every bad row of a household, in every table: (household_id, table, record, field,
    #: problem); the household's status names its first problem, these name them all
    listed: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    #: households whose id itself is unusable (a control character, spaces around it,
    #: and no household spelled without them): named by `printable_id`, never solved
    unusable: set[str] = field(default_factory=set)

    @property
    def household_ids(self) -> list[str]:
        """Every household named in any table, sorted (code-point order)."""
        if self._ids is None:
            self._ids = sorted((self._named() - self.merged) | self.unusable)
        return self._ids

    def _named(self) -> set[str]:
        ids: set[str] = set()
        for s in self.splits.values():
            ids.update(s.ranges)
        if self.overrides is not None:
            ids.update(self.overrides.ranges)
        return ids

    def _resolve(self, bad_rows: list[_BadRow], checked: list[_BadRow] = ()) -> Tables:
        """Blame each rejected row on the household it was meant for, or list it as a reject.

        A household is never solved without one of its rows: a row whose id is
        unusable but close to a real household's (spaces around it, ``1000.0``
        for ``1000``) makes that household ``invalid_input`` naming the row, as
        does an id written in another format in another table.
        """
        named = self._named()
        real = set(self.splits["households"].ranges)
        blame: dict[str, tuple[int, int, str, str, str]] = {}
        order = {n: i for i, n in enumerate(SPECS)}

        every: dict[tuple[str, int, int, str], tuple[str, str, str, str, str]] = {}

        def charge(hid: str, b: _BadRow, problem: str) -> None:
            key = (order[b.table], b.row, b.record, b.field, problem)
            every.setdefault((hid, order[b.table], b.row, b.field),
                             (hid, b.table, b.record, b.field, problem))
            if hid not in blame or key < blame[hid]:
                blame[hid] = key

        for b in bad_rows:
            if b.field == "household_id":
                near = near_id(b.hid)
                if near in named:
                    charge(near, b, f"{b.problem} (meant for household {shown(near)}?)")
                elif isinstance(b.hid, str) and near is not None and (
                        printable_id(b.hid) not in named):
                    # an id nobody else spells: a household of its own, never solved, so
                    # that it has its results row (under a printable spelling of its id)
                    self.unusable.add(printable_id(b.hid))
                    charge(printable_id(b.hid), b, b.problem)
                else:
                    self.rejects.append(("", b.table, b.record, b.field, b.problem + (
                        "; no household has this id" if b.hid else "")))
            elif b.table == "securities" and b.hid == "":       # a shared security's row
                self.rejects.append(("", b.table, b.record, b.field, b.problem))
            elif isinstance(b.hid, str) and b.hid in named:
                charge(b.hid, b, b.problem)
            # else: the row's id is rejected itself, and reported as such
        for hid in sorted(named - real):
            near = near_id(hid)
            if near == hid or near not in real:
                continue
            self.merged.add(hid)
            for name, split in self.splits.items():
                if hid in split.ranges:
                    b = _BadRow(name, self.files[name].name, split.first_row(hid), hid,
                                "household_id", "")
                    break
            else:
                b = _BadRow("securities", self.files["securities"].name,
                            self.overrides.first_row(hid), hid, "household_id", "")
            charge(near, b, f"{shown(hid)} is not {shown(near)}: write the household id "
                            "exactly as in table households")
        # a household already named by a file row is named by its first bad row, cell
        # checks included (the others keep the contract's own message for their first)
        for b in checked:
            if isinstance(b.hid, str) and b.hid in blame:
                charge(b.hid, b, b.problem)
        for hid in self.merged:
            blame.pop(hid, None)
        self.bad_rows = {h: v[2:] for h, v in sorted(blame.items())}
        for b in checked:
            if isinstance(b.hid, str) and b.hid in named and b.hid not in self.merged:
                every.setdefault((b.hid, order[b.table], b.row, b.field),
                                 (b.hid, b.table, b.record, b.field, b.problem))
        self.listed = [every[k] for k in sorted(every) if k[0] not in self.merged]
        self.rejects.sort(key=lambda r: (order[r[1]], int(r[2].rsplit(" ", 1)[-1])))
        return self

    def __len__(self) -> int:
        return len(self.household_ids)

    def release_rows(self) -> None:
        """Let go of the households' rows once every chunk is shipped: the driver merges
        the results and writes the report without them (ids, rejects, warnings stay)."""
        _ = self.household_ids          # kept: made from the rows
        self.splits = {}
        self.overrides = None

    def fingerprints(self) -> dict[str, dict[str, Any]]:
        """Each input file's name, size and sha256."""
        out = {}
        for name, path in sorted(self.files.items()):
            h = hashlib.sha256()
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
            out[name] = {"file": path.name, "bytes": path.stat().st_size,
                         "sha256": h.hexdigest()}
        return out

    def chunk(self, ids: list[str]) -> Tables:
        """The households ``ids`` (consecutive in `household_ids`) as tables of their own.

        What the driver ships to a worker: each table's slice of sorted arrays
        (their rows are consecutive), the shared securities and the chunk's
        rejected rows; iterating it (in the worker) assembles the households,
        exactly as `items` would here. Pickles in a few milliseconds per chunk.
        """
        ids = list(ids)
        return Tables(self.files, {n: s.take(ids) for n, s in self.splits.items()},
                      self.shared_securities,
                      self.overrides.take(ids) if self.overrides is not None else None,
                      _ids=ids, bad_securities=self.bad_securities,
                      bad_rows={h: self.bad_rows[h] for h in ids if h in self.bad_rows},
                      defaults=self.defaults, unusable=self.unusable & set(ids))

    def __iter__(self) -> Iterator[tuple[str, dict | None, str | None]]:
        return self.items()

    def items(self, ids: list[str] | None = None) -> Iterator[tuple[str, dict | None, str | None]]:
        """``(household_id, raw dict, None)`` or ``(household_id, None, its error)``."""
        for hid in self.household_ids if ids is None else ids:
            try:
                yield hid, self.assemble(hid), None
            except InvalidInput as err:     # pickles; keeps its record and field
                yield hid, None, err
            except Exception as err:   # rows no rule foresaw: this household fails, alone
                yield hid, None, (f"household {hid}: its rows cannot be assembled: "
                                  f"{type(err).__name__}: {err}")

    def assemble(self, hid: str) -> dict[str, Any]:
        """The household in the contract's JSON shape; `InvalidInput` if its rows disagree.

        Every problem of the household's rows is found, not only the first: the
        error raised is the first (the household's status names it, as before) and
        carries the others in ``more`` (each a row of ``rejects.parquet``).
        """
        found: list[InvalidInput] = []
        try:
            raw = self._assemble(hid, found)
        except Exception:
            if not found:      # rows no rule foresaw: `items` reports it
                raise
            raw = None         # a later check tripped over rows already found bad
        if found:
            first = found[0]
            first.more = found[1:]
            raise first
        return raw

    def _assemble(self, hid: str, found: list[InvalidInput]) -> dict[str, Any]:
        if hid in self.unusable:      # its rows are under an id no table can name
            found.append(InvalidInput(hid, *self.bad_rows[hid]))
            return {}
        hrows = self.splits["households"].rows(hid)
        if not hrows:      # the cause of any bad row it has (an unknown symbol ...): first
            where = sorted(n for n, s in self.splits.items() if hid in s.ranges)
            if self.overrides is not None and hid in self.overrides.ranges:
                where.append("securities")
            found.append(InvalidInput(hid, "households", None,
                                      "no row in table households (the household has rows "
                                      "in " + ", ".join(where) + ")"))
        if hid in self.bad_rows:
            found.append(InvalidInput(hid, *self.bad_rows[hid]))
        if not hrows:
            return {}
        if len(hrows) > 1:
            found.append(InvalidInput(hid, "households", "household_id",
                                      f"{len(hrows)} rows in table households; expected one"))
        h = hrows[0]
        try:
            tp = _profile(hid, h)
        except InvalidInput as err:
            found.append(err)
            tp = {}
        raw: dict[str, Any] = {"format": FORMAT, "household_id": hid}
        if "as_of" in h:
            raw["as_of"] = _date(h["as_of"])
        raw["tax_profile"] = tp
        raw["securities"] = self._securities_of(hid, found)
        raw["goals"] = self._goals_of(hid, found)
        raw["accounts"] = self._accounts_of(hid, found)
        raw["lots"] = self._dated("lots", hid, "acquired")
        raw["recent_trades"] = self._dated("recent_trades", hid, "date")
        options = {**self.defaults, **self._options_of(hid, found)}
        if options:
            raw["options"] = options
        if self.bad_securities:
            self._check_bad_symbols(hid, raw, found)
        return raw

    def _check_bad_symbols(self, hid: str, raw: dict[str, Any], found: list[InvalidInput]) -> None:
        """A household that uses a rejected shared symbol (`_use_of`) without rows of its
        own for it is rejected, naming the shared row; the others are solved without it.

        Solved without it, the symbol is not among the household's securities, so
        it leaves the accounts' ``restricted`` lists too: the schema refuses a
        restriction of an unknown symbol, and restricting what cannot be bought
        changes nothing."""
        own = ({r.get("symbol") for r in self.overrides.rows(hid)}
               if self.overrides is not None else set())
        dropped: set[str] = set()
        for sym in sorted(self.bad_securities):
            if sym in own:
                continue
            how = _use_of(raw, sym)
            if how is None:
                dropped.add(sym)
                continue
            b = self.bad_securities[sym].row
            found.append(InvalidInput(hid, b.record, b.field or None,
                                      f"{b.problem} (shared symbol {sym}: this "
                                      f"household {how})"))
        for acc in raw.get("accounts", ()) if dropped else ():
            if isinstance(acc.get("restricted"), list):
                acc["restricted"] = [s for s in acc["restricted"] if s not in dropped]

    def _dated(self, name: str, hid: str, key: str) -> list[dict[str, Any]]:
        """The household's rows of a table with a date column (a chunk's are converted)."""
        split = self.splits.get(name)
        if split is None:
            return []
        rows = split.rows(hid)
        return rows if split.chunk else [_dates(r, key) for r in rows]

    def _rows(self, name: str, hid: str) -> list[dict[str, Any]]:
        split = self.splits.get(name)
        return split.rows(hid) if split is not None else []

    def _securities_of(self, hid: str, found: list[InvalidInput]) -> list[dict[str, Any]]:
        """The shared securities, with this household's own rows in place of a symbol's.

        A household's rows replace the shared rows of their symbol for this
        household only: a cell they leave empty keeps the shared value (the
        schema's default when the symbol has no shared row); classes given on
        them replace the shared classes.
        """
        if self.overrides is None or hid not in self.overrides.ranges:
            return self.shared_securities
        by_symbol: dict[str, list[dict[str, Any]]] = {}
        for r in self.overrides.rows(hid):
            if "symbol" not in r:
                found.append(InvalidInput(hid, "securities", "symbol", "empty"))
                continue
            by_symbol.setdefault(r["symbol"], []).append(r)
        index = {s["symbol"]: i for i, s in enumerate(self.shared_securities)}
        out = list(self.shared_securities)
        for sym, rows in by_symbol.items():
            where = f"securities (symbol {sym})"
            if sym in self.bad_securities:
                bad = self.bad_securities[sym]
                gives = {a for a in _SYMBOL_ATTRS if any(a in r for r in rows)}
                if any("asset_class" in r for r in rows):
                    gives |= _CLASS_FIELDS
                left = sorted(bad.fields - gives)
                if left:     # it leans on the shared cells at fault
                    found.append(InvalidInput(
                        hid, bad.row.record, left[0],
                        f"{bad.row.problem} (shared symbol {sym}; this household's own rows "
                        f"leave '{left[0]}' to the shared rows)"))
                    continue
                base = bad.rest
            else:
                base = self.shared_securities[index[sym]] if sym in index else {}
            entry: dict[str, Any] = {"symbol": sym}
            disagree = False     # the symbol's rows disagree: named once, the symbol skipped
            for attr in _SYMBOL_ATTRS:
                given = [r[attr] for r in rows if attr in r]
                if len({_key(v) for v in given}) > 1:
                    found.append(InvalidInput(hid, where, attr,
                                              f"the household's rows disagree on '{attr}'"))
                    disagree = True
                    break
                if given:
                    entry[attr] = given[0]
                elif attr in base:
                    entry[attr] = base[attr]
            if disagree:
                continue
            if any("asset_class" in r for r in rows):
                try:
                    classes = security_entry([{k: r[k] for k in ("symbol", "asset_class",
                                                                  "weight") if k in r}
                                              for r in rows])
                except _RowProblem as err:
                    found.append(InvalidInput(hid, where, err.field, err.problem))
                    continue
            else:
                classes = base
            for k in ("asset_class", "exposures"):
                if k in classes:
                    entry[k] = classes[k]
            if sym not in index:
                out.append(entry)
            else:
                out[index[sym]] = entry
            try:
                Security.model_validate(entry)
            except Exception as err:
                from pydantic import ValidationError

                if not isinstance(err, ValidationError):
                    raise
                first = err.errors(include_url=False)[0]
                found.append(InvalidInput(hid, where,
                                          ".".join(str(p) for p in first["loc"]) or None,
                                          first["msg"].removeprefix("Value error, ")))
        return sorted(out, key=lambda s: s["symbol"]) if len(out) > len(index) else out

    def _options_of(self, hid: str, found: list[InvalidInput]) -> dict[str, Any]:
        """The household's ``options`` rows as a scenario's options (values already parsed)."""
        out: dict[str, Any] = {}
        for r in self._rows("options", hid):
            key = r.get("key")
            if key in out:
                found.append(InvalidInput(hid, f"options (key {key})", "key",
                                          f"two rows for option '{key}'"))
                continue
            out[key] = parse_value(r.get("value"))
        return out

    def _goals_of(self, hid: str, found: list[InvalidInput]) -> list[dict[str, Any]]:
        goals: dict[str, dict[str, Any]] = {}
        seen: dict[tuple[str, str], set[Any]] = {}
        for r in self._rows("goals", hid):
            gid = r.get("goal_id")
            if gid is None:
                found.append(InvalidInput(hid, "goals", "goal_id", "empty"))
                continue
            where = f"goals (goal_id {gid})"
            g = goals.setdefault(gid, {"goal_id": gid, "targets": {}})
            cls = r.get("asset_class")
            if cls is None:
                found.append(InvalidInput(hid, where, "asset_class", "empty"))
                continue
            if cls in g["targets"]:
                found.append(InvalidInput(hid, where, "asset_class",
                                          f"two rows for class '{cls}'"))
                continue
            if "target" not in r:
                found.append(InvalidInput(hid, where, "target", f"empty for class '{cls}'"))
                continue
            g["targets"][cls] = r["target"]
            for col in SPECS["goals"].optional:      # the goal's own fields
                seen.setdefault((gid, col), set()).add(_key(r.get(col)))
                if r.get(col) is not None:
                    g[col] = r[col]
        for (gid, col), values in seen.items():
            if len(values) > 1:
                found.append(InvalidInput(hid, f"goals (goal_id {gid})", col,
                                          "the goal's rows disagree (give it on every row, "
                                          "or none)"))
        return list(goals.values())

    def _accounts_of(self, hid: str, found: list[InvalidInput]) -> list[dict[str, Any]]:
        accounts = []
        by_id: dict[str, dict[str, Any]] = {}
        for r in self._rows("accounts", hid):
            acc = dict(r)
            for name in _LIST_COLUMNS:
                if name in acc and isinstance(acc[name], str):
                    acc[name] = [s.strip() for s in acc[name].split(";") if s.strip()]
            accounts.append(acc)
            by_id.setdefault(acc.get("account_id"), acc)
        for r in self._rows("bands", hid):
            aid = r.get("account_id")
            where = f"bands (account_id {aid})"
            if aid not in by_id:
                if hid not in self.bad_rows:      # else the reader listed it by its row
                    found.append(InvalidInput(hid, where, "account_id",
                                              f"unknown account '{aid}'"))
                continue
            cls = r.get("asset_class")
            if cls is None:
                found.append(InvalidInput(hid, where, "asset_class", "empty"))
                continue
            bands = by_id[aid].setdefault("bands", {})
            if cls in bands:
                found.append(InvalidInput(hid, where, "asset_class",
                                          f"two rows for class '{cls}'"))
                continue
            bands[cls] = [r.get("lo"), r.get("hi")]
        return accounts


_LIST_COLUMNS = tuple(c for c in SPECS["accounts"].optional if KINDS[c] == LIST)
_PROFILE_COLUMNS = tuple(c for c in SPECS["households"].optional
                         if not c.startswith(tuple(f"{p}_" for p in PAIRS)))


def _profile(hid: str, h: dict[str, Any]) -> dict[str, Any]:
    """The ``tax_profile`` of a households row: pairs nested, JSON cells decoded."""
    import json

    tp = {k: h[k] for k in ("short_term_rate", "long_term_rate", *_PROFILE_COLUMNS) if k in h}
    for group in PAIRS:
        pair = {t: h[f"{group}_{t}"] for t in TERMS if f"{group}_{t}" in h}
        if pair:
            tp[group] = pair
    for col in _PROFILE_COLUMNS:
        if KINDS[col] == JSON and isinstance(tp.get(col), str):
            try:
                tp[col] = json.loads(tp[col])
            except ValueError:
                raise InvalidInput(hid, "households", col,
                                   f"expected JSON text such as [[0, 0.1], [11600, 0.12]], "
                                   f"got {shown(tp[col])}") from None
    return tp


def option_problems(keys: np.ndarray, values: np.ndarray) -> list[tuple[int, str, str]]:
    """Rows of table ``options`` whose key is unknown or whose value the option refuses:
    (row index, field, problem). Each distinct (key, value) pair is checked once, as a
    scenario's ``options`` would be."""
    import pandas as pd

    from ..errors import InvalidOptions
    from ..options import Options

    pairs = pd.Series([None if k is None else f"{k}\x00{'' if v is None else v}"
                       for k, v in zip(keys.tolist(), values.tolist(), strict=True)],
                      dtype=object)
    codes, uniques = pd.factorize(pairs)
    verdict: list[tuple[str, str] | None] = []
    for pair in uniques.tolist():
        key, _, text = pair.partition("\x00")
        try:
            Options.from_dict({key: parse_value(text) if text else None})
            verdict.append(None)
        except InvalidOptions as err:
            verdict.append(("key" if err.problem.startswith("unknown option") else "value",
                            f"{key}: {err.problem}" if not err.problem.startswith("unknown")
                            else f"{shown(key)} is an unknown option; known options are "
                                 + ", ".join(sorted(Options().as_dict()))))
        except (TypeError, ValueError) as err:
            verdict.append(("value", f"{key}: {err}"))
    out = [(i, "key", "empty; every row names an option") for i in
           np.flatnonzero(codes < 0).tolist()]
    bad_codes = np.array([v is not None for v in verdict], dtype=bool)
    if bad_codes.any():
        rows = np.flatnonzero((codes >= 0) & bad_codes[np.maximum(codes, 0)])
        out += [(i, *verdict[codes[i]]) for i in rows.tolist()]
    return sorted(out)


def parse_value(text: Any) -> Any:
    """An ``options`` cell as a scenario's option value: JSON when it parses, else the text."""
    import json

    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _date(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time() else value
    return value


def _dates(row: dict[str, Any], key: str) -> dict[str, Any]:
    if key in row:
        row[key] = _date(row[key])
    return row
