"""The engine's result with this layer's presentation bound on (``plan``, in pandas).

Light on purpose: pandas is imported only when a plan is asked for, so
`taxopt.rebalance` stays free of it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from ..engine import Result

if TYPE_CHECKING:
    from .plan import Plan


@dataclass(slots=True, eq=False)
class PlannedResult(Result):
    """A `taxopt.Result` that also gives its plan as pandas objects (``plan``).

    What `taxopt.rebalance`, `taxopt.solve` and ``model.solve()`` return: the
    engine's result, with the pandas presentation of the API layer bound on.
    """

    @property
    def plan(self) -> Plan:
        """The plan as pandas objects indexed by named levels (see `taxopt.api.plan_of`)."""
        from .plan import Plan

        return Plan.from_result(self)

    @classmethod
    def of(cls, result: Result) -> PlannedResult:
        """The same result (fields shared, not copied) as this class."""
        if isinstance(result, cls):
            return result
        return cls(**{f.name: getattr(result, f.name) for f in fields(Result)})
