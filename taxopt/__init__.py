"""taxopt: tax-smart rebalancing of a household's accounts toward its goals.

The public API is loaded lazily so that ``import taxopt`` stays light: cvxpy,
pandas and the solvers are imported only when a function needs them.

>>> import taxopt
>>> hh = taxopt.load("scenarios/three_account_location.json")
>>> result = taxopt.rebalance(hh)
>>> result.status
<Status.OPTIMAL: 'optimal'>
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .version import __version__ as __version__

_EXPORTS = {
    "load": ("taxopt.domain.load", "from_json"),
    "from_dict": ("taxopt.domain.load", "from_dict"),
    "from_file": ("taxopt.domain.load", "from_file"),
    "Household": ("taxopt.domain.household", "Household"),
    "Options": ("taxopt.options", "Options"),
    "rebalance": ("taxopt.api.model", "rebalance"),
    "Result": ("taxopt.engine", "Result"),
    "build": ("taxopt.api.model", "build"),
    "solve": ("taxopt.api.model", "solve_model"),
    "RebalanceModel": ("taxopt.api.model", "RebalanceModel"),
    "write_mps": ("taxopt.api.export", "write_mps"),
    "write_lp": ("taxopt.api.export", "write_lp"),
    "Status": ("taxopt.domain.status", "Status"),
    "Orders": ("taxopt.domain.orders", "Orders"),
    "assess": ("taxopt.audit", "assess"),
    "violations": ("taxopt.audit", "violations"),
    "InvalidInput": ("taxopt.errors", "InvalidInput"),
    "InvalidOptions": ("taxopt.errors", "InvalidOptions"),
    "ProgramInfeasible": ("taxopt.errors", "ProgramInfeasible"),
    "TaxoptError": ("taxopt.errors", "TaxoptError"),
    # the embedding API
    "CvxpyModel": ("taxopt.api.cvx", "CvxpyModel"),
    "EmbeddedResult": ("taxopt.api.cvx", "EmbeddedResult"),
    "Plan": ("taxopt.api.plan", "Plan"),
    "plan_of": ("taxopt.api.plan", "plan_of"),
    "with_targets": ("taxopt.api.data", "with_targets"),
}

__all__ = ["CvxpyModel", "EmbeddedResult", "Household", "InvalidInput", "InvalidOptions",
           "Options", "Orders", "Plan", "ProgramInfeasible", "RebalanceModel", "Result",
           "Status", "TaxoptError", "assess", "build", "from_dict", "from_file", "load",
           "plan_of", "rebalance", "solve", "violations", "with_targets", "write_lp",
           "write_mps"]

if TYPE_CHECKING:
    from .api.cvx import CvxpyModel, EmbeddedResult
    from .api.data import with_targets
    from .api.export import write_lp, write_mps
    from .api.model import RebalanceModel, build, rebalance
    from .api.model import solve_model as solve
    from .api.plan import Plan, plan_of
    from .audit import assess, violations
    from .domain.household import Household
    from .domain.load import from_dict, from_file
    from .domain.load import from_json as load
    from .domain.orders import Orders
    from .domain.status import Status
    from .engine import Result
    from .errors import InvalidInput, InvalidOptions, ProgramInfeasible, TaxoptError
    from .options import Options


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module, attr = _EXPORTS[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'taxopt' has no attribute {name!r}")
