"""Infeasibility explained: relax the household's hard rules and say which had to give.

The elastic program adds a nonnegative slack on both sides of every elastic row
(cash, bands, tolerance) and minimizes the slack, each row's in its own unit
(share of the account or goal, or dollars), so the rows that need relaxing, and by
how much, are the smallest change to the input that makes the household feasible.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .adapters.highs import solve_highs
from .model.program import Program
from .options import Options


def explain_infeasible(prog: Program, options: Options) -> list[str]:
    """Sentences naming each hard rule that must be relaxed, and by how much."""
    elastic = [r for r in prog.rows.values() if r.elastic]
    if not elastic:
        return []
    relaxed = prog.copy()  # the rows are rebuilt below, the costs dropped
    relaxed.rows, relaxed.terms, relaxed.quadratic, relaxed.proxies = {}, {}, {}, set()
    relaxed.pieces = []
    slack_of: list[tuple[object, int, int]] = []
    cost = []
    for r in prog.rows.values():
        m = r.A.shape[0]
        if not r.elastic:
            relaxed.add_rows(r.name, r.A, r.lo, r.hi, r.labels)
            continue
        below = relaxed.add_vars(f"{r.name}_below", m)
        above = relaxed.add_vars(f"{r.name}_above", m)
        scale = r.scale if r.scale is not None else np.ones(m)
        A = sp.hstack([sp.csr_matrix((r.A.data, r.A.indices, r.A.indptr),
                                     shape=(m, below.start)),
                       sp.identity(m), -sp.identity(m)], format="csr")
        relaxed.add_rows(r.name, A, r.lo, r.hi, r.labels)
        slack_of.append((r, below.start, above.start))
        cost.append((below.start, 1.0 / scale))
        cost.append((above.start, 1.0 / scale))
    coef = np.zeros(relaxed.n)
    for start, w in cost:
        coef[start:start + len(w)] = w
    relaxed.add_term("slack", coef)
    sol = solve_highs(relaxed, options)
    if not sol.status.has_solution:
        return ["even with every band, tolerance and cash rule relaxed there is no solution "
                f"({sol.message})"]
    reasons = []
    for r, b0, a0 in slack_of:
        m = r.A.shape[0]
        below, above = sol.x[b0:b0 + m], sol.x[a0:a0 + m]
        scale = r.scale if r.scale is not None else np.ones(m)
        for i in np.flatnonzero((below + above) > 1e-6 * np.maximum(scale, 1.0)):
            labels = r.labels or [f"{r.name}[{j}]" for j in range(m)]
            need = max(below[i], above[i]) / scale[i]
            side = "below its lower" if below[i] > above[i] else "above its upper"
            amount = f"${need:,.2f}" if r.unit == "$" else f"{need:.4f} {r.unit}"
            reasons.append(f"{labels[i]} cannot hold: the closest plan ends {amount} {side} "
                           "bound")
    return reasons
