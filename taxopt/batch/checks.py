"""Whole-column checks of a batch table: every bad cell of every row, found at once.

A household's status still comes from the contract's own validation
(`taxopt.domain.from_dict`, the same message as from a scenario file, its
first problem); these checks exist so that ``rejects.parquet`` lists every
bad row of every table, not only each household's first. They mirror the
schema exactly (its bounds, its allowed words, its required fields), so they
never flag a cell the schema accepts; each is a numpy expression over the
whole column.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args, get_origin

import numpy as np
from annotated_types import Ge, Gt, Le, Lt

from .layout import BOOL, FLOAT, MODELS, SPECS, STR, _field, shown

#: Columns that are not one schema field, and the bounds of the field they encode.
_EXTRA_BOUNDS: dict[str, tuple[tuple[str, float], ...]] = {
    "target": (("ge", 0.0), ("le", 1.0)),
    "weight": (("ge", 0.0), ("le", 1.0)),
    "lo": (("ge", 0.0), ("le", 1.0)),
    "hi": (("ge", 0.0), ("le", 1.0)),
    "loss_carryforward_short_term": (("ge", 0.0),),
    "loss_carryforward_long_term": (("ge", 0.0),),
}
_NAN_WORDS = ("nan", "+nan", "-nan")
_OPS = {"ge": (np.less, ">="), "gt": (np.less_equal, ">"), "le": (np.greater, "<="),
        "lt": (np.greater_equal, "<")}


def _walk(annotation: Any, metadata: list[Any]) -> tuple[list[Any], tuple[str, ...] | None]:
    """Constraints and allowed words of an annotation (Annotated and Optional unwrapped)."""
    found = list(metadata)
    words = None
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *meta = get_args(annotation)
        for m in meta:
            found += [*(getattr(m, "metadata", []) or []), m]
        more, words = _walk(inner, [])
        found += more
    elif origin is Literal:
        words = tuple(get_args(annotation))
    elif origin is not None and type(None) in get_args(annotation):
        inner = next(a for a in get_args(annotation) if a is not type(None))
        more, words = _walk(inner, [])
        found += more
    return found, words


def _rules(table: str, column: str) -> tuple[tuple[tuple[str, float], ...],
                                             tuple[str, ...] | None]:
    if column in _EXTRA_BOUNDS:
        return _EXTRA_BOUNDS[column], None
    model = MODELS.get(table)
    if model is None:
        return (), None
    try:
        f = _field(model, column)
    except KeyError:
        return (), None
    found, words = _walk(f.annotation, list(f.metadata))
    bounds = []
    for m in found:
        for cls, op in ((Ge, "ge"), (Gt, "gt"), (Le, "le"), (Lt, "lt")):
            if isinstance(m, cls):
                bounds.append((op, float(getattr(m, op))))
    return tuple(dict.fromkeys(bounds)), words


def column_problems(table: str, column: str, kind: str, values: np.ndarray
                    ) -> list[tuple[int, str]]:
    """Rows of one converted column that the schema would refuse: (row index, problem)."""
    out: list[tuple[int, str]] = []
    required = column in SPECS[table].required
    bounds, words = _rules(table, column)
    if values.dtype.kind == "f":
        nums, text = values, None
    else:
        is_none = np.equal(values, None)
        if kind == FLOAT:
            is_num = np.fromiter((isinstance(v, float | int) and not isinstance(v, bool)
                                  for v in values), bool, len(values))
            nan_word = np.fromiter((isinstance(v, str) and v.strip().lower() in _NAN_WORDS
                                    for v in values), bool, len(values))
            text = ~is_num & ~is_none & ~nan_word      # a NaN is reported as a NaN
            nums = np.where(is_num, values, np.nan).astype(float)
        else:
            nums, text = None, None
        if required:
            out += [(i, "empty; this column is required") for i in np.flatnonzero(is_none)]
    if nums is not None:
        if required and values.dtype.kind == "f":
            out += [(i, "empty; this column is required")
                    for i in np.flatnonzero(np.isnan(nums))]
        for op, bound in bounds:
            fails, sign = _OPS[op]
            with np.errstate(invalid="ignore"):
                bad = fails(nums, bound) & ~np.isnan(nums)
            out += [(i, f"must be {sign} {bound:g}, got {float(nums[i])!r}")
                    for i in np.flatnonzero(bad)]
    if text is not None and text.any():
        out += [(i, f"expected a number, got {shown(values[i])}")
                for i in np.flatnonzero(text)]
    if kind == BOOL and values.dtype == object:
        odd = np.fromiter((v is not None and not isinstance(v, bool | np.bool_)
                           for v in values), bool, len(values))
        out += [(i, f"expected true or false, got {shown(values[i])}")
                for i in np.flatnonzero(odd)]
    if kind == STR and words and values.dtype == object:
        bad = ~np.isin(values, np.array(words, dtype=object)) & ~np.equal(values, None)
        allowed = ", ".join(f"'{w}'" for w in words)
        out += [(i, f"must be one of {allowed}, got {shown(values[i])}")
                for i in np.flatnonzero(bad)]
    return sorted(out)




def is_id_column(table: str, column: str) -> bool:
    """Whether the schema reads this column as an id (printable, unpadded text)."""
    from ..domain.schema import _printable_id

    model = MODELS.get(table)
    if model is None:
        return False
    try:
        f = _field(model, column)
    except KeyError:
        return False
    return any(getattr(m, "func", None) is _printable_id for m in f.metadata)


#: a column's codes (-1 where empty) and its distinct values, as `pandas.factorize` gives
Factors = tuple[np.ndarray, np.ndarray]


def _factors(values: np.ndarray, given: Factors | None) -> Factors:
    """A column's codes and distinct values: ``given`` (factorized once by the reader for
    every check of the table), else factorized here."""
    import pandas as pd

    if given is not None:
        return given
    codes, uniques = pd.factorize(values, use_na_sentinel=True, size_hint=1024)
    return codes, np.asarray(uniques, dtype=object)


def all_plain_ids(values: list[Any]) -> bool:
    """Whether every id is printable text with no space around it: the whole column in a
    few C-speed string operations (two joins), so a column of a million distinct lot ids
    costs no Python loop. False means some id may fail: check them one by one."""
    try:
        if not "".join(values).isprintable():
            return False
        # isprintable refuses every whitespace but the ASCII space: only it can pad an id;
        # NUL cannot be in a printable id, so it marks where each id starts and ends
        joined = "\x00".join(values)
    except TypeError:                   # a value that is not text
        return False
    return not (joined.startswith(" ") or joined.endswith(" ")
                or " \x00" in joined or "\x00 " in joined)


def id_problems(values: np.ndarray, factors: Factors | None = None
                ) -> list[tuple[int, str]]:
    """Rows of an id column the schema refuses (padded, or a control character): the
    schema's own words, each distinct id checked once.

    The distinct ids are tested all at once first (`all_plain_ids`); only when
    that fails is each given the schema's check. ``factors``: the column
    factorized once by the reader (it keeps the codes)."""
    from ..domain.schema import _printable_id

    if values.dtype != object:
        return []
    codes, distinct = _factors(values, factors)
    ids = distinct.tolist()
    if all_plain_ids(ids):
        return []
    verdict: dict[int, str] = {}
    for k, v in enumerate(ids):
        if not isinstance(v, str):
            continue
        try:
            _printable_id(v)
        except ValueError as err:
            verdict[k] = f"{err}, got {shown(v)}"
    if not verdict:
        return []
    rows = np.flatnonzero(np.isin(codes, np.fromiter(verdict, np.int64, len(verdict))))
    return [(i, verdict[int(codes[i])]) for i in rows.tolist()]


def unknown_references(hids: np.ndarray, values: np.ndarray, known_hids: np.ndarray,
                       known_values: np.ndarray, what: str,
                       shared: np.ndarray | None = None, *,
                       hid_factors: Factors | None = None,
                       value_factors: Factors | None = None) -> list[tuple[int, str]]:
    """Rows naming an id (an account, a symbol) that their household does not have in the
    table it refers to (``known_hids``, ``known_values``: that table's columns; ``shared``:
    ids every household has); the schema's words.

    The referring table (lots: a million rows) is factorized once by the reader
    (``hid_factors``, ``value_factors``); the table referred to (accounts, a
    few per household) is looked up by its distinct values, so each (household,
    id) pair is one integer and the lookup is numpy's.

    For accounts, a household with no row at all in that table is left alone: that is
    one problem (its status names it), not one per row."""
    import pandas as pd

    hc, hu = _factors(hids, hid_factors)
    vc, vu = _factors(values, value_factors)
    kh = pd.Index(hu, dtype=object).get_indexer(known_hids)     # -1: no row refers to it
    values_index = pd.Index(vu, dtype=object)
    kv = values_index.get_indexer(known_values)
    width = np.int64(len(vu) + 1)
    known = (kh >= 0) & (kv >= 0)
    known_keys = kh[known].astype(np.int64) * width + kv[known]
    # integers from here on: numpy's isin sorts them, it would compare objects in Python
    key = hc.astype(np.int64) * width + vc
    bad = (hc >= 0) & (vc >= 0) & ~np.isin(key, known_keys)
    if shared is None:
        has_rows = np.zeros(len(hu) + 1, dtype=bool)      # the last: code -1
        has_rows[kh[kh >= 0]] = True
        bad &= has_rows[hc]
    else:
        is_shared = np.zeros(len(vu) + 1, dtype=bool)
        found = values_index.get_indexer(shared)
        is_shared[found[found >= 0]] = True
        bad &= ~is_shared[vc]
    return [(i, f"unknown {what} '{values[i]}'") for i in np.flatnonzero(bad).tolist()]
