"""Baseline rebalancers: what people run without an optimizer.

Every heuristic is a function ``(hh: Household) -> Orders`` whose orders go
through the same audit (`taxopt.audit.assess` and `taxopt.audit.violations`)
as the optimizer's; `taxopt.compare` runs them side by side.

>>> import taxopt
>>> from taxopt.heuristics import HEURISTICS
>>> hh = taxopt.load("scenarios/taxable_only.json")
>>> orders = HEURISTICS["lockstep_fifo"](hh)
>>> taxopt.violations(hh, orders)
[]
"""

from __future__ import annotations

from collections.abc import Callable

from ..domain.household import Household
from ..plan.orders import Orders
from .book import Book, lot_keys
from .rules import (
    cash_flow_only,
    class_profile,
    fit_bands,
    location_targets,
    lockstep_fifo,
    lockstep_hifo,
    rule_of_thumb_locator,
    threshold_5_25,
)

Heuristic = Callable[[Household], Orders]

HEURISTICS: dict[str, Heuristic] = {
    "lockstep_fifo": lockstep_fifo,
    "lockstep_hifo": lockstep_hifo,
    "threshold_5_25": threshold_5_25,
    "rule_of_thumb_locator": rule_of_thumb_locator,
    "cash_flow_only": cash_flow_only,
}

__all__ = ["HEURISTICS", "Book", "Heuristic", "cash_flow_only", "class_profile", "fit_bands",
           "location_targets", "lockstep_fifo", "lockstep_hifo", "lot_keys",
           "rule_of_thumb_locator", "threshold_5_25"]
