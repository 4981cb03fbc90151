"""`CvxpyModel`: one household's program as named cvxpy pieces (see `taxopt.api.cvx`).

`CompiledModel` builds and keeps the pieces; this class adds what uses them:
the solve with its decode and audit, the constraint report and the repair.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ...adapters.base import Solution
from ...model.builder import RebalanceModel
from ...options import Options
from .compiled import CompiledModel
from .pieces import EmbeddedResult
from .repair import repair_model
from .report import constraint_report, constraint_rows
from .solving import default_solver, solve


class CvxpyModel(CompiledModel):
    """One household's rebalancing program as named, re-weightable cvxpy pieces.

    Create it with ``taxopt.build(hh).cvxpy()`` (or ``CvxpyModel(model)``), keep it,
    and solve it as often as needed; see the module documentation.

    Parameters
    ----------
    model
        A built `taxopt.RebalanceModel`.
    fixed_integers
        Start with the integer variables fixed at these values (see `fix_integers`).

    Examples
    --------
    >>> m = taxopt.build(hh).cvxpy()                                   # doctest: +SKIP
    >>> m.add_constraints("no_reit", lambda m: [m.buy.where(symbol="VNQ").sum() <= 0])
    ... # doctest: +SKIP
    >>> m.set_weight("tax", 2.0)                                       # doctest: +SKIP
    >>> res = m.solve()                                                # doctest: +SKIP
    >>> res.binding, taxopt.plan_of(res).trades                        # doctest: +SKIP
    """

    def default_solver(self) -> str:
        """HiGHS for linear programs (integer or not) and the built-in quadratic terms
        with the integers fixed; Clarabel otherwise."""
        return default_solver(self)

    def solve(self, solver: str | None = None, *, duals: bool | None = None,
              **solver_options: Any) -> EmbeddedResult:
        """Solve with a cvxpy solver, then decode, audit and report binding constraints.

        Parameters
        ----------
        solver
            A cvxpy solver name; `default_solver` when None.
        duals
            For a mixed-integer program (no duals), also solve the LP with the integer
            variables fixed at the solution, for the duals of the constraint report.
            None: only when there are user constraint groups.
        **solver_options
            Passed to ``cvxpy.Problem.solve`` (override taxopt's defaults: for HiGHS
            ``time_limit``, ``threads=1``, ``mip_rel_gap``; for Clarabel ``time_limit``).

        Returns
        -------
        EmbeddedResult
            Audited like `taxopt.rebalance`'s, with ``binding``,
            ``constraint_report``, ``objective_terms`` and ``compiled``; with a forced
            lot order (``lot_relief``), compared with this model (weights and user
            pieces included) solved with the lots free.
        """
        return solve(self, solver, duals=duals, **solver_options)

    def constraint_rows(self, name: str, duals: list[Any] | None = None) -> pd.DataFrame:
        """Per entry of a constraint group at the last solve: ``slack``, ``dual``,
        ``active``, ``binding``, indexed by the row's label in words.

        ``duals`` replaces the solver's duals, one per constraint of the group; by
        default those of the last solve's fixed-integer LP, if it ran.
        """
        return constraint_rows(self, name, duals)

    def constraint_report(self, duals: dict[str, list[Any]] | None = None) -> pd.DataFrame:
        """One row per constraint group at the last solve (see `EmbeddedResult`).

        ``duals`` (by group name) replaces the solver's duals, e.g. those of the LP
        with the integer variables fixed.
        """
        return constraint_report(self, duals)

    def _repair_model(self, sol: Solution, opts: Options) -> RebalanceModel:
        """The model the whole-share repair re-solves (see `repair.repair_model`)."""
        return repair_model(self, sol, opts)

