"""How a plan ended: one vocabulary from the solver to the output files.

The values are the contract's ``status`` strings (household-format section 3);
code compares members, and the strings appear only where a file or a table is
written (`Status` is a `str` enum, so ``str(status)`` is the contract's word).
"""

from __future__ import annotations

import enum


class Status(enum.StrEnum):
    """Outcome of a solve, a plan or a batch row, whichever adapter or method made it."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"          # a plan that keeps every rule, optimality not proven
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"        # the solver's word only; a plan is never unbounded
    INVALID_INPUT = "invalid_input"  # a batch row whose household did not load
    ERROR = "error"

    @property
    def has_solution(self) -> bool:
        return self in (Status.OPTIMAL, Status.FEASIBLE)


SOLVED = (Status.OPTIMAL, Status.FEASIBLE)
"""The statuses of a plan that can be traded."""

PLAN_STATUSES = (Status.OPTIMAL, Status.FEASIBLE, Status.INFEASIBLE, Status.INVALID_INPUT,
                 Status.ERROR)
"""Every status a plan (a summary, a batch row) can have, in the order reports list them."""
