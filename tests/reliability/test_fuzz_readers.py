"""Fuzzing the readers: whatever comes in, the only exception is `InvalidInput`.

Mutated scenario dicts go to `from_dict` (and, when they are still valid, through
`rebalance`); random bytes and text go to `from_json` through a temporary file.
Every crash found became a regression test at the end of this file.
"""

from __future__ import annotations

import copy
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import taxopt
from taxopt import synth
from taxopt.domain.load import from_dict, from_json
from taxopt.errors import InvalidInput, unprintable_at

from ..conftest import base_household

FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _check_invalid(err: InvalidInput) -> None:
    """One short, inert line: no raw control character, never a flood."""
    line = err.line()
    assert line and line.startswith(("household ", "input")), line
    assert unprintable_at(line) < 0, repr(line)
    assert len(line) < 2000, len(line)


def _read(fn, *args) -> Any:
    """Run a reader; an `InvalidInput` must carry a proper line, anything else fails."""
    try:
        return fn(*args)
    except InvalidInput as err:
        _check_invalid(err)
        return None


# -- mutated scenario dicts -----------------------------------------------------------

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-10**400, 10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, -0.0, 1e308, -1e308, math.nan, math.inf, -math.inf, 10**20]),
    st.text(max_size=12),
    st.sampled_from(["", " ", "taxopt.household/1", "2026-11-24", "2026-02-30", "9999-12-31",
                     "0001-01-01", "taxable", "tax_deferred", "tax_free", "buy", "sell", "cash",
                     "EQ", "EQ2", "BD", "A", "B", "C", "g", "tx", "ira", "equity", "bonds"]),
    st.just("x" * 100_000),
)
JUNK = st.recursive(SCALARS, lambda kids: st.one_of(
    st.lists(kids, max_size=3), st.dictionaries(st.text(max_size=8), kids, max_size=3)),
    max_leaves=8)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside the document (the root excluded)."""
    out = []
    items = (node.items() if isinstance(node, dict)
             else enumerate(node) if isinstance(node, list) else ())
    for key, child in items:
        out.append((*prefix, key))
        out.extend(_paths(child, (*prefix, key)))
    return out


def _parent(doc: Any, path: tuple) -> Any:
    for key in path[:-1]:
        doc = doc[key]
    return doc


def _mutate(data, doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        paths = _paths(doc)
        if not paths:
            break
        path = data.draw(st.sampled_from(paths), label="path")
        parent, key = _parent(doc, path), path[-1]
        op = data.draw(st.sampled_from(["drop", "junk", "junk", "extra", "number", "dup"]),
                       label="op")
        if op == "drop":
            del parent[key]
        elif op == "junk":
            parent[key] = data.draw(JUNK, label="junk")
        elif op == "extra" and isinstance(parent[key], dict):
            parent[key][data.draw(st.text(max_size=8), label="key")] = data.draw(JUNK)
        elif op == "number" and isinstance(parent[key], int | float):
            parent[key] = data.draw(st.sampled_from(
                [-parent[key], 0, 1e-300, 1e300, math.nan, math.inf, -math.inf, 10**30]))
        elif op == "dup" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
    return doc


def _bases() -> list[dict[str, Any]]:
    rich = synth.household(3, n_lots=8)        # bands, menus, recent trades, funds
    return [base_household(), rich]


BASES = _bases()


@FUZZ
@given(data=st.data(), which=st.integers(0, len(BASES) - 1))
def test_mutated_scenarios_fail_only_with_invalid_input(data, which):
    doc = _mutate(data, BASES[which])
    hh = _read(from_dict, doc)
    if hh is None:
        return
    # Still valid: the engine must answer with a plan or a status, never raise.
    result = taxopt.rebalance(hh, time_limit=5.0)
    assert result.status in ("optimal", "feasible", "infeasible", "error")
    if not result.ok:
        assert result.message.strip()
    cols = result.trade_columns()          # the outputs too (reasons, lines per account)
    assert len(cols["reason"]) == len(result.orders)
    assert all(acc["why"] for acc in result.summary()["accounts"].values())


@settings(max_examples=50, deadline=None)
@given(junk=JUNK)
def test_any_python_value_is_refused_cleanly(junk):
    _read(from_dict, junk)
    if isinstance(junk, dict):
        _read(from_dict, {**base_household(), **junk})


# -- bytes and text through files ----------------------------------------------------------

def _valid_json() -> bytes:
    return json.dumps(base_household()).encode()


@FUZZ
@given(payload=st.one_of(
    st.binary(max_size=2000),
    st.text(max_size=500).map(str.encode),
    st.tuples(st.just(_valid_json()), st.lists(st.tuples(st.integers(0, 10**6),
                                                         st.binary(min_size=1, max_size=3)),
                                                max_size=4))
    .map(lambda t: _flip(*t)),
    st.just(_valid_json()).map(lambda b: b.replace(b"100.0", b"NaN")),
), suffix=st.sampled_from([".json", ".yaml", ".yml", ".JSON", ".txt", ""]))
def test_random_files_fail_only_with_invalid_input(payload, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"scenario{suffix}"
        path.write_bytes(payload)
        _read(from_json, path)
        _read(from_json, str(path))


def _flip(data: bytes, edits: list[tuple[int, bytes]]) -> bytes:
    out = bytearray(data)
    for pos, new in edits:
        pos %= len(out)
        out[pos:pos + len(new)] = new
    return bytes(out)


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=300))
def test_random_json_text_fails_only_with_invalid_input(text):
    _read(from_json, "{" + text)
    _read(from_json, '{"format": "taxopt.household/1", "household_id": ' + text)


# -- regressions: every crash the fuzzing found (minimal inputs) ------------------------------

def _line_of(fn, *args) -> str:
    with pytest.raises(InvalidInput) as info:
        fn(*args)
    _check_invalid(info.value)
    return info.value.line()


def test_a_path_too_long_for_the_os():
    """Was: OSError [Errno 36] File name too long (from Path.is_file)."""
    line = _line_of(from_json, "x" * 5000)
    assert "cannot read the file" in line and len(line) < 400


def test_json_nested_too_deeply():
    """Was: RecursionError from json.loads, for text and for files."""
    assert "nested too deeply" in _line_of(from_json, '{"a": ' + "[" * 100_000)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "deep.json"
        path.write_text("[" * 100_000 + "]" * 100_000)
        assert "nested too deeply" in _line_of(from_json, path)


def test_json_integer_too_long():
    """Was: ValueError 'Exceeds the limit (4300 digits) for integer string conversion'."""
    assert "not valid JSON" in _line_of(from_json, '{"a": 1' + "0" * 5000 + "}")


@pytest.mark.parametrize("text", [
    "[" * 5000,                   # RecursionError
    "as_of: 2020-13-45\n",        # ValueError: month must be in 1..12
    "a: 1" + "0" * 5000 + "\n",   # ValueError: integer string conversion limit
    "a: !!timestamp 'x'\n",       # AttributeError: 'NoneType' object has no attribute ...
    "a: !!int 'x'\n",             # ValueError: invalid literal for int()
    "a: !!float 'x'\n",           # ValueError: could not convert string to float
])
def test_malformed_yaml(text):
    """Were: RecursionError, ValueError and AttributeError from PyYAML's constructors."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scenario.yaml"
        path.write_text(text)
        assert "not valid YAML" in _line_of(from_json, path)


# -- hostile ids and alias bombs ---------------------------------------------------------------

ID_PATHS = [("household_id",), ("securities", 0, "symbol"), ("goals", 0, "goal_id"),
            ("accounts", 0, "account_id"), ("lots", 0, "lot_id"), ("lots", 1, "account_id"),
            ("securities", 1, "wash_group")]


@settings(max_examples=200, deadline=None)
@given(where=st.sampled_from(ID_PATHS),
       text=st.text(st.characters(codec="utf-8"), min_size=1, max_size=20))
def test_any_id_is_accepted_clean_or_refused_inertly(where, text):
    """An id with a control character or padding is refused (the message escapes it);
    any other id is accepted as given."""
    doc = copy.deepcopy(base_household())
    _parent(doc, where)[where[-1]] = text
    hh = _read(from_dict, doc)
    bad = unprintable_at(text) >= 0 or text != text.strip()
    if bad:
        assert hh is None
    elif hh is not None:
        assert text in (hh.household_id, *hh.securities.symbol, *hh.goals.goal_id,
                        *hh.accounts.account_id, *hh.lots.lot_id,
                        *hh.securities.wash_group_names)


@pytest.mark.parametrize("shape", ["lists", "maps", "in-lots", "wide"])
def test_alias_bombs_of_any_shape_are_refused_in_milliseconds(shape):
    """Nested lists, nested maps, a bomb where the lots go, one wide level: each is
    refused before it is expanded."""
    import time

    if shape == "wide":
        lines = ["a: &a [" + ", ".join(["x"] * 200) + "]",
                 "b: [" + ", ".join(["*a"] * 200) + "]"]       # 40,000 values
    else:
        lines = ['a0: &a0 {"k": "lol"}' if shape == "maps" else 'a0: &a0 ["lol", "lol"]']
        for i in range(1, 40):
            items = (", ".join(f"k{j}: *a{i - 1}" for j in range(4)) if shape == "maps"
                     else ", ".join([f"*a{i - 1}"] * 4))
            lines.append(f"a{i}: &a{i} " + ("{" + items + "}" if shape == "maps"
                                            else "[" + items + "]"))
        if shape == "in-lots":
            lines.append("lots: *a39")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bomb.yaml"
        path.write_text("format: taxopt.household/1\n" + "\n".join(lines) + "\n")
        t0 = time.perf_counter()
        line = _line_of(from_json, path)
        assert time.perf_counter() - t0 < 0.5
    assert line.endswith("YAML aliases (*name) would add more than 10,000 values to the "
                         "document; write the values out instead")
