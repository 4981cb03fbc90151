"""The model as users hold it: `taxopt.build`'s result, with solving and export bound on.

The model layer's `taxopt.model.builder.RebalanceModel` knows nothing of solvers,
cvxpy or files. This subclass binds the functions of the layers above onto it
(as linopy binds its io functions onto its ``Model``), so ``taxopt.build(hh).solve()``
reads naturally while every layer imports only the ones below it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import engine
from ..domain.household import Household
from ..model import builder
from ..model.constraints import Constraint
from ..model.terms import Term
from ..options import Options
from .export import write_lp, write_mps
from .result import PlannedResult

if TYPE_CHECKING:
    from .cvx import CvxpyModel


@dataclass(slots=True, eq=False)
class RebalanceModel(builder.RebalanceModel):
    """A household's rebalancing program (`taxopt.model.builder.RebalanceModel`) with
    ``solve``, ``cvxpy``, ``write_mps`` and ``write_lp``."""

    def solve(self, adapter: str | None = None, solver: str | None = None,
              **changes: Any) -> PlannedResult:
        """Solve, decode and audit this model (see `solve_model`)."""
        return solve_model(self, adapter, solver, **changes)

    def cvxpy(self) -> CvxpyModel:
        """The program as named cvxpy pieces to extend and re-solve (see
        `taxopt.api.CvxpyModel`); build it once and keep it."""
        from .cvx import CvxpyModel  # pandas and cvxpy only when asked for

        return CvxpyModel(self)

    def write_mps(self, path: str | os.PathLike[str]) -> Path:
        """Write the program as an MPS file through HiGHS (see `taxopt.api.write_mps`)."""
        return write_mps(self, path)

    def write_lp(self, path: str | os.PathLike[str]) -> Path:
        """Write the program as an LP file through HiGHS (see `taxopt.api.write_lp`)."""
        return write_lp(self, path)


def build(household: Household, options: Options | None = None, *,
          extra_terms: list[Term] | None = None,
          extra_constraints: list[Constraint] | None = None) -> RebalanceModel:
    """Build the rebalancing program of one household (`taxopt.model.builder.build`)."""
    base = builder.build(household, options, extra_terms=extra_terms,
                         extra_constraints=extra_constraints)
    return RebalanceModel(base.household, base.options, base.terms, base.constraints,
                          base.late_constraints, base.context)


def solve_model(model: builder.RebalanceModel, adapter: str | None = None,
                solver: str | None = None, **changes: Any) -> PlannedResult:
    """`taxopt.engine.solve` (decode and audit included), with the plan bound on.

    Parameters
    ----------
    model
        From `taxopt.build`.
    adapter
        ``"highs"`` (direct, fast; the default) or ``"cvxpy"``.
    solver
        The cvxpy solver name when ``adapter="cvxpy"`` (``"HIGHS"`` by default).
    **changes
        Solve-time options: ``time_limit``, ``mip_rel_gap``, ``min_trade_value``.
    """
    return PlannedResult.of(engine.solve(model, adapter, solver, **changes))


def rebalance(household: Household, options: Options | None = None,
              **changes: Any) -> PlannedResult:
    """`taxopt.engine.rebalance` (the whole pipeline, audited), with the plan bound on."""
    return PlannedResult.of(engine.rebalance(household, options, **changes))
