"""Why each order is in the plan: a `reason` per order and a line per account.

Reasons are derived from what the orders *do*, read from the household and the
audit's `Assessment` only (never from the optimizer's variables), so they
explain heuristic plans and re-read trade tables as well as optimized ones.
Everything is vectorized over orders with numpy.

Rule order (the first rule that matches an order gives its reason)
------------------------------------------------------------------
1. ``rounding``: the order is worth less than ``max(min_trade_value, $1)``
   (the household's option). The decoder only lets such orders through when
   they close a whole lot or position, so these are the remnants that
   whole-share rounding leaves (e.g. 0.37 shares of a whole-share fund).
2. ``harvest``: a taxable sale that names its lot and realizes a loss that
   counts (gain + wash-disallowed part < -$0.005), whose asset classes are
   mostly (>= half of its value) rebought *in the same account* (its proceeds
   stay there) in another wash group.
3. ``substitute``: a buy of such an account whose class dollars are mostly
   (>= half of its value) covered by the account's loss sales of other wash
   groups in the same classes: the replacement that keeps the exposure while
   the loss is harvested.
4. ``withdrawal``: a sale in an account with ``cash_flow < 0``, while the
   account's sales so far (trade-list order, reasons 1-3 excluded) have not yet
   raised the cash it lacks, ``min_cash - cash - cash_flow``.
5. ``deposit``: a buy in an account with ``cash_flow > 0``, while the
   account's buys so far (trade-list order, reasons 1-3 excluded) have not yet
   used up the deposit.
6-9. What is left splits each order's class dollars into a *reshuffle* of
   its own account (offset by opposite trades of the class in the same
   account, rules 1-3 excepted: a balanced fund sold and its bond part
   rebought as a bond fund), a *cross* part (offset by opposite net trades of
   the class in the goal's other accounts) and the goal's *net* change in the
   class, which moves it toward its target dollars (target x the goal's value
   after cash flows) or away from them. The largest part decides:
6. ``rebalance``: the reshuffle plus the net change toward target (ties go
   here);
7. ``location``: the cross part: the trade keeps the goal's weights and moves
   a class between accounts (bonds out of taxable into the IRA, equity the
   other way; tax type, bands, menus);
8. ``harvest``: a taxable loss sale (as in 2) whose largest part is a net
   change away from target: a loss harvested into cash;
9. ``location``: anything else (a band or the tax drag pushing a class out of
   an account into cash).

The per-account line (`account_lines`) summarizes the same labels in words,
e.g. ``"sold $12,340 of us_equity and bought $12,300 of us_bonds to restore
the goal; realized $1,200 long-term gain"``, or says why an account was left
alone.
"""

from __future__ import annotations

import math

import numpy as np

from ..audit import CENT, Assessment
from ..domain.household import TAX_TYPES, TAXABLE, Household
from ..domain.orders import Orders

REASONS = ("withdrawal", "deposit", "rebalance", "location", "harvest", "substitute",
           "rounding", "withdrawal funding")
MOSTLY = 0.5          # share of an order's value a rule must explain
ROUNDING_FLOOR = 1.0  # dollars: orders below max(min_trade_value, this) are remnants

# ``x.sum()`` and ``x.any()`` without numpy's Python-level method wrappers (the same
# reduction, so the same sums to the last bit): reasons and account lines make dozens of them.
_total = np.add.reduce
_count = np.count_nonzero


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den capped at 1, 0 where den is 0 (``num`` broadcast to ``den``'s shape)."""
    return np.minimum(np.divide(num, den, out=np.zeros(den.shape), where=den > 0), 1.0)


def _row_sums(idx: np.ndarray, X: np.ndarray, n: int) -> np.ndarray:
    """``np.add.at(zeros((n, k)), idx, X)`` by one bincount (the same additions in the
    same order, so the same sums to the last bit)."""
    k = X.shape[1]
    flat = (idx[:, None] * k + np.arange(k)).ravel()
    return np.bincount(flat, weights=X.ravel(), minlength=n * k).reshape(n, k)


def _running_before(account: np.ndarray, value: np.ndarray, n_acc: int) -> np.ndarray:
    """Per order, the sum of ``value`` over earlier orders of its account (list order)."""
    order = np.argsort(account, kind="stable")
    v = value[order]
    total = np.cumsum(v) - v
    per_acc = np.bincount(account, weights=value, minlength=n_acc)
    start = np.concatenate(([0.0], np.cumsum(per_acc)[:-1]))
    out = np.empty_like(total)
    out[order] = total - start[account[order]]
    return out


def account_flow(hh: Household, a: Assessment) -> np.ndarray:
    """Per account, its cash flow: its own ``cash_flow`` plus its part of its goal's."""
    flow = hh.accounts.cash_flow
    if a.withdrawn is not None and a.deposited is not None:
        flow = flow + a.deposited - a.withdrawn
    return flow


def _class_sums(idx: np.ndarray, parts: list[np.ndarray], n: int) -> np.ndarray:
    """`_row_sums` of several (orders x classes) arrays by one bincount, as an
    (n, parts, classes) array (each bin still adds its rows in list order, so each sum
    is the same to the last bit)."""
    k = parts[0].shape[1]
    return _row_sums(idx, np.concatenate(parts, axis=1), n).reshape(n, len(parts), k)


class _Labels:
    """The reasons given so far; `take` gives one to the matching orders still free."""

    def __init__(self, n: int):
        self.out = np.full(n, "", dtype=object)
        self.free = np.ones(n, dtype=bool)

    def take(self, mask: np.ndarray, reason: str) -> None:
        hit = mask & self.free
        self.out[hit] = reason
        self.free ^= hit


def _harvest_pairs(hh: Household, orders: Orders, a: Assessment, d: np.ndarray,
                   harvestable: np.ndarray, labels: _Labels) -> None:
    """Rules 2-3: a loss sale mostly rebought in its account, and that rebuy."""
    acc, sec = hh.accounts, hh.securities
    ai, buy, value = orders.account, orders.is_buy, a.value
    n_acc = len(acc)
    loss = labels.free & harvestable
    group = sec.wash_group[orders.security]
    loss_group = np.zeros((n_acc, len(sec.wash_group_names)), dtype=bool)
    loss_group[ai[loss], group[loss]] = True
    cand = labels.free & buy & ~loss_group[ai, group]
    # per account, [harvested, rebought] class dollars; ratios [rebought / harvested,
    # harvested / rebought]
    sums = _class_sums(ai, [np.where(loss[:, None], -d, 0.0), np.where(cand[:, None], d, 0.0)],
                       n_acc)
    ratios = _ratio(sums[:, ::-1], sums)[ai]
    safe = np.maximum(value, 1e-300)
    sale_cover = _total(-d * ratios[:, 0], axis=1) / safe
    buy_cover = _total(d * ratios[:, 1], axis=1) / safe
    labels.take(loss & (sale_cover >= MOSTLY - 1e-9), "harvest")
    labels.take(cand & (buy_cover >= MOSTLY - 1e-9), "substitute")


def _cash_flow_orders(hh: Household, orders: Orders, a: Assessment, flow: np.ndarray,
                      labels: _Labels) -> None:
    """Rules 4-5: sales that raise a withdrawal, buys that spend a deposit (list order)."""
    acc, ai, buy, value = hh.accounts, orders.account, orders.is_buy, a.value
    n_acc = len(acc)
    acc_flow = flow[ai]
    cand = labels.free & ~buy & (acc_flow < 0)
    if _count(cand):            # (without a withdrawal no order is taken here)
        lacking = np.where(flow < 0, np.maximum(acc.min_cash - acc.cash - flow, 0.0), 0.0)
        before = _running_before(ai, np.where(cand, value, 0.0), n_acc)
        raising = cand & (before < lacking[ai] - CENT)
        if a.withdrawn is not None:
            labels.take(raising & (a.withdrawn[ai] > 0), "withdrawal funding")
        labels.take(raising, "withdrawal")
    cand = labels.free & buy & (acc_flow > 0)
    if _count(cand):
        before = _running_before(ai, np.where(cand, value, 0.0), n_acc)
        labels.take(cand & (before < acc_flow - CENT), "deposit")


def _net_parts(hh: Household, orders: Orders, a: Assessment, d: np.ndarray,
               pool: np.ndarray, flow: np.ndarray) -> tuple[np.ndarray, ...]:
    """Rules 6-9's three parts of each order's class dollars (weighted by its dollars):
    rebalance (reshuffle + net change toward target), location (cross), other (net
    change away from target)."""
    acc, ai = hh.accounts, orders.account
    n_acc, n_goal = len(acc), hh.goals.target.shape[0]
    goal = acc.goal[ai]
    pos, neg = np.maximum(d, 0.0), np.maximum(-d, 0.0)
    in_pool = pool[:, None]
    sums = _class_sums(ai, [pos, neg, pos * in_pool, neg * in_pool], n_acc)
    pool_moves = sums[:, 2:]                                    # [pool up, pool down]
    same = np.minimum(pool_moves[:, 0], pool_moves[:, 1])
    r = _ratio(same[:, None], pool_moves)[ai]
    rising = d > 0
    inside = np.where(rising, r[:, 0], r[:, 1])
    acct_net = sums[:, 0] - sums[:, 1]
    sums = _class_sums(acc.goal, [np.maximum(acct_net, 0.0), np.maximum(-acct_net, 0.0),
                                  np.asarray(a.class_before, dtype=float)], n_goal)
    net_moves, held = sums[:, :2], sums[:, 2]                   # [net up, net down]
    net_up, net_down = net_moves[:, 0], net_moves[:, 1]
    matched = np.minimum(net_up, net_down)
    r = _ratio(matched[:, None], net_moves)[goal]
    cross = (1.0 - inside) * np.where(rising, r[:, 0], r[:, 1])
    held[:, hh.cash_class] += np.bincount(acc.goal, weights=flow, minlength=n_goal)
    gap = hh.goals.target * _total(held, axis=1, keepdims=True) - held
    net = net_up - net_down
    toward = ((np.abs(gap) - np.abs(gap - net)) > CENT)[goal]
    rest = np.maximum(1.0 - inside - cross, 0.0)
    w = np.abs(d)
    reb = _total(w * (inside + rest * toward), axis=1)
    loc = _total(w * cross, axis=1)
    other = _total(w * rest * ~toward, axis=1)
    return reb, loc, other


def order_reasons(hh: Household, orders: Orders, a: Assessment) -> np.ndarray:
    """The reason of every order (one of `REASONS`), by the rules of the module docstring."""
    n = len(orders)
    labels = _Labels(n)
    if n == 0:
        return labels.out
    buy = orders.is_buy
    value = np.asarray(a.value, dtype=float)
    d = hh.securities.exposure[orders.security] * np.where(buy, value, -value)[:, None]
    floor = max(float(hh.options.min_trade_value), ROUNDING_FLOOR)
    labels.take(value < floor, "rounding")                                   # 1
    harvestable = (~buy & (hh.accounts.tax_type[orders.account] == TAXABLE)
                   & (orders.lot >= 0) & (a.gain + a.disallowed < -CENT))
    _harvest_pairs(hh, orders, a, d, harvestable, labels)                    # 2-3
    pool = labels.free.copy()     # every order but those of rules 1-3
    flow = account_flow(hh, a)
    _cash_flow_orders(hh, orders, a, flow, labels)                           # 4-5
    reb, loc, other = _net_parts(hh, orders, a, d, pool, flow)               # 6-9
    labels.take((reb >= loc) & (reb >= other) & (reb > 0), "rebalance")
    labels.take(loc >= other, "location")
    labels.take(harvestable, "harvest")
    labels.out[labels.free] = "location"
    return labels.out


# -- per-account lines ------------------------------------------------------------------

def _dollars(x: float) -> str:
    x = abs(x)
    return f"${x:,.2f}" if 0 < _round2(x) < 10 else f"${x:,.0f}"


def _round2(x: float) -> float:
    """``round(x, 2)`` as ``x``'s own type rounds it, without numpy's per-call overhead:
    for a numpy float64 that is numpy's rule (times 100, to the nearest even integer,
    divided by 100), which the Python arithmetic below repeats step for step."""
    if type(x) is np.float64:
        y = float(x) * 100.0
        return round(y) / 100.0 if math.isfinite(y) else y / 100.0
    return round(x, 2)




def _classes(hh: Household, dollars: np.ndarray) -> str:
    """The classes an amount is in, largest first ('us_equity and intl_equity')."""
    total = float(_total(dollars))
    if total <= 0:
        return "cash"
    cut = 0.05 * total
    amounts = dollars.tolist()     # a handful of classes: plain Python is cheaper
    keep = sorted((k for k, x in enumerate(amounts) if x >= cut), key=lambda k: (-amounts[k], k))
    names = [hh.classes[k] for k in keep]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _symbols(hh: Household, idx: np.ndarray) -> str:
    names = sorted({hh.securities.symbol[i] for i in idx})
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _side_clause(hh: Household, a: Assessment, mask: np.ndarray, dollars: np.ndarray,
                 verb: str) -> str:
    """'sold $X of classes' for the orders of ``mask`` (``dollars``: their class dollars)."""
    return f"{verb} {_dollars(_total(a.value[mask]))} of {_classes(hh, dollars)}"


def _trade_clause(hh: Household, a: Assessment, side_keys: np.ndarray,
                  class_dollars: np.ndarray, key: int, sold: bool, bought: bool,
                  purpose: str) -> str:
    """The sales (side key ``key``) and buys (``key + 1``) of one account's reason group
    in words; ``sold``/``bought``: whether there are any."""
    parts = []
    if sold:
        parts.append(_side_clause(hh, a, side_keys == key, class_dollars[key], "sold"))
    if bought:
        parts.append(_side_clause(hh, a, side_keys == key + 1, class_dollars[key + 1],
                                  "bought"))
    return " and ".join(parts) + f" {purpose}"


def _tax_clause(hh: Household, orders: Orders, a: Assessment, mine: np.ndarray, i: int,
                lot_sale: np.ndarray, counted: np.ndarray) -> str:
    """``lot_sale``: the orders that sell a named lot; ``counted``: gain + disallowed."""
    if hh.accounts.tax_type[i] != TAXABLE:
        kind = TAX_TYPES[hh.accounts.tax_type[i]].replace('_', '-')
        if a.distribution_tax is not None and a.distribution_tax[i] >= 0.005:
            return (f"no tax on trades in a {kind} account; {_dollars(a.distribution_tax[i])} "
                    "of tax on its payout")
        return f"no tax in a {kind} account"
    sold = mine & lot_sale
    if not _count(sold):
        return "nothing sold, no gain realized"
    terms = []
    for label, mask in (("short-term", sold & ~a.long_term), ("long-term", sold & a.long_term)):
        g = round(float(_total(counted[mask])))
        if g != 0:
            terms.append(f"{_dollars(g)} {label} {'loss' if g < 0 else 'gain'}")
    text = "realized " + " and ".join(terms) if terms else "no gain or loss realized"
    washed = float(_total(a.disallowed[mine]))
    if washed >= 0.5:
        text += (f" ({_dollars(washed)} of loss disallowed by the wash-sale rule, "
                 "not counted)")
    return text


def _left_alone(hh: Household, orders: Orders, i: int, status: str,
                flow: float | None = None) -> str:
    if status not in ("optimal", "feasible"):
        return f"left alone: no plan ({status})"
    acc = hh.accounts
    same_goal = acc.goal[orders.account] == acc.goal[i]
    traders = np.unique(orders.account[same_goal])
    flow = acc.cash_flow[i] if flow is None else flow
    cash_note = ""
    if flow > 0:
        cash_note = f"; the {_dollars(flow)} deposit stays in cash"
    elif flow < 0:
        cash_note = f"; the {_dollars(flow)} withdrawal is paid from cash"
    if len(traders) == 0:
        return "left alone: no trade needed" + cash_note
    kinds = sorted({int(t) for t in acc.tax_type[traders]})
    if TAXABLE not in kinds:
        names = " and ".join(TAX_TYPES[k].replace("_", "-") for k in kinds)
        return f"left alone: only {names} accounts needed to trade" + cash_note
    return "left alone: other accounts made the trades" + cash_note


# the account line's groups of reasons, in the order its clauses come
_GROUP = {"withdrawal": 0, "withdrawal funding": 0, "deposit": 1, "rebalance": 2,
          "location": 3, "harvest": 4, "substitute": 5, "rounding": 6}
_N_GROUPS = 8       # the last: any other label (no clause)
_TRADE_PURPOSE = {2: "to restore the goal",
                  3: "to move them between account types (location)"}


def _order_keys(orders: Orders, reasons: np.ndarray) -> np.ndarray:
    """Per order, ``account x group``: which account line and clause it is in."""
    group = np.fromiter((_GROUP.get(r, _N_GROUPS - 1) for r in reasons.tolist()),
                        dtype=np.intp, count=len(reasons))
    return orders.account * _N_GROUPS + group


def _account_line(hh: Household, orders: Orders, a: Assessment, i: int, flow: np.float64,
                  counts: list[list[int]], keys: np.ndarray, side_keys: np.ndarray,
                  class_dollars: np.ndarray, tax_args: tuple[np.ndarray, np.ndarray]) -> str:
    """The line of account ``i``, which has orders; ``counts[g]``: its sales and buys of
    reason group ``g``."""
    parts = []
    base = i * _N_GROUPS
    for g in range(4):
        n_sold, n_bought = counts[g]
        if n_sold or n_bought:
            if g == 0:
                purpose = f"to raise the {_dollars(flow)} withdrawal"
            elif g == 1:
                purpose = f"with the {_dollars(flow)} deposit"
            else:
                purpose = _TRADE_PURPOSE[g]
            key = (base + g) * 2
            parts.append(_trade_clause(hh, a, side_keys, class_dollars, key, n_sold > 0,
                                       n_bought > 0, purpose))
    har, sub = sum(counts[4]), sum(counts[5])
    if har:
        mask = keys == base + 4
        loss = float(_total(a.gain[mask] + a.disallowed[mask]))
        text = (f"harvested a {_dollars(loss)} loss selling "
                f"{_symbols(hh, orders.security[mask])}")
        if sub:
            text += (" and bought "
                     f"{_symbols(hh, orders.security[keys == base + 5])} in its place")
        parts.append(text)
    elif sub:
        parts.append(f"bought {_symbols(hh, orders.security[keys == base + 5])} in place "
                     "of the loss lots sold")
    k = sum(counts[6])
    if k:
        parts.append(f"closed {k} small remnant{'s' if k > 1 else ''} "
                     f"({_dollars(_total(a.value[keys == base + 6]))})")
    parts.append(_tax_clause(hh, orders, a, orders.account == i, i, *tax_args))
    return "; ".join(parts)


def account_lines(hh: Household, orders: Orders, a: Assessment, reasons: np.ndarray,
                  status: str) -> list[str]:
    """One sentence per account (in account order) on what it does and why."""
    n_acc = len(hh.accounts)
    flows = account_flow(hh, a)
    keys = _order_keys(orders, reasons)
    side_keys = keys * 2 + orders.is_buy
    # per account, per reason group, its sales and buys: one count for all
    n_keys = n_acc * _N_GROUPS * 2
    counts = np.bincount(side_keys, minlength=n_keys).reshape(n_acc, _N_GROUPS, 2).tolist()
    # and their class dollars (the rows of a key added in list order, as a sum of the
    # key's rows would)
    class_dollars = _row_sums(side_keys, hh.securities.exposure[orders.security]
                              * a.value[:, None], n_keys)
    tax_args = (~orders.is_buy & (orders.lot >= 0), a.gain + a.disallowed)
    lines = []
    for i in range(n_acc):
        if any(any(c) for c in counts[i]):
            lines.append(_account_line(hh, orders, a, i, flows[i], counts[i], keys,
                                       side_keys, class_dollars, tax_args))
        else:
            lines.append(_left_alone(hh, orders, i, status, float(flows[i])))
    return lines
