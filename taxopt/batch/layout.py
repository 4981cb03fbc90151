"""The table format of a batch (contract sections 2 and 5): tables, columns and cell kinds.

One owner for the layout, and none for the defaults: every optional column
is derived from the contract's schema (`taxopt.domain.schema`), so a field
the schema gains (a 1.1 addition, ...) is a column of its table at once, and
an empty cell means what an absent JSON field means: the schema's default.
The reader (`tables.py`) and the writer (`convert.py`) both take their
columns from here.

Encodings of the fields that are not one scalar:

- ``realized_ytd`` and ``loss_carryforward``: two columns each,
  ``realized_ytd_short_term`` ... ``loss_carryforward_long_term``;
- a security's ``exposures``: one row per class with a ``weight`` column;
- a goal's ``targets``: one row per class (``asset_class``, ``target``);
  the goal's other fields repeat on each row (or sit on one of them);
- an account's ``bands``: table ``bands``;
- ``restricted`` / ``allowed``: symbols joined with ``";"`` (a lone ``";"``
  for an empty list: nothing may be bought);
- ``ordinary_brackets``: JSON text, ``[[0, 0.10], [11600, 0.12]]``;
- ``options``: table ``options`` (household_id, key, value), the value
  parsed as JSON when it parses (``0.2``, ``true``, ``null``, ``"fifo"``),
  else taken as text (``fifo``).
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args, get_origin

from ..domain.schema import Account, Goal, Lot, RecentTrade, Security, TaxProfile

#: Cell kinds: how a cell is converted before validation. LIST and JSON cells are
#: read as text and decoded per household.
STR, FLOAT, BOOL, DATE, LIST, JSON = "str", "float", "bool", "date", "list", "json"


@dataclass(frozen=True)
class TableSpec:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    mandatory_table: bool = True


#: The profile's two-term records, flattened as ``<field>_short_term`` / ``_long_term``.
PAIRS = ("realized_ytd", "loss_carryforward")
TERMS = ("short_term", "long_term")


def _names(model: Any, skip: tuple[str, ...]) -> tuple[str, ...]:
    """The model's field names as written in a scenario (aliases: ``yield``)."""
    return tuple(f.alias or n for n, f in model.model_fields.items()
                 if (f.alias or n) not in skip)


def _field(model: Any, name: str) -> Any:
    for n, f in model.model_fields.items():
        if (f.alias or n) == name:
            return f
    raise KeyError(name)


_PROFILE_REQUIRED = ("short_term_rate", "long_term_rate")

SPECS: dict[str, TableSpec] = {s.name: s for s in (
    TableSpec("households", ("household_id", "as_of", *_PROFILE_REQUIRED),
              (*(f"{p}_{t}" for p in PAIRS for t in TERMS),
               *_names(TaxProfile, (*_PROFILE_REQUIRED, *PAIRS)))),
    TableSpec("securities", ("symbol", "price", "asset_class"),
              (*_names(Security, ("symbol", "price", "asset_class", "exposures")),
               "weight", "household_id")),
    TableSpec("goals", ("household_id", "goal_id", "asset_class", "target"),
              _names(Goal, ("goal_id", "targets"))),
    TableSpec("accounts", ("household_id", "account_id", "goal_id", "tax_type", "cash"),
              _names(Account, ("account_id", "goal_id", "tax_type", "cash", "bands"))),
    TableSpec("bands", ("household_id", "account_id", "asset_class", "lo", "hi"), (),
              mandatory_table=False),
    TableSpec("lots", ("household_id", *_names(Lot, ("cost_basis", "acquired"))),
              ("cost_basis", "acquired"), mandatory_table=False),
    TableSpec("recent_trades", ("household_id", *_names(RecentTrade, ("realized_gain",))),
              ("realized_gain",), mandatory_table=False),
    TableSpec("options", ("household_id", "key", "value"), (), mandatory_table=False),
)}

#: The model each table's rows validate against (for kinds and defaults).
MODELS: dict[str, Any] = {"households": TaxProfile, "securities": Security, "goals": Goal,
                          "accounts": Account, "lots": Lot, "recent_trades": RecentTrade}


def kind_of(annotation: Any) -> str:
    """The cell kind of a schema annotation (``float | None`` -> FLOAT, ``list[Id]`` -> LIST)."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Annotated:
        return kind_of(args[0])
    if origin in (typing.Union, types.UnionType):
        return kind_of(next(a for a in args if a is not type(None)))
    if origin is Literal or annotation is str:
        return STR
    if annotation is bool:
        return BOOL
    if annotation in (float, int):
        return FLOAT
    if annotation is dt.date:
        return DATE
    if origin is list and kind_of(args[0]) == STR:
        return LIST
    return JSON


def _kinds() -> dict[str, str]:
    kinds = dict.fromkeys(("household_id", "asset_class", "key", "value"), STR)
    kinds.update(dict.fromkeys(("as_of",), DATE))
    for name, model in MODELS.items():
        spec = SPECS[name]
        for col in spec.required + spec.optional:
            if col in kinds:
                continue
            try:
                kinds[col] = kind_of(_field(model, col).annotation)
            except KeyError:
                kinds[col] = FLOAT        # weight, target, realized_ytd_short_term, ...
    return kinds


#: The cell kind of every column (a column name means one thing in every table).
KINDS: dict[str, str] = _kinds()


def default(table: str, column: str) -> Any:
    """The schema's default of an optional column (what an empty cell means)."""
    f = _field(MODELS[table], column)
    return None if f.is_required() else f.get_default(call_default_factory=True)


#: How much of a bad value a message echoes.
SHOWN = 80


def shown(value: Any) -> str:
    """A value quoted for a message: control characters escaped, at most ``SHOWN`` characters."""
    text = repr(value)
    return text if len(text) <= SHOWN else text[:SHOWN - 3] + "..."
