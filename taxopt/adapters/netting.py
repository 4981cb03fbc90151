"""A bound on one netting root from another root's duals, solving only the netting.

The exact tax model splits the program into roots, one per combination of its netting
pieces (`taxopt.model.taxes`). Once one root is solved, another differs only in the
few netting columns: the plan's net short- and long-term results, the year's net, the
preferential part and the pieces. Keeping the short rows among those columns and
pricing every other row at the solved root's duals (a partial Lagrangian) bounds the
other root by a program of a handful of columns, solved in microseconds:

    bound = sum over priced rows of dual * (the side it sits on)
          + sum over the other columns of min over their box of reduced cost * value
          + min over the netting columns (pieces fixed) of their priced cost

valid for any duals of the right sign. With the root's optimal duals, a root that
needs a net gain (``tax_piece`` = 1) against a root that harvests losses is bounded
above the plan found, and pruned: at 100,000 lots that root took 1.7-1.9 s of dual
simplex (a few iterations, each a ratio test over tens of thousands of bound flips)
only to be pruned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..model.program import as_csc
from .condense import Condensed

SHORT_ROW = 4          # rows with at most this many entries join the netting part
MAX_COLUMNS = 32       # a larger part is not the netting: no bound


@dataclass(slots=True, eq=False)
class NettingPart:
    """The netting columns of a loaded program and the rows among them alone."""

    cols: np.ndarray           # columns of the part (indices into the loaded program)
    kept: np.ndarray           # rows whose entries all lie in the part
    A: sp.csc_matrix           # kept rows x part columns
    inside: np.ndarray         # bool over all columns: in the part

    @classmethod
    def find(cls, loaded: Condensed, pieces: np.ndarray) -> NettingPart | None:
        """The columns reached from ``pieces`` through short rows (None if too many)."""
        A = as_csc(loaded.A)
        R = A.tocsr()
        length = np.diff(R.indptr)
        inside = np.zeros(A.shape[1], bool)
        inside[pieces] = True
        while True:
            cols = np.flatnonzero(inside)
            if len(cols) > MAX_COLUMNS:
                return None
            rows = np.unique(A[:, cols].indices)
            short = rows[length[rows] <= SHORT_ROW]
            reach = R[short].indices
            if inside[reach].all():
                break
            inside[reach] = True
        entries = R[rows]
        kept = rows[np.array([inside[entries.indices[entries.indptr[i]:entries.indptr[i + 1]]]
                              .all() for i in range(len(rows))], bool)]
        return cls(cols, kept, R[kept][:, cols].tocsc(), inside)

    def price(self, loaded: Condensed, row_dual: np.ndarray) -> tuple[float, np.ndarray] | None:
        """The part of the bound outside the netting columns, and their priced costs.

        Duals of the wrong sign for a row's side (solver tolerance) are taken as zero,
        which keeps the bound valid; None when a column's box leaves it unbounded.
        """
        y = np.asarray(row_dual, float).copy()
        y[self.kept] = 0.0
        lo, hi = loaded.lo, loaded.hi
        y[((y > 0) & ~np.isfinite(lo)) | ((y < 0) & ~np.isfinite(hi))] = 0.0
        rows = np.where(y > 0, y * np.where(np.isfinite(lo), lo, 0.0),
                        y * np.where(np.isfinite(hi), hi, 0.0)).sum()
        A = as_csc(loaded.A)
        d = loaded.c - A.T @ y
        # Rounding of the sum itself (1e-17 on a column with no upper bound) is zero:
        # checked where it matters, the netting columns and unbounded sides.
        check = self.inside | ((d != 0) & ~np.isfinite(np.where(d > 0, loaded.lb, loaded.ub)))
        at = np.flatnonzero(check)
        scale = np.abs(loaded.c[at]) + abs(A[:, at]).T @ np.abs(y)
        d[at[np.abs(d[at]) <= 1e-12 * scale]] = 0.0
        out = ~self.inside & (d != 0)
        dj = d[out]
        side = np.where(dj > 0, loaded.lb[out], loaded.ub[out])
        if not np.isfinite(side).all():
            return None
        return float(loaded.const + rows + dj @ side), d[self.cols]

    def bound(self, loaded: Condensed, priced: tuple[float, np.ndarray], cols: np.ndarray,
              lo: np.ndarray, hi: np.ndarray) -> float:
        """The bound for a root whose columns ``cols`` (all in the part) have bounds
        ``lo``, ``hi``; ``priced`` from `price` at a solved root."""
        import highspy

        outside, cost = priced
        lb, ub = loaded.lb[self.cols].copy(), loaded.ub[self.cols].copy()
        at = np.searchsorted(self.cols, cols)
        lb[at], ub[at] = lo, hi
        h = highspy._Highs()  # type: ignore[attr-defined]
        h.setOptionValue("output_flag", False)
        h.setOptionValue("presolve", "off")
        h.setOptionValue("threads", 1)
        A = self.A
        h.passModel(len(self.cols), len(self.kept), int(A.nnz), 1, 1, 0.0,
                    np.ascontiguousarray(cost, np.float64), lb, ub,
                    np.ascontiguousarray(loaded.lo[self.kept], np.float64),
                    np.ascontiguousarray(loaded.hi[self.kept], np.float64),
                    np.ascontiguousarray(A.indptr, np.int32),
                    np.ascontiguousarray(A.indices, np.int32),
                    np.ascontiguousarray(A.data, np.float64),
                    np.zeros(len(self.cols), np.int32))
        h.run()
        if h.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
            return np.inf
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return -np.inf
        return outside + float(h.getInfo().objective_function_value)
