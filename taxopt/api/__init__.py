"""Embedding taxopt in other optimizers: a small, typed Python API.

The flow is the engine's, one step at a time::

    import taxopt

    hh = taxopt.load("scenarios/three_account_location.json")  # or from_dict / from_file
    model = taxopt.build(hh)                                   # -> RebalanceModel
    result = model.solve()                                     # -> Result (HiGHS, audited)
    plan = taxopt.plan_of(result)                              # or result.plan
    plan.trades            # DataFrame indexed (household_id, account_id, symbol, lot_id)
    plan.summary           # Series: est_tax, realized gains, turnover, ...
    result.status == taxopt.Status.OPTIMAL

Households come from `taxopt.load` (a path or JSON text), `taxopt.from_dict` (the
contract's JSON shape as Python data) and `taxopt.from_file` (``.json``, ``.yaml``);
they are immutable: `taxopt.Household.with_prices`, `Household.with_options` and
`with_targets` return changed copies.

Composing with cvxpy (`CvxpyModel`, from ``model.cvxpy()``): the program's
variables, derived expressions, objective terms and constraint groups by name;
add your own terms and constraint groups, change weights, solve with any cvxpy
solver, and get the plan through taxopt's decoder and audit, with the user
constraints that bind. Data enters as cvxpy Parameters, so re-solves after a
weight, target or price change skip compilation.

Exports: ``model.write_mps(path)`` / ``model.write_lp(path)`` (HiGHS).
"""

from __future__ import annotations

from .cvx import ConstraintGroup, CvxpyModel, EmbeddedResult, ObjectiveTerm
from .data import with_targets
from .export import write_lp, write_mps
from .labelled import Labelled
from .pipeline import solve_model
from .plan import Plan, plan_of

__all__ = ["ConstraintGroup", "CvxpyModel", "EmbeddedResult", "Labelled", "ObjectiveTerm",
           "Plan", "plan_of", "solve_model", "with_targets", "write_lp", "write_mps"]
