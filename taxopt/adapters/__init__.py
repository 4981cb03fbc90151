"""Solver adapters: the same `Program` to HiGHS directly or through cvxpy."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from ..model.program import Program
from ..options import Options
from .base import Solution, Status
from .clock import Deadline


def solve_program(prog: Program, options: Options, deadline: Deadline | None = None) -> Solution:
    """Solve with the adapter the options name, within ``deadline`` (the options'
    ``time_limit`` from now when None).

    A program with quadratic terms and integers is a MIQP, which HiGHS does not solve
    (nor cvxpy's HiGHS interface): the integers are chosen first on the linear program
    with the stand-in terms (the L1 tracking penalty), then fixed, and the QP is solved.
    """
    deadline = deadline or Deadline(options.time_limit)
    if prog.quadratic and prog.is_mip:
        first = choose_integers(prog, options, deadline)
        if not first.status.has_solution:
            return first
        ints = np.flatnonzero(prog.integrality())
        second = _solve_qp(prog.quadratic_stage().with_integers_fixed(first.x[ints]), options,
                           deadline)
        if not second.status.has_solution and second.info.get("stopped"):
            return _linear_plan(prog, first, second)
        if first.status != Status.OPTIMAL and second.status == Status.OPTIMAL:
            # integers from a search the limit stopped: no optimum of the whole program
            second.status, second.mip_gap = Status.FEASIBLE, None
        second.solver_seconds += first.solver_seconds
        second.message = (second.message + "; integers fixed by the linear stage"
                          + ("" if first.status == Status.OPTIMAL
                             else f" ({first.message})")).strip("; ")
        return second
    if prog.quadratic:
        return _solve_qp(prog.quadratic_stage(), options, deadline)
    return _solve_one(prog, options, deadline)


def _linear_plan(prog: Program, first: Solution, second: Solution) -> Solution:
    """The linear stage's plan when the limit stopped the quadratic stage before it had
    one: it keeps every row of the program (the two stages share them), so it is a plan,
    `feasible`; its gap and bound are in the linear stage's objective, so none is stated."""
    info = {k: v for k, v in first.info.items() if k != "best_bound"}
    objective = float(sum(prog.quadratic_stage().evaluate(first.x).values()))
    return Solution(Status.FEASIBLE, first.x, objective, first.adapter, first.solver,
                    first.version, None, first.solver_seconds + second.solver_seconds,
                    "time limit reached in the quadratic stage: the linear stage's plan, "
                    "gap unknown", {**info, "stopped": 1.0})


def _solve_qp(prog: Program, options: Options, deadline: Deadline) -> Solution:
    """A continuous QP: HiGHS first; if its active-set method stops short of optimal
    (it can cycle on degenerate programs), the interior-point solver Clarabel (shipped
    with cvxpy) solves it within what is left of the time limit."""
    sol = _solve_one(prog, options, deadline)
    if options.adapter != "highs" or sol.status == Status.OPTIMAL or deadline.left() <= 0:
        return sol
    from .cvxpy_adapter import solve_cvxpy

    again = solve_cvxpy(prog, options.replace(solver="CLARABEL",
                                              time_limit=max(deadline.left(), 1e-3)))
    if not again.status.has_solution:
        return sol
    again.solver_seconds += sol.solver_seconds
    again.message = (f"HiGHS stopped ({sol.message}); solved by Clarabel: "
                     f"{again.message}").strip("; ")
    return again


def choose_integers(prog: Program, options: Options, deadline: Deadline | None = None
                    ) -> Solution:
    """The linear stage: the program with the stand-ins in place of its quadratic terms,
    solved as a (mixed-integer) LP; its integer values are the ones the QP keeps."""
    return _solve_one(prog.linear_stage(), options, deadline or Deadline(options.time_limit))


def _solve_one(prog: Program, options: Options, deadline: Deadline) -> Solution:
    """One solve with whatever is left of the time limit."""
    if options.adapter == "cvxpy":
        from .cvxpy_adapter import solve_cvxpy

        left = max(deadline.left(), 1e-3)
        return solve_cvxpy(prog, options if left >= options.time_limit
                           else options.replace(time_limit=left))
    return _highs_solver()(prog, options, deadline)


@functools.cache
def _highs_solver() -> Callable[[Program, Options, Deadline], Solution]:
    """`taxopt.adapters.highs.solve_highs`, imported on first use (not with the package:
    highspy is not needed for cvxpy), then kept: a relative import in the per-household
    path costs more than a cached call."""
    from .highs import solve_highs

    return solve_highs


__all__ = ["Deadline", "Solution", "Status", "choose_integers", "solve_program"]
