"""The stages of one synthetic household, in the order they draw from its generator.

Each stage reads what the earlier ones put into the `Draft` and adds its own
part. The order of the stages, and of the draws inside each, is the
household's definition: moving a draw changes every household after it, so
a change here must keep ``json.dumps(household(seed), sort_keys=True)`` the same
(the tests pin it).
"""

from __future__ import annotations

import datetime as _dt
import math
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from . import params as P
from . import universe as U

__all__ = ["Draft", "accounts_and_mix", "band_and_profile", "cash_and_flows", "dates_before",
           "lots", "menus_and_restrictions", "positions", "recent_trades", "tolerance"]


@dataclass(eq=False)
class Draft:
    """One household while its stages fill it in (arrays per account, position or lot)."""

    rng: np.random.Generator
    n_lots: int
    n_accounts: int
    drift: float
    day_strings: tuple[str, ...]
    short_by_age: np.ndarray
    turning_ages: np.ndarray
    # accounts_and_mix
    st_fed: float = 0.0
    lt_fed: float = 0.0
    state: float = 0.0
    targets: dict[str, float] = field(default_factory=dict)
    t: list[float] = field(default_factory=list)
    classes: list[int] = field(default_factory=list)
    total: float = 0.0
    kinds: list[int] = field(default_factory=list)   # 0 taxable, 1 tax_deferred, 2 tax_free
    planned: Any = None
    cash_frac: Any = None
    invested: Any = None
    full: Any = None
    # positions
    pos_acct: Any = None
    pos_sec: Any = None
    pos_val: Any = None
    pos_start: list[int] = field(default_factory=list)
    # lots
    taxable_acc: Any = None
    lot_acct: Any = None
    lot_sec: Any = None
    lot_taxable: Any = None
    shares: Any = None
    frac: Any = None
    value: Any = None
    days: Any = None
    turning: Any = None
    basis: Any = None
    keep_basis: Any = None
    # menus_and_restrictions, recent_trades
    dirty: Any = None
    menus: dict[int, list[int]] = field(default_factory=dict)
    restricted: dict[int, int] = field(default_factory=dict)
    buyable: Any = None
    trades: list[dict[str, Any]] = field(default_factory=list)
    trade_acct: list[int] = field(default_factory=list)
    # cash_and_flows
    frozen_cls: Any = None
    frozen_acct: list[float] = field(default_factory=list)
    cash: list[float] = field(default_factory=list)
    acct_value: list[float] = field(default_factory=list)
    min_cash: list[float] = field(default_factory=list)
    flow: list[float] = field(default_factory=list)
    # band_and_profile, tolerance
    band: float | None = None
    realized: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    tolerance: float | None = None


@lru_cache(maxsize=64)
def dates_before(as_of: str) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Per ``as_of``, once: ISO strings of the days before it, short-term ages, turning ages.

    Index = age in days. The strings make lot dates a list lookup instead of a
    per-household conversion. A lot is long-term when ``as_of`` is after the
    anniversary of its purchase (29 February counts as 28 February); the
    short-term mask and the ages whose first long-term day is 1 to 10 days
    after ``as_of`` apply that rule rather than assume 365-day years.
    """
    day = _dt.date.fromisoformat(as_of)
    day64 = np.datetime64(day, "D")
    ages = np.arange(P.DAYS_RANGE[1] + 1)
    strings = tuple(np.datetime_as_string(day64 - ages.astype("timedelta64[D]")).tolist())
    short = np.zeros(len(ages), dtype=bool)
    turning = []
    for age in range(400):
        acq = day - _dt.timedelta(days=age)
        try:
            anniv = acq.replace(year=acq.year + 1)
        except ValueError:  # 29 February
            anniv = _dt.date(acq.year + 1, 2, 28)
        short[age] = not day > anniv
        if 1 <= (anniv + _dt.timedelta(days=1) - day).days <= 10:
            turning.append(age)
    return strings, short, np.array(turning, dtype=np.int64)


def cents(x: float) -> float:
    return round(float(x), 2)


def _split_counts(rng: np.random.Generator, total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` items over ``len(weights)`` bins, at least one each when possible.

    When there are fewer items than bins, the largest bins get one each and
    the others none (their positions are dropped).
    """
    n = len(weights)
    if total < n:
        counts = np.zeros(n, dtype=np.int64)
        counts[np.argsort(-weights, kind="stable")[:total]] = 1
        return counts
    return 1 + rng.multinomial(total - n, weights / weights.sum())


def _targets(rng: np.random.Generator) -> tuple[dict[str, float], list[float]]:
    """Glide-path targets in whole thousandths, bonds taking the remainder."""
    age = int(rng.integers(P.AGE_RANGE[0], P.AGE_RANGE[1] + 1))
    a, lo, hi = P.GLIDE
    equity = round(min(max(a - age / 100.0, lo), hi) * 100) * 10  # thousandths
    us = round(equity * P.US_SHARE)
    intl = equity - us
    reit = round(P.REIT_W * 1000) if rng.random() < P.REIT_P else 0
    bonds = 1000 - us - intl - reit
    k = {"us_equity": us, "intl_equity": intl}
    if reit:
        k["reit"] = reit
    k["us_bonds"] = bonds
    t = [0.0] * len(U.CLASSES)
    for c, v in k.items():
        t[U.CLASSES.index(c)] = v / 1000.0
    return {c: v / 1000.0 for c, v in k.items()}, t


def _drifted(rng: np.random.Generator, t: list[float], drift: float) -> list[float]:
    """Class weights ``t`` moved by a zero-sum perturbation of size ~``drift``."""
    active = [c for c, x in enumerate(t) if x > 0]
    z = rng.normal(size=len(active)).tolist()
    mean = sum(z) / len(z)
    z = [x - mean for x in z]
    size = drift * rng.uniform(*P.DRIFT_SPREAD)
    big = max(abs(x) for x in z)
    w = list(t)
    if size > 0 and big > 0:
        for c, x in zip(active, z, strict=True):
            w[c] = max(t[c] + x * size / big, 0.0)
        s = sum(w)
        w = [x / s for x in w]
    return w


def _dirty_groups(loss_lot_secs: np.ndarray, sold_at_loss: Iterable[int] = ()) -> np.ndarray:
    """Mask of wash groups a witness must not buy: taxable losses and recent loss sales."""
    dirty = np.zeros(U.NGROUP, dtype=bool)
    dirty[U.GROUP[loss_lot_secs]] = True
    for s in sold_at_loss:
        dirty[U.GROUP[s]] = True
    return dirty


def accounts_and_mix(d: Draft) -> None:
    """Tax rates, targets, the household's value, its accounts and each one's class mix."""
    rng, n_accounts, n_cls = d.rng, d.n_accounts, len(U.CLASSES)
    u = rng.random()
    d.st_fed, d.lt_fed = P.BRACKETS[min(bisect_right(P.BRACKET_CDF, u), len(P.BRACKETS) - 1)]
    d.state = 0.0 if rng.random() < P.P_NO_STATE else round(rng.uniform(*P.STATE_RANGE), 3)
    d.targets, d.t = _targets(rng)
    d.classes = [c for c in range(n_cls) if d.t[c] > 0]
    w = _drifted(rng, d.t, d.drift)
    lo_v, hi_v = P.VALUE_CLIP
    d.total = min(max(P.VALUE_MEDIAN * math.exp(P.VALUE_SIGMA * rng.normal()), lo_v), hi_v)

    d.kinds = [a % 3 for a in range(n_accounts)]
    split = rng.dirichlet(np.full(n_accounts, P.SPLIT_ALPHA))
    d.planned = d.total * ((1 - P.SPLIT_FLOOR) * split + P.SPLIT_FLOOR / n_accounts)
    d.cash_frac = rng.uniform(0.0, P.CASH_MAX, n_accounts)
    d.invested = d.planned * (1 - d.cash_frac)
    nz = [c for c in range(n_cls) if w[c] > 0]
    full = np.zeros((n_accounts, n_cls))
    if n_accounts > 1:
        wv = np.array(w)
        full[:, nz] = rng.dirichlet(P.MIX_CONCENTRATION * wv[nz], n_accounts)
        overall = d.invested @ full / d.invested.sum()
        ok = [c for c in nz if overall[c] > 0]
        full[:, ok] *= wv[ok] / overall[ok]  # pull the household's mix back to w
        full /= full.sum(axis=1, keepdims=True)
    else:
        full[0] = w
    d.full = full


def positions(d: Draft) -> None:
    """Positions (account, fund, dollars): a multi-class fund, the legacy fund, then
    one or two funds per target class in every account."""
    rng, n_cls = d.rng, len(U.CLASSES)
    p_acct: list[int] = []
    p_sec: list[int] = []
    p_val: list[float] = []
    p_start = [0] * (d.n_accounts + 1)

    def add(a: int, s: int, v: float) -> None:
        if v > 0:
            p_acct.append(a)
            p_sec.append(s)
            p_val.append(v)

    full_l = d.full.tolist()
    invested_l = d.invested.tolist()
    for a in range(d.n_accounts):
        taxable = d.kinds[a] == 0
        amounts = [invested_l[a] * x for x in full_l[a]]
        if rng.random() < P.P_MULTI:
            f = U.MULTI_L[int(rng.integers(len(U.MULTI_L)))]
            e = U.EXPO_L[f]
            cap = min(amounts[c] / e[c] for c in range(n_cls) if e[c] > 0)
            v = cap * rng.uniform(0.2, 0.6)
            amounts = [max(amounts[c] - v * e[c], 0.0) for c in range(n_cls)]
            add(a, f, v)
        if taxable and rng.random() < P.P_LEGACY:
            v = amounts[U.US] * rng.uniform(0.1, 0.4)
            amounts[U.US] -= v
            add(a, U.LEGACY, v)
        for c in d.classes:
            amt = amounts[c]
            if amt <= 0:
                continue
            cands = U.HOLD_L[taxable][c]
            m = len(cands)
            i = int(rng.integers(m))
            if rng.random() < P.P_TWO_FUNDS and m > 1:  # two funds, Dirichlet(1, 1) split
                j = (i + 1 + int(rng.integers(m - 1))) % m
                part = rng.random()
                add(a, cands[i], amt * part)
                add(a, cands[j], amt * (1 - part))
            else:
                add(a, cands[i], amt)
        p_start[a + 1] = len(p_val)
    d.pos_acct, d.pos_sec, d.pos_val = np.array(p_acct), np.array(p_sec), np.array(p_val)
    d.pos_start = p_start


def _lot_counts(d: Draft) -> np.ndarray:
    """Lots per position: 70 % of them in taxable accounts, at least one per account."""
    rng, n_accounts, n_lots = d.rng, d.n_accounts, d.n_lots
    taxable_acc = d.taxable_acc
    n_tax_acc = int(taxable_acc.sum())
    if n_tax_acc == n_accounts:
        n_tax_lots = n_lots
    else:
        n_tax_lots = round(P.TAXABLE_LOT_SHARE * n_lots)
        n_tax_lots = min(max(n_tax_lots, n_tax_acc), n_lots - (n_accounts - n_tax_acc))
    acct_lots = np.zeros(n_accounts, dtype=np.int64)
    for grp, n_grp in ((taxable_acc, n_tax_lots), (~taxable_acc, n_lots - n_tax_lots)):
        idx = np.flatnonzero(grp)
        if len(idx):
            acct_lots[idx] = _split_counts(rng, n_grp, d.planned[idx])
    pos_lots = np.zeros(len(d.pos_val), dtype=np.int64)
    for a in range(n_accounts):
        s, e = d.pos_start[a], d.pos_start[a + 1]
        pos_lots[s:e] = _split_counts(rng, int(acct_lots[a]), d.pos_val[s:e])
    return pos_lots


def lots(d: Draft) -> None:
    """Tax lots: pieces of the positions, their shares, acquisition ages and cost basis."""
    rng = d.rng
    d.taxable_acc = np.array(d.kinds) == 0
    pos_lots = _lot_counts(d)
    lot_pos = np.repeat(np.arange(len(d.pos_val)), pos_lots)
    n = len(lot_pos)
    d.lot_sec = lot_sec = d.pos_sec[lot_pos]
    d.lot_acct = d.pos_acct[lot_pos]
    g = rng.standard_gamma(1.0, n) + 1e-12
    gsum = np.bincount(lot_pos, weights=g, minlength=len(d.pos_val))
    price = U.PRICE[lot_sec]
    raw = d.pos_val[lot_pos] * g / gsum[lot_pos] / price
    d.frac = frac = U.FRAC[lot_sec]
    d.shares = np.where(frac, np.maximum(np.round(raw, 4), 1e-4), np.maximum(np.rint(raw), 1.0))
    d.value = value = d.shares * price

    days = rng.integers(P.DAYS_RANGE[0], P.DAYS_RANGE[1] + 1, n)
    d.lot_taxable = d.taxable_acc[d.lot_acct]
    tax_lots = np.flatnonzero(d.lot_taxable)
    k_turn = min(int(rng.integers(P.TURNING_LOTS[0], P.TURNING_LOTS[1] + 1)), len(tax_lots))
    turning = tax_lots[np.argsort(rng.random(len(tax_lots)))[:k_turn]]
    days[turning] = d.turning_ages[rng.integers(len(d.turning_ages), size=k_turn)]
    years = days / 365.25
    r = P.GROWTH * years + P.VOL * np.sqrt(years) * rng.standard_normal(n)
    r[turning] = np.abs(r[turning]) + 0.02  # a large short-term gain: worth waiting for
    d.basis = np.maximum(np.round(value * np.exp(-r), 2), 0.01)
    d.keep_basis = d.taxable_acc | (rng.random(d.n_accounts) < P.P_BASIS_NONTAXABLE)
    d.days, d.turning = days, turning


def menus_and_restrictions(d: Draft) -> None:
    """Menus of tax-deferred accounts (a clean fund of every class when one exists),
    one restricted symbol, and what each account may buy."""
    rng, n_accounts = d.rng, d.n_accounts
    d.dirty = _dirty_groups(d.lot_sec[d.lot_taxable & (d.basis > d.value - 0.01)])
    for a in range(n_accounts):
        if d.kinds[a] != 1 or rng.random() >= P.P_MENU:
            continue
        menu: list[int] = []
        for c in d.classes:
            cands = U.MENU_BY_CLASS[c]
            clean = cands[~d.dirty[U.GROUP[cands]]]
            pool = clean if len(clean) else cands
            menu.append(int(pool[rng.integers(len(pool))]))
        size = int(rng.integers(max(P.MENU_SIZE[0], len(menu)), P.MENU_SIZE[1] + 1))
        if size > len(menu):
            extra = [s for s in U.MENU_POOL_L if s not in menu]
            menu += [extra[i] for i in rng.permutation(len(extra))[: size - len(menu)].tolist()]
        d.menus[a] = menu
    if rng.random() < P.P_RESTRICTED:
        a = int(rng.integers(n_accounts))
        pool_l = [s for s in U.TRADABLE_L if s not in d.menus.get(a, ())]
        d.restricted[a] = pool_l[int(rng.integers(len(pool_l)))]
    buyable = np.broadcast_to(U.TRADABLE, (n_accounts, U.NSEC)).copy()
    for a, menu in d.menus.items():
        allowed = np.zeros(U.NSEC, dtype=bool)
        allowed[menu] = True
        buyable[a] &= allowed
    for a, s in d.restricted.items():
        buyable[a, s] = False
    d.buyable = buyable


def _recent_buy(d: Draft, date: str, ago: int) -> None:
    """A buy: an existing lot of an account, re-dated to ``ago`` days back."""
    rng = d.rng
    a = int(rng.integers(d.n_accounts))
    ok = (d.lot_acct == a) & d.buyable[a][d.lot_sec] & (d.days > P.RECENT_DAYS)
    ok[d.turning] = False
    cand = np.flatnonzero(ok)
    if len(cand) == 0:
        return
    i = int(cand[rng.integers(len(cand))])
    d.days[i] = ago
    d.basis[i] = max(round(d.value[i] * math.exp(-abs(rng.normal(0.0, 0.02))), 2), 0.01)
    sh = float(d.shares[i])
    d.trade_acct.append(a)
    d.trades.append({"account_id": "", "symbol": U.SYM[d.lot_sec[i]], "side": "buy",
                     "shares": sh if d.frac[i] else int(sh), "date": date})


def _recent_sell(d: Draft, date: str) -> None:
    """A sale in a taxable account, of a fund it still holds, at a drawn gain or loss."""
    rng = d.rng
    tax_idx = np.flatnonzero(d.taxable_acc)
    a = int(tax_idx[rng.integers(len(tax_idx))])
    held = np.flatnonzero(d.lot_acct == a)
    s = int(d.lot_sec[held[rng.integers(len(held))]])
    pos_value = float(d.value[(d.lot_acct == a) & (d.lot_sec == s)].sum())
    raw_sh = pos_value * rng.uniform(0.02, 0.2) / U.PRICE[s]
    sh = round(max(raw_sh, 1e-4), 4) if U.FRAC[s] else float(max(1, round(raw_sh)))
    gain = cents(sh * U.PRICE[s] * rng.normal(0.0, P.RECENT_GAIN_SD))
    d.trade_acct.append(a)
    d.trades.append({"account_id": "", "symbol": U.SYM[s], "side": "sell",
                     "shares": sh if U.FRAC[s] else int(sh), "date": date,
                     "realized_gain": gain})


def recent_trades(d: Draft) -> None:
    """0 to 2 trades of the last 30 days (wash-sale inputs)."""
    rng = d.rng
    for _ in range(int(rng.integers(0, P.RECENT_MAX + 1))):
        ago = int(rng.integers(1, P.RECENT_DAYS + 1))
        date = d.day_strings[ago]
        if rng.random() < 0.5:
            _recent_buy(d, date, ago)
        else:
            _recent_sell(d, date)
    if d.trades:  # re-dated lots may have left the loss set; loss sales join it
        d.dirty = _dirty_groups(
            d.lot_sec[d.lot_taxable & (d.basis > d.value - 0.01)],
            [U.SYM.index(tr["symbol"]) for tr in d.trades
             if tr["side"] == "sell" and tr["realized_gain"] < 0],
        )


def cash_and_flows(d: Draft) -> None:
    """Frozen lots, each account's cash and ``min_cash``, and the one cash flow.

    Taxable lots at a short-term gain (or about even) may be unsellable: the engine's
    default protects gains turning long-term within 30 days, and `no_short_term_gains`
    protects them all. The witness keeps them all, so it holds under either option.
    """
    rng, n_accounts = d.rng, d.n_accounts
    frozen = d.lot_taxable & d.short_by_age[d.days] & (d.value > d.basis - 0.01)
    d.frozen_cls = np.zeros((n_accounts, len(U.CLASSES)))
    if frozen.any():
        np.add.at(d.frozen_cls, d.lot_acct[frozen],
                  d.value[frozen, None] * U.EXPO[d.lot_sec[frozen]])
    d.frozen_acct = d.frozen_cls.sum(axis=1).tolist()
    holdings = np.bincount(d.lot_acct, weights=d.value, minlength=n_accounts)
    cash = np.round(d.planned * d.cash_frac, 2)
    d.cash = cash.tolist()
    d.acct_value = acct_value = (cash + holdings).tolist()
    raisable = [acct_value[a] - d.frozen_acct[a] for a in range(n_accounts)]  # cash + sales
    d.min_cash = min_cash = [0.0] * n_accounts
    for a in range(n_accounts):
        if d.kinds[a] == 0 and rng.random() < P.P_MIN_CASH:
            lo_c, hi_c, step = P.MIN_CASH_STEPS
            mc = float(lo_c + step * rng.integers(0, (hi_c - lo_c) // step + 1))
            if mc <= P.MIN_CASH_MAX_SHARE * acct_value[a] and mc <= raisable[a]:
                min_cash[a] = mc
    d.flow = flow = [0.0] * n_accounts
    u = rng.random()
    a_flow = int(rng.integers(n_accounts))
    share = rng.uniform(*P.FLOW_RANGE)
    if u < P.P_DEPOSIT:
        flow[a_flow] = cents(share * acct_value[a_flow])
    elif u < P.P_DEPOSIT + P.P_WITHDRAWAL:
        room = math.floor((raisable[a_flow] - min_cash[a_flow]) * 100) / 100
        amount = min(cents(share * acct_value[a_flow]), room)
        if amount > 0:
            flow[a_flow] = -amount


def band_and_profile(d: Draft) -> tuple[bool, float, float]:
    """The bonds band on the first taxable account and the tax profile's amounts.

    The witness: account a keeps its frozen lots F[a, c] and spreads the rest of its
    investable value, cap[a], so that class c gets need[c] = t[c] * S - sum_a F[a, c]
    in all (S: total investable). Without bounds that is a transportation problem
    with equal totals, feasible iff every need and cap is >= 0; a bonds band on the
    first taxable account t adds an interval [y_lo, y_hi] for its new bonds y.
    Returns whether the witness holds without the band, and that interval.
    """
    rng, n_accounts, classes = d.rng, d.n_accounts, d.classes
    after = [d.acct_value[a] + d.flow[a] for a in range(n_accounts)]
    grand = sum(after)
    cap = [after[a] - d.min_cash[a] - d.frozen_acct[a] for a in range(n_accounts)]
    need = [d.t[c] * (grand - sum(d.min_cash)) - float(d.frozen_cls[:, c].sum())
            for c in range(len(U.CLASSES))]
    witness_ok = min(cap) >= 0 and min(need[c] for c in classes) >= 0
    first_tax = 0  # the first account is always taxable
    band_hi = float(P.BAND_HI[rng.integers(len(P.BAND_HI))])
    y_lo = y_hi = 0.0
    if rng.random() < P.P_BAND:
        room_b = (band_hi - P.BAND_MARGIN) * after[first_tax] - float(
            d.frozen_cls[first_tax, U.BONDS])
        y_lo = max(0.0, cap[first_tax] - sum(need[c] for c in classes if c != U.BONDS),
                   need[U.BONDS] - (sum(cap) - cap[first_tax]))
        y_hi = min(room_b, need[U.BONDS])
        if room_b >= 0 and (y_lo <= y_hi or not witness_ok):
            d.band = band_hi  # never makes the tolerance unreachable by itself

    def money(p: float, law: tuple[float, float], positive: bool = False) -> float:
        if rng.random() >= p:
            return 0.0
        x = rng.uniform(0.0, law[1]) if positive else rng.normal(*law)
        return cents(x * d.total)

    d.realized = (money(P.P_YTD_ST, (0.0, 0.01)), money(P.P_YTD_LT, (0.005, 0.02)),
                  money(P.P_CARRY, (0.0, 0.02), positive=True),
                  money(P.P_CARRY, (0.0, 0.02), positive=True))
    return witness_ok, y_lo, y_hi


def tolerance(d: Draft, witness_ok: bool, y_lo: float, y_hi: float) -> None:
    """The goal's drift tolerance, written only when the clean-fund witness exists."""
    rng = d.rng
    tol = round(float(rng.uniform(*P.TOL_RANGE)), 3)
    want_tol = rng.random() < P.P_TOLERANCE and witness_ok
    if want_tol and d.band is not None:
        want_tol = y_lo <= y_hi
    if want_tol:  # whole shares of the cheapest clean fund, plus min_cash, within tol / 2
        grand = sum(d.acct_value[a] + d.flow[a] for a in range(d.n_accounts))
        clean = d.buyable & U.BUYABLE_SINGLE & ~d.dirty[U.GROUP]
        grains = np.where(clean[:, :, None] & U.ONEHOT[None], U.GRAIN[None, :, None], np.inf)
        cheapest = grains.min(axis=1)[:, d.classes]
        slack = float(cheapest.sum()) + sum(d.min_cash)
        want_tol = bool(np.isfinite(slack)) and slack <= 0.5 * tol * grand
    d.tolerance = tol if want_tol else None
