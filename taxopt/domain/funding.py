"""Goal-level cash flows and what distributions from retirement accounts cost (contract 1.1).

A goal's ``cash_flow`` is raised (or invested) across its accounts; the
optimizer decides the split. The accounts' limits and the profile's rates for
distributions are packed here once, as arrays, for the model, the audit and
the heuristics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .schema import HouseholdRecord

TAX_DEFERRED_TYPE = "tax_deferred"


@dataclass(frozen=True, slots=True, eq=False)
class Funding:
    """Goal flows, per-account limits and the rates on distributions.

    ``max_withdrawal`` and ``max_deposit`` are ``inf`` where unlimited;
    ``brackets`` is an (n, 2) array of (taxable income from, rate), empty when the
    profile gives none (then ``ordinary_rate`` applies to every dollar).
    """

    goal_flow: np.ndarray          # per goal: deposit > 0, withdrawal < 0
    max_withdrawal: np.ndarray     # per account
    max_deposit: np.ndarray        # per account
    min_withdrawal: np.ndarray     # per account (a required distribution still due)
    penalty_applies: np.ndarray    # per account
    ordinary_rate: float
    penalty_rate: float
    brackets: np.ndarray
    ordinary_income: float

    @property
    def active(self) -> bool:
        """Whether any goal flow or required distribution is to be placed."""
        return bool(self.goal_flow.any() or (self.min_withdrawal > 0).any())

    def payout_rate(self) -> np.ndarray:
        """Per account: the penalty rate charged on each dollar paid out (0 where none)."""
        return np.where(self.penalty_applies, self.penalty_rate, 0.0)


def no_funding(n_goals: int, tax_type: np.ndarray, ordinary_rate: float = 0.0) -> Funding:
    """Funding of a household without goal flows (version 1 input)."""
    n = len(tax_type)
    return Funding(np.zeros(n_goals), np.full(n, np.inf),
                   np.where(tax_type == 0, np.inf, 0.0), np.zeros(n), np.zeros(n, bool),
                   ordinary_rate, 0.10, np.zeros((0, 2)), 0.0)


def pack_funding(rec: HouseholdRecord, ordinary_rate: float) -> Funding:
    """The funding arrays of a validated record, in goal and account order; payouts are
    taxed at ``ordinary_rate`` (the tax profile's `TaxProfile.ordinary`) without brackets."""
    tp = rec.tax_profile
    accs = rec.accounts
    inf = float("inf")
    brackets = (np.array(tp.ordinary_brackets, dtype=float).reshape(-1, 2)
                if tp.ordinary_brackets else np.zeros((0, 2)))
    return Funding(
        goal_flow=np.array([g.cash_flow for g in rec.goals], dtype=float),
        max_withdrawal=np.array([inf if a.max_withdrawal is None else a.max_withdrawal
                                 for a in accs], dtype=float),
        # unlimited into a taxable account; none into a retirement account unless given
        max_deposit=np.array([(inf if a.tax_type == "taxable" else 0.0)
                              if a.max_deposit is None else a.max_deposit for a in accs],
                             dtype=float),
        min_withdrawal=np.array([a.min_withdrawal for a in accs], dtype=float),
        penalty_applies=np.array([a.penalty_applies for a in accs], dtype=bool),
        ordinary_rate=ordinary_rate,
        penalty_rate=float(tp.early_withdrawal_penalty),
        brackets=brackets,
        ordinary_income=float(tp.ordinary_income),
    )


def funding_of(hh) -> Funding:
    """The household's funding (`Household.funding`), or none for a version 1 household."""
    if hh.funding is not None:
        return hh.funding
    return no_funding(len(hh.goals), hh.accounts.tax_type)


def with_goal_flows(hh, goal_flow: np.ndarray, min_withdrawal: np.ndarray | None = None):
    """The same household with new goal-level flows (per goal) and, if given, new required
    distributions (per account): e.g. a backtest's yearly retirement withdrawal."""
    from dataclasses import replace

    f = funding_of(hh)
    changes = {"goal_flow": np.asarray(goal_flow, float).copy()}
    if min_withdrawal is not None:
        changes["min_withdrawal"] = np.asarray(min_withdrawal, float).copy()
    return replace(hh, funding=replace(f, **changes))
