"""The integer values of taxopt's own program, for fixing them before a QP or conic solve."""

from __future__ import annotations

import numpy as np

from ...adapters import choose_integers
from ...adapters.base import Status
from ...errors import ProgramInfeasible, SolverError
from ...explain import explain_infeasible
from ...model.builder import RebalanceModel


def solve_integers(model: RebalanceModel) -> np.ndarray:
    """The integer values of taxopt's own program (its linear stage), to fix them."""
    prog = model.program
    ints = np.flatnonzero(prog.integrality())
    if not len(ints):
        return np.zeros(0)
    sol = choose_integers(prog, model.options.replace(adapter="highs"))
    if sol.status == Status.INFEASIBLE:
        raise ProgramInfeasible(model.household.household_id,
                                explain_infeasible(prog.linear_stage(), model.options))
    if not sol.status.has_solution:
        raise SolverError(f"household {model.household.household_id}: taxopt's own MILP "
                          f"has no solution ({sol.status}: {sol.message}); cannot fix "
                          "its integer variables")
    return np.round(sol.x[ints])
