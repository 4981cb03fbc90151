"""Readers: a scenario file (JSON or YAML) or a dict becomes a validated `Household`.

Parsing is safe (``yaml.safe_load``, no pickle or eval) and bounded in size; a
pydantic error becomes one `InvalidInput` line naming household, record and field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import InvalidInput
from .household import Household, build_household
from .schema import FORMAT, HouseholdRecord

MAX_FILE_BYTES = 64 * 1024 * 1024
_ID_KEYS = {"securities": "symbol", "goals": "goal_id", "accounts": "account_id",
            "lots": "lot_id"}


def from_dict(raw: Any) -> Household:
    """Validate a household given as plain Python data (the contract's JSON shape)."""
    if not isinstance(raw, dict):
        raise InvalidInput(None, "household", None,
                           f"expected a JSON object, got {type(raw).__name__}")
    hh = raw.get("household_id") if isinstance(raw.get("household_id"), str) else None
    if raw.get("format") != FORMAT and "format" in raw:
        raise InvalidInput(hh, "household", "format",
                           f"expected '{FORMAT}', got {raw.get('format')!r}")
    try:
        rec = HouseholdRecord.model_validate(raw)
    except ValidationError as err:
        raise _to_invalid_input(err, raw, hh) from None
    return build_household(rec)


def from_json(path_or_text: str | Path) -> Household:
    """Read one household from a JSON or YAML file path (by extension) or JSON text."""
    if isinstance(path_or_text, Path) or not str(path_or_text).lstrip().startswith("{"):
        return from_file(Path(path_or_text))
    return from_dict(_parse_json(str(path_or_text), "input"))


def from_file(path: Path) -> Household:
    """Read a `.json`, `.yaml` or `.yml` scenario file."""
    return from_dict(read_raw(path))


def read_raw(path: Path) -> Any:
    """The parsed content of a scenario file, with size and syntax errors as `InvalidInput`."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(None, str(path), None, "no such file")
    size = path.stat().st_size
    if size == 0:
        raise InvalidInput(None, str(path), None, "the file is empty")
    if size > MAX_FILE_BYTES:
        raise InvalidInput(None, str(path), None,
                           f"the file is {size / 2**20:.0f} MiB; the limit is "
                           f"{MAX_FILE_BYTES // 2**20} MiB (use the table format for batches)")
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            at = f" at line {mark.line + 1}" if mark is not None else ""
            raise InvalidInput(None, str(path), None, f"not valid YAML{at}") from None
    return _parse_json(text, str(path))


def _parse_json(text: str, where: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as err:
        raise InvalidInput(None, where, None,
                           f"not valid JSON: {err.msg} at line {err.lineno} column {err.colno}"
                           ) from None
    except ValueError as err:
        raise InvalidInput(None, where, None, str(err)) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"not valid JSON: {name} is not a number")


def _to_invalid_input(err: ValidationError, raw: dict[str, Any], hh: str | None) -> InvalidInput:
    """The first pydantic error, as household / record / field / problem."""
    first = err.errors(include_url=False)[0]
    loc = [p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
    record, field_path = "household", list(loc)
    if len(loc) >= 2 and isinstance(loc[0], str) and isinstance(loc[1], int):
        kind, i = loc[0], loc[1]
        record = f"{kind}[{i}]"
        key = _ID_KEYS.get(kind)
        items = raw.get(kind)
        if key and isinstance(items, list) and i < len(items) and isinstance(items[i], dict):
            ident = items[i].get(key)
            if isinstance(ident, str):
                record += f" ({key} {ident})"
        field_path = loc[2:]
    elif len(loc) >= 1 and loc[0] in ("tax_profile", "options"):
        record, field_path = str(loc[0]), loc[1:]
    field = ".".join(str(p) for p in field_path if not isinstance(p, int)) or None
    msg = first["msg"]
    if first["type"] == "missing":
        msg = "required field is missing"
    elif first["type"] == "extra_forbidden":
        msg = "unknown field"
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if first["type"] not in ("missing", "extra_forbidden") and "input" in first:
        shown = repr(first["input"])
        if len(shown) <= 40 and not isinstance(first["input"], dict | list):
            msg += f", got {shown}"
    return InvalidInput(hh, record, field, msg)
