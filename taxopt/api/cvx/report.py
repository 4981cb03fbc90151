"""Which constraints hold with slack, which are active, which bind: the report of a solve.

Built-in groups are evaluated with numpy from the program's own rows; user groups
through cvxpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .checks import activity, cat, sides

if TYPE_CHECKING:
    from .compiled import CompiledModel


def entry_arrays(m: CompiledModel, name: str, duals: list[Any] | None, x: np.ndarray,
                  labels: bool) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Labels (if asked), slack, size and dual of each entry of a group at ``x``.

    Built-in groups are evaluated with numpy from the program's own rows; user
    groups through cvxpy.
    """
    if name in m._aliases:
        parts = [entry_arrays(m, k, None, x, labels) for k in m._aliases[name]]
        return ([lab for p in parts for lab in p[0]], cat([p[1] for p in parts]),
                cat([p[2] for p in parts]), cat([p[3] for p in parts]))
    if duals is None and m._last_duals is not None:
        duals = m._last_duals.get(name)
    s = m._spec
    out_l: list[str] = []
    out: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def dual(k: int, c: Any, size: int) -> np.ndarray:
        d = duals[k] if duals is not None else c.dual_value
        if d is None:
            return np.full(size, np.nan)
        return np.broadcast_to(np.asarray(d, float).reshape(-1), (size,)).copy()

    if name == "bounds" or name in m._row_entries:
        if name == "bounds":
            value, lo, hi = x, s.lb, s.ub
            entries = m._bound_entries
        else:
            r = s.rows[name]
            value, lo, hi = r.A @ x, r.lo, r.hi
            entries = m._row_entries[name]
        for k, (c, idx, kind) in enumerate(entries):
            v = value[idx]
            bound = (hi if kind == "hi" else lo)[idx]
            slack = (bound - v if kind == "hi" else v - bound if kind == "lo"
                     else -np.abs(v - bound))
            out.append((slack, np.maximum(1.0, np.maximum(np.abs(v), np.abs(bound))),
                        dual(k, c, len(idx))))
            if labels:
                out_l.extend(row_label(m, name, i, kind) for i in idx)
    else:
        for k, c in enumerate(m._groups[name].constraints):
            size = int(np.prod(c.shape)) if c.shape else 1
            got = sides(c)
            slack, scale = got if got is not None else (np.full(size, np.nan),
                                                              np.ones(size))
            out.append((slack, scale, dual(k, c, size)))
            if labels:
                out_l.extend(f"{name}[{k}]" + (f"[{i}]" if size > 1 else "")
                             for i in range(size))
    return (out_l, cat([o[0] for o in out]), cat([o[1] for o in out]),
            cat([o[2] for o in out]))


def row_label(m: CompiledModel, name: str, i: int, kind: str) -> str:
    if name == "bounds":
        for b, start, size in m._spec.blocks:
            if start <= i < start + size:
                return f"{b}[{i - start}] {'>=' if kind == 'lo' else '<='} bound"
    labels = m._spec.rows[name].labels
    return labels[i] if labels else f"{name}[{i}]"


def constraint_rows(m: CompiledModel, name: str, duals: list[Any] | None = None) -> pd.DataFrame:
    """Per entry of a constraint group at the last solve: ``slack``, ``dual``,
    ``active``, ``binding``, indexed by the row's label in words.

    ``duals`` replaces the solver's duals, one per constraint of the group; by
    default those of the last solve's fixed-integer LP, if it ran.
    """
    if name not in m._groups:
        raise KeyError(f"no constraint group {name!r}; groups are {list(m._groups)}")
    labels, slack, scale, d = entry_arrays(m, name, duals, m._solution(), True)
    active, binding = activity(slack, scale, d)
    return pd.DataFrame({"slack": slack, "dual": d, "active": active, "binding": binding},
                        index=pd.Index(labels, name="row"))


def constraint_report(m: CompiledModel, duals: dict[str, list[Any]] | None = None) -> pd.DataFrame:
    """One row per constraint group at the last solve (see `EmbeddedResult`).

    ``duals`` (by group name) replaces the solver's duals, e.g. those of the LP
    with the integer variables fixed.
    """
    x = m._solution()
    rows = {}
    for name, g in m._groups.items():
        if name in m._aliases:
            continue  # prefix aliases repeat their members
        _, slack, scale, d = entry_arrays(m,
            name, duals.get(name) if duals is not None else None, x, False)
        active, binding = activity(slack, scale, d)
        finite = np.isfinite(d)
        rows[name] = {"user": g.user, "rows": len(slack), "active": int(active.sum()),
                      "binding": bool(binding.any()),
                      "min_slack": float(np.nanmin(slack)) if np.isfinite(slack).any()
                      else np.nan,
                      "max_abs_dual": float(np.abs(d[finite]).max()) if finite.any()
                      else np.nan}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "group"
    return out
