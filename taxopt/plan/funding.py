"""Goal-level flows in a plan: the reported rows and funding table (the audit checks them).

Read from the orders' per-account payouts and deposits alone (never from the
optimizer), so heuristic plans and re-read trade tables are checked alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..domain.funding import funding_of
from ..domain.household import TAX_TYPES, Household
from ..tax.distributions import distribution_tax

CENT = 0.005
FUNDING_REASON = "withdrawal funding"


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
