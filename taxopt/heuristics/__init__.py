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
from ..domain.orders import Orders
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
from .sourcing import source_flows, sourced

Heuristic = Callable[[Household], Orders]

# A goal-level cash flow (contract 1.1) is split among the goal's accounts by the rule
# of thumb (taxable first, then tax-deferred, then Roth) before any heuristic trades;
# "proportional_sourcing" splits it pro rata instead (then trades as the locator).
HEURISTICS: dict[str, Heuristic] = {
    "lockstep_fifo": sourced(lockstep_fifo),
    "lockstep_hifo": sourced(lockstep_hifo),
    "threshold_5_25": sourced(threshold_5_25),
    "rule_of_thumb_locator": sourced(rule_of_thumb_locator),
    "cash_flow_only": sourced(cash_flow_only),
    "proportional_sourcing": sourced(rule_of_thumb_locator, "proportional"),
}

__all__ = ["HEURISTICS", "Book", "Heuristic", "cash_flow_only", "class_profile", "fit_bands",
           "location_targets", "lockstep_fifo", "lockstep_hifo", "lot_keys",
           "rule_of_thumb_locator", "source_flows", "sourced", "threshold_5_25"]
