"""Distributions from retirement accounts: how much each goal moves and what it costs.

Pure functions of the household and the amounts paid out; the model, the audit
and the heuristics share them so the three agree to the cent.

- A goal withdraws ``max(need, required)``: its own need (``-cash_flow`` when
  negative) or the required distributions of its accounts, whichever is larger;
  the excess of the required over the need is deposited into the goal's taxable
  accounts, or leaves the household when it has none.
- Traditional (tax-deferred) payouts are ordinary income: at ``ordinary_rate``,
  or through ``ordinary_brackets`` stacked on ``ordinary_income`` (the tax of
  the year with the payouts less the tax without them); accounts flagged
  ``penalty_applies`` add the early-withdrawal penalty on their own payout.
  Taxable payouts carry no tax of their own (the sales that raise the cash
  do), Roth payouts are qualified and free.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..domain.funding import Funding, funding_of
from ..domain.household import TAX_DEFERRED, TAXABLE, Household


@dataclass(frozen=True, slots=True, eq=False)
class GoalTotals:
    """Per goal: dollars withdrawn in all, deposited in all, and the required excess."""

    withdraw: np.ndarray
    deposit: np.ndarray
    excess: np.ndarray         # required distributions above the goal's need
    to_taxable: np.ndarray     # the part of the excess deposited into taxable accounts
    leaving: np.ndarray        # the part that leaves the household (no taxable account)

    @property
    def net(self) -> np.ndarray:
        """The change in each goal's value from its flow (deposits less withdrawals)."""
        return self.deposit - self.withdraw


def goal_totals(hh: Household, funding: Funding | None = None) -> GoalTotals:
    """What each goal withdraws and deposits in all (the split is the plan's choice)."""
    f = funding or funding_of(hh)
    goal, G = hh.accounts.goal, len(hh.goals)
    need = np.maximum(-f.goal_flow, 0.0)
    required = np.bincount(goal, weights=f.min_withdrawal, minlength=G)
    withdraw = np.maximum(need, required)
    excess = withdraw - need
    has_taxable = np.bincount(goal, weights=hh.accounts.tax_type == TAXABLE, minlength=G) > 0
    to_taxable = np.where(has_taxable, excess, 0.0)
    deposit = np.maximum(f.goal_flow, 0.0) + to_taxable
    return GoalTotals(withdraw, deposit, excess, to_taxable, excess - to_taxable)


def bracket_tax(brackets: np.ndarray, income: np.ndarray | float) -> np.ndarray:
    """Tax on taxable ordinary ``income`` through ``brackets`` (rows: income from, rate)."""
    x = np.asarray(income, float)
    if not len(brackets):
        return np.zeros_like(x)
    lo = brackets[:, 0]
    hi = np.append(lo[1:], np.inf)
    width = np.clip(x[..., None] - lo, 0.0, hi - lo)
    return (width * brackets[:, 1]).sum(axis=-1)


def ordinary_tax(f: Funding, payout: float) -> float:
    """Tax on ``payout`` dollars of traditional distributions, all accounts together."""
    if len(f.brackets):
        base = f.ordinary_income
        return float(bracket_tax(f.brackets, base + payout) - bracket_tax(f.brackets, base))
    return f.ordinary_rate * payout


def distribution_tax(hh: Household, withdrawn: np.ndarray,
                     funding: Funding | None = None) -> np.ndarray:
    """Per account, the tax and penalty on what it paid out (``withdrawn`` >= 0).

    The bracket tax of all traditional payouts together is attributed to the
    accounts in proportion to their payouts; the penalty is each account's own.
    """
    f = funding or funding_of(hh)
    w = np.where(hh.accounts.tax_type == TAX_DEFERRED, np.maximum(withdrawn, 0.0), 0.0)
    total = float(w.sum())
    if total <= 0:
        return np.zeros(len(w))
    return ordinary_tax(f, total) * w / total + f.payout_rate() * w


def cents_by_goal(amount: np.ndarray, total: np.ndarray, goal: np.ndarray) -> np.ndarray:
    """Per-account amounts to the cent, each goal's sum kept at its total to the cent
    (what rounding moves goes to the goal's largest amount)."""
    out = np.round(np.maximum(amount, 0.0), 2)
    short = np.round(total, 2) - np.bincount(goal, weights=out, minlength=len(total))
    for g in np.flatnonzero(np.abs(short) >= 0.005):
        mine = np.flatnonzero(goal == g)
        k = mine[np.argmax(out[mine])]
        out[k] = round(max(out[k] + short[g], 0.0), 2)
    return out + 0.0
