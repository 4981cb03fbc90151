"""Embedding taxopt in other optimizers: a small, typed Python API.

The flow is the engine's, one step at a time::

    import taxopt

    hh = taxopt.load("scenarios/three_account_location.json")  # or from_dict / from_file
    model = taxopt.build(hh)                                   # -> RebalanceModel
    result = model.solve()                                     # or taxopt.solve(model)
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

Exports: ``model.write_mps(path)`` / ``model.write_lp(path)`` (HiGHS), or
``taxopt.write_mps(model, path)``.

`taxopt.model.builder.RebalanceModel` knows nothing of solvers or files; `build`
here returns `RebalanceModel`, its subclass with ``solve``, ``cvxpy``,
``write_mps`` and ``write_lp`` bound on, and results are `PlannedResult`, the
engine's `taxopt.Result` with ``plan`` (pandas) bound on.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "ConstraintGroup": "cvx", "CvxpyModel": "cvx", "EmbeddedResult": "cvx",
    "ObjectiveTerm": "cvx", "with_targets": "data", "write_lp": "export",
    "write_mps": "export", "Labelled": "labelled", "RebalanceModel": "model",
    "build": "model", "rebalance": "model", "solve_model": "model", "Plan": "plan",
    "plan_of": "plan", "PlannedResult": "result",
}
"""Each public name and the module of this package that defines it (loaded on use, so
`taxopt.rebalance` does not import pandas or cvxpy)."""

__all__ = ["ConstraintGroup", "CvxpyModel", "EmbeddedResult", "Labelled", "ObjectiveTerm",
           "Plan", "PlannedResult", "RebalanceModel", "build", "plan_of", "rebalance",
           "solve_model", "with_targets", "write_lp", "write_mps"]

if TYPE_CHECKING:
    from .cvx import ConstraintGroup, CvxpyModel, EmbeddedResult, ObjectiveTerm
    from .data import with_targets
    from .export import write_lp, write_mps
    from .labelled import Labelled
    from .model import RebalanceModel, build, rebalance, solve_model
    from .plan import Plan, plan_of
    from .result import PlannedResult


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
