"""The variables of goal-level cash flows: each account's part of its goal's flow.

Declared with the trade variables (`make_context`), so every rule that talks about
an account's cash sees them: the cash rows, bands and the goal's value. Their
totals and costs are added by `taxopt.model.funding`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..domain.funding import funding_of
from ..domain.household import TAXABLE, Household
from ..tax.distributions import goal_totals
from .expr import Affine, incidence
from .program import Program, VarBlock


@dataclass(frozen=True, slots=True, eq=False)
class FlowBounds:
    """Per account: bounds of the dollars it pays out and takes in (all zero when
    the household has no goal-level flow, and then no variables are declared)."""

    active: bool
    withdraw_lb: np.ndarray
    withdraw_ub: np.ndarray
    deposit_ub: np.ndarray

    @property
    def deposit_cap(self) -> np.ndarray:
        """The most an account's value can grow by deposits (bounds its purchases)."""
        return np.where(np.isfinite(self.deposit_ub), self.deposit_ub, 0.0)

    def add_to(self, prog: Program) -> tuple[VarBlock | None, VarBlock | None]:
        """Declare the ``withdraw`` and ``deposit`` blocks (one variable per account)."""
        if not self.active:
            return None, None
        n = len(self.withdraw_ub)
        return (prog.add_vars("withdraw", n, self.withdraw_lb, self.withdraw_ub),
                prog.add_vars("deposit", n, 0.0, self.deposit_ub))

    @staticmethod
    def cash(withdraw: VarBlock, deposit: VarBlock, n: int) -> Affine:
        """Each account's cash change from the flows: deposit less withdrawal."""
        rows = np.arange(withdraw.size)
        return Affine(incidence(rows, deposit.start + rows, (withdraw.size, n))
                      - incidence(rows, withdraw.start + rows, (withdraw.size, n)),
                      np.zeros(withdraw.size))


def flows_active(hh: Household) -> bool:
    """Whether the household has a goal-level flow or a required distribution to place
    (`Funding.active`; once per household: the layout and the flows both ask)."""
    return hh.cached("flows_active", lambda: funding_of(hh).active)


def declare_flows(hh: Household) -> FlowBounds:
    """Bounds of each account's share of its goal's flow.

    An account pays out at least its required distribution and at most its
    ``max_withdrawal`` and the goal's total; it takes in at most its
    ``max_deposit`` (contribution room) and the goal's total deposit, and a
    retirement account only from the goal's own deposit (a required excess goes
    to taxable accounts).
    """
    f = funding_of(hh)
    n = len(hh.accounts)
    if not flows_active(hh):
        z = np.zeros(n)
        return FlowBounds(False, z, z, z)
    goal = hh.accounts.goal
    totals = goal_totals(hh, f)
    w_ub = np.minimum(f.max_withdrawal, totals.withdraw[goal])
    own_deposit = np.maximum(f.goal_flow, 0.0)[goal]
    d_total = np.where(hh.accounts.tax_type == TAXABLE, totals.deposit[goal], own_deposit)
    d_ub = np.minimum(f.max_deposit, d_total)
    return FlowBounds(True, np.minimum(f.min_withdrawal, w_ub), w_ub, d_ub)
