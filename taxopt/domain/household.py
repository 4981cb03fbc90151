"""A validated, immutable household with numpy arrays ready for vectorized work.

Everything downstream (tax, model, decode, audit) reads these arrays; no one
reads the raw input again. Every rule that relates two records is checked
here and raised as `InvalidInput` naming household, record and field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as _field
from itertools import repeat
from typing import Any, TypeVar

import numpy as np

from ..errors import InvalidInput
from ..limits import MONEY_MAX, PRICE_MAX, PRICE_MIN, shown
from ..options import Options
from .funding import Funding, pack_funding
from .lots import LotColumns
from .schema import HouseholdRecord, Security

_T = TypeVar("_T")

CASH = "cash"
TAXABLE, TAX_DEFERRED, TAX_FREE = 0, 1, 2
TAX_TYPES = ("taxable", "tax_deferred", "tax_free")


@dataclass(frozen=True, slots=True)
class TaxProfile:
    """Marginal rates and the year's prior results that enter Schedule D netting."""

    short_term_rate: float
    long_term_rate: float
    ytd_short: float
    ytd_long: float
    carry_short: float
    carry_long: float
    offset_limit: float
    niit_rate: float = 0.0                # inside both capital-gains rates, if paid
    ordinary_rate: float | None = None    # None: short_term_rate - niit_rate
    state_rate: float | None = None       # None: 0 (stated as an assumption)

    @property
    def ordinary(self) -> float:
        """Marginal rate on ordinary income that is not investment income (IRA payouts)."""
        return (self.short_term_rate - self.niit_rate if self.ordinary_rate is None
                else self.ordinary_rate)

    @property
    def state(self) -> float:
        """State rate on interest, for tax-exempt securities that are not in-state."""
        return 0.0 if self.state_rate is None else self.state_rate


@dataclass(frozen=True, slots=True, eq=False)
class Securities:
    """Per-symbol data; ``exposure[s, k]`` is the fraction of symbol s in class k."""

    symbol: tuple[str, ...]
    price: np.ndarray
    exposure: np.ndarray
    wash_group: np.ndarray
    wash_group_names: tuple[str, ...]
    dist_yield: np.ndarray
    qualified: np.ndarray
    tax_exempt: np.ndarray
    expected_return: np.ndarray
    fractional: np.ndarray
    tradable: np.ndarray
    in_state: np.ndarray | None = None          # tax-exempt and free of the state's tax
    qualified_given: np.ndarray | None = None   # `qualified` was in the input

    def __len__(self) -> int:
        return len(self.symbol)


@dataclass(frozen=True, slots=True, eq=False)
class Accounts:
    """Per-account data; bands and the buy menu are dense (account x class/symbol)."""

    account_id: tuple[str, ...]
    goal: np.ndarray
    tax_type: np.ndarray
    cash: np.ndarray
    cash_flow: np.ndarray
    min_cash: np.ndarray
    band_lo: np.ndarray
    band_hi: np.ndarray
    banded: np.ndarray
    buyable: np.ndarray

    def __len__(self) -> int:
        return len(self.account_id)


@dataclass(frozen=True, slots=True, eq=False)
class Goals:
    """Per-goal targets over classes (cash included) and the optional hard tolerance."""

    goal_id: tuple[str, ...]
    target: np.ndarray
    tolerance: np.ndarray

    def __len__(self) -> int:
        return len(self.goal_id)


@dataclass(frozen=True, slots=True, eq=False)
class Lots:
    """Tax lots: shares held, total cost basis (NaN where unknown) and acquisition day."""

    lot_id: tuple[str, ...]
    account: np.ndarray
    security: np.ndarray
    shares: np.ndarray
    basis: np.ndarray
    acquired: np.ndarray

    def __len__(self) -> int:
        return len(self.lot_id)


@dataclass(frozen=True, slots=True, eq=False)
class RecentTrades:
    """Trades of the last days, for the wash-sale rule."""

    account: np.ndarray
    security: np.ndarray
    is_buy: np.ndarray
    shares: np.ndarray
    date: np.ndarray
    realized_gain: np.ndarray

    def __len__(self) -> int:
        return len(self.account)


@dataclass(frozen=True, slots=True, eq=False)
class Household:
    """One household, validated; arrays are indexed by the positions in the id tuples."""

    household_id: str
    as_of: np.datetime64
    tax: TaxProfile
    classes: tuple[str, ...]
    securities: Securities
    goals: Goals
    accounts: Accounts
    lots: Lots
    recent: RecentTrades
    options: Options
    funding: Funding | None = None   # goal-level flows (contract 1.1); None: none given
    # Values derived from this household alone, computed once (`cached`). Not an init
    # field: `dataclasses.replace` makes a new household with an empty memo.
    _memo: dict[Any, Any] = _field(default_factory=dict, init=False, repr=False,
                                  compare=False)

    def cached(self, key: Any, make: Callable[[], _T]) -> _T:
        """``make()``, computed once per household: the model, the audit and the summary
        each ask for the same derived arrays (anniversaries, replacements, after-tax
        values). Only for values that depend on this household's data alone (and on
        ``key``); their arrays are returned read-only, so no caller can change them."""
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = _read_only(make())
            return value

    @property
    def cash_class(self) -> int:
        """Index of the ``cash`` class (always the last one)."""
        return len(self.classes) - 1

    def with_options(self, **changes: Any) -> Household:
        """The same household with some optimizer knobs changed."""
        from dataclasses import replace
        return replace(self, options=self.options.replace(self.household_id, **changes))

    def with_prices(self, prices: dict[str, float]) -> Household:
        """The same household at new prices (a market move between two solves)."""
        from dataclasses import replace
        price = self.securities.price.copy()
        index = {s: i for i, s in enumerate(self.securities.symbol)}
        for symbol, value in prices.items():
            if symbol not in index:
                raise InvalidInput(self.household_id, f"prices[{symbol}]", "symbol",
                                   "unknown symbol")
            if not np.isfinite(value) or value <= 0:
                raise InvalidInput(self.household_id, f"securities[{symbol}]", "price",
                                   f"must be > 0, got {value}")
            if not PRICE_MIN <= value <= PRICE_MAX:
                raise InvalidInput(self.household_id, f"securities[{symbol}]", "price",
                                   f"must be from {shown(PRICE_MIN)} to {shown(PRICE_MAX)} "
                                   f"(taxopt's limits for prices), got {value}")
            price[index[symbol]] = value
        held = np.bincount(self.lots.security, weights=self.lots.shares,
                           minlength=len(price)) * price
        if np.any(held > MONEY_MAX) or held.sum() + self.accounts.cash.sum() > MONEY_MAX:
            raise InvalidInput(self.household_id, "household", "prices",
                               "at these prices the household's holdings are worth more "
                               f"than taxopt's limit of {shown(MONEY_MAX)} for money")
        return replace(self, securities=replace(self.securities, price=price))


def _unique(hh: str, kind: str, key: str, values: list[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, v in enumerate(values):
        if v in index:
            raise InvalidInput(hh, f"{kind}[{i}] ({key} {v})", key,
                               f"duplicate {key}; it is already used by {kind}[{index[v]}]")
        index[v] = i
    return index


@dataclass(frozen=True, slots=True, eq=False)
class SecurityTable:
    """A household's securities checked and packed once, for every household that gives
    the same table: a batch's households share one securities table (see
    `load._security_table`), and its arrays are read-only, so sharing them is safe."""

    records: list[Security]       # as given (input order)
    index: dict[str, int]         # symbol -> position in symbol order
    held: frozenset[str]          # the classes the securities hold (cash not included)
    classes: tuple[str, ...]      # the held classes in order, then cash
    packed: Securities


def security_table(hh: str | None, records: list[Security]) -> SecurityTable:
    """The securities' table; `InvalidInput` (naming household ``hh``) for a symbol
    given twice."""
    _unique(hh, "securities", "symbol", [s.symbol for s in records])
    # Securities are packed in symbol order so the input order never changes the output.
    secs = sorted(records, key=lambda s: s.symbol)
    held: set[str] = set()
    for s in secs:
        held.update(s.exposures or {s.asset_class: 1.0})
    held.discard(CASH)
    classes = (*sorted(held), CASH)
    return SecurityTable(records, {s.symbol: i for i, s in enumerate(secs)}, frozenset(held),
                         classes, _pack_securities(secs, {c: i for i, c in enumerate(classes)}))


def build_household(rec: HouseholdRecord, lots: LotColumns,
                    table: SecurityTable | None = None) -> Household:
    """Check the relations between records and pack the household into arrays
    (``table``: ``rec.securities`` already checked and packed)."""
    hh = rec.household_id
    if table is None:
        table = security_table(hh, rec.securities)
    sec_ix = table.index
    goal_ix = _unique(hh, "goals", "goal_id", [g.goal_id for g in rec.goals])
    acct_ix = _unique(hh, "accounts", "account_id", [a.account_id for a in rec.accounts])
    if len(set(lots.lot_id)) != len(lots):
        _unique(hh, "lots", "lot_id", lots.lot_id)

    held_classes = table.held
    for gi, g in enumerate(rec.goals):
        for c in g.targets:
            if c != CASH and c not in held_classes:
                raise InvalidInput(hh, f"goals[{gi}] (goal_id {g.goal_id})", f"targets.{c}",
                                   f"asset class '{c}' is not the class of any security")
    # Every goal's class is held (checked above): the classes are the securities' own.
    classes = table.classes
    cls_ix = {c: i for i, c in enumerate(classes)}
    n_cls = len(classes)

    sec = table.packed
    goals = Goals(
        goal_id=tuple(goal_ix),
        target=np.array([[g.targets.get(c, 0.0) for c in classes] for g in rec.goals]),
        tolerance=np.array([np.nan if g.drift_tolerance is None else g.drift_tolerance
                            for g in rec.goals]),
    )
    accounts = _pack_accounts(rec, goal_ix, sec_ix, cls_ix, n_cls, sec.tradable)
    lot_arrays = _pack_lots(rec, lots, acct_ix, sec_ix, accounts.tax_type, sec.price,
                            accounts.cash)
    recent = _pack_recent(rec, acct_ix, sec_ix)

    tp = rec.tax_profile
    for name in ("short_term_rate", "long_term_rate"):
        if tp.niit_rate > getattr(tp, name):
            raise InvalidInput(hh, "tax_profile", "niit_rate",
                               f"{tp.niit_rate} is counted inside {name} "
                               f"({getattr(tp, name)}), so it cannot exceed it")
    tax = TaxProfile(tp.short_term_rate, tp.long_term_rate, tp.realized_ytd.short_term,
                     tp.realized_ytd.long_term, tp.loss_carryforward.short_term,
                     tp.loss_carryforward.long_term, tp.ordinary_offset_limit,
                     tp.niit_rate, tp.ordinary_rate, tp.state_rate)
    return Household(hh, np.datetime64(rec.as_of, "D"), tax, classes, sec, goals, accounts,
                     lot_arrays, recent, Options.from_dict(rec.options, hh),
                     pack_funding(rec, tax.ordinary))


def _pack_securities(secs: list[Security], cls_ix: dict[str, int]) -> Securities:
    """The securities (in symbol order) as read-only arrays (households share them)."""
    n = len(secs)
    exposure = np.zeros((n, len(cls_ix)))
    group_names: dict[str, int] = {}
    group = np.empty(n, dtype=np.int64)
    for i, s in enumerate(secs):
        for c, w in (s.exposures or {s.asset_class: 1.0}).items():
            exposure[i, cls_ix[c]] += w
        group[i] = group_names.setdefault(s.wash_group or s.symbol, len(group_names))
    ss = secs
    return _read_only(Securities(
        symbol=tuple(s.symbol for s in ss),
        price=np.array([s.price for s in ss], dtype=float),
        exposure=exposure,
        wash_group=group,
        wash_group_names=tuple(group_names),
        dist_yield=np.array([s.yield_ for s in ss], dtype=float),
        qualified=np.array([s.qualified for s in ss], dtype=float),
        tax_exempt=np.array([s.tax_exempt for s in ss], dtype=bool),
        expected_return=np.array([np.nan if s.expected_return is None else s.expected_return
                                  for s in ss]),
        fractional=np.array([s.fractional for s in ss], dtype=bool),
        tradable=np.array([s.tradable for s in ss], dtype=bool),
        in_state=np.array([s.in_state for s in ss], dtype=bool),
        qualified_given=np.array(["qualified" in s.model_fields_set for s in ss], dtype=bool),
    ))


def _pack_accounts(rec: HouseholdRecord, goal_ix: dict[str, int], sec_ix: dict[str, int],
                   cls_ix: dict[str, int], n_cls: int, tradable: np.ndarray) -> Accounts:
    """``tradable``: per security, in ``sec_ix`` order."""
    hh = rec.household_id
    n, n_sec = len(rec.accounts), len(sec_ix)
    band_lo, band_hi = np.zeros((n, n_cls)), np.ones((n, n_cls))
    banded = np.zeros((n, n_cls), dtype=bool)
    buyable = np.ones((n, n_sec), dtype=bool)
    goal = []
    for i, a in enumerate(rec.accounts):
        if a.goal_id not in goal_ix:
            raise InvalidInput(hh, _account_at(i, a), "goal_id", f"unknown goal '{a.goal_id}'")
        goal.append(goal_ix[a.goal_id])
        if a.bands or a.restricted or a.allowed is not None:
            _limit_account(hh, i, a, cls_ix, sec_ix, band_lo, band_hi, banded, buyable)
    missing = sorted(set(goal_ix) - {a.goal_id for a in rec.accounts})
    if missing:
        gi = goal_ix[missing[0]]
        raise InvalidInput(hh, f"goals[{gi}] (goal_id {missing[0]})", "goal_id",
                           "no account belongs to this goal")
    return Accounts(
        account_id=tuple(a.account_id for a in rec.accounts),
        goal=np.array(goal, dtype=np.int64),
        tax_type=np.array([TAX_TYPES.index(a.tax_type) for a in rec.accounts], dtype=np.int8),
        cash=np.array([a.cash for a in rec.accounts], dtype=float),
        cash_flow=np.array([a.cash_flow for a in rec.accounts], dtype=float),
        min_cash=np.array([a.min_cash for a in rec.accounts], dtype=float),
        band_lo=band_lo, band_hi=band_hi, banded=banded,
        buyable=buyable & tradable[None, :],
    )


def _account_at(i: int, a: Any) -> str:
    return f"accounts[{i}] (account_id {a.account_id})"


def _limit_account(hh: str, i: int, a: Any, cls_ix: dict[str, int], sec_ix: dict[str, int],
                   band_lo: np.ndarray, band_hi: np.ndarray, banded: np.ndarray,
                   buyable: np.ndarray) -> None:
    """Account ``i``'s bands and buy menu, written into its rows."""
    where = _account_at(i, a)
    for c, (lo, hi) in (a.bands or {}).items():
        if c not in cls_ix:
            raise InvalidInput(hh, where, f"bands.{c}",
                               f"asset class '{c}' is not the class of any security")
        band_lo[i, cls_ix[c]], band_hi[i, cls_ix[c]] = lo, hi
        banded[i, cls_ix[c]] = True
    for name in ("restricted", "allowed"):
        for sym in getattr(a, name) or ():
            if sym not in sec_ix:
                raise InvalidInput(hh, where, name, f"unknown symbol '{sym}'")
    if a.allowed is not None:
        buyable[i] = False
        buyable[i, [sec_ix[s] for s in a.allowed]] = True
    if a.restricted:
        buyable[i, [sec_ix[s] for s in a.restricted]] = False


_EPOCH_ORDINAL = 719163          # date(1970, 1, 1).toordinal()
_NAT = np.iinfo(np.int64).min    # datetime64's NaT as an integer


def _days(dates: list) -> np.ndarray:
    """Dates (None allowed) as datetime64[D], via ordinals: 10x faster than numpy's
    conversion of date objects one by one."""
    return np.array([_NAT if d is None else d.toordinal() - _EPOCH_ORDINAL for d in dates],
                    dtype=np.int64).view("datetime64[D]")


def _pack_lots(rec: HouseholdRecord, cols: LotColumns, acct_ix: dict[str, int],
               sec_ix: dict[str, int], tax_type: np.ndarray, price: np.ndarray,
               cash: np.ndarray) -> Lots:
    """Resolve the lots' references and check them column by column; the first
    failing lot is reported. Each check is one or two whole-column operations and
    finds the lot at fault only when it fails (a 150-lot book pays for the few numpy
    calls, not for the lots)."""
    hh, n = rec.household_id, len(cols)

    def fail(i: int, field: str, problem: str) -> InvalidInput:
        return InvalidInput(hh, f"lots[{i}] (lot_id {cols.lot_id[i]})", field, problem)

    account = np.fromiter(map(acct_ix.get, cols.account_id, repeat(-1)), np.int64, n)
    security = np.fromiter(map(sec_ix.get, cols.symbol, repeat(-1)), np.int64, n)
    if n and account.min() < 0:
        i = int(np.argmax(account < 0))
        raise fail(i, "account_id", f"unknown account '{cols.account_id[i]}'")
    if n and security.min() < 0:
        i = int(np.argmax(security < 0))
        raise fail(i, "symbol", f"unknown symbol '{cols.symbol[i]}'")
    basis, acquired = cols.basis, cols.acquired
    missing_basis, missing_date = np.isnan(basis), np.isnat(acquired)
    missing = (missing_basis | missing_date) & (tax_type == TAXABLE)[account]
    if missing.any():
        i = int(np.argmax(missing))
        raise fail(i, "cost_basis" if missing_basis[i] else "acquired",
                   "required for a lot in a taxable account")
    future = acquired > np.datetime64(rec.as_of, "D")     # NaT (no date) is never after
    if future.any():
        i = int(np.argmax(future))
        raise fail(i, "acquired", f"{acquired[i]} is after as_of {rec.as_of.isoformat()}")
    value = cols.shares * price[security]
    if n and value.max() > MONEY_MAX:
        i = int(np.argmax(value > MONEY_MAX))
        raise fail(i, "shares", f"the lot is worth {value[i]:,.0f} dollars at its price, over "
                                f"taxopt's limit of {shown(MONEY_MAX)} for money")
    total = float(value.sum() + cash.sum())
    if total > MONEY_MAX:
        raise InvalidInput(hh, "household", "lots",
                           f"holdings and cash are worth {total:,.0f} dollars, over taxopt's "
                           f"limit of {shown(MONEY_MAX)} for money")
    # Lots in lot-id order, whatever the input's row order: the model's columns, and so
    # the solver's choice between equally good lots, must not depend on it.
    if cols.lot_id == sorted(cols.lot_id):    # already in order (ids are unique)
        return Lots(lot_id=tuple(cols.lot_id), account=account, security=security,
                    shares=cols.shares, basis=basis, acquired=acquired)
    ids = np.asarray(cols.lot_id, dtype=str)
    order = np.argsort(ids, kind="stable")
    return Lots(
        lot_id=tuple(ids[order].tolist()),
        account=account[order],
        security=security[order],
        shares=cols.shares[order],
        basis=basis[order],
        acquired=acquired[order],
    )


def _pack_recent(rec: HouseholdRecord, acct_ix: dict[str, int],
                 sec_ix: dict[str, int]) -> RecentTrades:
    hh = rec.household_id
    trades = rec.recent_trades
    for i, t in enumerate(trades):
        where = f"recent_trades[{i}]"
        if t.account_id not in acct_ix:
            raise InvalidInput(hh, where, "account_id", f"unknown account '{t.account_id}'")
        if t.symbol not in sec_ix:
            raise InvalidInput(hh, where, "symbol", f"unknown symbol '{t.symbol}'")
        if t.date > rec.as_of:
            raise InvalidInput(hh, where, "date",
                               f"{t.date.isoformat()} is after as_of {rec.as_of.isoformat()}")
    return RecentTrades(
        account=np.array([acct_ix[t.account_id] for t in trades], dtype=np.int64),
        security=np.array([sec_ix[t.symbol] for t in trades], dtype=np.int64),
        is_buy=np.array([t.side == "buy" for t in trades], dtype=bool),
        shares=np.array([t.shares for t in trades], dtype=float),
        date=_days([t.date for t in trades]),
        realized_gain=np.array([t.realized_gain or 0.0 for t in trades], dtype=float),
    )


def _read_only(value: _T) -> _T:
    """``value`` with its arrays (itself, a tuple's items, a dataclass's fields) made
    read-only: a value kept for the household's lifetime must not be changed by a caller."""
    from dataclasses import fields, is_dataclass

    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif isinstance(value, tuple):
        for item in value:
            _read_only(item)
    elif is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            _read_only(getattr(value, f.name))
    return value
