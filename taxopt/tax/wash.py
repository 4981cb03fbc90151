"""The wash-sale rule (IRC §1091) as data: blocked groups and disallowed losses.

Securities that share a wash group are substantially identical. A loss sale is
disallowed to the extent the group was bought within 30 days before or after it,
in any account of the household (IRAs and Roths included).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..domain.household import TAXABLE, Household

WASH_WINDOW_DAYS = 30


def _in_window(hh: Household) -> np.ndarray:
    """Recent trades within the 30 days before ``as_of`` (once per household; read-only)."""
    return hh.cached("wash_window", lambda: _window(hh))


def _window(hh: Household) -> np.ndarray:
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


# -- Matching in date order (Treas. Reg. 1.1091-1(b), (d), (e)) --------------------------

@dataclass(frozen=True, slots=True, eq=False)
class Replacements:
    """Purchases of the last 30 days, in the order the law matches them (per wash group,
    earliest first), with what is left of each once earlier loss sales have used it.

    Amounts are dollars at today's prices, so shares of different symbols in one group
    compare. ``lot`` is the taxable lot the purchase created (-1: none or not taxable).
    """

    group: np.ndarray
    date: np.ndarray
    account: np.ndarray
    security: np.ndarray
    lot: np.ndarray
    value: np.ndarray       # dollars bought
    unused: np.ndarray      # dollars not yet used by an earlier (recent) loss sale

    def __len__(self) -> int:
        return len(self.group)


def _lot_of_purchase(hh: Household, account: np.ndarray, security: np.ndarray,
                     date: np.ndarray) -> np.ndarray:
    """The taxable lot a purchase created: same account and security, acquired that day
    (the first such lot by lot id when several match); -1 when none does."""
    lots = hh.lots
    out = np.full(len(account), -1, dtype=np.int64)
    if not len(lots) or not len(account):
        return out
    taxable = (hh.accounts.tax_type[lots.account] == TAXABLE) & ~np.isnat(lots.acquired)
    cand = np.flatnonzero(taxable)
    if not len(cand):
        return out
    n_sec = len(hh.securities)
    key = ((lots.account[cand] * n_sec + lots.security[cand]) * 1_000_000
           + lots.acquired[cand].astype("datetime64[D]").astype(np.int64) % 1_000_000)
    order = np.lexsort((cand, key))    # lots are packed in lot-id order
    key, cand = key[order], cand[order]
    want = (account * n_sec + security) * 1_000_000 + date.astype(np.int64) % 1_000_000
    at = np.minimum(np.searchsorted(key, want), len(key) - 1)
    return np.where(key[at] == want, cand[at], -1)


def recent_replacements(hh: Household) -> Replacements:
    """Recent purchases after the recent loss sales have used them, in date order
    (computed once per household: the model and the audit both need them; read-only)."""
    return hh.cached("recent_replacements", lambda: _recent_replacements(hh))


def _recent_replacements(hh: Household) -> Replacements:
    """Recent purchases after the recent loss sales have used them, in date order.

    Loss sales of the last 30 days take replacement shares first (they were sold
    earlier), each from the earliest purchases of its group not yet used; a purchase
    that replaced one loss is disregarded for any other. Recent trades are few, so this
    walks them one by one; ties in date break on account, symbol and size, never on
    the input's row order.
    """
    sec, r = hh.securities, hh.recent
    win = _in_window(hh)
    b = (win & r.is_buy).nonzero()[0]
    if not len(b):     # no purchase to replace anything: nothing for the sales to use
        none = np.zeros(0)
        return Replacements(np.zeros(0, sec.wash_group.dtype), r.date[b], r.account[b],
                            r.security[b], np.full(0, -1, dtype=np.int64), none, none.copy())
    if len(b) > 1:
        grp = sec.wash_group[r.security[b]]
        b = b[np.lexsort((r.shares[b], r.security[b], r.account[b], r.date[b], grp))]
    group = sec.wash_group[r.security[b]]
    value = r.shares[b] * sec.price[r.security[b]]
    unused = value.copy()
    if not len(b):     # no purchase to replace anything: nothing for the sales to use
        return Replacements(group, r.date[b], r.account[b], r.security[b],
                            np.full(0, -1, dtype=np.int64), value, unused)
    s = np.flatnonzero(win & ~r.is_buy & (r.realized_gain < 0))
    s = s[np.lexsort((r.realized_gain[s], r.shares[s], r.security[s], r.account[s],
                      r.date[s]))]
    for i in s:
        need = r.shares[i] * sec.price[r.security[i]]
        for j in np.flatnonzero(group == sec.wash_group[r.security[i]]):
            if need <= 0:
                break
            take = min(need, unused[j])
            unused[j] -= take
            need -= take
    return Replacements(group, r.date[b], r.account[b], r.security[b],
                        _lot_of_purchase(hh, r.account[b], r.security[b], r.date[b]),
                        value, unused)


def open_recent_loss_groups(hh: Household) -> np.ndarray:
    """Wash groups with a loss sale of the last 30 days that purchases have not yet fully
    replaced: buying them now would disallow (more of) that loss (once per household;
    read-only)."""
    return hh.cached("open_recent_loss_groups", lambda: _open_recent_loss_groups(hh))


def _open_recent_loss_groups(hh: Household) -> np.ndarray:
    sec, r = hh.securities, hh.recent
    win = _in_window(hh)
    blocked = np.zeros(len(sec.wash_group_names), dtype=bool)
    s = win & ~r.is_buy & (r.realized_gain < 0)
    if not s.any():
        return blocked
    sold = np.zeros(len(blocked))
    np.add.at(sold, sec.wash_group[r.security[s]], r.shares[s] * sec.price[r.security[s]])
    rep = recent_replacements(hh)
    used = np.bincount(rep.group, weights=rep.value - rep.unused, minlength=len(blocked))
    return sold - used > 1e-9


@dataclass(frozen=True, slots=True, eq=False)
class WashMatch:
    """Today's loss sales matched to replacement purchases (one entry per sale)."""

    covered: np.ndarray       # dollars of the sale that replacement shares cover
    disallowed: np.ndarray    # loss disallowed (positive dollars)
    replacement: np.ndarray   # index into the replacements of the first match, -1 if none


def match_sales(group: np.ndarray, value: np.ndarray, gain: np.ndarray, acquired: np.ndarray,
                lot: np.ndarray, lot_rank: np.ndarray, rep: Replacements,
                available: np.ndarray) -> WashMatch:
    """Match today's sales to what is left of the replacements, as the law orders it.

    Sales on one day are matched earliest-acquired shares first (then by ``lot_rank``, a
    stable key such as the rank of the lot id), each to the earliest purchases of its
    group, each replacement dollar used once. A purchase does not replace the shares of
    the lot it created (Rev. Rul. 56-602). Vectorized: one cumulative sum per group.

    Parameters
    ----------
    value, gain
        Dollars sold and the gain (negative for a loss) of each sale.
    available
        Per replacement, dollars that can still replace a sale today (what earlier loss
        sales left, and still held).
    """
    n = len(value)
    covered = np.zeros(n)
    first = np.full(n, -1, dtype=np.int64)
    cover = _cover(group, value, gain, acquired, lot, lot_rank, rep, available)
    if cover is None:
        return WashMatch(covered, np.zeros(n), first)
    order, g, before, c, n_grp = cover
    covered[order] = c
    # The first replacement each covered sale draws on: purchases sorted by group then
    # date; a sale's covered slice starts ``before`` dollars into its group's pool.
    ends = np.cumsum(available)
    grp_start = np.concatenate(([0.0], np.cumsum(np.bincount(rep.group, weights=available,
                                                             minlength=n_grp))))[:n_grp]
    at = np.searchsorted(ends, grp_start[g] + before, side="right")
    at = np.minimum(at, len(rep) - 1)
    first[order] = np.where(c > 0, at, -1)
    loss_value = np.where(gain < 0, -gain, 0.0)
    frac = np.divide(covered, value, out=np.zeros(n), where=value > 0)
    return WashMatch(covered, loss_value * frac, first)


def covered_dollars(group: np.ndarray, value: np.ndarray, gain: np.ndarray,
                    acquired: np.ndarray, lot: np.ndarray, lot_rank: np.ndarray,
                    rep: Replacements, available: np.ndarray) -> np.ndarray:
    """`match_sales`'s ``covered`` alone (the model's layout needs no more; the first
    replacement of each sale and the disallowed loss cost a dozen numpy calls)."""
    covered = np.zeros(len(value))
    cover = _cover(group, value, gain, acquired, lot, lot_rank, rep, available)
    if cover is not None:
        covered[cover[0]] = cover[3]
    return covered


def _cover(group: np.ndarray, value: np.ndarray, gain: np.ndarray, acquired: np.ndarray,
           lot: np.ndarray, lot_rank: np.ndarray, rep: Replacements, available: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int] | None:
    """The loss sales in matching order, their groups, the group's dollars sold before
    each, the dollars replacements cover, and the number of groups (None: nothing to
    match)."""
    n = len(value)
    loss = np.flatnonzero((gain < 0) & (value > 0))
    n_grp = int(max(group.max(initial=-1), rep.group.max(initial=-1))) + 1
    if not len(loss) or not len(rep) or not available.sum() > 0:
        return None
    acq = acquired.astype("datetime64[D]").astype(np.int64)
    order = loss[np.lexsort((lot_rank[loss], acq[loss], group[loss]))]
    g, v = group[order], value[order]
    cum = np.cumsum(v)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(g)) + 1))
    before = cum - v - np.repeat(cum[starts] - v[starts],
                                 np.diff(np.concatenate((starts, [len(g)]))))
    pool = np.bincount(rep.group, weights=available, minlength=n_grp)
    own = np.zeros(n)
    mine = rep.lot >= 0
    if mine.any():
        # (bincount adds in index order from zero, as `np.add.at` did)
        lot_slot = np.bincount(rep.lot[mine], weights=available[mine],
                               minlength=int(max(lot.max(initial=-1), rep.lot.max()) + 1))
        own = np.where(lot >= 0, lot_slot[np.clip(lot, 0, len(lot_slot) - 1)], 0.0)
        own = np.where(lot < len(lot_slot), own, 0.0)
    c = np.clip(pool[g] - before - own[order], 0.0, v)
    return order, g, before, c, n_grp
