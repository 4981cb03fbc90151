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
# A sale 30 days ago was matched against purchases up to 30 days before it: trades
# this old still decide which recent purchases are left to replace a sale today.
MATCH_HORIZON_DAYS = 2 * WASH_WINDOW_DAYS


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
    hit = _in_window(hh) & _loss_sale(hh)
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


@dataclass(frozen=True, slots=True, eq=False)
class _Purchases:
    """Every purchase the matching sees: the buys of ``recent_trades`` back to
    `MATCH_HORIZON_DAYS`, and the implicit purchases (lots acquired that recently that
    no buy accounts for). ``lot`` is the lot the purchase created (any account, -1:
    none held); ``held`` the shares of it still held in that lot."""

    account: np.ndarray
    security: np.ndarray
    day: np.ndarray         # days since the epoch
    shares: np.ndarray
    lot: np.ndarray
    held: np.ndarray
    implicit: np.ndarray    # the implicit purchases' lots (indices, in lot-id order)


def _age(hh: Household) -> np.ndarray:
    """Days from each recent trade to ``as_of``."""
    return (hh.as_of - hh.recent.date).astype(np.int64)


def _lot_days(hh: Household) -> np.ndarray:
    """Each lot's acquired date in days since the epoch (a very old day when unknown)."""
    acquired = hh.lots.acquired.astype("datetime64[D]")
    return np.where(np.isnat(acquired), np.iinfo(np.int64).min // 2,
                    acquired.astype(np.int64))


def _loss_sale(hh: Household) -> np.ndarray:
    """Recent sells that realized a tax loss: in a taxable account only. A sale in an
    IRA or a Roth has no tax loss whatever the custodian's realized_gain says, so it has
    nothing to wash and uses up no replacement shares."""
    r = hh.recent
    return ~r.is_buy & (r.realized_gain < 0) & (hh.accounts.tax_type[r.account] == TAXABLE)


def _pair_lots(hh: Household, account: np.ndarray, security: np.ndarray, day: np.ndarray,
               shares: np.ndarray) -> np.ndarray:
    """The lot each purchase created, one lot per purchase at most: same account,
    security and acquired day; a lot of exactly the purchase's shares first, then the
    others by lot id. Purchases of one key are taken largest first (equal ones are
    interchangeable), so the pairing never depends on the input's row order. -1: the
    purchase's shares are not held any more (or its lot has another date)."""
    out = np.full(len(account), -1, dtype=np.int64)
    if not len(account) or not len(hh.lots):
        return out
    lots = hh.lots
    lot_day = _lot_days(hh)
    lo = int(day.min())
    cand = np.flatnonzero(lot_day >= lo)   # only lots acquired as early as a purchase
    by_key: dict[tuple[int, int, int], list[int]] = {}
    for li in cand.tolist():               # lots are packed in lot-id order
        by_key.setdefault((int(lots.account[li]), int(lots.security[li]),
                           int(lot_day[li])), []).append(li)
    order = np.lexsort((-shares, day, security, account))
    for j in order.tolist():
        free = by_key.get((int(account[j]), int(security[j]), int(day[j])))
        if not free:
            continue
        same = [li for li in free if abs(lots.shares[li] - shares[j]) <= 1e-9]
        li = same[0] if same else free[0]
        free.remove(li)
        out[j] = li
    return out


def _purchases(hh: Household) -> _Purchases:
    """The purchases the matching sees (see `_Purchases`), unsorted; once per household
    (the matching, the lots bought recently and the assumptions all read them)."""
    return hh.cached("wash_purchases", lambda: _gather_purchases(hh))


def _gather_purchases(hh: Household) -> _Purchases:
    r, lots = hh.recent, hh.lots
    age = _age(hh)
    b = np.flatnonzero(r.is_buy & (age >= 0) & (age <= MATCH_HORIZON_DAYS))
    day = r.date[b].astype(np.int64)
    lot = _pair_lots(hh, r.account[b], r.security[b], day, r.shares[b])
    implicit = _implicit_lots(hh, lot)
    safe = np.maximum(lot, 0)
    held = np.where(lot >= 0, np.minimum(r.shares[b], lots.shares[safe] if len(lots)
                                         else 0.0), 0.0)
    return _Purchases(
        np.concatenate([r.account[b], lots.account[implicit]]),
        np.concatenate([r.security[b], lots.security[implicit]]),
        np.concatenate([day, _lot_days(hh)[implicit]]),
        np.concatenate([r.shares[b], lots.shares[implicit]]),
        np.concatenate([lot, implicit]),
        np.concatenate([held, lots.shares[implicit]]),
        implicit)


def implicit_purchase_lots(hh: Household) -> np.ndarray:
    """Lots acquired within `MATCH_HORIZON_DAYS` of ``as_of`` that no buy of
    ``recent_trades`` accounts for (indices, in lot-id order).

    A lot acquired then was bought then (a replacement lot with a tacked holding period
    keeps its older date; a reinvested dividend is a purchase too), so its shares are
    taken as a purchase on its acquired date: replacement shares for a loss sale of its
    wash group within 30 days of that date, as if the buy had been listed.
    """
    return _purchases(hh).implicit


def _implicit_lots(hh: Household, paired: np.ndarray) -> np.ndarray:
    """`implicit_purchase_lots`, given the lots the listed buys created (``paired``)."""
    age = hh.as_of.astype("datetime64[D]").astype(np.int64) - _lot_days(hh)
    recent = (age >= 0) & (age <= MATCH_HORIZON_DAYS)
    recent[paired[paired >= 0]] = False
    return np.flatnonzero(recent)


def ignored_old_trades(hh: Household) -> int:
    """How many recent trades are older than `MATCH_HORIZON_DAYS` (and so not used)."""
    return int((_age(hh) > MATCH_HORIZON_DAYS).sum())


def lots_bought_recently(hh: Household) -> np.ndarray:
    """Dollars (today's prices) of each lot that a purchase in the window created.

    Selling such a lot is not a sale replaced by itself, so its value must not count as
    replacement shares for its own loss. Purchases map to lots one to one (`_pair_lots`).
    """
    lots, sec = hh.lots, hh.securities
    out = np.zeros(len(lots))
    p = _purchases(hh)
    today = hh.as_of.astype("datetime64[D]").astype(np.int64)
    mine = (p.lot >= 0) & (today - p.day <= WASH_WINDOW_DAYS)
    np.add.at(out, p.lot[mine], p.held[mine])
    return out * sec.price[lots.security] if len(lots) else out


def _sold_own_shares(hh: Household, p: _Purchases,
                     sells: np.ndarray) -> dict[int, dict[int, float]]:
    """Per recent sell, the purchased shares it sold (purchase index -> shares).

    Identification rule: purchased shares no longer held (``shares - held``) were sold by
    the sells of that security in that account on or after the purchase day, earliest
    purchase to earliest sell. A purchase cannot replace the very shares a loss sale
    sold (Rev. Rul. 56-602), so these are no replacement for that sale. Attributing the
    shares gone to the recent sells (rather than to older lots) is the cautious reading:
    it leaves more of a recent loss open.
    """
    r = hh.recent
    gone = p.shares - p.held
    out: dict[int, dict[int, float]] = {}
    p_order = np.lexsort((p.shares, p.day)).tolist()
    for i in sells.tolist():
        left = float(r.shares[i])
        d = int(r.date[i].astype(np.int64))
        mine: dict[int, float] = {}
        for j in p_order:
            if left <= 1e-12:
                break
            if (p.account[j] != r.account[i] or p.security[j] != r.security[i]
                    or p.day[j] > d or gone[j] <= 1e-12):
                continue
            take = min(left, float(gone[j]))
            gone[j] -= take
            left -= take
            mine[j] = take
        out[i] = mine
    return out


@dataclass(frozen=True, slots=True, eq=False)
class _RecentMatch:
    rep: Replacements
    open_groups: np.ndarray
    open_until: np.ndarray   # per group, the first day a buy washes no open loss (or NaT)


def _match_recent(hh: Household) -> _RecentMatch:
    """Match the recent loss sales to the purchases, as the law orders it.

    Loss sales (taxable accounts only) take replacement shares in date order, each from
    the earliest purchases of its group within 30 days before or after it that earlier
    sales left, never from the shares it sold itself; a purchase that replaced one loss
    is disregarded for any other (Treas. Reg. 1.1091-1(e)). Trades back to
    `MATCH_HORIZON_DAYS` take part, so a sale 30 days ago has used its own earlier
    purchases first. Trades are few: this walks them one by one; ties in date break on
    account, symbol and size, never on the input's row order.
    """
    sec, r = hh.securities, hh.recent
    n_grp = len(sec.wash_group_names)
    p = _purchases(hh)
    grp = sec.wash_group[p.security]
    order = np.lexsort((p.shares, p.security, p.account, p.day, grp))
    value = p.shares * sec.price[p.security]
    unused = value.copy()
    age = _age(hh)
    sells = np.flatnonzero(~r.is_buy & (age >= 0) & (age <= MATCH_HORIZON_DAYS))
    sells = sells[np.lexsort((r.realized_gain[sells], r.shares[sells], r.security[sells],
                              r.account[sells], r.date[sells]))]
    own = _sold_own_shares(hh, p, sells)
    loss = _loss_sale(hh)
    open_groups = np.zeros(n_grp, dtype=bool)
    open_until = np.full(n_grp, np.datetime64("NaT"), dtype="datetime64[D]")
    for i in sells[loss[sells]].tolist():
        price = sec.price[r.security[i]]
        need = r.shares[i] * price
        d = int(r.date[i].astype(np.int64))
        g = sec.wash_group[r.security[i]]
        for j in order[grp[order] == g].tolist():
            if need <= 1e-9:
                break
            if abs(int(p.day[j]) - d) > WASH_WINDOW_DAYS:
                continue
            free = unused[j] - own[i].get(j, 0.0) * sec.price[p.security[j]]
            take = min(need, max(free, 0.0))
            unused[j] -= take
            need -= take
        if need > 1e-9 and age[i] <= WASH_WINDOW_DAYS:
            open_groups[g] = True
            # sales are in date order: the last open one sets the day
            open_until[g] = r.date[i] + np.timedelta64(WASH_WINDOW_DAYS + 1, "D")
    today = hh.as_of.astype("datetime64[D]").astype(np.int64)
    keep = order[today - p.day[order] <= WASH_WINDOW_DAYS]
    taxable_lot = np.zeros(len(keep), dtype=np.int64) - 1
    lot = p.lot[keep]
    if len(hh.lots):
        is_tx = (lot >= 0) & (hh.accounts.tax_type[hh.lots.account[np.maximum(lot, 0)]]
                              == TAXABLE)
        taxable_lot = np.where(is_tx, lot, -1)
    rep = Replacements(grp[keep], p.day[keep].astype("datetime64[D]"), p.account[keep],
                       p.security[keep], taxable_lot, value[keep], unused[keep])
    return _RecentMatch(rep, open_groups, open_until)


def recent_replacements(hh: Household) -> Replacements:
    """Purchases of the last 30 days after the recent loss sales have used them, in
    date order (computed once per household: the model and the audit both need them;
    read-only)."""
    return hh.cached("recent_match", lambda: _match_recent(hh)).rep


def open_recent_loss_groups(hh: Household) -> np.ndarray:
    """Wash groups with a loss sale of the last 30 days that purchases have not yet fully
    replaced: buying them now would disallow (more of) that loss (once per household;
    read-only)."""
    return hh.cached("recent_match", lambda: _match_recent(hh)).open_groups


def open_recent_loss_until(hh: Household) -> np.ndarray:
    """Per wash group, the first day a purchase no longer washes an open recent loss
    (the last open loss sale's date + 31 days; NaT: no open loss; read-only)."""
    return hh.cached("recent_match", lambda: _match_recent(hh)).open_until


@dataclass(frozen=True, slots=True, eq=False)
class WashMatch:
    """Today's loss sales matched to replacement purchases (one entry per sale)."""

    covered: np.ndarray       # dollars of the sale that replacement shares cover
    disallowed: np.ndarray    # loss disallowed (positive dollars)
    replacement: np.ndarray   # index into the replacements of the first match, -1 if none
    # per replacement, the loss (positive dollars) disallowed against it: the basis a
    # taxable replacement lot gains (IRC 1091(d)); None when nothing was matched
    disallowed_into: np.ndarray | None = None


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
    into = _disallowed_into(order, before, c, group, lot, loss_value, value, rep, available,
                            grp_start)
    return WashMatch(covered, loss_value * frac, first, into)


def _disallowed_into(order: np.ndarray, before: np.ndarray, c: np.ndarray,
                     group: np.ndarray, lot: np.ndarray, loss: np.ndarray,
                     value: np.ndarray, rep: Replacements, available: np.ndarray,
                     grp_start: np.ndarray) -> np.ndarray:
    """Each replacement's share of the disallowed losses: a sale's covered dollars are
    laid on its group's replacements from where the sales before it stopped (the layout
    `match_sales` uses for the first match), skipping the lot the sale itself sells."""
    into = np.zeros(len(rep))
    ends = np.cumsum(available)
    starts = ends - available
    for k in np.flatnonzero(c > 0).tolist():
        i = int(order[k])
        per_dollar = loss[i] / value[i]
        lo = grp_start[group[i]] + before[k]
        left = c[k]
        lo_j, hi_j = np.searchsorted(rep.group, (group[i], group[i] + 1))
        for j in range(int(lo_j), int(hi_j)):     # sorted by group: one slice
            if left <= 1e-12:
                break
            if rep.lot[j] >= 0 and rep.lot[j] == lot[i]:
                continue
            take = min(max(ends[j] - max(starts[j], lo), 0.0), left)
            into[j] += take * per_dollar
            left -= take
    return into


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
