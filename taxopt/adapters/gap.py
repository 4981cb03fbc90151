"""The proven gap of a plan returned at the time limit, in the program's dollars.

gap = (the program's objective at the returned plan, `taxopt.adapters.plan_value`)
    - (a proven lower bound on the optimum: the search's own, when it solved a root,
       and the Lagrangian bound of `taxopt.adapters.lagrange`, raised while time is left)

Both are in the units of the program's objective (its constants included), so the gap
says how many dollars of objective the plan can at most be from the best plan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.builder import RebalanceModel
from .base import Solution, Status
from .clock import Deadline


@dataclass(frozen=True, slots=True)
class ProvenGap:
    """A plan's objective, the best bound proven, and the gap between them."""

    plan: float
    bound: float

    @property
    def dollars(self) -> float:
        return max(self.plan - self.bound, 0.0)

    @property
    def relative(self) -> float:
        """As ``solver.mip_gap`` states it: over the plan's objective (at least $1)."""
        return self.dollars / max(abs(self.plan), 1.0)

    def sentence(self) -> str:
        return (f"proven gap ${self.dollars:,.2f} ({self.relative:.4%} of the objective; "
                f"plan {self.plan:,.2f}, bound {self.bound:,.2f})")

    def info(self) -> dict[str, float]:
        """What `Solution.info` keeps of it (the summary's ``solver`` fields)."""
        return {"plan_objective": self.plan, "best_bound": self.bound,
                "gap_dollars": self.dollars}


def plan_x(model: RebalanceModel, sell_shares: np.ndarray | None = None,
           buy_shares: np.ndarray | None = None, x: np.ndarray | None = None) -> np.ndarray:
    """The trade columns of a plan in the program's dollars (0: no trades); the flows'
    split from the solution ``x`` when given."""
    ctx = model.context
    assert ctx is not None
    out = np.zeros(model.program.n)
    lay, price = ctx.layout, ctx.hh.securities.price
    if sell_shares is not None:
        out[ctx.sell.slice] = sell_shares * price[lay.unit_security]
    if buy_shares is not None:
        out[ctx.buy.slice] = buy_shares * price[lay.buy_security]
    if x is not None:
        for block in (ctx.withdraw, ctx.deposit):
            if block is not None:
                out[block.slice] = x[block.slice]
    return out


def proven_gap(model: RebalanceModel, sol: Solution, trades: np.ndarray,
               deadline: Deadline | None) -> ProvenGap | None:
    """The gap of the plan whose trade columns are ``trades`` (see `plan_x`); the bound
    is raised until ``deadline``. None for a program with quadratic terms, or when the
    plan's objective cannot be evaluated."""
    from .lagrange import Relaxation
    from .plan_value import plan_objective, trade_columns

    prog = model.program
    rel = Relaxation.of_program(prog)
    if rel is None:
        return None
    plan = plan_objective(prog, rel, trade_columns(prog), trades)
    if plan is None:
        return None
    known = sol.info.get("best_bound")
    if sol.status == Status.OPTIMAL and np.isfinite(sol.objective):
        # the solve's optimum, less the gap it was allowed to stop at (a MIP solver that
        # states none, as through cvxpy, may have stopped anywhere within mip_rel_gap)
        gap = sol.mip_gap if sol.mip_gap is not None else (
            model.options.mip_rel_gap if prog.is_mip else 0.0)
        known = sol.objective - gap * max(abs(sol.objective), 1.0)
    if known is not None and np.isfinite(known):     # a solved root's: far tighter
        return ProvenGap(plan, min(float(known), plan))
    until = None
    if deadline is not None:
        until = Deadline(0.0)
        until.end = deadline.end + BOUND_OVERTIME * deadline.seconds
    start = None
    if sol.duals is not None and len(sol.duals) == rel.m:    # the stopped solve's duals
        start = sol.duals if rel.value(sol.duals) > rel.value(np.zeros(rel.m)) else None
    bound, _ = rel.ascend(start, deadline=until, at_least=1)   # the cash rows at least
    return ProvenGap(plan, min(bound, plan))


BOUND_OVERTIME = 0.05
"""The Lagrangian bound may be raised this share of the limit past it (the promise is
1.2x the limit; what follows the bound takes a few milliseconds)."""
