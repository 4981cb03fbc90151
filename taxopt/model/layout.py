"""Index maps from a household to the program's variables, computed once, vectorized.

- sell units: one per lot in taxable accounts (lots matter there), one per
  (account, security) position elsewhere (lots do not matter there);
- buy pairs: every (account, security) where a buy is allowed by the menu,
  the restrictions, tradability and the wash-sale look-back;
- positions: every (account, security) held or buyable, for holdings after trades.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..domain.household import TAXABLE, Household
from ..tax.distributions import goal_totals
from ..tax.holding import lots_long_term
from ..tax.wash import covered_dollars, open_recent_loss_groups, recent_replacements
from .flows import flows_active


@dataclass(frozen=True, slots=True, eq=False)
class Layout:
    """Variables' meaning: which account, security and lot each one stands for."""

    unit_account: np.ndarray
    unit_security: np.ndarray
    unit_lot: np.ndarray          # lot index, or -1 for an aggregated non-taxable position
    unit_shares: np.ndarray
    unit_basis: np.ndarray        # total basis (NaN outside taxable accounts)
    unit_taxable: np.ndarray
    unit_long: np.ndarray
    unit_washed: np.ndarray       # share of the unit's loss that recent purchases disallow
    buy_account: np.ndarray
    buy_security: np.ndarray
    pos_account: np.ndarray
    pos_security: np.ndarray
    pos_value: np.ndarray         # dollars held before trades
    unit_pos: np.ndarray
    buy_pos: np.ndarray
    account_value: np.ndarray     # dollars after cash flows (trades do not change it)
    goal_value: np.ndarray        # after all cash flows, goal-level ones included
    # (price array, gain per dollar) of the last `unit_gain_fraction`: the tax term, the
    # sale rules and the wash-sale rows all ask for it
    _gain: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list, init=False,
                                                      repr=False)

    @property
    def n_units(self) -> int:
        return len(self.unit_account)

    @property
    def n_buys(self) -> int:
        return len(self.buy_account)


def unit_gain_fraction(layout: Layout, price: np.ndarray) -> np.ndarray:
    """Gain per dollar sold for each unit (0 where there is no basis). Read-only; computed
    once per layout and price array."""
    if layout._gain and layout._gain[0][0] is price:
        return layout._gain[0][1]
    value = layout.unit_shares * price[layout.unit_security]
    gain = 1.0 - np.divide(layout.unit_basis, value, out=np.ones(len(value)), where=value > 0)
    gain[np.isnan(layout.unit_basis)] = 0.0     # no basis (and outside taxable accounts)
    gain.setflags(write=False)
    layout._gain[:] = [(price, gain)]
    return gain


def washed_share(hh: Household, t_idx: np.ndarray) -> np.ndarray:
    """Per taxable lot, the share of its loss the replacement shares bought in the last
    30 days would disallow, pro rata, were every loss lot of its group sold in full.

    The law washes the earliest-acquired shares sold first (Treas. Reg. 1.1091-1(b)),
    after recent loss sales have used their replacements (1.1091-1(e)); replacement
    lots are taken as kept. The disallowed part of a lot sold in full is exact; a
    partial sale gets the same share of its loss (linear in the shares sold), which the
    audit then settles exactly.
    """
    lots, sec = hh.lots, hh.securities
    if not len(t_idx):
        return np.zeros(0)
    rep = recent_replacements(hh)
    if not len(rep):
        return np.zeros(len(t_idx))
    value = lots.shares[t_idx] * sec.price[lots.security[t_idx]]
    gain = value - lots.basis[t_idx]
    # lots are packed in lot-id order, so the index is the stable tie-break
    covered = covered_dollars(sec.wash_group[lots.security[t_idx]], value, gain,
                              lots.acquired[t_idx], t_idx, t_idx, rep, rep.unused)
    return np.divide(covered, value, out=np.zeros(len(t_idx)), where=value > 0)


def unique_keys(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, return_inverse=True)`` for keys in ``[0, size)``: by a table of
    the keys present when it is small (no sort; a household's keys are account x
    security pairs)."""
    if size > 4 * len(keys) + 4096:
        return np.unique(keys, return_inverse=True)
    present = np.zeros(size, bool)
    present[keys] = True
    rank = present.cumsum() - 1
    return present.nonzero()[0], rank[keys]


def build_layout(hh: Household) -> Layout:
    """Index the household's lots, positions and allowed buys."""
    lots, acc, sec = hh.lots, hh.accounts, hh.securities
    n_sec = len(sec)
    taxable_lot = acc.tax_type[lots.account] == TAXABLE
    other_lot = ~taxable_lot

    # Non-taxable lots collapse to one unit per position (no Python loop per lot).
    key = lots.account * n_sec + lots.security
    n_keys = len(acc) * n_sec
    agg_keys, agg_inv = unique_keys(key[other_lot], n_keys)
    agg_shares = np.bincount(agg_inv, weights=lots.shares[other_lot],
                             minlength=len(agg_keys))
    t_idx = taxable_lot.nonzero()[0]
    n_t, n_units = len(t_idx), len(t_idx) + len(agg_keys)
    agg_account, agg_security = np.divmod(agg_keys, n_sec)
    unit_account = np.concatenate([lots.account[t_idx], agg_account])
    unit_security = np.concatenate([lots.security[t_idx], agg_security])
    unit_lot = np.concatenate([t_idx, np.full(len(agg_keys), -1)])
    unit_shares = np.concatenate([lots.shares[t_idx], agg_shares])
    unit_basis = np.concatenate([lots.basis[t_idx], np.full(len(agg_keys), np.nan)])
    # the taxable lots come first, one unit each
    unit_taxable = np.zeros(n_units, bool)
    unit_taxable[:n_t] = True
    unit_long = np.zeros(n_units, bool)
    unit_long[:n_t] = lots_long_term(hh, t_idx)
    group = sec.wash_group
    unit_washed = np.zeros(n_units)
    unit_washed[:n_t] = washed_share(hh, t_idx)

    blocked = open_recent_loss_groups(hh)
    buyable = acc.buyable & ~blocked[group][None, :]
    buy_account, buy_security = np.nonzero(buyable)

    unit_key = unit_account * n_sec + unit_security
    buy_key = buy_account * n_sec + buy_security
    pos_keys, inv = unique_keys(np.concatenate([unit_key, buy_key]), n_keys)
    unit_pos, buy_pos = inv[: len(unit_key)], inv[len(unit_key):]
    pos_account, pos_security = np.divmod(pos_keys, n_sec)
    pos_value = np.bincount(unit_pos, weights=unit_shares * sec.price[unit_security],
                            minlength=len(pos_keys))

    account_value = (np.bincount(pos_account, weights=pos_value, minlength=len(acc))
                     + acc.cash + acc.cash_flow)
    goal_value = np.bincount(acc.goal, weights=account_value, minlength=len(hh.goals))
    if flows_active(hh):      # goal-level flows: their split is chosen
        goal_value = goal_value + goal_totals(hh).net
    return Layout(unit_account, unit_security, unit_lot, unit_shares, unit_basis, unit_taxable,
                  unit_long, unit_washed, buy_account, buy_security, pos_account, pos_security,
                  pos_value, unit_pos, buy_pos, account_value, goal_value)
