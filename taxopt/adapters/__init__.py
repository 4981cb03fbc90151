"""Solver adapters: the same `Program` to HiGHS directly or through cvxpy."""

from __future__ import annotations

import numpy as np

from ..model.program import Program
from ..options import Options
from .base import Solution, Status


def solve_program(prog: Program, options: Options) -> Solution:
    """Solve with the adapter the options name.

    A program with quadratic terms and integers is a MIQP, which HiGHS does not solve
    (nor cvxpy's HiGHS interface): the integers are chosen first on the linear program
    with the stand-in terms (the L1 tracking penalty), then fixed, and the QP is solved.
    """
    if prog.quadratic and prog.is_mip:
        first = choose_integers(prog, options)
        if not first.status.has_solution:
            return first
        ints = np.flatnonzero(prog.integrality())
        second = _solve_one(prog.quadratic_stage().with_integers_fixed(first.x[ints]), options)
        second.solver_seconds += first.solver_seconds
        second.message = (second.message + "; integers fixed by the linear stage").strip("; ")
        return second
    return _solve_one(prog.quadratic_stage(), options)


def choose_integers(prog: Program, options: Options) -> Solution:
    """The linear stage: the program with the stand-ins in place of its quadratic terms,
    solved as a (mixed-integer) LP; its integer values are the ones the QP keeps."""
    return _solve_one(prog.linear_stage(), options)


def _solve_one(prog: Program, options: Options) -> Solution:
    if options.adapter == "cvxpy":
        from .cvxpy_adapter import solve_cvxpy

        return solve_cvxpy(prog, options)
    from .highs import solve_highs

    return solve_highs(prog, options)


__all__ = ["Solution", "Status", "choose_integers", "solve_program"]
