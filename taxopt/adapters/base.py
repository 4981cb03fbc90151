"""What every adapter returns: one status vocabulary and the variable values."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np


class Status(enum.StrEnum):
    """Outcome of a solve, the same whichever adapter ran it."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"          # a solution, but the time limit stopped the proof
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    ERROR = "error"

    @property
    def has_solution(self) -> bool:
        return self in (Status.OPTIMAL, Status.FEASIBLE)


@dataclass(slots=True, eq=False)
class Solution:
    """Variable values and how the solver got them."""

    status: Status
    x: np.ndarray
    objective: float
    adapter: str
    solver: str
    version: str
    mip_gap: float | None = None
    solver_seconds: float = 0.0
    message: str = ""
    info: dict[str, float] = field(default_factory=dict)

    def describe(self) -> dict[str, object]:
        """The summary's ``solver`` record."""
        return {"adapter": self.adapter, "solver": self.solver, "version": self.version,
                "status": str(self.status), "mip_gap": self.mip_gap}
