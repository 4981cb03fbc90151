"""Readers: a scenario file (JSON or YAML) or a dict becomes a validated `Household`.

Parsing is safe (``yaml.safe_load``, no pickle or eval) and bounded in size; a
pydantic error becomes one `InvalidInput` line naming household, record and field.
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import json
import marshal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import InvalidInput, printable
from ..limits import FILE_BYTES_MAX, YAML_ALIAS_VALUES_MAX, YAML_BYTES_MAX
from .household import Household, SecurityTable, build_household, security_table
from .lots import lot_columns
from .schema import FIELD_ERROR, FORMAT, HouseholdRecord, KnownSecuritiesRecord, Security

MAX_FILE_BYTES = FILE_BYTES_MAX
MAX_YAML_BYTES = YAML_BYTES_MAX
# Fields of the household record before ``lots``: their errors are reported first.
_BEFORE_LOTS = frozenset(("format", "household_id", "as_of", "tax_profile", "securities",
                          "goals", "accounts"))
_ID_KEYS = {"securities": "symbol", "goals": "goal_id", "accounts": "account_id",
            "lots": "lot_id"}


def from_dict(raw: Any) -> Household:
    """Validate a household given as plain Python data (the contract's JSON shape)."""
    if not isinstance(raw, dict):
        raise InvalidInput(None, "household", None, f"expected a JSON object, got {_kind(raw)}")
    hh = raw.get("household_id") if isinstance(raw.get("household_id"), str) else None
    if raw.get("format") != FORMAT and "format" in raw:
        raise InvalidInput(hh, "household", "format",
                           f"expected '{FORMAT}', got "
                           f"{_echo(raw.get('format')) or _kind(raw.get('format'))}")
    # The small records go through pydantic; the lots, which can number 100,000, are
    # checked as columns (`lots.py`) with the same messages. Errors keep the record's
    # field order: a bad account is reported before a bad lot, a bad lot before a bad
    # recent trade or option.
    paused = gc.isenabled()
    gc.disable()   # nothing cyclic is allocated here; collections would find nothing
    try:
        rest_error: ValidationError | None = None
        try:
            rest = {k: v for k, v in raw.items() if k != "lots"}
            table = _security_table(rest.get("securities"))
            if table is not None:       # checked once already: not again per household
                rest["securities"] = table.records
                rec = KnownSecuritiesRecord.model_validate(rest)
            else:
                secs = _known_securities(rest.get("securities"))
                if secs is not None:
                    rest["securities"] = secs
                rec = HouseholdRecord.model_validate(rest)
        except ValidationError as err:
            loc = err.errors(include_url=False)[0]["loc"]
            if not loc or loc[0] in _BEFORE_LOTS:
                raise _to_invalid_input(err, raw, hh) from None
            rest_error = err
        try:
            lots = lot_columns(raw.get("lots", []))
        except ValidationError as err:
            raise _to_invalid_input(err, raw, hh, ("lots",)) from None
        if rest_error is not None:
            raise _to_invalid_input(rest_error, raw, hh) from None
    finally:
        if paused:
            gc.enable()
    return build_household(rec, lots, table)


# Validated securities by their exact input (marshal bytes tell 1 from 1.0 from True and
# 0.0 from -0.0): a batch's households share one securities table, and a security
# validated once is the same frozen record for every household that gives the same
# fields. A security that fails validation is never kept, so its household goes the
# whole way through pydantic and gets the same message as without this.
_SECURITIES: dict[bytes, Security] = {}
SECURITIES_KEPT = 4096


# Whole securities tables, checked and packed, by their exact input (as above): the
# households of a batch, or of a model portfolio, give the same table again and again.
_TABLES: dict[bytes, SecurityTable] = {}
TABLES_KEPT = 256


def _input_key(value: Any) -> bytes | None:
    """The exact input as bytes, for the caches; None when marshal cannot write a value
    (a date object, ...), and then the input is validated without a cache."""
    try:
        return marshal.dumps(value)
    except ValueError:
        return None


def _security_table(items: Any) -> SecurityTable | None:
    """The securities checked and packed (from the cache when the same table was seen
    before), or None when any of them is not a plainly valid record or a symbol is given
    twice (then the household is validated as usual and gets the usual message)."""
    if type(items) is not list or not items:
        return None
    key = _input_key(items)
    if key is None:
        return None
    table = _TABLES.get(key)
    if table is None:
        records = _known_securities(items)
        if records is None or len({s.symbol for s in records}) != len(records):
            return None
        if len(_TABLES) >= TABLES_KEPT:
            _TABLES.clear()
        table = _TABLES[key] = security_table(None, records)
    return table


def _known_securities(items: Any) -> list[Security] | None:
    """Each security validated (from the cache when seen before), or None when any of
    them is not a plainly valid record (then pydantic validates the list as usual)."""
    if type(items) is not list or not items:
        return None
    out = []
    for d in items:
        if type(d) is not dict:
            return None
        key = _input_key(d)
        if key is None:
            return None
        sec = _SECURITIES.get(key)
        if sec is None:
            try:
                sec = Security.model_validate(d)
            except ValidationError:
                return None
            if len(_SECURITIES) >= SECURITIES_KEPT:
                _SECURITIES.clear()
            _SECURITIES[key] = sec
        out.append(sec)
    return out


def from_json(path_or_text: str | Path) -> Household:
    """Read one household from a JSON or YAML file path (by extension) or JSON text."""
    if isinstance(path_or_text, Path) or not str(path_or_text).lstrip().startswith("{"):
        return from_file(Path(path_or_text))
    text = str(path_or_text)
    if len(text) > MAX_FILE_BYTES:
        raise InvalidInput(None, "JSON text", None,
                           f"the text is {len(text):,} characters, over the limit of "
                           f"{MAX_FILE_BYTES:,}; use the table format for batches")
    return from_dict(_parse_json(text, "JSON text"))


def from_file(path: Path) -> Household:
    """Read a `.json`, `.yaml` or `.yml` scenario file."""
    raw = read_raw(path)
    if not isinstance(raw, dict):
        raise InvalidInput(None, str(path), None,
                           f"expected a household (a JSON object), got {_kind(raw)}")
    return from_dict(raw)


def _kind(raw: Any) -> str:
    """What a parsed document is, in the user's words."""
    if raw is None:
        return "null (or an empty document)"
    kinds = {bool: "a boolean", int: "a number", float: "a number", str: "a string",
             list: "a list", dict: "an object"}
    return kinds.get(type(raw), type(raw).__name__)


def read_raw(path: Path) -> Any:
    """The parsed content of a scenario file, with size and syntax errors as `InvalidInput`."""
    path = Path(path)
    # an OS error (name too long, permission denied, ...) is the input's fault too:
    # a one-line message, not a traceback
    try:
        if not path.is_file():
            raise InvalidInput(None, _shown(path), None, "no such file")
        size = path.stat().st_size
        if size == 0:
            raise InvalidInput(None, str(path), None, "the file is empty")
        is_yaml = path.suffix.lower() in (".yaml", ".yml")
        limit = MAX_YAML_BYTES if is_yaml else MAX_FILE_BYTES
        if size > limit:
            raise InvalidInput(None, str(path), None,
                               f"the file is {size:,} bytes, over the limit of "
                               f"{limit:,} bytes{' for YAML' if is_yaml else ''}; "
                               "use the table format for batches")
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise InvalidInput(None, _shown(path), None,
                           f"cannot read the file ({err.strerror or type(err).__name__})"
                           ) from None
    if not text.strip():
        raise InvalidInput(None, str(path), None, "the file is empty")
    if is_yaml:
        import yaml

        try:
            return _safe_yaml(text, str(path))
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            at = f" at line {mark.line + 1}" if mark is not None else ""
            raise InvalidInput(None, str(path), None, f"not valid YAML{at}") from None
        except RecursionError:  # deep nesting overflows the parser's stack
            raise InvalidInput(None, str(path), None,
                               "not valid YAML: nested too deeply") from None
        except InvalidInput:
            raise
        except Exception as err:  # PyYAML's constructors raise plain ValueError or
            # AttributeError on malformed scalars ('2020-13-45', !!int 'x')
            raise InvalidInput(None, str(path), None,
                               f"not valid YAML: {type(err).__name__}: {str(err)[:80]}"
                               ) from None
    return _parse_json(text, str(path))


def _safe_yaml(text: str, where: str) -> Any:
    """``yaml.safe_load``, refusing aliases that would blow the document up.

    The document is composed into nodes first (aliases stay shared references, so
    composing is cheap); values are built only when aliases add at most
    `YAML_ALIAS_VALUES_MAX` values in all. A 1 KB "billion laughs" file is refused in
    milliseconds instead of taking minutes and gigabytes. A key given twice in a
    mapping is refused (`_unique_key_loader`).
    """
    loader = _unique_key_loader()(text)
    loader.taxopt_where = where
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        added = _alias_growth(node)
        if added > YAML_ALIAS_VALUES_MAX:
            raise InvalidInput(None, where, None,
                               "YAML aliases (*name) would add more than "
                               f"{YAML_ALIAS_VALUES_MAX:,} values to the document; write "
                               "the values out instead")
        return loader.construct_document(node)
    finally:
        loader.dispose()


@functools.cache
def _unique_key_loader() -> type:
    """PyYAML's SafeLoader refusing a mapping that names a key twice (it would keep the
    last silently: a second ``as_of`` or ``cost_basis`` would win unseen). Keys merged
    in by ``<<`` may still be overridden, as YAML means them to be."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            if isinstance(node, yaml.MappingNode):
                seen: set[Any] = set()
                for key_node, _ in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(
                            key_node, yaml.ScalarNode):
                        continue
                    key = self.construct_object(key_node)
                    if key in seen:
                        raise InvalidInput(None, _where_of(self), None,
                                           f"duplicate key '{printable(str(key))}' at line "
                                           f"{key_node.start_mark.line + 1}; a key may appear "
                                           "once in a mapping")
                    seen.add(key)
            return super().construct_mapping(node, deep)

    return UniqueKeyLoader


def _where_of(loader: Any) -> str:
    """The file a loader reads (set by `_safe_yaml`), for a message."""
    return getattr(loader, "taxopt_where", "input")


def _alias_growth(root: Any) -> int:
    """How many values the document's aliases add once expanded (a huge number for a
    self-referencing node). Counted without expanding: each node's expanded size is
    computed once."""
    import yaml

    size: dict[int, int] = {}
    infinite = YAML_ALIAS_VALUES_MAX + 1
    distinct = 0
    # Iterative post-order walk over the node graph (nodes reached twice are aliases).
    stack: list[tuple[Any, bool]] = [(root, False)]
    on_path: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            kids = _children(node, yaml)
            size[key] = min(1 + sum(size[id(k)] for k in kids), 1 << 62)
            continue
        if key in size:
            continue
        if key in on_path:       # an alias to a node that contains it
            return infinite
        on_path.add(key)
        distinct += 1
        stack.append((node, True))
        stack.extend((k, False) for k in _children(node, yaml) if id(k) not in size)
    return size[id(root)] - distinct


def _children(node: Any, yaml: Any) -> list[Any]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _shown(path: Path) -> str:
    """A path for a message: very long ones cut in the middle, so the error stays one line."""
    text = str(path)
    return text if len(text) <= 200 else f"{text[:100]}...{text[-97:]}"


class _NonFinite:
    """Where JSON text had NaN, Infinity or -Infinity (not JSON, though Python writes them)."""

    def __init__(self, name: str):
        self.name = name


class _DuplicateKey(Exception):
    """A JSON object naming one key twice (``json`` would keep the last silently)."""

    def __init__(self, key: str):
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object's pairs as a dict, refusing a key given twice: which of two ``as_of`` or
    ``cost_basis`` values was meant is not for taxopt to guess."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return obj


def _parse_json(text: str, where: str) -> Any:
    """Parse JSON text; a NaN or Infinity is reported at its household, record and field."""
    try:
        raw = json.loads(text, parse_constant=_NonFinite, object_pairs_hook=_unique_keys)
    except _DuplicateKey as dup:
        raise InvalidInput(None, where, None,
                           f"duplicate key '{printable(dup.key)}'; a key may appear once "
                           "in an object") from None
    except json.JSONDecodeError as err:
        raise InvalidInput(None, where, None,
                           f"not valid JSON: {err.msg} (line {err.lineno}, column {err.colno})"
                           ) from None
    except RecursionError:  # '[[[[...' thousands deep overflows the parser's stack
        raise InvalidInput(None, where, None, "not valid JSON: nested too deeply") from None
    except ValueError as err:  # an integer of more than 4300 digits (Python's limit)
        raise InvalidInput(None, where, None, f"not valid JSON: {str(err)[:80]}") from None
    loc = _find_non_finite(raw)
    if loc is not None:
        bad = raw
        for key in loc:
            bad = bad[key]
        problem = f"{bad.name} is not a number (JSON has no NaN or Infinity)"
        if not loc or not isinstance(raw, dict):
            raise InvalidInput(None, where, None, problem)
        hh = raw.get("household_id") if isinstance(raw.get("household_id"), str) else None
        record, field = _locate(raw, loc)
        raise InvalidInput(hh, record, field, problem)
    return raw


def _find_non_finite(node: Any) -> list[Any] | None:
    """The path to the first NaN/Infinity in document order, or None."""
    if isinstance(node, _NonFinite):
        return []
    if isinstance(node, dict):
        items: Any = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return None
    for key, child in items:
        sub = _find_non_finite(child)
        if sub is not None:
            return [key, *sub]
    return None


def _locate(raw: dict[str, Any], loc: list[Any]) -> tuple[str, str | None]:
    """A path in the household as (record, dotted field): ('lots[0] (lot_id A)', 'shares')."""
    record, field_path = "household", list(loc)
    if len(loc) >= 2 and isinstance(loc[0], str) and isinstance(loc[1], int):
        kind, i = loc[0], loc[1]
        record = f"{kind}[{i}]"
        key = _ID_KEYS.get(kind)
        items = raw.get(kind)
        if key and isinstance(items, list) and i < len(items) and isinstance(items[i], dict):
            ident = items[i].get(key)
            if isinstance(ident, str):
                record += f" ({key} {printable(ident)})"
        field_path = loc[2:]
    elif len(loc) >= 1 and loc[0] in ("tax_profile", "options"):
        record, field_path = str(loc[0]), loc[1:]
    field = ".".join(str(p) for p in field_path
                     if not isinstance(p, int) and p not in ("", "[key]")) or None
    return record, field


def _to_invalid_input(err: ValidationError, raw: dict[str, Any], hh: str | None,
                      prefix: tuple[Any, ...] = ()) -> InvalidInput:
    """The first pydantic error, as household / record / field / problem (``prefix``:
    where the validated part sits in the household)."""
    first = err.errors(include_url=False)[0]
    loc = [*prefix, *(p for p in first["loc"]
                      if not (isinstance(p, str) and p.startswith("function-")))]
    if first["type"] == FIELD_ERROR:
        # A rule of the whole record (or of a dict field) that names its field itself.
        loc = [*loc, (first.get("ctx") or {}).get("field", "")]
    record, field = _locate(raw, loc)
    msg = first["msg"]
    if first["type"] == "missing":
        msg = "required field is missing"
    elif first["type"] == "extra_forbidden":
        msg = "unknown field"
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if first["type"] not in ("missing", "extra_forbidden", FIELD_ERROR) and "input" in first:
        shown = _echo(first["input"])
        if shown is not None:
            msg += f", got {shown}"
    return InvalidInput(hh, record, field, msg)


_SCALARS = (bool, int, float, str, type(None))


def _echo(value: Any) -> str | None:
    """The bad value as a message shows it, when it is a short scalar (40 characters of
    repr at most); None otherwise. Decided before any repr is built, so a huge value
    (a string of megabytes, a list an alias bomb expanded) costs nothing."""
    if not isinstance(value, _SCALARS) and not isinstance(value, dt.date):
        return None
    if isinstance(value, str) and len(value) > 40:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return None
    shown = repr(value)
    return shown if len(shown) <= 40 else None
