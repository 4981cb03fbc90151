"""The working state every heuristic trades against: holdings, cash and the order list.

A heuristic decides *how much* of each asset class to sell or buy in each
account; the book turns that into legal orders:

- sales take shares from the securities whose main class is the one being
  sold, lot by lot in taxable accounts in the heuristic's lot order (a sort
  and a cumulative sum, no loop per lot), whole shares for securities that
  are not fractional;
- a loss sale in a taxable account blocks its wash group for every purchase
  in the household, as do the losses of the last 30 days;
- purchases pick, per account and class, the cheapest-to-hold eligible
  security (menu, restrictions, tradability, wash groups, not sold in the
  same account), floor whole shares so cash never goes below the account's
  cash floor, and stay under the account's band ceilings.

Every heuristic does all of its sales first and its purchases last, so the
wash-sale block is known before anything is bought.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..domain.household import TAXABLE, Household
from ..domain.orders import Orders
from ..tax.holding import is_long_term
from ..tax.wash import recent_loss_groups

LotOrder = Literal["fifo", "hifo", "min_tax"]
Rounding = Literal["nearest", "up"]

FULL = 1.0 - 1e-9          # exposure counted as "all of it in this class"
SHARE_EPS = 1e-9
FRACTION_GRAIN = 1e-4      # fractional shares are bought in steps of 1/10,000


def lot_keys(hh: Household, order: LotOrder) -> np.ndarray:
    """A rank per lot: lower ranks are sold first (ties broken by the lot's position).

    - ``fifo``: oldest acquisition first;
    - ``hifo``: highest cost per share first (meaningful within one security);
    - ``min_tax``: losses first (largest loss per dollar first), then long-term
      gains from the highest basis (least gain per dollar), short-term gains last.
    """
    lots, price = hh.lots, hh.securities.price
    n = len(lots)
    if n == 0:
        return np.zeros(0, np.int64)
    idx = np.arange(n)
    per_share = np.divide(lots.basis, lots.shares, out=np.full(n, np.nan),
                          where=lots.shares > 0)
    if order == "fifo":
        days = lots.acquired.astype("datetime64[D]").astype(np.int64).astype(float)
        days[np.isnat(lots.acquired)] = np.inf
        keys: tuple[np.ndarray, ...] = (idx, days)
    elif order == "hifo":
        cost = np.where(np.isnan(per_share), -np.inf, per_share)
        keys = (idx, -cost)
    elif order == "min_tax":
        p = price[lots.security]
        gain_frac = np.where(np.isnan(per_share), 0.0, (p - np.nan_to_num(per_share)) / p)
        long = is_long_term(lots.acquired, hh.as_of)
        category = np.where(gain_frac < 0, 0, np.where(long, 1, 2))
        keys = (idx, gain_frac, category)
    else:  # pragma: no cover - guarded by the Literal
        raise ValueError(f"unknown lot order {order!r}")
    rank = np.empty(n, np.int64)
    rank[np.lexsort(keys)] = idx
    return rank


def take_in_order(need: float, available: np.ndarray) -> np.ndarray:
    """Shares taken from each holding, in the order given, until ``need`` is covered."""
    before = np.cumsum(available) - available
    return np.clip(need - before, 0.0, available)


class Book:
    """Holdings, cash and orders of one household while a heuristic plans its trades."""

    def __init__(self, hh: Household, lot_order: LotOrder = "fifo"):
        self.hh = hh
        sec, acc, lots = hh.securities, hh.accounts, hh.lots
        self.n_acc, self.n_sec, self.K = len(acc), len(sec), len(hh.classes)
        self.cash_k = hh.cash_class
        self.price = sec.price
        self.expo = sec.exposure
        self.main = np.argmax(sec.exposure, axis=1)
        self.shares = np.zeros((self.n_acc, self.n_sec))
        np.add.at(self.shares, (lots.account, lots.security), lots.shares)
        self.lot_left = lots.shares.astype(float).copy()
        self.lot_rank = lot_keys(hh, lot_order)
        self.cash = acc.cash + acc.cash_flow
        self.value = self.holding_value().sum(axis=1) + self.cash   # constant under trades
        target_cash = hh.goals.target[acc.goal, self.cash_k] * self.value
        self.floor = np.maximum(acc.min_cash, target_cash)
        self.taxable = acc.tax_type == TAXABLE
        self.sold = np.zeros((self.n_acc, self.n_sec), bool)
        self.loss_group = recent_loss_groups(hh).copy()
        self.min_trade = float(hh.options.min_trade_value)
        self._drag = self._holding_cost()
        self._orders: list[tuple[np.ndarray, ...]] = []

    # --- views -------------------------------------------------------------------------
    def holding_value(self) -> np.ndarray:
        """Dollars per (account, security) now."""
        return self.shares * self.price[None, :]

    def class_dollars(self) -> np.ndarray:
        """Dollars per (account, class) now, cash in the last column."""
        out = self.holding_value() @ self.expo
        out[:, self.cash_k] += self.cash
        return out

    def goal_accounts(self, g: int) -> np.ndarray:
        return np.flatnonzero(self.hh.accounts.goal == g)

    def goal_mix(self, g: int) -> np.ndarray:
        """The goal's target over the invested classes (cash excluded), summing to 1."""
        t = self.hh.goals.target[g].copy()
        t[self.cash_k] = 0.0
        total = t.sum()
        return t / total if total > 0 else t

    def spendable(self, a: int) -> float:
        """Cash above the account's floor (min_cash or the goal's cash target)."""
        return float(self.cash[a] - self.floor[a])

    def main_class_dollars(self, a: int, k: int) -> float:
        """Class-k dollars held in account a through securities whose main class is k."""
        mine = (self.main == k) & (self.shares[a] > 0)
        return float(np.sum(self.shares[a, mine] * self.price[mine] * self.expo[mine, k]))

    # --- sales -------------------------------------------------------------------------
    def sell_class(self, a: int, k: int, dollars: float, pooled: bool = False,
                   rounding: Rounding = "nearest", any_exposure: bool = False) -> float:
        """Reduce class k in account a by about ``dollars``; returns the cash raised.

        Securities whose main class is k (with ``any_exposure``: every security
        with some of k) are sold: pro rata to their class-k dollars, each in its
        own lot order (``pooled=False``), or all their lots together in lot order
        (``pooled=True``, taxable accounts).
        """
        if dollars <= 0:
            return 0.0
        of_k = self.expo[:, k] > 0 if any_exposure else self.main == k
        secs = np.flatnonzero(of_k & (self.shares[a] > SHARE_EPS))
        if not len(secs):
            return 0.0
        pure = self.expo[secs, k] >= FULL
        if pure.any() and not pure.all():
            # single-class securities first, multi-class funds only for the rest
            raised = self._sell_among(a, k, secs[pure], dollars, pooled, rounding)
            left = dollars - raised
            if left > 0.5 * self.price[secs[~pure]].min():
                raised += self._sell_among(a, k, secs[~pure], left, pooled, rounding)
            return raised
        return self._sell_among(a, k, secs, dollars, pooled, rounding)

    def _sell_among(self, a: int, k: int, secs: np.ndarray, dollars: float, pooled: bool,
                    rounding: Rounding) -> float:
        per_class = self.shares[a, secs] * self.price[secs] * self.expo[secs, k]
        total = per_class.sum()
        if total <= 0:
            return 0.0
        dollars = min(dollars, total)
        if pooled and self.taxable[a]:
            return self._sell_pooled(a, k, secs, dollars, rounding)
        raised = 0.0
        for s, held in zip(secs, per_class, strict=True):
            want = dollars * held / total / (self.price[s] * self.expo[s, k])
            raised += self.sell_shares(a, s, want, rounding)
        return raised

    def sell_shares(self, a: int, s: int, shares: float, rounding: Rounding = "nearest") -> float:
        """Sell about ``shares`` of security s in account a (lots in lot order if taxable)."""
        held = self.shares[a, s]
        shares = self._round_sale(s, min(shares, held), rounding)
        if shares <= SHARE_EPS:
            return 0.0
        if held - shares <= SHARE_EPS * max(1.0, held):
            shares = held
        if not self.taxable[a]:
            self._record_sale(a, s, np.array([-1]), np.array([shares]))
            return shares * self.price[s]
        lot_idx = self._lots_of(a, np.array([s]))
        take = take_in_order(shares, self.lot_left[lot_idx])
        take = self._whole_partials(s, take, lot_idx)
        self._record_sale(a, s, lot_idx, take)
        return float(take.sum() * self.price[s])

    def raise_cash(self, a: int, need: float, prefer: np.ndarray | None = None,
                   pooled: bool = False) -> None:
        """Sell until account a holds ``need`` more dollars of cash (rounding shares up).

        Classes are sold pro rata to ``prefer`` (e.g. how overweight each one is)
        first, then pro rata to what the account holds, then anything left.
        """
        goal = float(self.cash[a]) + need
        for weights in (prefer, None):
            short = goal - self.cash[a]
            if short <= 0.005:
                return
            held = np.array([self.main_class_dollars(a, k) for k in range(self.K)])
            w = held.copy() if weights is None else np.minimum(np.maximum(weights, 0.0), held)
            w[self.cash_k] = 0.0
            if w.sum() <= 0:
                continue
            for k in np.flatnonzero(w > 0):
                self.sell_class(a, int(k), short * w[k] / w.sum(), pooled=pooled, rounding="up")
        for s in np.flatnonzero(self.shares[a] > SHARE_EPS):
            short = goal - self.cash[a]
            if short <= 0.005:
                break
            self.sell_shares(a, int(s), short / self.price[s], rounding="up")

    def _sell_pooled(self, a: int, k: int, secs: np.ndarray, dollars: float,
                     rounding: Rounding) -> float:
        lot_idx = self._lots_of(a, secs)
        if not len(lot_idx):
            return 0.0
        s_of = self.hh.lots.security[lot_idx]
        unit = self.price[s_of] * self.expo[s_of, k]            # class dollars per share
        avail = self.lot_left[lot_idx]
        take_d = take_in_order(dollars, avail * unit)
        take = take_d / unit
        whole = ~self.hh.securities.fractional[s_of]
        partial = (take > SHARE_EPS) & (take < avail - SHARE_EPS) & whole
        if partial.any():
            r = np.ceil(take[partial] - 1e-9) if rounding == "up" else np.round(take[partial])
            take[partial] = np.minimum(r, avail[partial])
        raised = 0.0
        for s in np.unique(s_of[take > SHARE_EPS]):
            here = s_of == s
            self._record_sale(a, int(s), lot_idx[here], take[here])
            raised += float(take[here].sum() * self.price[s])
        return raised

    def _lots_of(self, a: int, secs: np.ndarray) -> np.ndarray:
        """Open lots of account a in the given securities, in lot order."""
        lots = self.hh.lots
        mine = np.flatnonzero((lots.account == a) & np.isin(lots.security, secs)
                              & (self.lot_left > SHARE_EPS))
        return mine[np.argsort(self.lot_rank[mine], kind="stable")]

    def _round_sale(self, s: int, shares: float, rounding: Rounding) -> float:
        if self.hh.securities.fractional[s]:
            return shares
        return float(np.ceil(shares - 1e-9) if rounding == "up" else np.round(shares))

    def _whole_partials(self, s: int, take: np.ndarray, lot_idx: np.ndarray) -> np.ndarray:
        """A partial sale of a lot of a whole-share security is a whole number of shares."""
        if self.hh.securities.fractional[s]:
            return take
        avail = self.lot_left[lot_idx]
        partial = (take > SHARE_EPS) & (take < avail - SHARE_EPS)
        take = take.copy()
        take[partial] = np.minimum(np.ceil(take[partial] - 1e-9), avail[partial])
        return take

    def _record_sale(self, a: int, s: int, lot_idx: np.ndarray, take: np.ndarray) -> None:
        keep = take > SHARE_EPS
        lot_idx, take = lot_idx[keep], take[keep]
        if not len(take):
            return
        n = len(take)
        self._orders.append((np.full(n, a), np.full(n, s), np.zeros(n, bool), take, lot_idx))
        total = float(take.sum())
        self.shares[a, s] = max(self.shares[a, s] - total, 0.0)
        self.cash[a] += total * self.price[s]
        self.sold[a, s] = True
        named = lot_idx >= 0
        if named.any():
            self.lot_left[lot_idx[named]] -= take[named]
            if self.taxable[a]:
                lots = self.hh.lots
                li = lot_idx[named]
                per_share = np.nan_to_num(lots.basis[li] / lots.shares[li])
                gain = take[named] * (self.price[s] - per_share)
                if np.any(gain < -1e-9):
                    self.loss_group[self.hh.securities.wash_group[s]] = True

    # --- purchases ---------------------------------------------------------------------
    def _holding_cost(self) -> np.ndarray:
        """Per (account type taxable?, security): yearly tax on distributions per dollar.

        In a taxable account that is the drag (qualified part at the long-term
        rate, the rest at the ordinary rate, tax-exempt funds nothing); in a
        sheltered account distributions cost nothing, but a tax-exempt fund
        wastes its exemption there, so it ranks last.
        """
        sec, tax = self.hh.securities, self.hh.tax
        drag = sec.dist_yield * (sec.qualified * tax.long_term_rate
                                 + (1 - sec.qualified) * tax.short_term_rate) * ~sec.tax_exempt
        sheltered = sec.tax_exempt.astype(float)
        return np.vstack([sheltered, drag])      # row 1: taxable, row 0: sheltered

    def choose(self, a: int, k: int) -> int:
        """The security account a buys for class k, or -1 when none is eligible."""
        sec = self.hh.securities
        ok = (self.hh.accounts.buyable[a] & ~self.loss_group[sec.wash_group]
              & ~self.sold[a] & (self.expo[:, k] > 0))
        if not ok.any():
            return -1
        full = ok & (self.expo[:, k] >= FULL)
        if full.any():
            ok = full
        else:
            ok &= self.expo[:, k] >= self.expo[ok, k].max() - 1e-12
        cand = np.flatnonzero(ok)
        cost = self._drag[int(self.taxable[a]), cand]
        not_held = self.shares[a, cand] <= SHARE_EPS
        return int(cand[np.lexsort((cand, not_held, cost))[0]])

    def can_buy(self, a: int, k: int) -> bool:
        """Whether the account's menu has any security with exposure to class k."""
        return bool(np.any(self.hh.accounts.buyable[a] & (self.expo[:, k] > 0)))

    def buy_mix(self, a: int, want: np.ndarray) -> None:
        """Buy about ``want[k]`` dollars of each class in account a from its spendable cash.

        Classes the account cannot buy (menu, wash block) are skipped and their
        money stays in cash; a banded class stays under its ceiling and, cash
        permitting, is lifted to its floor.
        """
        want = np.maximum(np.asarray(want, float).copy(), 0.0)
        want[self.cash_k] = 0.0
        if self.spendable(a) <= 0 or want.sum() <= 0:
            return
        acc = self.hh.accounts
        pick = np.array([self.choose(a, k) if want[k] > 0 else -1 for k in range(self.K)])
        want[pick < 0] = 0.0
        cur = self.class_dollars()[a]
        banded = acc.banded[a]
        room = np.where(banded, np.maximum(acc.band_hi[a] * self.value[a] - cur, 0.0), np.inf)
        below = np.where(banded, np.maximum(acc.band_lo[a] * self.value[a] - cur, 0.0), 0.0)
        want = np.minimum(want, room)
        want[(want < self.min_trade) & (below <= 0)] = 0.0
        if want.sum() <= 0:
            return
        budget = self.spendable(a)
        if want.sum() > budget:
            want *= budget / want.sum()
        bought = np.zeros(self.K)
        for k in np.flatnonzero(want > 0):
            bought[k] = self.buy_value(a, int(pick[k]), want[k])
        # top up: whole-share flooring leaves up to a share per class in cash
        gap = want - bought
        for k in np.argsort(-gap, kind="stable"):
            s = pick[k]
            if s < 0 or want[k] <= 0 or self.hh.securities.fractional[s]:
                continue
            p = self.price[s]
            short_of_floor = below[k] - bought[k] > 1e-7 * self.value[a]
            if ((gap[k] >= 0.5 * p or short_of_floor) and p <= self.spendable(a) + 1e-9
                    and bought[k] + p <= room[k] + 1e-9):
                bought[k] += self.buy_value(a, int(s), p)

    def buy_value(self, a: int, s: int, dollars: float) -> float:
        """Buy at most ``dollars`` (and at most the spendable cash) of s in account a."""
        dollars = min(dollars, self.spendable(a))
        if dollars <= 0:
            return 0.0
        raw = dollars / self.price[s]
        if self.hh.securities.fractional[s]:
            shares = np.floor(raw / FRACTION_GRAIN + 1e-9) * FRACTION_GRAIN
        else:
            shares = float(np.floor(raw + 1e-9))
        if shares * self.price[s] > self.spendable(a) + 1e-9:
            shares -= FRACTION_GRAIN if self.hh.securities.fractional[s] else 1.0
        if shares <= SHARE_EPS:
            return 0.0
        self._orders.append((np.array([a]), np.array([s]), np.ones(1, bool),
                             np.array([shares]), np.array([-1])))
        self.shares[a, s] += shares
        self.cash[a] -= shares * self.price[s]
        return float(shares * self.price[s])

    # --- result ------------------------------------------------------------------------
    def orders(self) -> Orders:
        """The orders, one per (account, security, side, lot), sorted as `Orders.make` does."""
        if not self._orders:
            return Orders.empty()
        acc, sec, buy, sh, lot = (np.concatenate(c) for c in zip(*self._orders, strict=True))
        n_lot = len(self.hh.lots) + 1
        key = ((acc * self.n_sec + sec) * 2 + buy) * n_lot + (lot + 1)
        uniq, inv = np.unique(key, return_inverse=True)
        shares = np.bincount(inv, weights=sh, minlength=len(uniq))
        lot_u = uniq % n_lot - 1
        rest = uniq // n_lot
        buy_u = (rest % 2).astype(bool)
        pair = rest // 2
        return Orders.make(pair // self.n_sec, pair % self.n_sec, buy_u, shares, lot_u, self.hh)
