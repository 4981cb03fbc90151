"""What every adapter returns: one status vocabulary and the variable values."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..domain.status import Status
from ..model.program import Program

__all__ = ["Solution", "Status"]


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
    # Multipliers of the program's rows from a solve the time limit stopped (HiGHS's
    # last dual values): any multipliers bound the optimum (`taxopt.adapters.lagrange`).
    duals: np.ndarray | None = None

    def describe(self) -> dict[str, object]:
        """The summary's ``solver`` record."""
        return {"adapter": self.adapter, "solver": self.solver, "version": self.version,
                "status": str(self.status), "mip_gap": self.mip_gap}


def qp_scale(prog: Program) -> float:
    """The factor a QP's objective is multiplied by when HiGHS solves it.

    The tracking-error variance in dollars has Hessian entries of 1e-9 to 1e-5, the
    size of the regularization HiGHS's active-set QP adds (1e-7, also through cvxpy): unscaled, it
    returned "optimal" plans a thousand dollars of objective short and could cycle
    until the time limit. With the largest entry near 0.1 it is exact and fast
    (measured on the bundled scenarios). LPs are passed unscaled.
    """
    if not prog.quadratic:
        return 1.0
    largest = max((float(np.abs(Q).max()) for _, Q in prog.quadratic.values()), default=0.0)
    return float(np.clip(QP_HESSIAN_TARGET / largest, 1.0, 1e6)) if largest > 0 else 1.0


QP_HESSIAN_TARGET = 0.1
