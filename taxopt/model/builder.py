"""From a validated household to one solver-neutral program (no I/O in here)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..domain.household import Household
from ..options import Options
from .constraints import Constraint, budget_constraints, default_constraints
from .context import ModelContext, make_context
from .funding import funding_constraints, funding_terms
from .program import Program
from .terms import Term, default_terms


@dataclass(slots=True, eq=False)
class RebalanceModel:
    """A household's rebalancing program with the pieces that made it.

    Add terms or constraints before `compile` (or call `build` with them) to
    extend the model; each piece compiles itself into the program. Solving and
    export are functions of the layers above (`taxopt.engine.solve`,
    `taxopt.api.cvx.CvxpyModel`, `taxopt.api.export.write_mps`); `taxopt.build`
    returns `taxopt.api.model.RebalanceModel`, this class with them bound as methods.
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

    def without_lot_order(self) -> RebalanceModel:
        """The same model with the optimizer free to pick lots (no forced custodian
        order): what a forced order is compared with. Compiled."""
        opts = self.options.replace(lot_relief="optimal")
        out = RebalanceModel(self.household, opts, list(self.terms),
                             [c for c in self.constraints
                              if getattr(c, "name", None) != "lot_relief"],
                             list(self.late_constraints))
        out.compile()
        return out


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
