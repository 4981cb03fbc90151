"""The rebalancing methods that `taxopt.compare` and `taxopt.backtest` run side by side.

One registry and one runner, so a method means the same thing in both: the
optimizer methods (``taxopt``, and ``taxopt_tax_only`` with the asset-location
value switched off), then every heuristic of `taxopt.heuristics.HEURISTICS`.
Every plan, the optimizer's or a heuristic's, is scored by the same
independent audit (`taxopt.audit.assess` and `taxopt.audit.violations`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .audit import Assessment, assess, violations
from .domain.household import Household
from .domain.orders import Orders
from .domain.status import Status
from .errors import InvalidInput
from .heuristics import HEURISTICS

OPTIMIZER = "taxopt"
OPTIMIZER_METHODS: dict[str, dict[str, Any]] = {
    OPTIMIZER: {},
    "taxopt_tax_only": {"location_horizon_years": 0.0},
}
"""Optimizer methods and the option changes that make each (they win over the caller's)."""


def all_methods() -> tuple[str, ...]:
    """The optimizer methods, then every heuristic in registry order."""
    return (*OPTIMIZER_METHODS, *HEURISTICS)


def is_optimizer(method: str) -> bool:
    return method in OPTIMIZER_METHODS


def require_known(names: Sequence[str]) -> None:
    """Raise invalid input naming the first unknown method and the known ones."""
    known = all_methods()
    for n in names:
        if n not in known:
            raise InvalidInput(None, "methods", None,
                               f"unknown method {n!r}; known methods are {', '.join(known)}")


def check_methods(methods: Sequence[str] | None) -> tuple[str, ...]:
    """The methods to run, each once in the order given (all when empty).

    Comma lists are split (``--method taxopt,lockstep_fifo``); an unknown name is
    invalid input that names the known ones.
    """
    if not methods:
        return all_methods()
    names = [n.strip() for m in methods for n in m.split(",") if n.strip()]
    require_known(names)
    return tuple(dict.fromkeys(names))


@dataclass(slots=True, eq=False)
class Outcome:
    """One method's plan for one household, as the audit sees it.

    ``status`` is the optimizer's; a heuristic's plan is `Status.FEASIBLE` when it
    keeps every hard rule and `Status.ERROR` when the audit finds one broken (the
    optimizer's own plans get ``error`` for the same reason).
    """

    orders: Orders
    assessment: Assessment
    status: Status
    message: str = ""
    broken: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status.has_solution


Planner = Callable[[Household], Outcome]


def planner(method: str, options: Mapping[str, Any] | None = None,
            tracking_band: float | None = None) -> Planner:
    """The method as ``household -> Outcome``.

    ``options`` change the optimizer's knobs (the method's own changes win).
    ``tracking_band`` (optimizer methods): while the household's drift is within
    it, plan with ``tracking_weight=0`` (harvest and place flows, but do not trade
    back to target).
    """
    if method in OPTIMIZER_METHODS:
        from .engine import rebalance

        changes = {**(options or {}), **OPTIMIZER_METHODS[method]}

        def run_optimizer(hh: Household) -> Outcome:
            ch = changes
            if tracking_band is not None and float(
                    assess(hh, Orders.empty()).drift_before.max()) <= tracking_band:
                ch = {**changes, "tracking_weight": 0.0}
            r = rebalance(hh, **ch)
            return Outcome(r.orders, r.assessment, Status(r.status), r.message,
                           list(r.violations))

        return run_optimizer
    heuristic = HEURISTICS[method]

    def run_heuristic(hh: Household) -> Outcome:
        orders = heuristic(hh)
        a = assess(hh, orders)
        broken = violations(hh, orders, a)
        if broken:
            return Outcome(orders, a, Status.ERROR, f"plan failed audit: {broken[0]}", broken)
        return Outcome(orders, a, Status.FEASIBLE)

    return run_heuristic


def run_method(hh: Household, method: str,
               options: Mapping[str, Any] | None = None) -> Outcome:
    """One method on one household (see `planner`)."""
    return planner(method, options)(hh)
