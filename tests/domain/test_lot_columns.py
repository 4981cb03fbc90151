"""Lots validated as columns say exactly what one pydantic record per lot would say.

The reference is the household validated the careful way: the whole `HouseholdRecord`
(lots included) through pydantic, then the same cross-record checks. Whatever a lot
holds, both must accept it with the same arrays or refuse it with the same line.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import taxopt.domain.lots as lots_mod
from taxopt import synth
from taxopt.domain import from_dict
from taxopt.domain.household import build_household
from taxopt.domain.load import _to_invalid_input
from taxopt.domain.lots import _SPACES, _UNPRINTABLE, _from_records
from taxopt.domain.schema import HouseholdRecord
from taxopt.errors import InvalidInput, printable

BOOK = synth.household(7, n_lots=60, n_accounts=3)


@pytest.fixture(autouse=True, scope="module")
def _columns_for_any_size():
    """The book is small; take the column path at every size so it is what is tested."""
    saved = lots_mod.COLUMNS_FROM
    lots_mod.COLUMNS_FROM = 0
    yield
    lots_mod.COLUMNS_FROM = saved


def _reference(raw: dict[str, Any]):
    """The household as one pydantic record per lot would have it (or its error line)."""
    hh = raw.get("household_id") if isinstance(raw.get("household_id"), str) else None
    try:
        rec = HouseholdRecord.model_validate(raw)
    except ValidationError as err:
        return _to_invalid_input(err, raw, hh).line()
    try:
        return build_household(rec, _from_records(rec.lots))
    except InvalidInput as err:
        return err.line()


def _columnar(raw: dict[str, Any]):
    try:
        return from_dict(raw)
    except InvalidInput as err:
        return err.line()


def _same(raw: dict[str, Any]) -> None:
    want, got = _reference(copy.deepcopy(raw)), _columnar(raw)
    if isinstance(want, str) or isinstance(got, str):
        assert got == want
        return
    a, b = want.lots, got.lots
    assert a.lot_id == b.lot_id
    for name in ("account", "security", "shares", "basis", "acquired"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


CELLS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10**12), st.integers(10**300, 10**310),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -0.0, 1e-7, 1e-6, 1e10, 1e10 + 1, 1e12, 1e13, math.nan, math.inf]),
    st.text(max_size=12),
    st.sampled_from(["", " ", "2026-11-24", "2026-02-29", "2024-02-29", "2026-13-01",
                     "0000-01-01", "0001-01-01", "20200115", "2020-1-15", "2020-01-15 ",
                     "2020-01-15T00:00", "2020\u201301\u201315", "\uff12020-01-15",
                     "brokerage-1", "roth-1", "ira-1", "VTI", "IVV", "L-00001", "A\nB",
                     "A\x1b", "\u00a0A", "A\u202e", "\ud800", "x" * 257]),
    st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2030, 1, 1)),
    st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2030, 1, 1)),
    st.just([1, 2]), st.just({"a": 1}),
)
FIELDS = ["lot_id", "account_id", "symbol", "shares", "cost_basis", "acquired", "extra"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.integers(0, 59), st.sampled_from([*FIELDS, "drop"]),
                                st.sampled_from(FIELDS[:6]), CELLS), min_size=1, max_size=3))
def test_any_lot_edit_gets_the_pydantic_answer(edits):
    raw = copy.deepcopy(BOOK)
    for i, field, dropped, value in edits:
        if field == "drop":
            raw["lots"][i].pop(dropped, None)
        else:
            raw["lots"][i][field] = value
    _same(raw)


INTERESTING = [
    None, True, 0, -1, 7, 10**12, 10**400, -0.0, 1e-7, 1e-6, 1e10, 1e10 + 1, 1e12, 1e13,
    math.nan, math.inf, -math.inf, "", " ", "12", "2026-11-24", "2026-02-29", "2024-02-29",
    "2026-13-01", "0000-01-01", "0001-01-01", "20200115", "2020-1-15", "2020-01-15 ",
    "2020-01-15T00:00", "\uff12020-01-15", "brokerage-1", "roth-1", "IVV", "L-00001",
    "A\nB", "A\x1b", "\x7f", "A\x85", " A", "A ", "\u00a0A", "A\u3000", "A\u202e",
    "\ud800", "x" * 256, "x" * 257, dt.date(2020, 1, 15), dt.date(2030, 1, 1),
    dt.datetime(2020, 1, 15), dt.datetime(2020, 1, 15, 9), [1, 2], {"a": 1},
]


@pytest.mark.parametrize("field", FIELDS)
def test_every_interesting_cell_in_every_field(field):
    """Each value above, in each field of lot 3 (and as a dropped field), both ways."""
    for value in [*INTERESTING, "drop"]:
        raw = copy.deepcopy(BOOK)
        if value == "drop":
            raw["lots"][3].pop(field, None)
        else:
            raw["lots"][3][field] = value
        _same(raw)


@pytest.mark.parametrize("lots", [
    "not a list", [1, 2], [None], {"lot_id": "A"}, [],
], ids=["string", "numbers", "null", "object", "empty"])
def test_lots_that_are_not_a_list_of_objects(lots):
    raw = copy.deepcopy(BOOK)
    raw["lots"] = lots
    for acc in raw["accounts"]:
        acc.pop("restricted", None)
    _same(raw)


def test_errors_keep_the_record_order():
    """A bad account is reported before a bad lot, a bad lot before a bad option."""
    raw = copy.deepcopy(BOOK)
    raw["lots"][5]["shares"] = -1
    raw["options"] = {"tracking_weight": "x"}
    raw["recent_trades"] = [{"bad": 1}]
    _same(raw)
    assert "lots[5]" in _columnar(copy.deepcopy(raw))
    raw["accounts"][0]["cash"] = -1
    assert "accounts[0]" in _columnar(raw)


def test_a_clean_book_never_builds_a_record_per_lot(monkeypatch):
    """The point of the columns: a valid book takes the fast path all the way."""
    def refuse(*_args, **_kwargs):
        raise AssertionError("pydantic ran on the lots")
    monkeypatch.setattr(lots_mod._LOTS, "validate_python", refuse)
    raw = synth.household(3, n_lots=2000, n_accounts=3)
    raw["lots"][0]["acquired"] = dt.date(2020, 1, 15)   # real dates mix with ISO strings
    raw["lots"][1]["cost_basis"] = None                 # an IRA lot may omit it
    raw["lots"][1]["account_id"] = next(a["account_id"] for a in raw["accounts"]
                                        if a["tax_type"] != "taxable")
    hh = from_dict(raw)
    assert len(hh.lots) == 2000
    assert str(hh.lots.acquired[0]) == "2020-01-15"


def test_lookup_tables_match_python():
    """The column checks' tables agree with `errors.printable` and `str.isspace`."""
    import sys

    spaces = [c for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    assert _SPACES.tolist() == spaces
    for c in range(len(_UNPRINTABLE) + 64):
        ch = chr(c)
        flagged = _UNPRINTABLE[min(c, len(_UNPRINTABLE) - 1)]
        assert bool(flagged) == (printable(ch) != ch), hex(c)


def test_repeated_dates_are_parsed_once_with_the_same_answer():
    # A direct-indexing book buys a hundred stocks each month: 272 dates for 1,009 lots,
    # each parsed once on the column path. Any cell, as text or a date, still gets the
    # answer one record per lot would give.
    from taxopt.synth_book import direct_indexing_book

    book = direct_indexing_book(1, n_lots=1_000, n_stocks=100)
    dates = [lot.get("acquired") for lot in book["lots"]]     # the Roth lots have none
    assert len(set(dates)) * 2 <= len(dates)
    _same(book)
    mixed = copy.deepcopy(book)
    for lot in mixed["lots"][::2]:
        if "acquired" in lot:
            lot["acquired"] = dt.date.fromisoformat(lot["acquired"])
    _same(mixed)
    np.testing.assert_array_equal(from_dict(mixed).lots.acquired, from_dict(book).lots.acquired)
    assert np.isnat(from_dict(book).lots.acquired).sum() == dates.count(None) == 9
    for value in [*INTERESTING, "drop"]:
        _same(_with_acquired(book, value))


def _with_acquired(book, value):
    """A copy of ``book`` with lot 3's date set to ``value`` ("drop": no date)."""
    raw = copy.deepcopy(book)
    if value == "drop":
        raw["lots"][3].pop("acquired")
    else:
        raw["lots"][3]["acquired"] = value
    return raw


@pytest.mark.parametrize("by_string_upto", [0, 10**9], ids=["arithmetic", "fromisoformat"])
def test_both_date_parsers_give_the_pydantic_answer(monkeypatch, by_string_upto):
    """A few dates are parsed string by string, many arithmetically: either way, every
    cell gets the answer one record per lot would give."""
    monkeypatch.setattr(lots_mod, "ISO_BY_STRING_UPTO", by_string_upto)
    for value in [*INTERESTING, "2024-02-30", "2023-02-29", "2000-02-29", "1900-02-29",
                  "9999-12-31", "2020-00-10", "2020-01-00", "2020-01-32", "+020-01-15",
                  "2020/01/15", "2020-01-1\u0661", "2026-W48-2", "2026W482", "2026-W48",
                  "2026-334", "0999-12-31", "drop"]:
        _same(_with_acquired(BOOK, value))


def test_the_date_parsers_agree_on_a_seeded_sweep():
    # Random digit strings of the ISO shape, most of them impossible days: the per-string
    # parse and the arithmetic one accept the same lists and give the same days.
    rng = np.random.default_rng(14)
    for _ in range(300):
        n = int(rng.integers(1, 40))
        y = rng.integers(0, 10_000, n)
        m = rng.integers(0, 14, n)
        d = rng.integers(0, 33, n)
        if rng.random() < 0.7:                  # mostly real days, so lists pass
            m, d = rng.integers(1, 13, n), rng.integers(1, 29, n)
            y = rng.integers(1, 10_000, n)
        text = [f"{a:04d}-{b:02d}-{c:02d}" for a, b, c in zip(y, m, d, strict=True)]
        saved = lots_mod.ISO_BY_STRING_UPTO
        try:
            lots_mod.ISO_BY_STRING_UPTO = 0
            arithmetic = lots_mod._iso_strings(text)
        finally:
            lots_mod.ISO_BY_STRING_UPTO = saved
        by_string = lots_mod._iso_strings(text)
        assert (arithmetic is None) == (by_string is None), text
        if by_string is not None:
            np.testing.assert_array_equal(by_string, arithmetic)
            assert str(by_string[0]) == text[0]


@pytest.mark.parametrize("ident", ["A\u00a0B", "A\u2007B", "\u00e9t\u00e9", "A\u00adB",
                                   "A\u200bB", "A\u3000B", "A\ue000B"])
def test_ids_python_calls_unprintable_are_judged_by_the_table(ident):
    """`str.isprintable` refuses more than `errors.printable` escapes (inner spaces,
    format and private characters): those ids take the table's check, as before."""
    for field in ("lot_id", "account_id", "symbol"):
        raw = copy.deepcopy(BOOK)
        raw["lots"][3][field] = ident
        _same(raw)
    raw = copy.deepcopy(BOOK)
    raw["lots"][3]["lot_id"] = ident
    assert ident in from_dict(raw).lots.lot_id
