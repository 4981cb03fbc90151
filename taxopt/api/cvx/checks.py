"""Constraint arithmetic for the embedding model: slack, activity, crossing, values.

cvxpy's constraints and expressions read as numpy arrays, without cvxpy's warning
about reading sparse Parameters densely.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ...adapters.cvxpy_adapter import SPARSE_WARNING

ACTIVE_RTOL = 1e-6
"""A constraint entry is active when its slack is below this share of its size (min 1)."""
DUAL_TOL = 1e-9
"""An active entry binds when its dual exceeds this (dollars of objective per unit)."""


def kind(c: Any) -> str:
    from cvxpy.constraints.nonpos import Inequality, NonNeg, NonPos
    from cvxpy.constraints.zero import Equality, Zero

    if isinstance(c, Inequality | NonPos | NonNeg):
        return "le"
    if isinstance(c, Equality | Zero):
        return "eq"
    return "other"


def sides(c: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """(slack, size) per entry for linear-style constraints; None for cones."""
    from cvxpy.constraints.nonpos import Inequality, NonNeg, NonPos
    from cvxpy.constraints.zero import Equality

    if isinstance(c, Inequality | Equality):
        lhs, rhs = value_of(c.args[0]), value_of(c.args[1])
        if lhs is None or rhs is None:
            return None
        lhs_a = np.broadcast_to(np.asarray(lhs, float), c.shape).reshape(-1)
        rhs_a = np.broadcast_to(np.asarray(rhs, float), c.shape).reshape(-1)
        gap = rhs_a - lhs_a if isinstance(c, Inequality) else -np.abs(rhs_a - lhs_a)
        return gap, np.maximum(1.0, np.maximum(np.abs(lhs_a), np.abs(rhs_a)))
    if isinstance(c, NonPos | NonNeg):
        v = value_of(c.args[0])
        if v is None:
            return None
        arr = np.asarray(v, float).reshape(-1)
        slack = -arr if isinstance(c, NonPos) else arr
        return slack, np.maximum(1.0, np.abs(arr))
    return None


def value_of(expr: Any) -> Any:
    """``expr.value``, without cvxpy's warning about reading sparse Parameters densely."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=SPARSE_WARNING)
        return expr.value


def gradient(expr: Any, x: Any) -> np.ndarray | None:
    """d expr / d x at the current values (None if cvxpy cannot say)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=SPARSE_WARNING)
        grad = expr.grad.get(x)
    if grad is None:
        return None
    dense = grad.toarray() if hasattr(grad, "toarray") else np.asarray(grad)
    out = np.asarray(dense, dtype=float).reshape(-1)
    return out if np.all(np.isfinite(out)) else None


def cat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0)


def activity(slack: np.ndarray, scale: np.ndarray, dual: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """Active: no slack (relative to the entry's size); binding: active with a nonzero
    dual, or active when there are no duals (cones without slack: a nonzero dual)."""
    no_slack = np.isnan(slack)
    active = np.where(no_slack, np.abs(np.nan_to_num(dual)) > DUAL_TOL,
                      np.nan_to_num(slack, nan=np.inf) <= ACTIVE_RTOL * scale)
    binding = active & (np.isnan(dual) | (np.abs(dual) > DUAL_TOL))
    return active, binding


def crossed(name: str, k: int, c: Any, tol: float | None) -> list[str]:
    got = sides(c)
    if got is None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=SPARSE_WARNING)
            v = c.violation()
        worst = float(np.max(v)) if v is not None and np.size(v) else 0.0
        limit = tol if tol is not None else ACTIVE_RTOL
        return [f"user constraint {name}[{k}] is crossed by {worst:.6g} after rounding"] \
            if worst > limit else []
    slack, scale = got
    allowed = np.full_like(slack, tol) if tol is not None else ACTIVE_RTOL * scale
    bad = np.flatnonzero(slack < -allowed)
    return [f"user constraint {name}[{k}] entry {i} is crossed by {-slack[i]:.6g} after "
            "rounding" for i in bad]
