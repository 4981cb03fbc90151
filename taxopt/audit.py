"""The independent audit: recompute holdings, cash, bands, drift, wash sales and tax
from the orders alone, and list every hard rule a plan breaks.

It never reads the optimizer's variables or objective, so it checks the
optimizer and the heuristics alike. A plan with violations is never written.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .domain.funding import funding_of
from .domain.household import TAXABLE, Household
from .domain.orders import Orders
from .options import Options
from .tax.distributions import distribution_tax, goal_totals
from .tax.holding import lots_long_term
from .tax.netting import NettedYear, net_year
from .tax.wash import (
    Replacements,
    WashMatch,
    match_sales,
    open_recent_loss_groups,
    recent_replacements,
)

CENT = 0.005           # dollars: what rounding to the cent may move
WEIGHT_TOL = 1e-6      # absolute weight: solver feasibility noise allowed on bands and tolerance


@dataclass(frozen=True, slots=True, eq=False)
class Assessment:
    """Everything a plan implies, derived from its orders and the household."""

    value: np.ndarray            # per order, shares x price
    long_term: np.ndarray        # per order (sales of taxable lots)
    gain: np.ndarray             # per order, realized gain (0 outside taxable sales)
    disallowed: np.ndarray       # per order, loss disallowed by the wash-sale rule
    row_tax: np.ndarray          # per order, (gain + disallowed) at the lot's own rate
    realized_short: float
    realized_long: float
    est_tax: float               # what the plan adds to the year's tax, fully netted
    year_before: NettedYear
    year_after: NettedYear
    cash_before: np.ndarray      # per account, before trades and cash flows
    cash_after: np.ndarray       # per account, after trades and cash flows
    class_before: np.ndarray     # account x class dollars, before
    class_after: np.ndarray      # account x class dollars, after
    account_value: np.ndarray    # per account, after cash flows
    weights_before: np.ndarray   # goal x class
    weights_after: np.ndarray
    drift_before: np.ndarray     # per goal, largest absolute gap to target
    drift_after: np.ndarray
    turnover: float              # dollars traded
    holdings_before: np.ndarray  # account x security dollars, before
    holdings_after: np.ndarray   # account x security dollars, after
    wash: WashMatch | None = None           # loss sales matched to replacement purchases
    replacements: Replacements | None = None
    # goal-level flows: per account, paid out, taken in, and the tax and penalty on payouts
    withdrawn: np.ndarray | None = None
    deposited: np.ndarray | None = None
    distribution_tax: np.ndarray | None = None

    @property
    def est_tax_distributions(self) -> float:
        """Tax and penalties on retirement-account payouts (0 without goal-level flows)."""
        return 0.0 if self.distribution_tax is None else float(self.distribution_tax.sum())


def assess(hh: Household, orders: Orders) -> Assessment:
    """Recompute the consequences of a trade list."""
    sec, acc, lots = hh.securities, hh.accounts, hh.lots
    price = sec.price[orders.security]
    value = orders.shares * price
    signed = np.where(orders.is_buy, value, -value)
    sale = ~orders.is_buy
    named = sale & (orders.lot >= 0) & (acc.tax_type[orders.account] == TAXABLE)
    li = np.maximum(orders.lot, 0)
    if len(lots):
        # a lot without cost basis (a retirement account's) has none to subtract; shares
        # are positive and bases finite, so nothing else is not a number
        basis_per_share = lots.basis[li] / lots.shares[li]
        basis_per_share = np.where(np.isnan(basis_per_share), 0.0, basis_per_share)
        long_term = named & lots_long_term(hh, li)
    else:
        basis_per_share = np.zeros(len(orders))
        long_term = np.zeros(len(orders), bool)
    gain = np.where(named, value - orders.shares * basis_per_share, 0.0)
    rep = recent_replacements(hh)
    match = wash_match(hh, orders, named, value, gain, rep)
    disallowed = match.disallowed
    rate = np.where(long_term, hh.tax.long_term_rate, hh.tax.short_term_rate)
    row_tax = np.where(named, (gain + disallowed) * rate, 0.0)
    counted = gain + disallowed
    st = float(counted[named & ~long_term].sum())
    lt = float(counted[named & long_term].sum())
    before, after = net_year(hh.tax), net_year(hh.tax, st, lt)

    n_acc, _K = len(acc), len(hh.classes)
    held = _table(_lot_cells(hh), lots.shares * sec.price[lots.security], (n_acc, len(sec)))
    traded = _table(_order_cells(hh, orders), signed, held.shape)
    cash_before = acc.cash.copy()
    cash_after = acc.cash + acc.cash_flow - np.bincount(orders.account, weights=signed,
                                                         minlength=n_acc)
    paid, taken = orders.withdraw, orders.deposit
    if paid is not None and taken is not None:
        cash_after = cash_after + taken - paid
    class_before = held @ sec.exposure
    class_before[:, hh.cash_class] += cash_before
    class_after = (held + traded) @ sec.exposure
    class_after[:, hh.cash_class] += cash_after
    w_before, d_before = _goal_weights(hh, class_before)
    w_after, d_after = _goal_weights(hh, class_after)
    return Assessment(value, long_term, gain, disallowed, row_tax, st, lt,
                      after.tax - before.tax, before, after, cash_before, cash_after,
                      class_before, class_after, class_after.sum(axis=1), w_before, w_after,
                      d_before, d_after, float(value.sum()), held, held + traded, match, rep,
                      paid, taken, None if paid is None else distribution_tax(hh, paid))


def _lot_cells(hh: Household) -> np.ndarray:
    """Each lot's cell in an (account, security) table, flat: the audit sums the lots'
    values and shares into that table, once each per household."""
    return hh.cached("audit_lot_cells",
                     lambda: hh.lots.account * len(hh.securities) + hh.lots.security)


def _order_cells(hh: Household, orders: Orders) -> np.ndarray:
    """Each order's cell in the same (account, security) table, flat."""
    return orders.account * len(hh.securities) + orders.security


def _table(cells: np.ndarray, values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``values`` summed into a ``shape`` table at flat ``cells`` (``row * shape[1] +
    column``): what ``np.add.at`` gives (the same additions, in the same order), by one
    ``bincount``."""
    return np.bincount(cells, weights=values, minlength=shape[0] * shape[1]).reshape(shape)


def _at(mask: np.ndarray) -> list[int]:
    """Where ``mask`` holds, as Python ints: a loop over a numpy array ends on a
    formatted IndexError, dearer than a check that finds nothing wrong."""
    return mask.nonzero()[0].tolist()


def _cells(mask: np.ndarray) -> list[tuple[int, int]]:
    """The (row, column) pairs where a table ``mask`` holds (see `_at`)."""
    r, c = np.nonzero(mask)
    return list(zip(r.tolist(), c.tolist(), strict=True))


def lot_rank(hh: Household) -> np.ndarray:
    """Each lot's rank by lot id: the stable tie-break when acquisition dates are equal.
    Lots are packed in lot-id order (`domain.household`), so it is the lot's index."""
    return np.arange(len(hh.lots), dtype=np.int64)


def wash_match(hh: Household, orders: Orders, named: np.ndarray, value: np.ndarray,
               gain: np.ndarray, rep: Replacements | None = None) -> WashMatch:
    """Today's taxable loss sales matched to the replacement purchases left over.

    A replacement lot sold in this plan replaces nothing with the shares it sells
    (selling it too restores the loss); recent loss sales have used their share first.
    """
    lots = hh.lots
    rep = recent_replacements(hh) if rep is None else rep
    if not len(rep) or not (gain < 0).any():
        n = len(orders)
        return WashMatch(np.zeros(n), np.zeros(n), np.full(n, -1, dtype=np.int64))
    li = np.maximum(orders.lot, 0)
    available = rep.unused.copy()
    has_lot = rep.lot >= 0
    if has_lot.any():
        sold = np.bincount(orders.lot[named], weights=value[named], minlength=len(lots))
        held = lots.shares * hh.securities.price[lots.security] - sold
        available[has_lot] = np.minimum(available[has_lot],
                                        np.maximum(held[rep.lot[has_lot]], 0.0))
    acquired = (lots.acquired[li] if len(lots) else np.zeros(len(orders), "datetime64[D]"))
    rank = lot_rank(hh)[li] if len(lots) else np.zeros(len(orders), np.int64)
    return match_sales(hh.securities.wash_group[orders.security], np.where(named, value, 0.0),
                       gain, acquired, np.where(named, orders.lot, -1), rank, rep, available)


def _goal_weights(hh: Household, account_class: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    G, K = len(hh.goals), account_class.shape[1]
    cell = (hh.accounts.goal[:, None] * K + np.arange(K)).ravel()   # account-major
    goal_class = np.bincount(cell, weights=account_class.ravel(), minlength=G * K).reshape(G, K)
    total = goal_class.sum(axis=1, keepdims=True)
    weights = np.divide(goal_class, total, out=np.zeros(goal_class.shape), where=total > 0)
    return weights, np.abs(weights - hh.goals.target).max(axis=1)


def violations(hh: Household, orders: Orders, a: Assessment | None = None,
               options: Options | None = None) -> list[str]:
    """Every hard rule the orders break, in words (empty when the plan is legal).

    ``options``, when given, add the optimizer's own caps: gain budgets, a tax budget
    and the no-short-term-gains switch (knobs of a plan, not rules of the household,
    so heuristics are not held to them).
    """
    a = a or assess(hh, orders)
    where = _Where(hh, orders)
    shape = (len(hh.accounts), len(hh.securities))
    held_sh = _table(_lot_cells(hh), hh.lots.shares, shape)
    cells = _order_cells(hh, orders)
    return (_sale_violations(hh, orders, where, held_sh, cells)
            + _whole_share_violations(hh, orders, where, held_sh)
            + _buy_violations(hh, orders, a, where, cells)
            + _cash_violations(hh, a)
            + funding_violations(hh, orders.withdraw, orders.deposit)
            + _band_violations(hh, a)
            + _cap_violations(orders, a, options, where)
            + _tolerance_violations(hh, a))


class _Where:
    """An order in words for a message: ``sell VTI in brokerage-1 lot L-0001``."""

    def __init__(self, hh: Household, orders: Orders):
        self.hh, self.orders = hh, orders

    def __call__(self, i: int) -> str:
        o, hh = self.orders, self.hh
        side = "buy" if o.is_buy[i] else "sell"
        lot = f" lot {hh.lots.lot_id[o.lot[i]]}" if o.lot[i] >= 0 else ""
        return (f"{side} {hh.securities.symbol[o.security[i]]} in "
                f"{hh.accounts.account_id[o.account[i]]}{lot}")


def _sale_violations(hh: Household, orders: Orders, where: _Where,
                     held_sh: np.ndarray, cells: np.ndarray) -> list[str]:
    """Sales: lots exist where the order says, never oversold; positions never oversold."""
    sec, acc, lots = hh.securities, hh.accounts, hh.lots
    aid, sym = acc.account_id, sec.symbol
    out: list[str] = []
    sale = ~orders.is_buy
    named = (sale & (orders.lot >= 0)).nonzero()[0]
    li = orders.lot[named]
    for i in named[(lots.account[li] != orders.account[named])
                   | (lots.security[li] != orders.security[named])].tolist():
        out.append(f"{where(i)}: the lot is not this account's {sym[orders.security[i]]}")
    taxable_sale = sale & (acc.tax_type[orders.account] == TAXABLE)
    for i in _at(taxable_sale & (orders.lot < 0)):
        out.append(f"{where(i)}: a taxable sale must name its lot")
    if len(lots):
        sold_lot = np.bincount(li, weights=orders.shares[named], minlength=len(lots))
        for li in _at(sold_lot > lots.shares + 1e-9):
            out.append(f"lot {lots.lot_id[li]}: sells {sold_lot[li]:g} shares of "
                       f"{lots.shares[li]:g} held")
    sold_sh = _table(cells[sale], orders.shares[sale], held_sh.shape)
    for ai, si in _cells(sold_sh > held_sh + 1e-9):
        out.append(f"account {aid[ai]}: sells {sold_sh[ai, si]:g} {sym[si]} of "
                   f"{held_sh[ai, si]:g} held (short sale)")
    return out


def _whole_share_violations(hh: Household, orders: Orders, where: _Where,
                            held_sh: np.ndarray) -> list[str]:
    """Whole shares for securities that are not fractional (closing a fractional lot is fine)."""
    sec, lots = hh.securities, hh.lots
    whole = ~sec.fractional[orders.security]
    off = whole & (np.abs(orders.shares - orders.shares.round()) > 1e-9)
    if not off.any():           # every order in whole shares where it must be
        return []
    sale = ~orders.is_buy
    lot_sh = np.where(orders.lot >= 0, lots.shares[np.maximum(orders.lot, 0)] if len(lots)
                      else 0.0, -1.0)
    pos_sh = held_sh[orders.account, orders.security]
    off &= ~(sale & ((np.abs(orders.shares - lot_sh) <= 1e-9) | (np.abs(orders.shares - pos_sh)
                                                                  <= 1e-9)))
    return [f"{where(i)}: {orders.shares[i]:g} shares; "
            f"{sec.symbol[orders.security[i]]} trades in whole shares"
            for i in _at(off)]


def _buy_violations(hh: Household, orders: Orders, a: Assessment,
                    where: _Where, cells: np.ndarray) -> list[str]:
    """Buys: menu, restrictions, tradability, and the wash-sale rule household-wide."""
    sec, acc = hh.securities, hh.accounts
    out: list[str] = []
    buy, sale = orders.is_buy, ~orders.is_buy
    for i in _at(buy & ~acc.buyable.take(cells)):
        out.append(f"{where(i)}: not allowed in this account (menu, restriction or not tradable)")
    pair = np.zeros(len(acc) * len(sec), bool)           # flat, as ``cells``
    pair[cells[buy]] = True
    for i in _at(sale & pair[cells]):
        out.append(f"{where(i)}: bought and sold in the same account")
    group = sec.wash_group[orders.security]
    names = sec.wash_group_names
    in_loss = np.zeros(len(names), bool)
    in_loss[group[(a.gain < -CENT) & sale]] = True
    blocked = open_recent_loss_groups(hh)
    for i in _at(buy & (in_loss[group] | blocked[group])):
        g = group[i]
        if in_loss[g]:
            out.append(f"{where(i)}: wash sale: group {names[g]} is sold at a loss in this plan")
        if blocked[g]:
            out.append(f"{where(i)}: wash sale: group {names[g]} was sold at a loss in the "
                       "last 30 days")
    return out


def _cash_violations(hh: Household, a: Assessment) -> list[str]:
    """Cash per account, after trades, deposits and withdrawals."""
    acc = hh.accounts
    return [f"account {acc.account_id[ai]}: cash after trades {a.cash_after[ai]:,.2f} is "
            f"below min_cash {acc.min_cash[ai]:,.2f}"
            for ai in _at(a.cash_after < acc.min_cash - CENT)]


def _band_violations(hh: Household, a: Assessment) -> list[str]:
    """Asset-location bands on the account's value after trades.

    A band bounds the mix of what the account holds: an account the plan empties (a
    withdrawal of its whole value) holds no mix to violate. The model agrees: its rows
    ``lo V <= class dollars <= hi V`` hold at ``V = 0`` when nothing is held.
    """
    acc = hh.accounts
    out: list[str] = []
    value = np.maximum(a.account_value, 1e-12)
    share = a.class_after / value[:, None]
    for ai, k in _cells(acc.banded & (a.account_value > CENT)[:, None]):
        lo, hi = acc.band_lo[ai, k], acc.band_hi[ai, k]
        if share[ai, k] < lo - WEIGHT_TOL or share[ai, k] > hi + WEIGHT_TOL:
            out.append(f"account {acc.account_id[ai]}: {hh.classes[k]} is "
                       f"{share[ai, k]:.4f} of the account, outside its band "
                       f"[{lo:.2f}, {hi:.2f}]")
    return out


def _cap_violations(orders: Orders, a: Assessment, options: Options | None,
                    where: _Where) -> list[str]:
    """The plan's own caps for the year (only when the optimizer's options are given)."""
    opts = options or Options(max_realized_short_term=None, max_realized_long_term=None,
                              max_tax=None, no_short_term_gains=False)
    out: list[str] = []
    for label, got, cap in (("net realized short-term gains", a.realized_short,
                             opts.max_realized_short_term),
                            ("net realized long-term gains", a.realized_long,
                             opts.max_realized_long_term),
                            ("estimated tax", a.est_tax, opts.max_tax)):
        if cap is not None and got > cap + CENT:
            out.append(f"{label} {got:,.2f} exceed the cap {cap:,.2f}")
    if opts.no_short_term_gains:
        sale = ~orders.is_buy
        for i in _at(sale & (orders.lot >= 0) & ~a.long_term & (a.gain > CENT)):
            out.append(f"{where(i)}: a short-term gain, and no_short_term_gains is set")
    return out


def _tolerance_violations(hh: Household, a: Assessment) -> list[str]:
    """The goals' hard drift tolerances, on goals that hold something after the plan:
    an emptied goal has no weights to drift (the model's rows hold at zero value too)."""
    out: list[str] = []
    tol = hh.goals.tolerance
    goal_value = np.bincount(hh.accounts.goal, weights=a.account_value, minlength=len(tol))
    for g in _at(~np.isnan(tol) & (goal_value > CENT)):
        gap = np.abs(a.weights_after[g] - hh.goals.target[g])
        for k in _at(gap > tol[g] + WEIGHT_TOL):
            out.append(f"goal {hh.goals.goal_id[g]}: {hh.classes[k]} weight "
                       f"{a.weights_after[g, k]:.4f} is more than {tol[g]:.2%} from target "
                       f"{hh.goals.target[g, k]:.2%}")
    return out


def funding_violations(hh: Household, withdraw: np.ndarray | None,
                       deposit: np.ndarray | None) -> list[str]:
    """Every rule of goal-level flows the plan breaks, in words."""
    f = funding_of(hh)
    if (withdraw is None and deposit is None and not f.active
            and not (f.max_withdrawal < -CENT).any() and not (f.max_deposit < -CENT).any()):
        return []     # no flows placed and none due: every check below holds at zero
    n = len(hh.accounts)
    w = np.zeros(n) if withdraw is None else np.asarray(withdraw, float)
    d = np.zeros(n) if deposit is None else np.asarray(deposit, float)
    acc, aid, gid = hh.accounts, hh.accounts.account_id, hh.goals.goal_id
    out: list[str] = []
    t = goal_totals(hh, f)
    G = len(hh.goals)
    paid = np.bincount(acc.goal, weights=w, minlength=G)
    taken = np.bincount(acc.goal, weights=d, minlength=G)
    for g in _at(np.abs(paid - np.round(t.withdraw, 2)) > CENT):
        out.append(f"goal {gid[g]}: its accounts pay out {paid[g]:,.2f}, the goal withdraws "
                   f"{t.withdraw[g]:,.2f}")
    for g in _at(np.abs(taken - np.round(t.deposit, 2)) > CENT):
        out.append(f"goal {gid[g]}: its accounts take in {taken[g]:,.2f}, the goal deposits "
                   f"{t.deposit[g]:,.2f}")
    sheltered = np.bincount(acc.goal, weights=d * (acc.tax_type != TAXABLE), minlength=G)
    own = np.maximum(f.goal_flow, 0.0)
    for g in _at(sheltered > own + CENT):
        out.append(f"goal {gid[g]}: retirement accounts take in {sheltered[g]:,.2f}, more "
                   f"than the goal's own deposit {own[g]:,.2f}")
    checks = (
        (w < -CENT, "pays out a negative amount", w, None),
        (d < -CENT, "takes in a negative amount", d, None),
        (w < f.min_withdrawal - CENT, "pays out {v:,.2f}, less than its required "
                                      "distribution min_withdrawal {c:,.2f}", w,
         f.min_withdrawal),
        (w > f.max_withdrawal + CENT, "pays out {v:,.2f}, over max_withdrawal {c:,.2f}", w,
         f.max_withdrawal),
        (d > f.max_deposit + CENT, "takes in {v:,.2f}, over its contribution room "
                                   "max_deposit {c:,.2f}", d, f.max_deposit),
    )
    for bad, text, v, cap in checks:
        for i in _at(bad):
            shown = text.format(v=v[i], c=0.0 if cap is None else cap[i])
            out.append(f"account {aid[i]}: {shown}")
    return out
