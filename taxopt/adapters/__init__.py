"""Solver adapters: the same `Program` to HiGHS directly or through cvxpy."""

from __future__ import annotations

from ..model.program import Program
from ..options import Options
from .base import Solution, Status
from .clock import Deadline


def solve_program(prog: Program, options: Options, deadline: Deadline | None = None) -> Solution:
    """Solve with the adapter the options name, within ``deadline`` (the options'
    ``time_limit`` from now when None).

    A program with quadratic terms and integers is a MIQP, which HiGHS does not solve
    (nor cvxpy's HiGHS interface): the integers are chosen first on the linear program
    with the proxy terms (the L1 tracking penalty), then fixed, and the QP is solved.
    """
    deadline = deadline or Deadline(options.time_limit)
    if prog.quadratic and prog.is_mip:
        import numpy as np

        first = _solve_one(prog.without(quadratic=True), options, deadline)
        if not first.status.has_solution:
            return first
        fixed = prog.without(terms=prog.proxies)
        fixed.vars = dict(fixed.vars)
        for name, block in prog.vars.items():
            if np.any(block.integer):
                z = np.round(first.x[block.slice])
                fixed.vars[name] = type(block)(name, block.start, block.size, z, z, False)
        fixed.pieces = []
        second = _solve_one(fixed, options, deadline)
        second.solver_seconds += first.solver_seconds
        second.message = (second.message + "; integers fixed by the linear stage").strip("; ")
        return second
    if prog.quadratic:
        return _solve_one(prog.without(terms=prog.proxies), options, deadline)
    return _solve_one(prog, options, deadline)


def _solve_one(prog: Program, options: Options, deadline: Deadline) -> Solution:
    """One solve with whatever is left of the time limit."""
    if options.adapter == "cvxpy":
        from .cvxpy_adapter import solve_cvxpy

        left = max(deadline.left(), 1e-3)
        return solve_cvxpy(prog, options if left >= options.time_limit
                           else options.replace(time_limit=left))
    from .highs import solve_highs

    return solve_highs(prog, options, deadline)


__all__ = ["Deadline", "Solution", "Status", "solve_program"]
