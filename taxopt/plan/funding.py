"""Goal-level flows in a plan: the audit's checks and the reported rows and table.

Read from the orders' per-account payouts and deposits alone (never from the
optimizer), so heuristic plans and re-read trade tables are checked alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..domain.funding import funding_of
from ..domain.household import TAX_TYPES, TAXABLE, Household
from ..tax.distributions import distribution_tax, goal_totals

CENT = 0.005
FUNDING_REASON = "withdrawal funding"


def funding_violations(hh: Household, withdraw: np.ndarray | None,
                       deposit: np.ndarray | None) -> list[str]:
    """Every rule of goal-level flows the plan breaks, in words."""
    f = funding_of(hh)
    n = len(hh.accounts)
    w = np.zeros(n) if withdraw is None else np.asarray(withdraw, float)
    d = np.zeros(n) if deposit is None else np.asarray(deposit, float)
    acc, aid, gid = hh.accounts, hh.accounts.account_id, hh.goals.goal_id
    out: list[str] = []
    t = goal_totals(hh, f)
    G = len(hh.goals)
    paid = np.bincount(acc.goal, weights=w, minlength=G)
    taken = np.bincount(acc.goal, weights=d, minlength=G)
    for g in np.flatnonzero(np.abs(paid - np.round(t.withdraw, 2)) > CENT):
        out.append(f"goal {gid[g]}: its accounts pay out {paid[g]:,.2f}, the goal withdraws "
                   f"{t.withdraw[g]:,.2f}")
    for g in np.flatnonzero(np.abs(taken - np.round(t.deposit, 2)) > CENT):
        out.append(f"goal {gid[g]}: its accounts take in {taken[g]:,.2f}, the goal deposits "
                   f"{t.deposit[g]:,.2f}")
    sheltered = np.bincount(acc.goal, weights=d * (acc.tax_type != TAXABLE), minlength=G)
    own = np.maximum(f.goal_flow, 0.0)
    for g in np.flatnonzero(sheltered > own + CENT):
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
        for i in np.flatnonzero(bad):
            shown = text.format(v=v[i], c=0.0 if cap is None else cap[i])
            out.append(f"account {aid[i]}: {shown}")
    return out


def flow_rows(hh: Household, withdraw: np.ndarray | None,
              deposit: np.ndarray | None) -> list[tuple[int, str, float, float]]:
    """(account, side, amount, tax) per withdraw and deposit row, in account order."""
    if withdraw is None or deposit is None:
        return []
    tax = distribution_tax(hh, withdraw)
    rows = []
    for i in range(len(hh.accounts)):
        if withdraw[i] > 0:
            rows.append((i, "withdraw", float(withdraw[i]), float(tax[i])))
        if deposit[i] > 0:
            rows.append((i, "deposit", float(deposit[i]), 0.0))
    return rows


def funding_table(hh: Household, withdraw: np.ndarray | None, deposit: np.ndarray | None,
                  sale_tax: np.ndarray) -> list[dict[str, Any]]:
    """Per account taking part in a goal-level flow: what it paid out or took in and
    the tax that source cost (``sale_tax``: per account, the estimated tax of its sales,
    each lot at its own rate; ``distribution_tax``: tax and penalty on the payout)."""
    if withdraw is None or deposit is None:
        return []
    f = funding_of(hh)
    dist = distribution_tax(hh, withdraw)
    out = []
    for i, aid in enumerate(hh.accounts.account_id):
        if withdraw[i] <= 0 and deposit[i] <= 0 and f.min_withdrawal[i] <= 0:
            continue
        out.append({
            "account_id": aid,
            "goal_id": hh.goals.goal_id[hh.accounts.goal[i]],
            "tax_type": TAX_TYPES[hh.accounts.tax_type[i]],
            "withdraw": round(float(withdraw[i]), 2) + 0.0,
            "deposit": round(float(deposit[i]), 2) + 0.0,
            "required": round(float(f.min_withdrawal[i]), 2) + 0.0,
            "sale_tax": round(float(sale_tax[i]), 2) + 0.0,
            "distribution_tax": round(float(dist[i]), 2) + 0.0,
        })
    return out
