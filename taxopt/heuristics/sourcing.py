"""Which accounts fund a goal-level flow, by the rules advisers use without an optimizer.

A heuristic sees a goal's ``cash_flow`` already split into per-account flows by a
sourcing rule, then trades as it always does; the split travels with its orders
(`Orders.with_flows`) and the audit checks it like the optimizer's.

- ``taxable_first`` (the common rule of thumb): required distributions first;
  then taxable accounts, then tax-deferred, then tax-free (Roth) last. Deposits
  fill Roth room, then tax-deferred room, then go to taxable accounts.
- ``proportional``: required distributions first; the rest pro rata to what each
  account can pay (its value after its own cash flow, less ``min_cash``, within
  ``max_withdrawal``); deposits pro rata to the accounts' values within their room.

A required distribution's excess over the goal's need goes to the goal's taxable
accounts pro rata to their values (it leaves the household when there is none).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace
from typing import Literal

import numpy as np

from ..domain.funding import funding_of
from ..domain.household import TAX_DEFERRED, TAX_FREE, TAXABLE, Household
from ..domain.orders import Orders
from ..tax.distributions import cents_by_goal, goal_totals

Rule = Literal["taxable_first", "proportional"]
Flows = tuple[np.ndarray, np.ndarray]


def account_room(hh: Household) -> np.ndarray:
    """Per account, the most it can pay out: holdings and cash after its own cash flow,
    less ``min_cash``."""
    lots, price, acc = hh.lots, hh.securities.price, hh.accounts
    held = np.bincount(lots.account, weights=lots.shares * price[lots.security],
                       minlength=len(acc))
    return np.maximum(held + acc.cash + acc.cash_flow - acc.min_cash, 0.0)


def _fill_in_order(need: float, cap: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Take ``need`` from ``cap`` in the given account order."""
    out = np.zeros(len(cap))
    for i in order:
        take = min(need, cap[i])
        out[i] += take
        need -= take
    return out


def _pro_rata(need: float, weight: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Split ``need`` pro rata to ``weight`` within ``cap`` (capped accounts pass the rest on)."""
    out = np.zeros(len(cap))
    open_ = (cap > 0) & (weight > 0)
    for _ in range(len(cap) + 1):
        left = need - out.sum()
        if left <= 1e-9 or not open_.any():
            break
        share = left * weight * open_ / (weight * open_).sum()
        out = np.minimum(out + share, cap)
        open_ &= out < cap - 1e-9
    if need - out.sum() > 1e-9:        # nothing has weight: fill in account order
        out += _fill_in_order(need - out.sum(), cap - out, np.arange(len(cap)))
    return out


def source_flows(hh: Household, rule: Rule) -> Flows:
    """Per account, dollars paid out and taken in for its goal's flow, by ``rule``."""
    f = funding_of(hh)
    acc = hh.accounts
    t = goal_totals(hh, f)
    n = len(acc)
    w, d = np.zeros(n), np.zeros(n)
    room = account_room(hh)
    types = acc.tax_type
    for g in range(len(hh.goals)):
        mine = np.flatnonzero(acc.goal == g)
        w[mine] = np.minimum(f.min_withdrawal[mine], room[mine])
        need = t.withdraw[g] - w[mine].sum()
        cap = np.maximum(np.minimum(f.max_withdrawal[mine], room[mine]) - w[mine], 0.0)
        if need > 0:
            if rule == "taxable_first":
                rank = np.array([(TAXABLE, TAX_DEFERRED, TAX_FREE).index(k) for k in types[mine]])
                w[mine] += _fill_in_order(need, cap, np.argsort(rank, kind="stable"))
            else:
                w[mine] += _pro_rata(need, cap, cap)
        value = room[mine] + acc.min_cash[mine]
        taxable = types[mine] == TAXABLE
        if t.to_taxable[g] > 0:
            d[mine] += _pro_rata(float(t.to_taxable[g]), value * taxable,
                                 np.where(taxable, np.inf, 0.0))
        own = max(float(f.goal_flow[g]), 0.0)
        if own > 0:
            dep_cap = f.max_deposit[mine]
            if rule == "taxable_first":
                rank = np.array([(TAX_FREE, TAX_DEFERRED, TAXABLE).index(k) for k in types[mine]])
                d[mine] += _fill_in_order(own, dep_cap, np.argsort(rank, kind="stable"))
            else:
                d[mine] += _pro_rata(own, np.maximum(value, 1.0), dep_cap)
    goal, G = acc.goal, len(hh.goals)
    return (cents_by_goal(w, np.bincount(goal, weights=w, minlength=G), goal),
            cents_by_goal(d, np.bincount(goal, weights=d, minlength=G), goal))


def with_account_flows(hh: Household, flows: Flows) -> Household:
    """The household with the goal's flows turned into the accounts' own ``cash_flow``
    (what a heuristic trades against)."""
    w, d = flows
    accounts = replace(hh.accounts, cash_flow=hh.accounts.cash_flow + d - w)
    return replace(hh, accounts=accounts, funding=None)


Heuristic = Callable[[Household], Orders]


def sourced(heuristic: Heuristic, rule: Rule = "taxable_first") -> Heuristic:
    """``heuristic`` with goal-level flows split by ``rule`` first (unchanged without them)."""

    @functools.wraps(heuristic)
    def run(hh: Household) -> Orders:
        if not funding_of(hh).active:
            return heuristic(hh)
        flows = source_flows(hh, rule)
        return heuristic(with_account_flows(hh, flows)).with_flows(*flows)

    return run
