"""The wash-sale rule (IRC §1091) as data: blocked groups and disallowed losses.

Securities that share a wash group are substantially identical. A loss sale is
disallowed to the extent the group was bought within 30 days before or after it,
in any account of the household (IRAs and Roths included).
"""

from __future__ import annotations

import numpy as np

from ..domain.household import Household

WASH_WINDOW_DAYS = 30


def _in_window(hh: Household) -> np.ndarray:
    age = (hh.as_of - hh.recent.date).astype(np.int64)
    return (age >= 0) & (age <= WASH_WINDOW_DAYS)


def recent_loss_groups(hh: Household) -> np.ndarray:
    """Wash groups sold at a loss in the last 30 days: buying them now would wash that loss."""
    blocked = np.zeros(len(hh.securities.wash_group_names), dtype=bool)
    r = hh.recent
    hit = _in_window(hh) & ~r.is_buy & (r.realized_gain < 0)
    blocked[hh.securities.wash_group[r.security[hit]]] = True
    return blocked


def recent_buy_equivalents(hh: Household) -> np.ndarray:
    """Dollars (at today's prices) of each wash group bought in the last 30 days.

    These purchases are replacement shares for any loss sale of the group today.
    Counting by value makes shares of different symbols in one group comparable.
    """
    sec, r = hh.securities, hh.recent
    hit = _in_window(hh) & r.is_buy
    value = np.zeros(len(sec.wash_group_names))
    np.add.at(value, sec.wash_group[r.security[hit]], r.shares[hit] * sec.price[r.security[hit]])
    return value


def lots_bought_recently(hh: Household) -> np.ndarray:
    """Dollars (today's prices) of each lot that a purchase in the window created.

    A lot acquired on the day of a recent buy of its security in its account *is* that
    purchase (up to the buy's size): selling it is not a sale replaced by itself, so
    its value must not count as replacement shares for its own loss.
    """
    lots, r, sec = hh.lots, hh.recent, hh.securities
    out = np.zeros(len(lots))
    hit = _in_window(hh) & r.is_buy
    if not hit.any() or not len(lots):
        return out
    key_lot = (lots.account * len(sec) + lots.security) * 100_000 + (
        lots.acquired.astype("datetime64[D]").astype(np.int64) % 100_000)
    key_buy = (r.account[hit] * len(sec) + r.security[hit]) * 100_000 + (
        r.date[hit].astype(np.int64) % 100_000)
    keys, inv = np.unique(key_buy, return_inverse=True)
    shares = np.bincount(inv, weights=r.shares[hit])
    at = np.minimum(np.searchsorted(keys, key_lot), len(keys) - 1)
    match = np.where(keys[at] == key_lot, shares[at], 0.0)
    return np.minimum(match, lots.shares) * sec.price[lots.security] * ~np.isnat(lots.acquired)


def disallowed_losses(group: np.ndarray, sold_value: np.ndarray, gain: np.ndarray,
                      replacement_value: np.ndarray) -> np.ndarray:
    """The part of each loss sale that the rule disallows (a positive dollar amount).

    Loss sales are matched to replacement purchases of their group in the order given
    (callers pass sales in lot order); only as much of a loss as has replacement is
    disallowed, pro rata within the sale that straddles the limit.
    """
    loss = np.where(gain < 0, -gain, 0.0)
    out = np.zeros_like(loss)
    is_loss = loss > 0
    if not is_loss.any():
        return out
    idx = np.flatnonzero(is_loss)
    order = idx[np.lexsort((idx, group[idx]))]
    g = group[order]
    value = sold_value[order]
    cum = np.cumsum(value)
    starts = np.r_[0, np.flatnonzero(np.diff(g)) + 1]
    offset = np.repeat(cum[starts] - value[starts], np.diff(np.r_[starts, len(g)]))
    before = cum - value - offset
    covered = np.clip(replacement_value[g] - before, 0.0, value)
    share = np.divide(covered, value, out=np.zeros_like(value), where=value > 0)
    out[order] = loss[order] * share
    return out
