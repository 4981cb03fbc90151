"""Seeded synthetic households in the contract's JSON format (``taxopt.household/1``).

Tests, benchmarks and batch runs all need households that look like real ones
(a few accounts, many tax lots, gains and losses, menus, bands, wash-sale
traps) and that are *valid and feasible by construction*, so that a failure
is the engine's fault and never the data's. This package is that single
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

from .generate import household, household_seed, households
from .params import DISTRIBUTIONS
from .tables import to_tables
from .universe import CLASSES, FORMAT, securities_universe

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
