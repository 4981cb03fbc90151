"""The lots, validated as columns: a large book in a fraction of a record per lot's time.

One pydantic record per lot costs ~2-4 us a lot (120 ms at 30,000 lots, measured);
the columns about 1 us a lot after a fixed ~0.25 ms (`benchmarks/validation.py`).
Here each field becomes one column, and types, ranges, ids and dates are checked on
whole columns. Only input that passes every column check is taken this way; anything
else (a wrong type, a missing field, a bad date anywhere) goes through the `Lot`
record itself, so a bad lot gets exactly the message pydantic gives it.
"""

from __future__ import annotations

import datetime as dt
import operator
from dataclasses import dataclass
from itertools import chain, compress, repeat
from typing import Any

import numpy as np
from pydantic import TypeAdapter

from ..limits import ID_MAX, MONEY_MAX, SHARES_MAX, SHARES_MIN
from .schema import Lot

# Below this many lots one record per lot is faster than the columns' fixed cost of a
# few dozen numpy calls (~0.25 ms; measured crossover near 100 lots).
COLUMNS_FROM = 100
FIELDS = ("lot_id", "account_id", "symbol", "shares", "cost_basis", "acquired")
_ID_FIELDS = FIELDS[:3]
_KNOWN = frozenset(FIELDS)
_EPOCH_ORDINAL = 719163          # date(1970, 1, 1).toordinal()
_NAT = np.iinfo(np.int64).min    # datetime64's NaT as an integer
_DAY_ONE = np.datetime64("0001-01-01", "D")
# What `errors.printable` escapes, as a lookup table over code points (the few above
# U+206F are clipped to the last entry, which is False), and the whitespace characters.
_UNPRINTABLE = np.zeros(0x2070, bool)
_UNPRINTABLE[[*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, *range(0x202A, 0x202F),
              *range(0x2066, 0x206A)]] = True
_SPACES = np.array([*range(0x09, 0x0E), *range(0x1C, 0x21), 0x85, 0xA0, 0x1680,
                    *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000], np.uint32)
_IS_SPACE = np.zeros(0x3002, bool)     # the last entry (False) stands for all above
_IS_SPACE[_SPACES] = True
_LOTS = TypeAdapter(list[Lot])
# Up to this many date strings, C-level `fromisoformat` per string beats the ~25 numpy
# calls of the arithmetic parse (about 3-7 us each on a loaded 2-core machine).
ISO_BY_STRING_UPTO = 1000
# An ISO date's shape as bytes: each digit becomes "0", the dash stays, anything else "x".
_SHAPE = bytes(ord("0") if chr(c) in "0123456789" else ord("-") if chr(c) == "-"
               else ord("x") for c in range(256))
_NONE = type(None)


@dataclass(frozen=True, slots=True, eq=False)
class LotColumns:
    """The lots of one household as columns (references not resolved yet)."""

    lot_id: list[str]
    account_id: list[str]
    symbol: list[str]
    shares: np.ndarray
    basis: np.ndarray           # NaN where not given
    acquired: np.ndarray        # datetime64[D], NaT where not given

    def __len__(self) -> int:
        return len(self.lot_id)


def lot_columns(lots: Any) -> LotColumns:
    """The lots as columns; a `pydantic.ValidationError` (located in the list) if any
    lot breaks a rule of the `Lot` record."""
    cols = _fast(lots) if isinstance(lots, list) and len(lots) >= COLUMNS_FROM else None
    if cols is not None:
        return cols
    records = _LOTS.validate_python(lots)   # raises the first lot's error, as pydantic says
    return _from_records(records)


def _fast(lots: Any) -> LotColumns | None:
    """Columns when every lot is plainly valid; None if anything needs a closer look."""
    if type(lots) is not list:
        return None
    if not lots:
        return _from_records([])
    if set(map(type, lots)) != {dict}:
        return None
    col = {name: list(map(dict.get, lots, repeat(name))) for name in FIELDS}
    if not _only_known_fields(lots, col):
        return None
    try:   # a book names a few accounts and symbols: each is checked once
        refs = [*set(col["account_id"]), *set(col["symbol"])]
    except TypeError:                  # an unhashable cell (a list, ...)
        return None
    if not (_plain_ids(col["lot_id"]) and _plain_ids(refs)):
        return None
    shares = _numbers(col["shares"], optional=False)
    basis = _numbers(col["cost_basis"], optional=True)
    if shares is None or basis is None or not _in_range(shares, basis):
        return None
    acquired = _dates(col["acquired"])
    if acquired is None:
        return None
    return LotColumns(col["lot_id"], col["account_id"], col["symbol"], shares, basis,
                      acquired)


def _only_known_fields(lots: list[dict], col: dict[str, list[Any]]) -> bool:
    """No lot has a field the record does not know, provided the required fields hold
    no None (their own column checks make sure). Counted first: when the lots' sizes add
    up to the required fields plus the optional values that are not None, no lot can
    have another field; otherwise (an explicit null, an unknown field) every key is
    looked at."""
    optional = FIELDS[4:]
    given = len(lots) * len(FIELDS) - sum(col[name].count(None) for name in optional)
    if sum(map(len, lots)) == given:
        return True
    return set(chain.from_iterable(lots)) <= _KNOWN


def _plain_ids(values: list[Any]) -> bool:
    """Every value a printable string of 1 to ID_MAX characters, not padded."""
    if set(map(type, values)) != {str}:
        return False
    lengths = list(map(len, values))
    if min(lengths) < 1 or max(lengths) > ID_MAX:
        return False
    # `str.isprintable` rejects every character `errors.printable` escapes (and more),
    # and `str.strip` removes exactly the characters of `_IS_SPACE`: both at C speed.
    if list(map(str.strip, values)) != values:
        return False
    text = "".join(values)
    if text.isprintable():
        return True
    try:
        codes = np.frombuffer(text.encode("utf-32-le"), np.uint32)
    except UnicodeEncodeError:        # a lone surrogate: let pydantic judge it
        return False
    return not np.any(_UNPRINTABLE[np.minimum(codes, len(_UNPRINTABLE) - 1)])


def _numbers(values: list[Any], optional: bool) -> np.ndarray | None:
    """Finite float column (NaN for None when optional), or None if any cell is not a
    plain number."""
    kinds = set(map(type, values))
    if not kinds <= ({float, int, _NONE} if optional else {float, int}):
        return None
    try:
        out = np.array(values, dtype=float)       # None becomes NaN
    except (OverflowError, ValueError, TypeError):
        return None
    # Each NaN or infinity must stand for a None: a NaN or infinity given is refused.
    missing = values.count(None) if _NONE in kinds else 0
    return out if np.count_nonzero(np.isfinite(out)) == len(values) - missing else None


def _in_range(shares: np.ndarray, basis: np.ndarray) -> bool:
    """Shares within taxopt's limits and every basis given from 0 to the money limit
    (the reductions skip the NaN of a basis not given)."""
    return (SHARES_MIN <= shares.min() and shares.max() <= SHARES_MAX
            and not np.fmin.reduce(basis) < 0 and not np.fmax.reduce(basis) > MONEY_MAX)


def _distinct(values: list[Any]) -> list[Any]:
    """The values without repeats, in order (a book's lots share a few purchase dates:
    parsing each once takes 13 instead of 34 ms at 100,000 lots); as given if any
    cannot be hashed."""
    try:
        return list(dict.fromkeys(values))
    except TypeError:
        return values


def _dates(values: list[Any]) -> np.ndarray | None:
    """A datetime64[D] column from ISO strings, dates and None; None if any cell is
    anything else (a datetime, a number, another format, an impossible day)."""
    if len(values) <= ISO_BY_STRING_UPTO:   # repeats would save less than finding them
        return _parse_dates(values)
    distinct = _distinct(values)
    if len(distinct) * 2 > len(values):
        return _parse_dates(values)
    parsed = _parse_dates(distinct)
    if parsed is None:
        return None
    day = dict(zip(distinct, parsed.view(np.int64).tolist(), strict=True))
    return np.fromiter(map(day.__getitem__, values), np.int64, len(values)).view("datetime64[D]")


def _parse_dates(values: list[Any]) -> np.ndarray | None:
    """`_dates`, each cell parsed."""
    types = list(map(type, values))
    kinds = set(types)
    if kinds == {str}:
        return _iso_strings(values)
    if not kinds <= {str, dt.date, _NONE}:
        return None
    out = np.full(len(values), _NAT, dtype=np.int64).view("datetime64[D]")
    for kind, parse in ((str, _iso_strings), (dt.date, _date_objects)):
        if kind in kinds:
            where = list(map(operator.is_, types, repeat(kind)))
            parsed = parse(list(compress(values, where)))
            if parsed is None:
                return None
            out[np.array(where)] = parsed
    return out


def _date_objects(dates: list[dt.date]) -> np.ndarray:
    """Date objects as datetime64[D], via ordinals."""
    days = np.fromiter(map(dt.date.toordinal, dates), np.int64, len(dates))
    return (days - _EPOCH_ORDINAL).view("datetime64[D]")


def _iso_strings(text: list[str]) -> np.ndarray | None:
    """Strings that are all exactly ``YYYY-MM-DD`` with a real calendar day, parsed
    arithmetically from their digits (numpy's string parser is 10x slower); a few
    strings by `date.fromisoformat` each."""
    if len(text) <= ISO_BY_STRING_UPTO:
        return _iso_by_string(text)
    arr = np.array(text)
    if arr.dtype != np.dtype("<U10"):
        return None
    c = arr.view(np.uint32).reshape(-1, 10).astype(np.int32) - ord("0")
    dash = ord("-") - ord("0")
    if not (np.all(c[:, 4] == dash) and np.all(c[:, 7] == dash)
            and np.all(((c >= 0) & (c <= 9)).sum(axis=1) == 8)):
        return None
    year = c[:, 0] * 1000 + c[:, 1] * 100 + c[:, 2] * 10 + c[:, 3]
    month = c[:, 5] * 10 + c[:, 6]
    day = c[:, 8] * 10 + c[:, 9]
    if np.any((year < 1) | (month < 1) | (month > 12) | (day < 1)):
        return None
    first = ((year - 1970) * 12 + month - 1).astype("datetime64[M]").astype("datetime64[D]")
    after = ((year - 1970) * 12 + month).astype("datetime64[M]").astype("datetime64[D]")
    if np.any(day > (after - first).astype(np.int64)):
        return None                    # 2026-02-30 and the like
    return first + (day - 1).astype("timedelta64[D]")


def _iso_by_string(text: list[str]) -> np.ndarray | None:
    """`_iso_strings` for a few strings: the same days, the same strings refused.

    Each string is 10 ASCII characters shaped ``dddd-dd-dd`` (checked on all of them at
    once), so `date.fromisoformat` sees no other ISO form (week dates, basic format)
    and refuses only impossible days (year 0, 2026-02-30 and the like)."""
    if set(map(len, text)) != {10}:
        return None
    joined = "".join(text)
    if not joined.isascii() or joined.encode().translate(_SHAPE) != b"0000-00-00" * len(text):
        return None
    try:
        days = np.fromiter(map(dt.date.toordinal, map(dt.date.fromisoformat, text)),
                           np.int64, len(text))
    except ValueError:
        return None
    days -= _EPOCH_ORDINAL
    return days.view("datetime64[D]")


def _from_records(records: list[Lot]) -> LotColumns:
    """Columns from validated `Lot` records (the careful path)."""
    return LotColumns(
        lot_id=[lot.lot_id for lot in records],
        account_id=[lot.account_id for lot in records],
        symbol=[lot.symbol for lot in records],
        shares=np.array([lot.shares for lot in records], dtype=float),
        basis=np.array([np.nan if lot.cost_basis is None else lot.cost_basis
                        for lot in records], dtype=float),
        acquired=np.array([_NAT if lot.acquired is None
                           else lot.acquired.toordinal() - _EPOCH_ORDINAL
                           for lot in records], dtype=np.int64).view("datetime64[D]"),
    )
