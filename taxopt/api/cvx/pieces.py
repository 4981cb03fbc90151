"""The named pieces of the embedding model: objective terms, constraint groups, results."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from ...engine import Result
from ..result import PlannedResult
from .checks import value_of

Expr = Any
"""A cvxpy expression (cvxpy's own classes are not precisely typed)."""

ConstraintSource = Callable[[Any], Iterable[Any]] | Iterable[Any]
"""Constraints, or a callable that makes them from the model (``lambda m: [...]``)."""
ObjectiveSource = Callable[[Any], Any] | Any
"""A scalar expression, or a callable that makes it from the model (``lambda m: ...``)."""


class Weights(Protocol):
    """What a term needs from its model: its weight, read and set by name."""

    def weight(self, name: str) -> float: ...

    def set_weight(self, name: str, weight: float) -> None: ...


@dataclass(slots=True, eq=False)
class ObjectiveTerm:
    """One named objective term: ``weight * expr``, in dollars.

    Attributes
    ----------
    name
        The term's name (``tax``, ``tracking``, ... or a user's).
    expr
        The unweighted cvxpy expression (for built-in terms ``coef @ x + constant``
        with the coefficients as Parameters); usable in user constraints.
    user
        True for terms added with `CvxpyModel.add_objective`.
    """

    name: str
    expr: Expr
    user: bool
    _model: Weights = field(repr=False)

    @property
    def weight(self) -> float:
        """The term's weight; setting it changes a Parameter (no recompilation)."""
        return self._model.weight(self.name)

    @weight.setter
    def weight(self, value: float) -> None:
        self._model.set_weight(self.name, value)

    @property
    def value(self) -> float | None:
        """``weight * expr`` at the last solve."""
        v = value_of(self.expr)
        return None if v is None else float(self.weight * float(v))


@dataclass(slots=True, eq=False)
class ConstraintGroup:
    """A named list of cvxpy constraints.

    Attributes
    ----------
    name
        The group's name (a program row block such as ``cash``, ``bands``,
        ``tolerance``, ``wash_sell``; ``bounds``; or a user's).
    constraints
        The cvxpy constraints (vector constraints count one row per entry).
    labels
        Built-in groups: one label per row of the program's block, in words (the
        constraints split the rows into ``==``, ``>=`` and ``<=`` parts;
        `CvxpyModel.constraint_rows` labels each entry). None for user groups.
    user
        True for groups added with `CvxpyModel.add_constraints`.
    tol
        User groups: how far (in the constraint's own units) the rounded plan may
        cross them; None means ``1e-6`` of the constraint's size (at least 1).
    """

    name: str
    constraints: list[Any]
    labels: list[str] | None = None
    user: bool = False
    tol: float | None = None

    def __iter__(self) -> Iterator[Any]:
        return iter(self.constraints)

    def __len__(self) -> int:
        return len(self.constraints)


@dataclass(slots=True, eq=False)
class UserTerm:
    source: ObjectiveSource
    weight: float
    expr: Expr = None
    param: Any = None
    epigraph: Any = None


@dataclass(slots=True, eq=False)
class UserGroup:
    source: ConstraintSource
    tol: float | None
    constraints: list[Any] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class EmbeddedResult(PlannedResult):
    """A `taxopt.Result` from `CvxpyModel.solve`, with what the embedding adds.

    Attributes
    ----------
    binding
        Names of the user constraint groups that bind at the solution: some entry
        is active (no slack) with a nonzero dual. A MILP has no duals: they come
        from the LP with the integer variables fixed at the solution (solved when
        there are user groups, or with ``solve(duals=True)``); without duals, an
        active entry counts as binding.
    constraint_report
        One row per constraint group (user and built-in), indexed by name: ``user``,
        ``rows``, ``active`` (entries without slack), ``binding``, ``min_slack``,
        ``max_abs_dual`` (NaN without duals).
    objective_terms
        Each term's weighted value at the solution, built-in and user terms.
    compiled
        Whether this solve compiled the cvxpy problem (False: cvxpy's cache was hit
        and only parameter values were loaded).
    """

    binding: list[str] = field(default_factory=list)
    constraint_report: pd.DataFrame | None = None
    objective_terms: dict[str, float] = field(default_factory=dict)
    compiled: bool = True

    def summary(self, timings: bool = False) -> dict[str, Any]:
        """`Result.summary`, with weighted user terms and the user constraints' report."""
        rec = Result.summary(self, timings)
        if self.objective_terms:
            rec["objective"] = {k: round(v, 2) + 0.0 for k, v in self.objective_terms.items()}
        if self.constraint_report is not None and self.constraint_report["user"].any():
            user = self.constraint_report[self.constraint_report["user"]]
            rec["user_constraints"] = {
                str(name): {"rows": int(row["rows"]), "active": int(row["active"]),
                            "binding": bool(row["binding"])}
                for name, row in user.iterrows()}
        return rec
