"""Seeded synthetic households in the contract's JSON format (``taxopt.household/1``).

Tests, benchmarks and batch runs all need households that look like real ones
(a few accounts, many tax lots, gains and losses, menus, bands, wash-sale
traps) and that are *valid and feasible by construction*, so that a failure
is the engine's fault and never the data's. This module is that single
source. It depends on numpy only (plus the standard library), so it can be
imported by a benchmark or a test without pulling in the engine, and it
returns plain ``dict`` objects exactly as ``json.load`` would read a scenario
file, so every reader path of the engine can be exercised with them.

Reproducibility
---------------
All randomness comes from one ``numpy.random.default_rng(seed)`` per
household; the same seed and arguments give byte-identical
``json.dumps(household(...), sort_keys=True)``. ``households(n, seed)`` yields
``household(household_seed(seed, i), household_id=f"syn-{i:06d}", ...)``, so
one household of a large batch can be rebuilt alone.

Distributions (``DISTRIBUTIONS`` holds the same figures, for the README)
-----------------------------------------------------------------------
- Securities: a fixed universe of 24 real-looking funds (``securities_universe``)
  over the classes ``us_equity``, ``intl_equity``, ``us_bonds`` and ``reit``.
  Municipal bond funds (``tax_exempt``) and cash-like short Treasury funds are
  in class ``us_bonds``: they serve the same target, which is what asset
  location needs (munis in taxable, taxable bonds in the IRA). Funds that track
  the same index share a ``wash_group`` (VTI & VTSAX, VOO & IVV, ...); funds on
  different indexes (ITOT, SCHB) are groups of their own. Two multi-class
  funds carry ``exposures``; mutual funds are ``fractional``; one legacy
  active fund is ``tradable: false``. Prices are fixed.
- Household value: lognormal, median $600k, sigma 0.9, clipped to
  [$20k, $20M] (before whole-share rounding: every lot holds at least one
  share, which lifts the very smallest households a little).
- Accounts: ``n_accounts``; types cycle taxable, tax_deferred, tax_free,
  taxable, ...; value split ``0.9 * Dirichlet(2, ..., 2) + 0.1 / n`` so no
  account is negligible.
- Targets (goal ``retirement``): a glide path on an age drawn uniformly in
  [25, 80]: equity = clip(1.15 - age / 100, 0.40, 0.90), split us/intl
  70/30; REIT 5 % in 40 % of households; bonds the rest. Targets are whole
  thousandths and sum to exactly 1000/1000 (bonds take the remainder).
- Drift: the household's class weights are the targets plus a zero-sum
  perturbation whose largest component is ``drift * U(0.75, 1.25)``; each
  account's mix is a Dirichlet(400 * weights) draw around them, rescaled so
  that the household's mix stays near the drifted weights (measured: median
  largest gap 0.078 for ``drift=0.08``, 10-90 % range 0.059-0.096).
- Lots: ``n_lots`` in all, 70 % in taxable accounts (lot detail matters
  there) when the household has another account type, at least one per
  account; each lot is a piece (Gamma(1) shares) of a position; 1 or 2
  funds per class per account, a multi-class fund in 20 % of accounts and
  the legacy fund in 25 % of taxable accounts. Acquired uniformly 31 to 3652
  days ago (lots of the last 30 days exist only as the recent buys below),
  so about 11 % are short-term; 1 to 3 taxable lots (at a gain) turn
  long-term within the next 10 days. Cost basis = value * exp(-r),
  r ~ Normal(0.07 * years, 0.25 * sqrt(years)): about 27-28 % of lots are
  at a loss. Shares are whole (>= 1) for non-fractional funds, 4 decimals
  otherwise. Half of the non-taxable accounts still carry basis and date.
- Accounts' cash: U(0, 3 %) of the value. ``min_cash`` in 40 % of taxable
  accounts, $100 to $500 in steps of $50 (never above a quarter of the
  account). Cash flow: 15 % of households a deposit, 10 % a withdrawal, of
  U(1 %, 10 %) of one account's value; a withdrawal never exceeds what the
  account can raise (its value less ``min_cash`` and frozen lots, below).
- Bands: 30 % of households get ``{"us_bonds": [0.0, hi]}``, hi in
  {0.10, 0.15, 0.20, 0.30}, on their first taxable account, only when it
  can hold and the other accounts can take the bonds it pushes out (below).
- Menus: 60 % of tax-deferred accounts have an ``allowed`` menu of 3 to 5
  tradable, non-muni funds that always contains a single-class fund of
  every target class (picked from a wash group without taxable losses when
  one exists). ``restricted``: in 20 % of households one symbol of one
  account, never from that account's menu.
- Recent trades: 0 to 2 within the last 30 days; a buy is an existing lot
  of that account re-dated to the trade (bought at about today's price, so
  at a small gain); a sell is in a taxable account, of a fund it holds,
  ``realized_gain`` ~ value * Normal(0, 0.12) (about half losses).
- Tax profile: (short, long) federal pairs (0.22, 0.15), (0.24, 0.15),
  (0.32, 0.15), (0.35, 0.188), (0.408, 0.238) with probabilities
  0.15/0.30/0.25/0.15/0.15, plus a state rate (0 in 30 % of households,
  else U(3 %, 9.3 %)) added to both. ``realized_ytd`` short-term non-zero in
  30 %, long-term in 50 %; ``loss_carryforward`` each term in 15 %.
  ``ordinary_offset_limit`` 3000. ``options`` is ``{}``.

Feasibility rule for ``drift_tolerance``
----------------------------------------
Lots that may be unsellable are *frozen* in every check: taxable lots at a
short-term gain (or within a cent of even). The engine's default options
protect gains turning long-term within 30 days and ``no_short_term_gains``
protects all of them; freezing them all keeps every household feasible under
either. ``min_cash`` and a withdrawal never exceed what an account can raise
without selling frozen lots.

A tolerance U(0.03, 0.06) is drawn for every household and written in 80 %
of them, but only if this sufficient witness exists (otherwise the goal has
no tolerance). Every account keeps its frozen lots, sells everything else,
keeps ``min_cash``, pays its cash flow and re-buys using only *clean* funds:
tradable, single-class, allowed by the account's menu and not restricted,
whose wash group has no taxable lot at a loss (or within a cent of one) and
no recent sale at a loss (so the witness never washes a harvested loss nor
buys what a loss sale forbids). Money never moves between accounts. With F
the frozen dollars per account and class, S the household's investable value
(value after cash flows less ``min_cash``), the witness needs:

1. a clean fund of every target class in every account;
2. ``need[c] = target[c] * S - sum of F[:, c] >= 0`` for every class and
   ``cap[a] = investable[a] - sum of F[a, :] >= 0`` for every account (the
   rest is a transportation problem with equal totals, always solvable);
3. with a bonds band ``[0, hi]`` on the first taxable account t, a bonds
   purchase y there with
   ``max(0, cap[t] - sum of the other needs, need[bonds] - other caps)
   <= y <= min((hi - 0.02) * value_after[t] - F[t, bonds], need[bonds])``;
4. whole shares and ``min_cash`` costing at most half the tolerance:
   ``sum over accounts (min_cash + sum over classes of the cheapest clean
   price) <= tolerance / 2 * value after cash flows`` (fractional funds count
   1/10,000 of their price).

A band is written only when ``F[t, bonds] <= (hi - 0.02) * value_after[t]``
(so it can hold) and, where conditions 1-2 hold, condition 3 does too (so it
never removes the tolerance by itself). In practice 99.7 % of households pass
the witness, so about 80 % carry a tolerance; the few that fail are small or
have no clean fund of some class.
"""

from __future__ import annotations

import datetime as _dt
import math
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = [
    "CLASSES",
    "DISTRIBUTIONS",
    "FORMAT",
    "household",
    "household_seed",
    "households",
    "securities_universe",
    "to_tables",
]

FORMAT = "taxopt.household/1"

#: Asset classes of the universe; every target and every exposure uses these.
CLASSES: tuple[str, ...] = ("us_equity", "intl_equity", "us_bonds", "reit")
_US, _INTL, _BONDS, _REIT = range(4)

# symbol, price, asset class or exposures, wash group (None: the symbol itself),
# yield, qualified, tax_exempt, fractional, tradable
_UNIVERSE: tuple[tuple[Any, ...], ...] = (
    ("VTI", 301.25, "us_equity", "crsp_us_total_market", 0.013, 0.93, False, False, True),
    ("VTSAX", 155.10, "us_equity", "crsp_us_total_market", 0.013, 0.93, False, True, True),
    ("ITOT", 131.10, "us_equity", "sp_total_market", 0.013, 0.93, False, False, True),
    ("SCHB", 24.55, "us_equity", "dj_us_broad_market", 0.013, 0.93, False, False, True),
    ("VOO", 562.40, "us_equity", "sp_500", 0.013, 0.95, False, False, True),
    ("IVV", 613.80, "us_equity", "sp_500", 0.013, 0.95, False, False, True),
    ("AGTHX", 78.30, "us_equity", None, 0.013, 0.90, False, True, False),
    ("VXUS", 66.40, "intl_equity", "ftse_global_ex_us", 0.030, 0.85, False, False, True),
    ("VTIAX", 35.20, "intl_equity", "ftse_global_ex_us", 0.030, 0.85, False, True, True),
    ("IXUS", 76.90, "intl_equity", "msci_acwi_imi_ex_us", 0.029, 0.85, False, False, True),
    ("VEA", 56.20, "intl_equity", "ftse_developed_ex_us", 0.030, 0.88, False, False, True),
    ("BND", 73.40, "us_bonds", "bbg_us_agg_float_adj", 0.037, 0.0, False, False, True),
    ("VBTLX", 9.82, "us_bonds", "bbg_us_agg_float_adj", 0.037, 0.0, False, True, True),
    ("AGG", 99.60, "us_bonds", "bbg_us_agg", 0.038, 0.0, False, False, True),
    ("VTEB", 50.55, "us_bonds", "sp_natl_amt_free_muni", 0.035, 0.0, True, False, True),
    ("MUB", 106.30, "us_bonds", "ice_amt_free_natl_muni", 0.035, 0.0, True, False, True),
    ("SGOV", 100.45, "us_bonds", "ice_0_3m_tbill", 0.043, 0.0, False, False, True),
    ("VGSH", 58.65, "us_bonds", "bbg_us_treasury_1_3y", 0.040, 0.0, False, False, True),
    ("VNQ", 90.15, "reit", "msci_us_imi_real_estate", 0.038, 0.10, False, False, True),
    ("VGSLX", 126.40, "reit", "msci_us_imi_real_estate", 0.038, 0.10, False, True, True),
    ("USRT", 57.80, "reit", "ftse_nareit_equity_reits", 0.038, 0.10, False, False, True),
    ("SCHH", 21.40, "reit", "dj_equity_all_reit", 0.038, 0.10, False, False, True),
    ("VBIAX", 50.20, {"us_equity": 0.6, "us_bonds": 0.4}, None, 0.021, 0.55, False, True, True),
    (
        "AOR", 62.10, {"us_equity": 0.37, "intl_equity": 0.23, "us_bonds": 0.40}, None,
        0.024, 0.60, False, False, True,
    ),
)

# --- the documented parameters (single source for code and README) -----------------
_VALUE_MEDIAN, _VALUE_SIGMA, _VALUE_CLIP = 600_000.0, 0.9, (20_000.0, 20_000_000.0)
_SPLIT_ALPHA, _SPLIT_FLOOR = 2.0, 0.1
_AGE_RANGE, _GLIDE = (25, 80), (1.15, 0.40, 0.90)  # equity = clip(a - age/100, lo, hi)
_US_SHARE, _REIT_P, _REIT_W = 0.7, 0.4, 0.05
_DRIFT_SPREAD, _MIX_CONCENTRATION = (0.75, 1.25), 400.0
_TAXABLE_LOT_SHARE = 0.7
_P_TWO_FUNDS, _P_MULTI, _P_LEGACY = 0.25, 0.2, 0.25
_DAYS_RANGE = (31, 3652)
_TURNING_LOTS = (1, 3)
_GROWTH, _VOL = 0.07, 0.25
_P_BASIS_NONTAXABLE = 0.5
_CASH_MAX = 0.03
_P_MIN_CASH, _MIN_CASH_STEPS, _MIN_CASH_MAX_SHARE = 0.4, (100, 500, 50), 0.25
_P_DEPOSIT, _P_WITHDRAWAL, _FLOW_RANGE = 0.15, 0.10, (0.01, 0.10)
_P_BAND, _BAND_HI, _BAND_MARGIN = 0.3, (0.10, 0.15, 0.20, 0.30), 0.02
_P_MENU, _MENU_SIZE = 0.6, (3, 5)
_P_RESTRICTED = 0.2
_RECENT_MAX, _RECENT_DAYS, _RECENT_GAIN_SD = 2, 30, 0.12
_BRACKETS = ((0.22, 0.15), (0.24, 0.15), (0.32, 0.15), (0.35, 0.188), (0.408, 0.238))
_BRACKET_P = (0.15, 0.30, 0.25, 0.15, 0.15)
_P_NO_STATE, _STATE_RANGE = 0.3, (0.03, 0.093)
_P_YTD_ST, _P_YTD_LT, _P_CARRY = 0.3, 0.5, 0.15
_P_TOLERANCE, _TOL_RANGE = 0.8, (0.03, 0.06)
_FRACTIONAL_GRAIN = 1e-4

DISTRIBUTIONS: dict[str, dict[str, Any]] = {
    "securities": {
        "law": "fixed universe of 24 funds",
        "classes": list(CLASSES),
        "note": "munis (tax_exempt) and cash-like T-bill funds are class us_bonds; funds on "
        "the same index share a wash_group; 2 multi-class funds; mutual funds fractional; "
        "AGTHX tradable false",
    },
    "household_value": {
        "law": "lognormal", "median": _VALUE_MEDIAN, "sigma": _VALUE_SIGMA,
        "clip": list(_VALUE_CLIP),
    },
    "account_types": {
        "law": "cycle", "order": ["taxable", "tax_deferred", "tax_free"],
        "note": "first account always taxable, then the cycle repeats",
    },
    "account_split": {
        "law": "floor/n + (1 - floor) * Dirichlet(alpha)", "alpha": _SPLIT_ALPHA,
        "floor": _SPLIT_FLOOR,
    },
    "targets": {
        "law": "glide path", "age": list(_AGE_RANGE),
        "equity": "clip(1.15 - age/100, 0.40, 0.90), 1 % steps", "us_share_of_equity": _US_SHARE,
        "reit": {"p": _REIT_P, "weight": _REIT_W}, "bonds": "remainder (exact thousandths)",
    },
    "drift": {
        "law": "targets + zero-sum perturbation, largest component drift * U(lo, hi)",
        "spread": list(_DRIFT_SPREAD), "account_mix": f"Dirichlet({_MIX_CONCENTRATION:g} * w)",
    },
    "lots": {
        "taxable_share": _TAXABLE_LOT_SHARE, "funds_per_class": {"1": 0.75, "2": _P_TWO_FUNDS},
        "p_multi_class_fund": _P_MULTI, "p_legacy_fund_in_taxable": _P_LEGACY,
        "lot_size": "Gamma(1) shares of the position",
        "acquired_days_ago": {"law": "uniform integer", "range": list(_DAYS_RANGE)},
        "turning_long_term_within_10_days": {"taxable_lots": list(_TURNING_LOTS),
                                             "note": "at a gain"},
        "cost_basis": "value * exp(-r), r ~ Normal(0.07 * years, 0.25 * sqrt(years))",
        "growth": _GROWTH, "volatility": _VOL, "loss_share_measured": 0.275,
        "short_term_share_measured": 0.11,
        "shares": "whole >= 1 (non-fractional) or 4 decimals (fractional)",
        "p_basis_in_nontaxable_account": _P_BASIS_NONTAXABLE,
    },
    "cash": {"law": "uniform share of account value", "range": [0.0, _CASH_MAX]},
    "min_cash": {
        "p_taxable": _P_MIN_CASH,
        "values": list(range(_MIN_CASH_STEPS[0], _MIN_CASH_STEPS[1] + 1, _MIN_CASH_STEPS[2])),
        "max_share_of_account": _MIN_CASH_MAX_SHARE,
    },
    "cash_flow": {
        "p_deposit": _P_DEPOSIT, "p_withdrawal": _P_WITHDRAWAL,
        "share_of_account": list(_FLOW_RANGE),
        "note": "one account; a withdrawal never exceeds value - min_cash - frozen lots",
    },
    "bands": {
        "p": _P_BAND, "class": "us_bonds", "lo": 0.0, "hi": list(_BAND_HI),
        "account": "first taxable", "margin": _BAND_MARGIN,
        "note": "only when frozen bonds fit and the other accounts can hold the excess bonds",
    },
    "allowed": {
        "p_tax_deferred": _P_MENU, "size": list(_MENU_SIZE),
        "note": "tradable, non-muni; a single-class fund of every target class",
    },
    "restricted": {"p_household": _P_RESTRICTED, "symbols": 1, "note": "never a menu symbol"},
    "recent_trades": {
        "count": "uniform 0..2", "days_ago": [1, _RECENT_DAYS],
        "buy": "an existing lot re-dated (small gain)",
        "sell": "taxable, a held fund, realized_gain = value * Normal(0, 0.12)",
    },
    "tax_profile": {
        "federal_pairs": [list(p) for p in _BRACKETS], "p": list(_BRACKET_P),
        "state": {"p_zero": _P_NO_STATE, "range": list(_STATE_RANGE)},
        "realized_ytd": {"p_short_term": _P_YTD_ST, "p_long_term": _P_YTD_LT,
                         "short_term": "Normal(0, 1 % of value)",
                         "long_term": "Normal(0.5 %, 2 %) of value"},
        "loss_carryforward": {"p_each_term": _P_CARRY, "law": "U(0, 2 %) of value"},
        "ordinary_offset_limit": 3000.0,
    },
    "drift_tolerance": {
        "p": _P_TOLERANCE, "range": list(_TOL_RANGE),
        "rule": "written only when the clean-fund witness (module docstring) exists: frozen "
        "short-term-gain lots kept, everything else re-bought in clean funds, whole shares and "
        "min_cash within half the tolerance",
    },
}

# --- universe as arrays (built once) ----------------------------------------------
_SYM: tuple[str, ...] = tuple(s[0] for s in _UNIVERSE)
_NSEC = len(_UNIVERSE)
_PRICE = np.array([s[1] for s in _UNIVERSE])


def _exposure_matrix() -> np.ndarray:
    """Fraction of each fund in each class (rows sum to 1), for vectorized class sums."""
    expo = np.zeros((_NSEC, len(CLASSES)))
    for i, sec in enumerate(_UNIVERSE):
        parts = {sec[2]: 1.0} if isinstance(sec[2], str) else sec[2]
        for c, w in parts.items():
            expo[i, CLASSES.index(c)] = w
    return expo


_EXPO = _exposure_matrix()
_SINGLE = _EXPO.max(axis=1) == 1.0
_CLS = np.where(_SINGLE, _EXPO.argmax(axis=1), -1)
_GROUP_NAMES = tuple(s[3] or s[0] for s in _UNIVERSE)
_GROUP = np.unique(np.array(_GROUP_NAMES), return_inverse=True)[1]
_EXEMPT = np.array([s[6] for s in _UNIVERSE])
_FRAC = np.array([s[7] for s in _UNIVERSE])
_TRADABLE = np.array([s[8] for s in _UNIVERSE])
_LEGACY = _SYM.index("AGTHX")
_MULTI = np.flatnonzero(~_SINGLE)
_BUYABLE_SINGLE = _SINGLE & _TRADABLE
# funds a position may be drawn from: [non-taxable, taxable][class]
_HOLD = tuple(
    tuple(np.flatnonzero(_BUYABLE_SINGLE & (_CLS == c) & (taxable | ~_EXEMPT))
          for c in range(len(CLASSES)))
    for taxable in (False, True)
)
_MENU_POOL = np.flatnonzero(_TRADABLE & ~_EXEMPT)
_GRAIN = np.where(_FRAC, _PRICE * _FRACTIONAL_GRAIN, _PRICE)  # smallest buy in dollars
_TYPES = ("taxable", "tax_deferred", "tax_free")
_PREFIX = ("brokerage", "ira", "roth")


def securities_universe() -> list[dict[str, Any]]:
    """Return the shared security list as contract ``securities`` entries.

    Every synthetic household lists the whole universe, so one securities
    table serves a whole batch. Defaults of the contract are left out (a
    fund's own wash group, ``tax_exempt: false``, ``fractional: false``,
    ``tradable: true``) so that readers exercise them.

    Returns
    -------
    list of dict
        Fresh dicts (callers may mutate them), in a fixed order.
    """
    out = []
    for sym, price, cls, group, yld, qual, exempt, frac, tradable in _UNIVERSE:
        d: dict[str, Any] = {"symbol": sym, "price": price}
        if isinstance(cls, str):
            d["asset_class"] = cls
        else:
            d["exposures"] = dict(cls)
        if group is not None:
            d["wash_group"] = group
        d["yield"] = yld
        d["qualified"] = qual
        if exempt:
            d["tax_exempt"] = True
        if frac:
            d["fractional"] = True
        if not tradable:
            d["tradable"] = False
        out.append(d)
    return out


def household_seed(seed: int, index: int) -> int:
    """Seed of the ``index``-th household of ``households(n, seed)``.

    Derived through ``numpy.random.SeedSequence`` so that batches with
    different seeds do not share households, yet any one household of a
    batch can be rebuilt alone with :func:`household`.

    Parameters
    ----------
    seed : int
        The batch seed (>= 0).
    index : int
        Position in the batch (>= 0).

    Returns
    -------
    int
        A 63-bit seed for :func:`household`.
    """
    state = np.random.SeedSequence([seed, index]).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1))


@lru_cache(maxsize=64)
def _dates(as_of: str) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Per ``as_of``, once: ISO strings of the days before it, short-term ages, turning ages.

    Index = age in days. The strings make lot dates a list lookup instead of a
    per-household conversion. A lot is long-term when ``as_of`` is after the
    anniversary of its purchase (29 February counts as 28 February); the
    short-term mask and the ages whose first long-term day is 1 to 10 days
    after ``as_of`` apply that rule rather than assume 365-day years.
    """
    day = _dt.date.fromisoformat(as_of)
    day64 = np.datetime64(day, "D")
    ages = np.arange(_DAYS_RANGE[1] + 1)
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


@lru_cache(maxsize=16)
def _lot_ids(n: int) -> tuple[str, ...]:
    width = max(4, len(str(n)))
    return tuple(f"L-{i:0{width}d}" for i in range(1, n + 1))


def _cents(x: float) -> float:
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
    age = int(rng.integers(_AGE_RANGE[0], _AGE_RANGE[1] + 1))
    a, lo, hi = _GLIDE
    equity = round(min(max(a - age / 100.0, lo), hi) * 100) * 10  # thousandths
    us = round(equity * _US_SHARE)
    intl = equity - us
    reit = round(_REIT_W * 1000) if rng.random() < _REIT_P else 0
    bonds = 1000 - us - intl - reit
    k = {"us_equity": us, "intl_equity": intl}
    if reit:
        k["reit"] = reit
    k["us_bonds"] = bonds
    t = [0.0] * len(CLASSES)
    for c, v in k.items():
        t[CLASSES.index(c)] = v / 1000.0
    return {c: v / 1000.0 for c, v in k.items()}, t


def _drifted(rng: np.random.Generator, t: list[float], drift: float) -> list[float]:
    """Class weights ``t`` moved by a zero-sum perturbation of size ~``drift``."""
    active = [c for c, x in enumerate(t) if x > 0]
    z = rng.normal(size=len(active)).tolist()
    mean = sum(z) / len(z)
    z = [x - mean for x in z]
    size = drift * rng.uniform(*_DRIFT_SPREAD)
    big = max(abs(x) for x in z)
    w = list(t)
    if size > 0 and big > 0:
        for c, x in zip(active, z, strict=True):
            w[c] = max(t[c] + x * size / big, 0.0)
        s = sum(w)
        w = [x / s for x in w]
    return w


_ONEHOT = _CLS[:, None] == np.arange(len(CLASSES))[None, :]  # single-class funds by class
_NGROUP = int(_GROUP.max()) + 1
_MULTI_L = _MULTI.tolist()
_EXPO_L = _EXPO.tolist()
_HOLD_L = tuple(tuple(h.tolist() for h in by_class) for by_class in _HOLD)
_MENU_BY_CLASS = tuple(
    _MENU_POOL[_SINGLE[_MENU_POOL] & (_CLS[_MENU_POOL] == c)] for c in range(len(CLASSES))
)
_MENU_POOL_L = _MENU_POOL.tolist()
_TRADABLE_L = np.flatnonzero(_TRADABLE).tolist()
_BRACKET_CDF = np.cumsum(_BRACKET_P).tolist()


def _dirty_groups(loss_lot_secs: np.ndarray, sold_at_loss: Iterable[int] = ()) -> np.ndarray:
    """Mask of wash groups a witness must not buy: taxable losses and recent loss sales."""
    dirty = np.zeros(_NGROUP, dtype=bool)
    dirty[_GROUP[loss_lot_secs]] = True
    for s in sold_at_loss:
        dirty[_GROUP[s]] = True
    return dirty


def household(
    seed: int,
    *,
    n_lots: int = 150,
    n_accounts: int = 3,
    household_id: str | None = None,
    as_of: str = "2026-11-24",
    drift: float = 0.08,
    with_recent_trades: bool = True,
) -> dict[str, Any]:
    """Generate one valid, feasible household in the contract's JSON format.

    Parameters
    ----------
    seed : int
        Seed (>= 0) of ``numpy.random.default_rng``; the whole household
        follows from it (with the other arguments), so a test can name a case
        by its seed.
    n_lots : int
        Number of tax lots across all accounts (>= ``n_accounts``: every
        account holds something, so every account type is exercised).
    n_accounts : int
        Number of accounts (>= 1), typed taxable, tax_deferred, tax_free,
        taxable, ... so the first is always taxable.
    household_id : str, optional
        Defaults to ``"syn-seed<seed>"``.
    as_of : str
        Trade date, ISO ``YYYY-MM-DD``; every date is relative to it.
    drift : float
        Largest absolute gap (roughly) between current class weights and
        targets, so that there is something to rebalance; 0 gives holdings
        near target (cash, per-account noise and share rounding remain).
    with_recent_trades : bool
        Whether to add 0 to 2 trades of the last 30 days (wash-sale inputs).

    Returns
    -------
    dict
        A ``taxopt.household/1`` document, as ``json.load`` would return it.

    Raises
    ------
    ValueError
        On arguments that cannot give a valid household.
    """
    if n_accounts < 1:
        raise ValueError(f"n_accounts must be >= 1, got {n_accounts}")
    if n_lots < n_accounts:
        raise ValueError(f"n_lots ({n_lots}) must be >= n_accounts ({n_accounts})")
    if not 0.0 <= drift < 1.0:
        raise ValueError(f"drift must be in [0, 1), got {drift}")
    day_strings, short_by_age, turning_ages = _dates(as_of)
    rng = np.random.default_rng(seed)
    hid = household_id if household_id is not None else f"syn-seed{seed}"
    n_cls = len(CLASSES)

    # -- tax profile rates, targets, value, accounts ----------------------------------
    u = rng.random()
    st_fed, lt_fed = _BRACKETS[min(bisect_right(_BRACKET_CDF, u), len(_BRACKETS) - 1)]
    state = 0.0 if rng.random() < _P_NO_STATE else round(rng.uniform(*_STATE_RANGE), 3)
    targets, t = _targets(rng)
    classes = [c for c in range(n_cls) if t[c] > 0]
    w = _drifted(rng, t, drift)
    lo_v, hi_v = _VALUE_CLIP
    total = min(max(_VALUE_MEDIAN * math.exp(_VALUE_SIGMA * rng.normal()), lo_v), hi_v)

    kinds = [a % 3 for a in range(n_accounts)]  # 0 taxable, 1 tax_deferred, 2 tax_free
    split = rng.dirichlet(np.full(n_accounts, _SPLIT_ALPHA))
    planned = total * ((1 - _SPLIT_FLOOR) * split + _SPLIT_FLOOR / n_accounts)
    cash_frac = rng.uniform(0.0, _CASH_MAX, n_accounts)
    invested = planned * (1 - cash_frac)
    nz = [c for c in range(n_cls) if w[c] > 0]
    full = np.zeros((n_accounts, n_cls))
    if n_accounts > 1:
        wv = np.array(w)
        full[:, nz] = rng.dirichlet(_MIX_CONCENTRATION * wv[nz], n_accounts)
        overall = invested @ full / invested.sum()
        ok = [c for c in nz if overall[c] > 0]
        full[:, ok] *= wv[ok] / overall[ok]  # pull the household's mix back to w
        full /= full.sum(axis=1, keepdims=True)
    else:
        full[0] = w

    # -- positions: (account, fund, dollars) -------------------------------------------
    p_acct: list[int] = []
    p_sec: list[int] = []
    p_val: list[float] = []
    p_start = [0] * (n_accounts + 1)

    def add(a: int, s: int, v: float) -> None:
        if v > 0:
            p_acct.append(a)
            p_sec.append(s)
            p_val.append(v)

    full_l = full.tolist()
    invested_l = invested.tolist()
    for a in range(n_accounts):
        taxable = kinds[a] == 0
        amounts = [invested_l[a] * x for x in full_l[a]]
        if rng.random() < _P_MULTI:
            f = _MULTI_L[int(rng.integers(len(_MULTI_L)))]
            e = _EXPO_L[f]
            cap = min(amounts[c] / e[c] for c in range(n_cls) if e[c] > 0)
            v = cap * rng.uniform(0.2, 0.6)
            amounts = [max(amounts[c] - v * e[c], 0.0) for c in range(n_cls)]
            add(a, f, v)
        if taxable and rng.random() < _P_LEGACY:
            v = amounts[_US] * rng.uniform(0.1, 0.4)
            amounts[_US] -= v
            add(a, _LEGACY, v)
        for c in classes:
            amt = amounts[c]
            if amt <= 0:
                continue
            cands = _HOLD_L[taxable][c]
            m = len(cands)
            i = int(rng.integers(m))
            if rng.random() < _P_TWO_FUNDS and m > 1:  # two funds, Dirichlet(1, 1) split
                j = (i + 1 + int(rng.integers(m - 1))) % m
                part = rng.random()
                add(a, cands[i], amt * part)
                add(a, cands[j], amt * (1 - part))
            else:
                add(a, cands[i], amt)
        p_start[a + 1] = len(p_val)
    pos_acct = np.array(p_acct)
    pos_sec = np.array(p_sec)
    pos_val = np.array(p_val)

    # -- lots per account, then per position -------------------------------------------
    kinds_a = np.array(kinds)
    taxable_acc = kinds_a == 0
    n_tax_acc = int(taxable_acc.sum())
    if n_tax_acc == n_accounts:
        n_tax_lots = n_lots
    else:
        n_tax_lots = round(_TAXABLE_LOT_SHARE * n_lots)
        n_tax_lots = min(max(n_tax_lots, n_tax_acc), n_lots - (n_accounts - n_tax_acc))
    acct_lots = np.zeros(n_accounts, dtype=np.int64)
    for grp, n_grp in ((taxable_acc, n_tax_lots), (~taxable_acc, n_lots - n_tax_lots)):
        idx = np.flatnonzero(grp)
        if len(idx):
            acct_lots[idx] = _split_counts(rng, n_grp, planned[idx])
    pos_lots = np.zeros(len(pos_val), dtype=np.int64)
    for a in range(n_accounts):
        s, e = p_start[a], p_start[a + 1]
        pos_lots[s:e] = _split_counts(rng, int(acct_lots[a]), pos_val[s:e])

    lot_pos = np.repeat(np.arange(len(pos_val)), pos_lots)
    n = len(lot_pos)
    lot_sec = pos_sec[lot_pos]
    lot_acct = pos_acct[lot_pos]
    g = rng.standard_gamma(1.0, n) + 1e-12
    gsum = np.bincount(lot_pos, weights=g, minlength=len(pos_val))
    price = _PRICE[lot_sec]
    raw = pos_val[lot_pos] * g / gsum[lot_pos] / price
    frac = _FRAC[lot_sec]
    shares = np.where(frac, np.maximum(np.round(raw, 4), 1e-4), np.maximum(np.rint(raw), 1.0))
    value = shares * price

    days = rng.integers(_DAYS_RANGE[0], _DAYS_RANGE[1] + 1, n)
    lot_taxable = taxable_acc[lot_acct]
    tax_lots = np.flatnonzero(lot_taxable)
    k_turn = min(int(rng.integers(_TURNING_LOTS[0], _TURNING_LOTS[1] + 1)), len(tax_lots))
    turning = tax_lots[np.argsort(rng.random(len(tax_lots)))[:k_turn]]
    days[turning] = turning_ages[rng.integers(len(turning_ages), size=k_turn)]
    years = days / 365.25
    r = _GROWTH * years + _VOL * np.sqrt(years) * rng.standard_normal(n)
    r[turning] = np.abs(r[turning]) + 0.02  # a large short-term gain: worth waiting for
    basis = np.maximum(np.round(value * np.exp(-r), 2), 0.01)
    keep_basis = taxable_acc | (rng.random(n_accounts) < _P_BASIS_NONTAXABLE)

    # -- menus, restrictions -------------------------------------------------------------
    dirty = _dirty_groups(lot_sec[lot_taxable & (basis > value - 0.01)])
    menus: dict[int, list[int]] = {}
    for a in range(n_accounts):
        if kinds[a] != 1 or rng.random() >= _P_MENU:
            continue
        menu: list[int] = []
        for c in classes:
            cands = _MENU_BY_CLASS[c]
            clean = cands[~dirty[_GROUP[cands]]]
            pool = clean if len(clean) else cands
            menu.append(int(pool[rng.integers(len(pool))]))
        size = int(rng.integers(max(_MENU_SIZE[0], len(menu)), _MENU_SIZE[1] + 1))
        if size > len(menu):
            extra = [s for s in _MENU_POOL_L if s not in menu]
            menu += [extra[i] for i in rng.permutation(len(extra))[: size - len(menu)].tolist()]
        menus[a] = menu
    restricted: dict[int, int] = {}
    if rng.random() < _P_RESTRICTED:
        a = int(rng.integers(n_accounts))
        pool_l = [s for s in _TRADABLE_L if s not in menus.get(a, ())]
        restricted[a] = pool_l[int(rng.integers(len(pool_l)))]
    buyable = np.broadcast_to(_TRADABLE, (n_accounts, _NSEC)).copy()
    for a, menu in menus.items():
        allowed = np.zeros(_NSEC, dtype=bool)
        allowed[menu] = True
        buyable[a] &= allowed
    for a, s in restricted.items():
        buyable[a, s] = False

    # -- recent trades -----------------------------------------------------------------
    trades: list[dict[str, Any]] = []
    trade_acct: list[int] = []
    if with_recent_trades:
        for _ in range(int(rng.integers(0, _RECENT_MAX + 1))):
            ago = int(rng.integers(1, _RECENT_DAYS + 1))
            date = day_strings[ago]
            if rng.random() < 0.5:  # a buy: an existing lot, bought `ago` days ago
                a = int(rng.integers(n_accounts))
                ok = (lot_acct == a) & buyable[a][lot_sec] & (days > _RECENT_DAYS)
                ok[turning] = False
                cand = np.flatnonzero(ok)
                if len(cand) == 0:
                    continue
                i = int(cand[rng.integers(len(cand))])
                days[i] = ago
                basis[i] = max(round(value[i] * math.exp(-abs(rng.normal(0.0, 0.02))), 2), 0.01)
                sh = float(shares[i])
                trade_acct.append(a)
                trades.append({"account_id": "", "symbol": _SYM[lot_sec[i]], "side": "buy",
                               "shares": sh if frac[i] else int(sh), "date": date})
            else:  # a sell in a taxable account, of a fund it still holds
                tax_idx = np.flatnonzero(taxable_acc)
                a = int(tax_idx[rng.integers(len(tax_idx))])
                held = np.flatnonzero(lot_acct == a)
                s = int(lot_sec[held[rng.integers(len(held))]])
                pos_value = float(value[(lot_acct == a) & (lot_sec == s)].sum())
                raw_sh = pos_value * rng.uniform(0.02, 0.2) / _PRICE[s]
                sh = round(max(raw_sh, 1e-4), 4) if _FRAC[s] else float(max(1, round(raw_sh)))
                gain = _cents(sh * _PRICE[s] * rng.normal(0.0, _RECENT_GAIN_SD))
                trade_acct.append(a)
                trades.append({"account_id": "", "symbol": _SYM[s], "side": "sell",
                               "shares": sh if _FRAC[s] else int(sh), "date": date,
                               "realized_gain": gain})
        if trades:  # re-dated lots may have left the loss set; loss sales join it
            dirty = _dirty_groups(
                lot_sec[lot_taxable & (basis > value - 0.01)],
                [_SYM.index(tr["symbol"]) for tr in trades
                 if tr["side"] == "sell" and tr["realized_gain"] < 0],
            )

    # -- frozen lots, cash, min_cash, cash flow ----------------------------------------
    # Taxable lots at a short-term gain (or about even) may be unsellable: the engine's
    # default protects gains turning long-term within 30 days, and `no_short_term_gains`
    # protects them all. The witness keeps them all, so it holds under either option.
    frozen = lot_taxable & short_by_age[days] & (value > basis - 0.01)
    frozen_cls = np.zeros((n_accounts, n_cls))
    if frozen.any():
        np.add.at(frozen_cls, lot_acct[frozen], value[frozen, None] * _EXPO[lot_sec[frozen]])
    frozen_acct = frozen_cls.sum(axis=1).tolist()
    holdings = np.bincount(lot_acct, weights=value, minlength=n_accounts)
    cash = np.round(planned * cash_frac, 2)
    cash_l = cash.tolist()
    acct_value = (cash + holdings).tolist()
    raisable = [acct_value[a] - frozen_acct[a] for a in range(n_accounts)]  # cash + sales
    min_cash = [0.0] * n_accounts
    for a in range(n_accounts):
        if kinds[a] == 0 and rng.random() < _P_MIN_CASH:
            lo_c, hi_c, step = _MIN_CASH_STEPS
            mc = float(lo_c + step * rng.integers(0, (hi_c - lo_c) // step + 1))
            if mc <= _MIN_CASH_MAX_SHARE * acct_value[a] and mc <= raisable[a]:
                min_cash[a] = mc
    flow = [0.0] * n_accounts
    u = rng.random()
    a_flow = int(rng.integers(n_accounts))
    share = rng.uniform(*_FLOW_RANGE)
    if u < _P_DEPOSIT:
        flow[a_flow] = _cents(share * acct_value[a_flow])
    elif u < _P_DEPOSIT + _P_WITHDRAWAL:
        room = math.floor((raisable[a_flow] - min_cash[a_flow]) * 100) / 100
        amount = min(_cents(share * acct_value[a_flow]), room)
        if amount > 0:
            flow[a_flow] = -amount

    # -- band, tax profile, tolerance --------------------------------------------------
    # The witness: account a keeps its frozen lots F[a, c] and spreads the rest of its
    # investable value, cap[a], so that class c gets need[c] = t[c] * S - sum_a F[a, c]
    # in all (S: total investable). Without bounds that is a transportation problem
    # with equal totals, feasible iff every need and cap is >= 0; a bonds band on the
    # first taxable account t adds an interval for its new bonds y (see below).
    after = [acct_value[a] + flow[a] for a in range(n_accounts)]
    grand = sum(after)
    cap = [after[a] - min_cash[a] - frozen_acct[a] for a in range(n_accounts)]
    need = [t[c] * (grand - sum(min_cash)) - float(frozen_cls[:, c].sum()) for c in range(n_cls)]
    witness_ok = min(cap) >= 0 and min(need[c] for c in classes) >= 0
    first_tax = 0  # the first account is always taxable
    band_hi = float(_BAND_HI[rng.integers(len(_BAND_HI))])
    band = None
    y_lo = y_hi = 0.0
    if rng.random() < _P_BAND:
        room_b = (band_hi - _BAND_MARGIN) * after[first_tax] - float(frozen_cls[first_tax, _BONDS])
        y_lo = max(0.0, cap[first_tax] - sum(need[c] for c in classes if c != _BONDS),
                   need[_BONDS] - (sum(cap) - cap[first_tax]))
        y_hi = min(room_b, need[_BONDS])
        if room_b >= 0 and (y_lo <= y_hi or not witness_ok):
            band = band_hi  # never makes the tolerance unreachable by itself

    def _money(p: float, law: tuple[float, float], positive: bool = False) -> float:
        if rng.random() >= p:
            return 0.0
        x = rng.uniform(0.0, law[1]) if positive else rng.normal(*law)
        return _cents(x * total)

    ytd_st = _money(_P_YTD_ST, (0.0, 0.01))
    ytd_lt = _money(_P_YTD_LT, (0.005, 0.02))
    carry_st = _money(_P_CARRY, (0.0, 0.02), positive=True)
    carry_lt = _money(_P_CARRY, (0.0, 0.02), positive=True)

    tol = round(float(rng.uniform(*_TOL_RANGE)), 3)
    want_tol = rng.random() < _P_TOLERANCE and witness_ok
    if want_tol and band is not None:
        want_tol = y_lo <= y_hi
    if want_tol:  # whole shares of the cheapest clean fund, plus min_cash, within tol / 2
        clean = buyable & _BUYABLE_SINGLE & ~dirty[_GROUP]
        grains = np.where(clean[:, :, None] & _ONEHOT[None], _GRAIN[None, :, None], np.inf)
        cheapest = grains.min(axis=1)[:, classes]
        slack = float(cheapest.sum()) + sum(min_cash)
        want_tol = bool(np.isfinite(slack)) and slack <= 0.5 * tol * grand

    # -- assemble ----------------------------------------------------------------------
    counters = [0, 0, 0]
    acct_ids = []
    for kd in kinds:
        counters[kd] += 1
        acct_ids.append(f"{_PREFIX[kd]}-{counters[kd]}")
    accounts = []
    for a in range(n_accounts):
        d: dict[str, Any] = {"account_id": acct_ids[a], "goal_id": "retirement",
                             "tax_type": _TYPES[kinds[a]], "cash": cash_l[a]}
        if flow[a]:
            d["cash_flow"] = flow[a]
        if min_cash[a]:
            d["min_cash"] = min_cash[a]
        if a == first_tax and band is not None:
            d["bands"] = {"us_bonds": [0.0, band]}
        if a in restricted:
            d["restricted"] = [_SYM[restricted[a]]]
        if a in menus:
            d["allowed"] = [_SYM[s] for s in menus[a]]
        accounts.append(d)

    goal: dict[str, Any] = {"goal_id": "retirement", "targets": targets}
    if want_tol:
        goal["drift_tolerance"] = tol

    whole = ~frac
    shares_o = shares.astype(object)
    shares_o[whole] = shares[whole].astype(np.int64).astype(object)
    lots = [
        {"lot_id": lid, "account_id": acct_ids[a], "symbol": _SYM[s], "shares": sh,
         "cost_basis": b, "acquired": day_strings[d]}
        if keep else
        {"lot_id": lid, "account_id": acct_ids[a], "symbol": _SYM[s], "shares": sh}
        for lid, a, s, sh, b, d, keep in zip(
            _lot_ids(n), lot_acct.tolist(), lot_sec.tolist(), shares_o.tolist(),
            basis.tolist(), days.tolist(), keep_basis[lot_acct].tolist(), strict=True)
    ]
    for tr, a in zip(trades, trade_acct, strict=True):
        tr["account_id"] = acct_ids[a]

    return {
        "format": FORMAT,
        "household_id": hid,
        "as_of": as_of,
        "tax_profile": {
            "short_term_rate": round(st_fed + state, 4),
            "long_term_rate": round(lt_fed + state, 4),
            "realized_ytd": {"short_term": ytd_st, "long_term": ytd_lt},
            "loss_carryforward": {"short_term": carry_st, "long_term": carry_lt},
            "ordinary_offset_limit": 3000.0,
        },
        "securities": securities_universe(),
        "goals": [goal],
        "accounts": accounts,
        "lots": lots,
        "recent_trades": trades,
        "options": {},
    }


def households(n: int, seed: int = 0, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Yield ``n`` households with ids ``syn-000000``, ``syn-000001``, ...

    Household ``i`` is ``household(household_seed(seed, i),
    household_id=f"syn-{i:06d}", **kwargs)``: deterministic, independent of
    ``n`` (a longer batch starts with the shorter one) and rebuildable alone.

    Parameters
    ----------
    n : int
        Number of households.
    seed : int
        Batch seed.
    **kwargs
        Passed to :func:`household` (not ``household_id``).
    """
    if "household_id" in kwargs:
        raise TypeError("households() names the households itself; do not pass household_id")
    for i in range(n):
        yield household(household_seed(seed, i), household_id=f"syn-{i:06d}", **kwargs)


def to_tables(hhs: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Flatten households into the rows of the batch tables (contract sections 2 and 5).

    Batch tests and benchmarks need the same households as CSV/Parquet
    tables; the layout and its encodings belong to `taxopt.batch.convert.to_rows`,
    which this calls: every table of `taxopt.batch.layout.SPECS` (``options``
    included), every column of each, None where the household leaves a value
    out (the schema's default applies when the folder is read).
    """
    from .batch.convert import to_rows

    return to_rows(hhs)
