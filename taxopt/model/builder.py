"""From a validated household to one solver-neutral program (no I/O in here)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..domain.household import Household
from ..options import Options
from .constraints import Constraint, budget_constraints, default_constraints
from .context import ModelContext, make_context
from .funding import funding_constraints, funding_terms
from .program import Program
from .terms import Term, default_terms

if TYPE_CHECKING:
    from ..api.cvx import CvxpyModel
    from ..engine import Result


@dataclass(slots=True, eq=False)
class RebalanceModel:
    """A household's rebalancing program with the pieces that made it.

    Add terms or constraints before `compile` (or call `build` with them) to
    extend the model; each piece compiles itself into the program.
    """

    household: Household
    options: Options
    terms: list[Term] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    late_constraints: list[Constraint] = field(default_factory=list)
    context: ModelContext | None = None

    @property
    def program(self) -> Program:
        if self.context is None:
            self.compile()
        assert self.context is not None
        return self.context.program

    def compile(self) -> ModelContext:
        """Declare the variables, then let every term and constraint add its part."""
        ctx = make_context(self.household)
        for piece in [*self.constraints, *self.terms, *self.late_constraints]:
            piece.compile(ctx)
        self.context = ctx
        return ctx

    # The embedding API (issue 7): thin delegations to `taxopt.api`.
    def solve(self, adapter: str | None = None, solver: str | None = None,
              **changes: Any) -> Result:
        """Solve, decode and audit this model (see `taxopt.api.solve_model`)."""
        from ..api.pipeline import solve_model

        return solve_model(self, adapter, solver, **changes)

    def cvxpy(self) -> CvxpyModel:
        """The program as named cvxpy pieces to extend and re-solve (see
        `taxopt.api.CvxpyModel`); build it once and keep it."""
        from ..api.cvx import CvxpyModel

        return CvxpyModel(self)

    def write_mps(self, path: str | os.PathLike[str]) -> Path:
        """Write the program as an MPS file through HiGHS (see `taxopt.api.write_mps`)."""
        from ..api.export import write_mps

        return write_mps(self, path)

    def write_lp(self, path: str | os.PathLike[str]) -> Path:
        """Write the program as an LP file through HiGHS (see `taxopt.api.write_lp`)."""
        from ..api.export import write_lp

        return write_lp(self, path)


def build(household: Household, options: Options | None = None, *,
          extra_terms: list[Term] | None = None,
          extra_constraints: list[Constraint] | None = None) -> RebalanceModel:
    """Build the rebalancing program of one household."""
    opts = options or household.options
    model = RebalanceModel(
        household, opts,
        terms=[*default_terms(opts), *funding_terms(opts), *(extra_terms or [])],
        constraints=[*default_constraints(opts), *funding_constraints(opts),
                     *(extra_constraints or [])],
        late_constraints=budget_constraints(opts))
    model.compile()
    return model
