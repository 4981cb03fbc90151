"""The program's objective at a given plan, whatever solver (if any) produced it.

A plan fixes the trade columns (sales, purchases, the accounts' parts of goal-level
flows). The objective also has columns that only describe it: the netting of the
year's results, the tracking deviations, the wash-sale binaries. Their best values
given the trades are a small program of their own (a few columns per rule; the trade
columns enter as constants), solved here, so that a plan that did not come from a
completed solve (the household as it stands, a rounded plan) is scored in the same
units as the bound it is compared with. Rows over trade columns alone do not enter:
they do not change the objective.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..model.program import Program
from .clock import Deadline
from .lagrange import Relaxation


def trade_columns(prog: Program, names: tuple[str, ...] = ("sell", "buy", "withdraw",
                                                              "deposit")) -> np.ndarray:
    """The columns a plan fixes (bool over the program's columns)."""
    out = np.zeros(prog.n, bool)
    for name in names:
        if name in prog.vars:
            out[prog.vars[name].slice] = True
    return out


def plan_objective(prog: Program, rel: Relaxation, fixed: np.ndarray, x: np.ndarray,
                   deadline: Deadline | None = None) -> float | None:
    """The objective with the columns ``fixed`` at ``x`` and every other column at its
    best value given them; None when that small program has no solution in time."""
    import highspy

    xf = np.where(fixed, x, 0.0)
    free = ~fixed
    on_free = free[rel.c]
    if xf.any():
        shift = np.bincount(rel.r[~on_free], weights=rel.v[~on_free] * xf[rel.c[~on_free]],
                            minlength=rel.m)
    else:                                  # no trades: nothing moves the rows
        shift = np.zeros(rel.m)
    count = np.bincount(rel.r[on_free], minlength=rel.m)
    lb, ub = prog.bounds()
    lb, ub = lb.copy(), ub.copy()
    integ = prog.integrality()
    # A row with one free entry is a bound on that column (a wash-sale row: the binary
    # must allow the sale or the purchase the plan makes): applied as such.
    single = on_free & (count[rel.r] == 1)
    if single.any():
        r1, c1, v1 = rel.r[single], rel.c[single], rel.v[single]
        with np.errstate(invalid="ignore", divide="ignore"):
            a_lo, a_hi = (rel.lo[r1] - shift[r1]) / v1, (rel.hi[r1] - shift[r1]) / v1
        low = np.where(v1 > 0, a_lo, a_hi)
        high = np.where(v1 > 0, a_hi, a_lo)
        low = np.where(np.isnan(low), -np.inf, low)
        high = np.where(np.isnan(high), np.inf, high)
        order = np.argsort(c1, kind="stable")
        c1 = c1[order]
        first = np.r_[0, np.flatnonzero(np.diff(c1)) + 1]
        col = c1[first]
        lb[col] = np.maximum(lb[col], np.maximum.reduceat(low[order], first))
        ub[col] = np.minimum(ub[col], np.minimum.reduceat(high[order], first))
        ints = integ != 0
        lb[ints] = np.ceil(lb[ints] - 1e-9)
        ub[ints] = np.floor(ub[ints] + 1e-9)
        if (lb > ub + 1e-9).any():
            return None
        ub = np.maximum(ub, lb)
    on_free &= ~single
    rows = np.flatnonzero(count > 1)
    cols = np.flatnonzero(free)
    row_at = np.full(rel.m, -1)
    row_at[rows] = np.arange(len(rows))
    col_at = np.full(rel.n, -1)
    col_at[cols] = np.arange(len(cols))
    A = sp.csc_matrix((rel.v[on_free], (row_at[rel.r[on_free]], col_at[rel.c[on_free]])),
                      shape=(len(rows), len(cols)))
    integ = integ[cols]
    h = highspy._Highs()  # type: ignore[attr-defined]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    if deadline is not None:
        h.setOptionValue("time_limit", max(deadline.left(), 1e-3))
    h.passModel(len(cols), len(rows), int(A.nnz), 1, 1, 0.0,
                np.ascontiguousarray(rel.cost[cols], np.float64),
                np.ascontiguousarray(lb[cols], np.float64),
                np.ascontiguousarray(ub[cols], np.float64),
                np.ascontiguousarray(rel.lo[rows] - shift[rows], np.float64),
                np.ascontiguousarray(rel.hi[rows] - shift[rows], np.float64),
                np.ascontiguousarray(A.indptr, np.int32), np.ascontiguousarray(A.indices, np.int32),
                np.ascontiguousarray(A.data, np.float64), np.ascontiguousarray(integ, np.int32))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return float(rel.const + np.multiply(rel.cost[fixed], xf[fixed]).sum()
                 + h.getInfo().objective_function_value)
