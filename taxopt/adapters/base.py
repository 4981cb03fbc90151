"""What every adapter returns: one status vocabulary and the variable values."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..domain.status import Status

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

    def describe(self) -> dict[str, object]:
        """The summary's ``solver`` record."""
        return {"adapter": self.adapter, "solver": self.solver, "version": self.version,
                "status": str(self.status), "mip_gap": self.mip_gap}
