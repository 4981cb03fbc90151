"""A folder of tables (contract section 2) read once and split into household dicts.

Every table is read whole (CSV or Parquet), its columns converted once to
Python values (``None`` where a cell is empty), sorted by ``household_id``
and cut at the household boundaries (``factorize`` + stable ``argsort`` +
``bincount``), so nothing loops over the rows of a table to find a
household's rows. Each household is then assembled into the contract's JSON
shape on demand (`Tables.items`), lazily, so a batch streams.

Two kinds of problem, two outcomes:

- the tables themselves are malformed (a missing file or required column, an
  unknown column, a row without ``household_id``, a shared security that
  cannot be read): `InvalidInput` naming the table and the column, raised by
  `read_tables`; the batch does not start (exit code 2);
- one household's rows are inconsistent (two rows for one household, a band
  on an unknown account, targets that do not sum to 1, ...): that household
  becomes a failed item with its reason; the others still run. Rules that the
  JSON contract already has are left to `taxopt.domain.from_dict`, so a
  household read from tables fails with the same message as from JSON.

Extensions beyond the contract's column lists (all optional): ``weight`` in
``securities`` (multi-class funds, one row per class), ``restricted`` and
``allowed`` in ``accounts`` (symbols joined with ``";"``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..domain.schema import FORMAT, Security
from ..errors import InvalidInput

#: Column kinds: how a cell is converted before validation.
STR, FLOAT, BOOL, DATE = "str", "float", "bool", "date"


@dataclass(frozen=True)
class TableSpec:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    mandatory_table: bool = True


SPECS: dict[str, TableSpec] = {s.name: s for s in (
    TableSpec("households",
              ("household_id", "as_of", "short_term_rate", "long_term_rate"),
              ("realized_ytd_short_term", "realized_ytd_long_term",
               "loss_carryforward_short_term", "loss_carryforward_long_term",
               "ordinary_offset_limit", "niit_rate", "ordinary_rate", "state_rate")),
    TableSpec("securities",
              ("symbol", "price", "asset_class"),
              ("wash_group", "yield", "qualified", "tax_exempt", "expected_return",
               "fractional", "tradable", "weight", "household_id", "in_state")),
    TableSpec("goals",
              ("household_id", "goal_id", "asset_class", "target"),
              ("drift_tolerance",)),
    TableSpec("accounts",
              ("household_id", "account_id", "goal_id", "tax_type", "cash"),
              ("cash_flow", "min_cash", "restricted", "allowed")),
    TableSpec("bands",
              ("household_id", "account_id", "asset_class", "lo", "hi"), (),
              mandatory_table=False),
    TableSpec("lots",
              ("household_id", "lot_id", "account_id", "symbol", "shares"),
              ("cost_basis", "acquired"), mandatory_table=False),
    TableSpec("recent_trades",
              ("household_id", "account_id", "symbol", "side", "shares", "date"),
              ("realized_gain",), mandatory_table=False),
)}

KINDS: dict[str, str] = {
    **dict.fromkeys(("household_id", "symbol", "asset_class", "wash_group", "goal_id",
                     "account_id", "tax_type", "lot_id", "side", "restricted", "allowed"), STR),
    **dict.fromkeys(("as_of", "acquired", "date"), DATE),
    **dict.fromkeys(("tax_exempt", "fractional", "tradable", "in_state"), BOOL),
}

SUFFIXES = (".parquet", ".csv", ".csv.gz")

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
# a security's attributes that hold for the symbol as a whole (not per class row)
_SYMBOL_ATTRS = ("price", "wash_group", "yield", "qualified", "tax_exempt", "expected_return",
                 "fractional", "tradable", "in_state")
_SECURITY_DEFAULTS = {"yield": 0.0, "qualified": 1.0, "tax_exempt": False,
                      "expected_return": None, "fractional": False, "tradable": True,
                      "in_state": False}


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


def _read_frame(name: str, path: Path):
    import pandas as pd

    where = f"table {name} ({path.name})"
    try:
        if path.name.endswith(".parquet"):
            import pyarrow.parquet as pq

            return pq.read_table(path).to_pandas()
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        if not SPECS[name].mandatory_table:   # an optional table with no rows at all
            return pd.DataFrame({c: pd.Series([], dtype=object) for c in SPECS[name].required})
        raise InvalidInput(None, where, None, "the file is empty (not even a header)") from None
    except (OSError, ValueError, pd.errors.ParserError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InvalidInput(None, where, None, f"cannot be read: {first}") from None


def _check_columns(name: str, path: Path, columns: list[Any]) -> None:
    spec = SPECS[name]
    where = f"table {name} ({path.name})"
    known = set(spec.required) | set(spec.optional)
    for col in columns:
        if not isinstance(col, str) or col not in known:
            raise InvalidInput(None, where, str(col),
                               "unknown column; known columns are "
                               + ", ".join(spec.required + spec.optional))
    for col in spec.required:
        if col not in columns:
            raise InvalidInput(None, where, col, "required column is missing")


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
    elif kind == STR and not (pt.is_string_dtype(series.dtype)
                              or pt.is_object_dtype(series.dtype)):
        out = series.astype(str).to_numpy(dtype=object)
    else:
        out = series.to_numpy(dtype=object)
    out = np.array(out, dtype=object)     # a writable copy (Arrow-backed views are not)
    out[missing] = None
    if kind == STR and pt.is_object_dtype(series.dtype) and not missing.all():
        # object columns (Parquet, pandas) may mix in numbers: ids written as ints
        odd = np.fromiter((v is not None and not isinstance(v, str) for v in out), bool,
                          len(out))
        if odd.any():
            out[odd] = [str(v) for v in out[odd]]
    return out


def _pylist(values: np.ndarray) -> list[Any]:
    """Python values of a converted column, ``None`` where empty."""
    out = values.tolist()
    if values.dtype.kind == "f":
        nan = np.flatnonzero(np.isnan(values)).tolist()
        for i in nan:
            out[i] = None
    return out


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
    def of(cls, values: np.ndarray) -> _Column:
        import pandas as pd

        if values.dtype.kind == "f":
            return cls(floats=values)
        codes, uniques = pd.factorize(values)
        return cls(codes=codes.astype(np.int32), values=[*list(uniques), None])

    def slice(self, a: int, b: int) -> list[Any]:
        if self.floats is not None:
            return _pylist(self.floats[a:b])
        vals = self.values
        return [vals[c] for c in self.codes[a:b].tolist()]


@dataclass
class _Split:
    """A per-household table: columns sorted by household, and each household's row range."""

    name: str
    columns: tuple[str, ...]
    data: list[_Column]                        # one per column, rows sorted by household
    ranges: dict[str, tuple[int, int]] = field(default_factory=dict)

    def rows(self, hid: str) -> list[dict[str, Any]]:
        span = self.ranges.get(hid)
        if span is None:
            return []
        a, b = span
        cols = self.columns
        return [{k: v for k, v in zip(cols, vals, strict=True) if v is not None}
                for vals in zip(*(col.slice(a, b) for col in self.data), strict=True)]


def _split(name: str, path: Path, columns: dict[str, np.ndarray]) -> _Split:
    """Sort a table's columns by household (stable) and record each household's rows."""
    import pandas as pd

    hid = columns.pop("household_id")
    empty = np.flatnonzero(np.equal(hid, None))
    if len(empty):
        raise InvalidInput(None, f"table {name} ({path.name}) row {empty[0] + 1}",
                           "household_id", "empty; every row must name its household")
    codes, uniques = pd.factorize(hid, sort=True)
    del hid
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=len(uniques))
    ends = np.cumsum(counts)
    starts = ends - counts
    names = tuple(columns)
    data = []
    for c in names:
        data.append(_Column.of(columns.pop(c)[order]))
    ranges = dict(zip(np.asarray(uniques, dtype=object).tolist(),
                      zip(starts.tolist(), ends.tolist(), strict=True), strict=True))
    return _Split(name, names, data, ranges)


def read_tables(input_dir: str | Path) -> Tables:
    """Read the folder's tables once; raise `InvalidInput` when a table is malformed."""
    files = find_table_files(Path(input_dir))
    splits: dict[str, _Split] = {}
    shared: list[dict[str, Any]] = []
    overrides: _Split | None = None
    for name, path in files.items():
        frame = _read_frame(name, path)
        _check_columns(name, path, list(frame.columns))
        cols = {c: convert_column(frame[c], KINDS.get(c, FLOAT)) for c in frame.columns}
        del frame
        if name == "securities":
            shared, overrides = _securities(path, cols)
        else:
            splits[name] = _split(name, path, cols)
    return Tables(files, splits, shared, overrides)


# --------------------------------------------------------------------------- securities


def _securities(path: Path, cols: dict[str, np.ndarray]
                ) -> tuple[list[dict[str, Any]], _Split | None]:
    """The shared security list (validated) and the per-household override rows."""
    n = len(cols["symbol"])
    if "household_id" in cols and cols["household_id"].dtype.kind == "f":   # all empty
        own = ~np.isnan(cols["household_id"])
    elif "household_id" in cols:
        own = ~np.equal(cols["household_id"], None)
    else:
        own = np.zeros(n, dtype=bool)
    where = f"table securities ({path.name})"
    shared_cols = {c: v[~own] for c, v in cols.items() if c != "household_id"}
    names = tuple(shared_cols)
    rows = [{k: v for k, v in zip(names, vals, strict=True) if v is not None}
            for vals in zip(*(_pylist(shared_cols[c]) for c in names), strict=True)]
    by_symbol: dict[str, list[dict[str, Any]]] = {}
    for i, row in enumerate(rows):
        sym = row.get("symbol")
        if sym is None:
            raise InvalidInput(None, f"{where} row {np.flatnonzero(~own)[i] + 1}", "symbol",
                               "empty")
        by_symbol.setdefault(sym, []).append(row)
    shared = []
    for sym, srows in by_symbol.items():
        try:
            entry = security_entry(srows)
        except _RowProblem as err:
            raise InvalidInput(None, f"{where}: symbol {sym}", err.field, err.problem) from None
        _validate_security(where, entry)
        shared.append(entry)
    overrides = None
    if own.any():
        over = {c: v[own] for c, v in cols.items()}
        overrides = _split("securities", path, over)
    return shared, overrides


class _RowProblem(Exception):
    def __init__(self, field: str | None, problem: str):
        super().__init__(problem)
        self.field, self.problem = field, problem


def security_entry(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A contract ``securities`` entry from the rows of one symbol (one row per class)."""
    first = rows[0]
    for attr in _SYMBOL_ATTRS:
        values = {_key(r.get(attr)) for r in rows}
        if len(values) > 1:
            raise _RowProblem(attr, f"the rows of this symbol disagree on '{attr}'")
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


def _effective(entry: dict[str, Any], attr: str) -> Any:
    if attr == "wash_group":
        return entry.get("wash_group", entry["symbol"])
    return entry.get(attr, _SECURITY_DEFAULTS.get(attr))


# --------------------------------------------------------------------------- assembling


@dataclass
class Tables:
    """The tables of one batch, split by household; `items` assembles households lazily."""

    files: dict[str, Path]
    splits: dict[str, _Split]
    shared_securities: list[dict[str, Any]]
    overrides: _Split | None = None
    _ids: list[str] | None = None

    @property
    def household_ids(self) -> list[str]:
        """Every household named in any table, sorted (code-point order)."""
        if self._ids is None:
            ids: set[str] = set()
            for s in self.splits.values():
                ids.update(s.ranges)
            if self.overrides is not None:
                ids.update(self.overrides.ranges)
            self._ids = sorted(ids)
        return self._ids

    def __len__(self) -> int:
        return len(self.household_ids)

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

    def items(self, ids: list[str] | None = None) -> Iterator[tuple[str, dict | None, str | None]]:
        """``(household_id, raw dict, None)`` or ``(household_id, None, error line)``."""
        for hid in self.household_ids if ids is None else ids:
            try:
                yield hid, self.assemble(hid), None
            except InvalidInput as err:
                yield hid, None, err.line()
            except Exception as err:   # rows no rule foresaw: this household fails, alone
                yield hid, None, (f"household {hid}: its rows cannot be assembled: "
                                  f"{type(err).__name__}: {err}")

    def assemble(self, hid: str) -> dict[str, Any]:
        """The household in the contract's JSON shape; `InvalidInput` if its rows disagree."""
        hrows = self.splits["households"].rows(hid)
        if not hrows:
            where = sorted(n for n, s in self.splits.items() if hid in s.ranges)
            if self.overrides is not None and hid in self.overrides.ranges:
                where.append("securities")
            raise InvalidInput(hid, "households", None,
                               "no row in table households (the household has rows in "
                               + ", ".join(where) + ")")
        if len(hrows) > 1:
            raise InvalidInput(hid, "households", "household_id",
                               f"{len(hrows)} rows in table households; expected one")
        h = hrows[0]
        tp = {k: h[k] for k in ("short_term_rate", "long_term_rate", "ordinary_offset_limit",
                                "niit_rate", "ordinary_rate", "state_rate") if k in h}
        for group in ("realized_ytd", "loss_carryforward"):
            pair = {t: h[f"{group}_{t}"] for t in ("short_term", "long_term")
                    if f"{group}_{t}" in h}
            if pair:
                tp[group] = pair
        raw: dict[str, Any] = {"format": FORMAT, "household_id": hid}
        if "as_of" in h:
            raw["as_of"] = _date(h["as_of"])
        raw["tax_profile"] = tp
        raw["securities"] = self._securities_of(hid)
        raw["goals"] = self._goals_of(hid)
        raw["accounts"] = self._accounts_of(hid)
        raw["lots"] = [_dates(r, "acquired") for r in self._rows("lots", hid)]
        raw["recent_trades"] = [_dates(r, "date") for r in self._rows("recent_trades", hid)]
        return raw

    def _rows(self, name: str, hid: str) -> list[dict[str, Any]]:
        split = self.splits.get(name)
        return split.rows(hid) if split is not None else []

    def _securities_of(self, hid: str) -> list[dict[str, Any]]:
        if self.overrides is None or hid not in self.overrides.ranges:
            return self.shared_securities
        by_symbol: dict[str, list[dict[str, Any]]] = {}
        for r in self.overrides.rows(hid):
            if "symbol" not in r:
                raise InvalidInput(hid, "securities", "symbol", "empty")
            by_symbol.setdefault(r["symbol"], []).append(r)
        index = {s["symbol"]: i for i, s in enumerate(self.shared_securities)}
        out = list(self.shared_securities)
        for sym, rows in by_symbol.items():
            where = f"securities (symbol {sym})"
            if sym not in index:
                raise InvalidInput(hid, where, "symbol",
                                   "a household's row overrides the price of a shared "
                                   "security; this symbol has no shared row")
            base = self.shared_securities[index[sym]]
            prices = {_key(r.get("price")) for r in rows}
            if len(prices) > 1:
                raise InvalidInput(hid, where, "price", "the household's rows disagree on "
                                   "the price")
            for attr in _SYMBOL_ATTRS[1:]:
                for r in rows:
                    if attr in r and _key(r[attr]) != _key(_effective(base, attr)):
                        raise InvalidInput(hid, where, attr,
                                           "a household's row may change only the price; "
                                           f"'{attr}' differs from the shared row")
            classes = {(r["asset_class"], float(r.get("weight", 1.0))) for r in rows
                       if "asset_class" in r}
            shared_cls = {(c, float(w)) for c, w in
                          (base.get("exposures") or {base.get("asset_class"): 1.0}).items()}
            if classes and classes != shared_cls:
                raise InvalidInput(hid, where, "asset_class",
                                   "a household's row may change only the price; its classes "
                                   "differ from the shared rows")
            if "price" not in rows[0]:
                raise InvalidInput(hid, where, "price", "empty")
            out[index[sym]] = {**base, "price": rows[0]["price"]}
        return out

    def _goals_of(self, hid: str) -> list[dict[str, Any]]:
        goals: dict[str, dict[str, Any]] = {}
        tols: dict[str, set[Any]] = {}
        for r in self._rows("goals", hid):
            gid = r.get("goal_id")
            if gid is None:
                raise InvalidInput(hid, "goals", "goal_id", "empty")
            where = f"goals (goal_id {gid})"
            g = goals.setdefault(gid, {"goal_id": gid, "targets": {}})
            cls = r.get("asset_class")
            if cls is None:
                raise InvalidInput(hid, where, "asset_class", "empty")
            if cls in g["targets"]:
                raise InvalidInput(hid, where, "asset_class", f"two rows for class '{cls}'")
            if "target" not in r:
                raise InvalidInput(hid, where, "target", f"empty for class '{cls}'")
            g["targets"][cls] = r["target"]
            tols.setdefault(gid, set()).add(_key(r.get("drift_tolerance")))
            if r.get("drift_tolerance") is not None:
                g["drift_tolerance"] = r["drift_tolerance"]
        for gid, seen in tols.items():
            if len(seen) > 1:
                raise InvalidInput(hid, f"goals (goal_id {gid})", "drift_tolerance",
                                   "the goal's rows disagree (give it on every row, or none)")
        return list(goals.values())

    def _accounts_of(self, hid: str) -> list[dict[str, Any]]:
        accounts = []
        by_id: dict[str, dict[str, Any]] = {}
        for r in self._rows("accounts", hid):
            acc = dict(r)
            for name in ("restricted", "allowed"):
                if name in acc and isinstance(acc[name], str):
                    acc[name] = [s.strip() for s in acc[name].split(";") if s.strip()]
            accounts.append(acc)
            by_id.setdefault(acc.get("account_id"), acc)
        for r in self._rows("bands", hid):
            aid = r.get("account_id")
            where = f"bands (account_id {aid})"
            if aid not in by_id:
                raise InvalidInput(hid, where, "account_id", f"unknown account '{aid}'")
            cls = r.get("asset_class")
            if cls is None:
                raise InvalidInput(hid, where, "asset_class", "empty")
            bands = by_id[aid].setdefault("bands", {})
            if cls in bands:
                raise InvalidInput(hid, where, "asset_class", f"two rows for class '{cls}'")
            bands[cls] = [r.get("lo"), r.get("hi")]
        return accounts


def _date(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time() else value
    return value


def _dates(row: dict[str, Any], key: str) -> dict[str, Any]:
    if key in row:
        row[key] = _date(row[key])
    return row
