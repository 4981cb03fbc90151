"""Solver adapters: the same `Program` to HiGHS directly or through cvxpy."""

from __future__ import annotations

from ..model.program import Program
from ..options import Options
from .base import Solution, Status


def solve_program(prog: Program, options: Options) -> Solution:
    """Solve with the adapter the options name."""
    if options.adapter == "cvxpy":
        from .cvxpy_adapter import solve_cvxpy

        return solve_cvxpy(prog, options)
    from .highs import solve_highs

    return solve_highs(prog, options)


__all__ = ["Solution", "Status", "solve_program"]
