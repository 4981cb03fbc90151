"""Scenario files to a batch folder of tables, and one household of a batch back to a scenario.

`to_rows` flattens households (the contract's JSON shape) into the rows of
the tables in `layout.SPECS`; whatever a scenario may set has a place
(options in table ``options``, brackets as JSON text, a household's own
view of a security as rows carrying its ``household_id``). A value the
scenario leaves out is an empty cell, so the schema's default applies when
the folder is read: the writer holds no defaults of its own.

`extract` is the reverse for one household: the scenario that the batch
solved (batch-wide options folded in), to replay with ``taxopt solve``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from .layout import LIST, PAIRS, SPECS, TERMS

#: table formats `write_folder` can write
FORMATS = ("csv", "parquet")


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _row(table: str, values: dict[str, Any]) -> dict[str, Any]:
    """Every column of the table, in its order (None where the value is absent)."""
    spec = SPECS[table]
    return {c: values.get(c) for c in spec.required + spec.optional}


def _cell(column: str, kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == LIST:
        return ";".join(value) if value else ";"     # a lone ";": an empty list
    return value


def _security_rows(sec: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per class of a security (a ``weight`` when it has several)."""
    base = {k: _iso(v) for k, v in sec.items() if k not in ("exposures", "asset_class")}
    if sec.get("exposures") is not None:
        return [_row("securities", {**base, "asset_class": c, "weight": w})
                for c, w in sec["exposures"].items()]
    return [_row("securities", {**base, "asset_class": sec.get("asset_class")})]


def option_cell(value: Any) -> str:
    """An option value as an ``options`` cell: JSON text (``0.2``, ``true``, ``null``), or
    bare text for a word that reads back as itself (``fifo``)."""
    from .tables import parse_value

    if isinstance(value, str) and parse_value(value) == value:
        return value
    return json.dumps(value, sort_keys=True)


def to_rows(hhs: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The rows of every table (`layout.SPECS`) for households in the JSON shape.

    ``securities`` is shared where it can be: a symbol that every household
    lists, identically, is one shared entry; every other entry is written as
    its household's own rows (carrying its ``household_id``), which the
    reader gives to that household only. So each household reads back
    exactly the securities it listed.
    """
    from .layout import KINDS

    hhs = list(hhs)
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in SPECS}
    entries: dict[str, list[list[dict[str, Any]]]] = {}
    for hh in hhs:
        for sec in hh["securities"]:
            entries.setdefault(sec["symbol"], []).append(_security_rows(sec))
    shared = {sym: rows[0] for sym, rows in entries.items()
              if len(rows) == len(hhs) and all(r == rows[0] for r in rows)}
    own: list[dict[str, Any]] = []
    for hh in hhs:
        hid = hh["household_id"]
        tp = hh["tax_profile"]
        row = {"household_id": hid, "as_of": _iso(hh.get("as_of"))}
        for k, v in tp.items():
            if k in PAIRS:
                row.update({f"{k}_{t}": (v or {}).get(t) for t in TERMS})
            elif k == "ordinary_brackets" and v is not None:
                row[k] = json.dumps([list(b) for b in v])
            else:
                row[k] = v
        out["households"].append(_row("households", row))
        for sec in hh["securities"]:
            if sec["symbol"] not in shared:
                own.extend({**r, "household_id": hid} for r in _security_rows(sec))
        for goal in hh["goals"]:
            extra = {k: v for k, v in goal.items() if k not in ("goal_id", "targets")}
            for c, tgt in goal["targets"].items():
                out["goals"].append(_row("goals", {"household_id": hid,
                                                   "goal_id": goal["goal_id"],
                                                   "asset_class": c, "target": tgt, **extra}))
        for acc in hh["accounts"]:
            cells = {k: _cell(k, KINDS.get(k, ""), v) for k, v in acc.items() if k != "bands"}
            out["accounts"].append(_row("accounts", {"household_id": hid, **cells}))
            for c, (lo, hi) in (acc.get("bands") or {}).items():
                out["bands"].append(_row("bands", {"household_id": hid,
                                                   "account_id": acc["account_id"],
                                                   "asset_class": c, "lo": lo, "hi": hi}))
        for lot in hh.get("lots") or []:
            out["lots"].append(_row("lots", {"household_id": hid,
                                             **{k: _iso(v) for k, v in lot.items()}}))
        for tr in hh.get("recent_trades") or []:
            out["recent_trades"].append(_row("recent_trades", {
                "household_id": hid, **{k: _iso(v) for k, v in tr.items()}}))
        for key, value in sorted((hh.get("options") or {}).items()):
            out["options"].append({"household_id": hid, "key": key,
                                   "value": option_cell(value)})
    secs = [r for rows in shared.values() for r in rows]
    out["securities"] = secs + own
    return out


def write_folder(rows: dict[str, list[dict[str, Any]]], folder: Path,
                 fmt: str = "csv") -> list[Path]:
    """Write `to_rows` tables into ``folder`` (one file per table; empty optional tables
    and an unused ``household_id`` column on ``securities`` are left out)."""
    import pandas as pd

    if fmt not in FORMATS:
        raise InvalidInput(None, "--format", None, f"must be 'csv' or 'parquet', got {fmt!r}")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, spec in SPECS.items():
        table = rows.get(name) or []
        if not table and not spec.mandatory_table:
            continue
        columns = list(spec.required + spec.optional)
        frame = pd.DataFrame(table, columns=columns)
        if name == "securities" and frame["household_id"].isna().all():
            frame = frame.drop(columns="household_id")
        # a column nobody filled is left out: the file says only what was given
        frame = frame[[c for c in frame.columns
                       if c in spec.required or frame[c].notna().any()]]
        path = folder / f"{name}.{fmt}"
        if fmt == "csv":
            frame.to_csv(path, index=False, lineterminator="\n")
        else:
            frame.to_parquet(path, index=False)
        written.append(path)
    return written


def convert(scenarios: list[Path], out_dir: Path, fmt: str = "csv") -> list[Path]:
    """Scenario files (JSON or YAML) to a batch folder; each is validated first, and two
    files naming one household are an error."""
    from ..domain.load import from_dict, read_raw

    raws = []
    seen: dict[str, Path] = {}
    for path in scenarios:
        raw = read_raw(Path(path))
        from_dict(raw)                       # refuse what `taxopt solve` would refuse
        hid = raw["household_id"]
        if hid in seen:
            raise InvalidInput(hid, str(path), "household_id",
                               f"also the household of {seen[hid]}; ids must be unique")
        seen[hid] = Path(path)
        raws.append(raw)
    return write_folder(to_rows(raws), Path(out_dir), fmt)


def extract(tables_dir: Path, household_id: str,
            defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """One household of a batch folder as a scenario (the JSON shape), options included."""
    from .tables import read_tables

    tables = read_tables(tables_dir)
    tables.defaults = dict(defaults or {})
    if household_id not in tables.household_ids:
        raise InvalidInput(household_id, "--household", None,
                           f"no such household in {tables_dir}")
    raw = tables.assemble(household_id)
    return json.loads(json.dumps(raw, default=_iso))


def scenario_text(raw: dict[str, Any]) -> str:
    """A scenario as JSON text, the way `taxopt extract` writes it."""
    return json.dumps(raw, indent=2) + "\n"
