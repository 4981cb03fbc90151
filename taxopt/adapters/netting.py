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

import functools
import itertools
import math
import operator
import threading
from dataclasses import dataclass

import numpy as np

from ..model.program import Program
from .condense import Condensed

SHORT_ROW = 4          # rows with at most this many entries join the netting part
MAX_COLUMNS = 32       # a larger part is not the netting: no bound
MAX_VERTICES = 2000    # dual vertices `_dual_vertices` tries; more: HiGHS solves the part
_ZERO = 1e-12          # a reduced cost this small against its terms is rounding

# A household's program has a few hundred columns: each numpy call costs about as much
# as the arithmetic, so the netting columns and rows (a handful) are handled in Python
# and each pass over the whole program is one numpy call.


@dataclass(slots=True, eq=False)
class NettingPart:
    """The netting columns of a loaded program and the rows among them alone."""

    cols: np.ndarray           # columns of the part (indices into the loaded program)
    kept: np.ndarray           # rows whose entries all lie in the part
    A: np.ndarray              # kept rows x part columns, dense
    inside: np.ndarray         # bool over all columns: in the part
    entries: list[tuple[int, int, float]]   # (part column, row, value) of rows not kept
    _static: tuple | None = None            # what `price` needs of the whole program

    @classmethod
    def of(cls, loaded: Condensed, prog: Program, pieces: np.ndarray) -> NettingPart | None:
        """The netting part of a loaded program: the one its tax term declared
        (`Program.netting`) once the matrix confirms it is the part `find` would reach,
        else `find`'s (say a program whose gain row by term is short: the search goes on
        through it to the lots).

        Condensing keeps the program's own columns and rows where they were (it appends
        its partial sums and link rows), so the declared indices hold in ``loaded``.
        """
        declared = prog.netting_part()
        if declared is not None:
            part = cls.declared(loaded, *declared, pieces)
            if part is not None:
                return part
        return cls.find(loaded, pieces)

    @classmethod
    def declared(cls, loaded: Condensed, cols: list[int], rows: list[int],
                 pieces: np.ndarray) -> NettingPart | None:
        """The part with columns ``cols`` and kept rows ``rows`` (both sorted), if it is
        the one `find` reaches from ``pieces``; None when it is not (or not sure).

        `find` would reach exactly ``cols`` when every piece is among them, every short
        row touching them lies among them alone (so the search never leaves them), and
        every column is reached from the pieces through such rows; its kept rows are
        then those whose entries all lie in ``cols``. One pass over the matrix counts
        the rows' entries; the rest is Python over the part's few entries.
        """
        A = loaded.A
        n_cols = len(cols)
        if not n_cols or n_cols > MAX_COLUMNS or cols[-1] >= A.shape[1]:
            return None
        inside = set(cols)
        if any(c not in inside for c in pieces.tolist()):
            return None
        length = np.bincount(A.indices, minlength=A.shape[0])
        col_entries = _column_entries(A, cols)
        by_row: dict[int, list[int]] = {}             # row -> its part columns
        for c, (col_rows, _) in zip(cols, col_entries, strict=True):
            for r in col_rows:
                by_row.setdefault(r, []).append(c)
        touched = list(by_row)
        lengths = length[touched].tolist()
        kept, short = [], []
        for r, k in zip(touched, lengths, strict=True):
            full = len(by_row[r]) == k
            if k <= SHORT_ROW:
                if not full:          # the search would leave the part through it
                    return None
                short.append(r)
            if full:
                kept.append(r)
        if sorted(kept) != rows:
            return None
        reached = set(pieces.tolist())
        frontier = list(reached)
        col_rows: dict[int, list[int]] = {}
        for r in short:
            for c in by_row[r]:
                col_rows.setdefault(c, []).append(r)
        while frontier:
            step = []
            for c in frontier:
                for r in col_rows.get(c, ()):
                    for j in by_row[r]:
                        if j not in reached:
                            reached.add(j)
                            step.append(j)
            frontier = step
        if len(reached) != n_cols:
            return None
        return cls._assemble(loaded, cols, rows, col_entries)

    @classmethod
    def find(cls, loaded: Condensed, pieces: np.ndarray) -> NettingPart | None:
        """The columns reached from ``pieces`` through short rows (None if too many).

        A breadth-first search in Python over the few columns and rows it meets; each
        pass over the whole matrix is one numpy call (a household's program has a few
        hundred columns, and a numpy call costs about as much as its arithmetic).
        """
        A = loaded.A
        indptr, indices = A.indptr, A.indices
        m = A.shape[0]
        length = np.bincount(indices, minlength=m).tolist()
        ptr = indptr.tolist()
        inside_set = {int(c) for c in pieces}
        frontier = sorted(inside_set)
        seen: set[int] = set()
        by_row: dict[int, int] = {}               # row -> its entries in part columns
        while frontier:
            short: list[int] = []
            for c in frontier:
                for r in indices[ptr[c]:ptr[c + 1]].tolist():
                    by_row[r] = by_row.get(r, 0) + 1
                    if r not in seen:
                        seen.add(r)
                        if length[r] <= SHORT_ROW:
                            short.append(r)
            frontier = []
            if short:
                mask = np.zeros(m, bool)
                mask[short] = True
                at = np.flatnonzero(mask[indices])
                for j in (np.searchsorted(indptr, at, side="right") - 1).tolist():
                    if j not in inside_set:
                        inside_set.add(j)
                        frontier.append(j)
            if len(inside_set) > MAX_COLUMNS:
                return None
        col_list = sorted(inside_set)
        kept_list = sorted(r for r, k in by_row.items() if k == length[r])
        return cls._assemble(loaded, col_list, kept_list)

    @classmethod
    def _assemble(cls, loaded: Condensed, col_list: list[int], kept_list: list[int],
                  col_entries: list[tuple[list[int], list[float]]] | None = None
                  ) -> NettingPart:
        """The part of columns ``col_list`` and kept rows ``kept_list`` (both sorted);
        ``col_entries``: the columns' rows and values, when already read."""
        A = loaded.A
        if col_entries is None:
            col_entries = _column_entries(A, col_list)
        where = {r: i for i, r in enumerate(kept_list)}
        dense = [[0.0] * len(col_list) for _ in kept_list]
        entries: list[tuple[int, int, float]] = []
        for j, (col_rows, values) in enumerate(col_entries):
            for r, v in zip(col_rows, values, strict=True):
                i = where.get(r)
                if i is None:
                    entries.append((j, r, v))
                else:
                    dense[i][j] += v
        cols = np.array(col_list, np.int64)
        inside = np.zeros(A.shape[1], bool)
        inside[cols] = True
        return cls(cols, np.array(kept_list, np.int64),
                   np.array(dense, float).reshape(len(kept_list), len(col_list)), inside,
                   entries)

    def _program(self, loaded: Condensed) -> tuple:
        """What `price` reads of the whole program, computed once."""
        if self._static is None:
            A = loaded.A
            indptr, indices, data = A.indptr, A.indices, A.data
            ptr = indptr.tolist()
            col_of = np.repeat(np.arange(A.shape[1], dtype=np.int32), np.diff(indptr))
            lb_inf, ub_inf = np.isinf(loaded.lb), np.isinf(loaded.ub)
            lo_inf, hi_inf = np.isinf(loaded.lo), np.isinf(loaded.hi)
            # Rounding of a reduced cost (1e-17 where the column has no upper bound) is
            # zero: cleaned where it matters, the netting columns and missing sides.
            checked = np.flatnonzero(self.inside | lb_inf | ub_inf)
            local: list[int] = []
            rows: list[int] = []
            for j, c in enumerate(checked.tolist()):
                rows += indices[ptr[c]:ptr[c + 1]].tolist()
                local += [j] * (ptr[c + 1] - ptr[c])
            mags = _checked_data(data, ptr, checked.tolist())
            self._static = (col_of, checked, (np.array(local, np.int64),
                                              np.array(rows, np.int64), mags),
                            (np.where(lo_inf, 0.0, loaded.lo), np.where(hi_inf, 0.0, loaded.hi),
                             lo_inf, hi_inf, lb_inf, ub_inf))
        return self._static

    def price(self, loaded: Condensed, row_dual: np.ndarray) -> tuple[float, np.ndarray] | None:
        """The part of the bound outside the netting columns, and their priced costs.

        Duals of the wrong sign for a row's side (solver tolerance) are taken as zero,
        which keeps the bound valid; None when a column's box leaves it unbounded.
        """
        col_of, at, (local, row, mag), sides = self._program(loaded)
        lo0, hi0, lo_inf, hi_inf, lb_inf, ub_inf = sides
        y = np.array(row_dual, dtype=float)
        y[self.kept] = 0.0
        up = np.maximum(y, 0.0)        # on the lower side
        up[lo_inf] = 0.0
        down = np.minimum(y, 0.0)      # on the upper side
        down[hi_inf] = 0.0
        y = up + down
        rows = float(up @ lo0 + down @ hi0)
        A = loaded.A
        n = A.shape[1]
        d = loaded.c - np.bincount(col_of, weights=A.data * y[A.indices], minlength=n)
        scale = np.abs(loaded.c[at]) + np.bincount(local, weights=mag * np.abs(y[row]),
                                                   minlength=len(at))
        d_at = d[at]
        d_at[np.abs(d_at) <= _ZERO * scale] = 0.0
        d[at] = d_at
        cost = d[self.cols]
        d[self.cols] = 0.0
        pos, neg = d > 0, d < 0
        if (pos & lb_inf).any() or (neg & ub_inf).any():
            return None
        outside = float(d[pos] @ loaded.lb[pos] + d[neg] @ loaded.ub[neg])
        return float(loaded.const + rows + outside), cost

    def price_at(self, loaded: Condensed, row_dual: list[float], x: np.ndarray,
                 objective: float) -> tuple[float, np.ndarray]:
        """`price` read off the solved root itself: the same value when its duals and
        plan are exactly optimal, to within HiGHS's tolerances otherwise (as valid as
        the probe it replaces, which stops on HiGHS's own dual objective).

        At an optimal ``x`` every priced row is tight where its dual is not zero and
        every other column sits where its reduced cost sends it, so the outside part is
        the objective less what the netting columns contribute at their priced costs.
        A few dozen Python operations, where `price` passes over the whole program.
        """
        cost = loaded.c[self.cols].tolist()
        for j, r, v in self.entries:
            cost[j] -= row_dual[r] * v
        xs = x[self.cols].tolist()
        return objective - sum(cj * xj for cj, xj in zip(cost, xs, strict=True)), \
            np.array(cost)

    def bound(self, loaded: Condensed, priced: tuple[float, np.ndarray], cols: np.ndarray,
              lo: np.ndarray, hi: np.ndarray, enough: float = np.inf,
              prove: bool = True) -> float:
        """The bound for a root whose columns ``cols`` (all in the part) have bounds
        ``lo``, ``hi``; ``priced`` from `price` at a solved root.

        The netting columns' own LP is bounded through its dual first, at its vertices
        (`_dual_vertices`: one batch of small linear solves; one run of HiGHS costs as
        much as the root the bound may save on a household). When that does not reach
        ``enough`` (the value that prunes), HiGHS solves the part too (with ``prove``, or
        when the vertices gave no bound): it also proves a part infeasible, which the
        vertices cannot, and the larger bound is returned.
        """
        outside, cost = priced
        lb, ub = loaded.lb[self.cols], loaded.ub[self.cols]
        at = np.searchsorted(self.cols, cols)
        lb[at], ub[at] = lo, hi
        rlo, rhi = loaded.lo[self.kept], loaded.hi[self.kept]
        if (lb > ub).any() or (rlo > rhi).any():
            return np.inf
        best = _few_vertices(self.A.tolist(), cost.tolist(), lb.tolist(), ub.tolist(),
                             rlo.tolist(), rhi.tolist())
        if best is None:
            best = _dual_vertices(self.A, cost, lb, ub, rlo, rhi)
        if best is not None and (outside + best >= enough or not prove):
            return outside + best
        solved = _highs_part(self.A, cost, lb, ub, rlo, rhi)
        return outside + (solved if best is None else max(best, solved))


def _column_entries(A, cols: list[int]) -> list[tuple[list[int], list[float]]]:
    """The rows and values of the CSC matrix ``A``'s columns ``cols`` (sorted), as lists."""
    indptr, indices, data = A.indptr, A.indices, A.data
    first, end = cols[0], cols[-1] + 1
    if end - first <= 4 * len(cols):      # a short span (the netting's are adjacent): at once
        ptr = indptr[first:end + 1].tolist()
        a0, b0 = ptr[0], ptr[-1]
        rows, values = indices[a0:b0].tolist(), data[a0:b0].tolist()
        return [(rows[ptr[c - first] - a0:ptr[c - first + 1] - a0],
                 values[ptr[c - first] - a0:ptr[c - first + 1] - a0]) for c in cols]
    at = np.asarray(cols, np.int64)
    return [(indices[a:b].tolist(), data[a:b].tolist())
            for a, b in zip(indptr[at].tolist(), indptr[at + 1].tolist(), strict=True)]


def _checked_data(data: np.ndarray, ptr: list[int], cols: list[int]) -> np.ndarray:
    """|entries| of columns ``cols``, in stored order."""
    if not cols:
        return np.zeros(0)
    return np.abs(np.concatenate([data[ptr[c]:ptr[c + 1]] for c in cols]))


@functools.lru_cache(maxsize=64)
def _subsets(m: int, forced: tuple[int, ...], others: tuple[int, ...]
             ) -> tuple[np.ndarray, np.ndarray]:
    """Every choice of ``m`` planes holding all of ``forced`` (rows of plane indices),
    and which of the ``m`` row planes each holds."""
    rest = m - len(forced)
    if rest < 0:
        return np.zeros((0, m), np.int64), np.zeros((0, m), bool)
    picks = np.array([forced + c for c in itertools.combinations(others, rest)],
                     np.int64).reshape(-1, m)
    rows = np.zeros((len(picks), m), bool)
    for k, pick in enumerate(picks.tolist()):
        for p in pick:
            if p < m:
                rows[k, p] = True
    return picks, rows


def _dual_vertices(A: np.ndarray, cost: np.ndarray, lb: np.ndarray, ub: np.ndarray,
                   rlo: np.ndarray, rhi: np.ndarray) -> float | None:
    """A lower bound on ``min cost @ x`` over ``rlo <= A x <= rhi``, ``lb <= x <= ub``:
    the Lagrangian dual at its best vertex (None: too many vertices, or none bounds it).

    For row multipliers ``w`` (reduced costs ``d = cost - w @ A``) the dual function

        g(w) = sum_i (w_i rlo_i if w_i > 0 else w_i rhi_i) + sum_j min over [lb_j, ub_j] of d_j x_j

    is a lower bound for every ``w``, and what is returned is ``g`` itself at the best
    point tried, so it is valid whichever points are tried. ``g`` is concave and
    piecewise linear with its kinks on the planes ``w_i = 0`` and ``d_j = 0`` (columns
    not fixed); a column free on both sides needs ``d_j = 0``. The maximum, the LP's
    optimum when finite, lies where as many of those planes meet as there are rows,
    and every such point is tried. As in `NettingPart.price`, a reduced cost within
    1e-12 of its terms counts as zero.
    """
    m = A.shape[0]
    lbl, ubl = lb.tolist(), ub.tolist()
    free = [j for j in range(len(lbl)) if lbl[j] < ubl[j]]
    if m == 0:
        return float(_column_part(cost[None, :], lb, ub)[0])
    both = tuple(m + k for k, j in enumerate(free) if lbl[j] == -math.inf and ubl[j] == math.inf)
    others = tuple(p for p in range(m + len(free)) if p not in both)
    if math.comb(len(others), max(m - len(both), 0)) > MAX_VERTICES:
        return None
    picks, chosen_rows = _subsets(m, both, others)
    if not len(picks):
        return None
    normals = np.concatenate([np.eye(m), A[:, free].T])
    normals /= np.linalg.norm(normals, axis=1)[:, None]
    rhs = np.concatenate([np.zeros(m), cost[free]]) / np.linalg.norm(
        np.concatenate([np.eye(m), A[:, free].T]), axis=1)
    M = normals[picks]
    ok = np.abs(np.linalg.det(M)) > 1e-10
    if not ok.any():
        return None
    w = np.linalg.solve(M[ok], rhs[picks[ok]][:, :, None])[:, :, 0]
    w[chosen_rows[ok]] = 0.0                # the planes w_i = 0 chosen hold exactly
    d = cost - w @ A
    d[np.abs(d) <= _ZERO * (np.abs(w) @ np.abs(A) + np.abs(cost))] = 0.0
    with np.errstate(invalid="ignore"):
        g = (np.where(w > 0, w * rlo, np.where(w < 0, w * rhi, 0.0)).sum(axis=1)
             + _column_part(d, lb, ub))
    best = float(g.max())
    return best if best > -np.inf else None


FEW_VERTICES = 64      # at most this many vertices: `_few_vertices` tries them in Python
_INF = math.inf


def _few_vertices(A: list[list[float]], cost: list[float], lb: list[float], ub: list[float],
                  rlo: list[float], rhi: list[float]) -> float | None:
    """`_dual_vertices` in plain Python for the usual netting part (a few rows, two of its
    columns free on both sides), where numpy's calls cost more than the arithmetic;
    None when there are more than `FEW_VERTICES` points to try (or none bounds it).

    The free columns' planes ``d_j = 0`` hold at every point that bounds at all, so
    ``w`` is written as ``w0 + Z t`` over them first, and the other planes are met in
    the few coordinates ``t`` left.
    """
    m, n = len(A), len(cost)
    free = [j for j in range(n) if lb[j] == -_INF and ub[j] == _INF]
    kinks = [j for j in range(n) if lb[j] < ub[j] and j not in free]
    # w0 + Z t: every w with sum_i w_i A[i][j] = cost[j] for the free columns
    affine = _solutions([[A[i][j] for i in range(m)] for j in free], [cost[j] for j in free], m)
    if affine is None:
        return None
    w0, Z = affine
    k = len(Z)                                      # coordinates left
    planes = ([([Z[c][i] for c in range(k)], -w0[i]) for i in range(m)]      # w_i = 0
              + [([sum(Z[c][i] * A[i][j] for i in range(m)) for c in range(k)],
                  cost[j] - sum(w0[i] * A[i][j] for i in range(m))) for j in kinks])
    if math.comb(len(planes), k) > FEW_VERTICES:
        return None
    g = _Lagrangian(A, cost, lb, ub, rlo, rhi)
    along = list(zip(*Z, strict=True)) if k else [() for _ in range(m)]   # Z by row
    best = -_INF
    if k == 2:
        # `_solve_square` inlined, with each plane's norm computed once
        normal = [p[0] for p in planes]
        norm = [math.hypot(a, c) for a, c in normal]
        for p, q in itertools.combinations(range(len(planes)), 2):
            (a, c), (e, f) = normal[p], normal[q]
            det = a * f - c * e
            if abs(det) <= 1e-10 * (norm[p] * norm[q]):
                continue
            b0, b1 = planes[p][1], planes[q][1]
            t0, t1 = (b0 * f - c * b1) / det, (a * b1 - e * b0) / det
            w = [w0i + (z0 * t0 + z1 * t1) for w0i, (z0, z1) in zip(w0, along, strict=True)]
            if p < m:                               # a chosen plane w_i = 0 holds exactly
                w[p] = 0.0
            if q < m:
                w[q] = 0.0
            value = g(w)
            if value > best:
                best = value
        return best if best > -_INF else None
    mul = operator.mul
    for pick in itertools.combinations(range(len(planes)), k):
        t = _solve_square([planes[p][0] for p in pick], [planes[p][1] for p in pick])
        if t is None:
            continue
        # (sum over map: the same additions in the same order as a sum over c)
        w = [w0i + sum(map(mul, zi, t)) for w0i, zi in zip(w0, along, strict=True)]
        for p in pick:                              # a chosen plane w_i = 0 holds exactly
            if p < m:
                w[p] = 0.0
        value = g(w)
        if value > best:
            best = value
    return best if best > -_INF else None


class _Lagrangian:
    """``g(w)`` of `_dual_vertices` (-inf where a needed side is missing), for one part:
    what does not depend on ``w`` (the rows' sides, each column's nonzero entries) is
    laid out once, for the dozen points `_few_vertices` tries.

    A column's reduced cost sums only its nonzero terms, in row order: the same sums as
    over every row (a zero term adds nothing but the sign of a zero, which no test
    below can see)."""

    __slots__ = ("columns", "rows")

    def __init__(self, A, cost, lb, ub, rlo, rhi) -> None:
        self.rows = list(zip(rlo, rhi, strict=True))
        m = len(A)
        self.columns = [(cj, abs(cj), lo, hi,
                         [(i, A[i][j]) for i in range(m) if A[i][j] != 0.0])
                        for j, (cj, lo, hi) in enumerate(zip(cost, lb, ub, strict=True))]

    def __call__(self, w: list[float]) -> float:
        total = 0.0
        for wi, (lo, hi) in zip(w, self.rows, strict=True):
            if wi > 0:
                if lo == -_INF:
                    return -_INF
                total += wi * lo
            elif wi < 0:
                if hi == _INF:
                    return -_INF
                total += wi * hi
        for cj, size, lo, hi, entries in self.columns:
            s = a = 0.0
            for i, v in entries:
                term = w[i] * v
                s += term
                a += abs(term)
            d = cj - s
            if abs(d) <= _ZERO * (size + a):
                continue
            side = lo if d > 0 else hi
            if side == _INF or side == -_INF:
                return -_INF
            total += d * side
        return total


def _solutions(rows: list[list[float]], rhs: list[float], m: int
               ) -> tuple[list[float], list[list[float]]] | None:
    """All solutions of ``rows @ w = rhs`` (w of size m) as ``w0 + sum_c t_c Z[c]``;
    None when there are none (or the rows are too close to dependent to tell)."""
    R = [[*r, b] for r, b in zip(rows, rhs, strict=True)]
    pivots: list[int] = []
    r = 0
    for col in range(m):
        best = max(range(r, len(R)), key=lambda k: abs(R[k][col]), default=None)
        if best is None or abs(R[best][col]) <= 1e-12 * max(1.0, max(abs(v) for v in R[best][:m])):
            continue
        R[r], R[best] = R[best], R[r]
        piv = R[r][col]
        R[r] = [v / piv for v in R[r]]
        for k in range(len(R)):
            if k != r and R[k][col] != 0.0:
                f = R[k][col]
                R[k] = [a - f * b for a, b in zip(R[k], R[r], strict=True)]
        pivots.append(col)
        r += 1
        if r == len(R):
            break
    for k in range(r, len(R)):                      # 0 = b left over: no solution
        if abs(R[k][m]) > 1e-9 * max(1.0, abs(R[k][m])):
            return None
    w0 = [0.0] * m
    for k, col in enumerate(pivots):
        w0[col] = R[k][m]
    Z = []
    for col in (c for c in range(m) if c not in pivots):
        z = [0.0] * m
        z[col] = 1.0
        for k, pc in enumerate(pivots):
            z[pc] = -R[k][col]
        Z.append(z)
    return w0, Z


def _solve_square(M: list[list[float]], b: list[float]) -> list[float] | None:
    """``M t = b`` for a small square ``M`` (None when singular or nearly so)."""
    k = len(b)
    if k == 0:
        return []
    if k == 1:
        return [b[0] / M[0][0]] if abs(M[0][0]) > 1e-12 else None
    if k == 2:
        (a, c), (e, f) = M
        det = a * f - c * e
        scale = math.hypot(a, c) * math.hypot(e, f)
        if abs(det) <= 1e-10 * scale:
            return None
        return [(b[0] * f - c * b[1]) / det, (a * b[1] - e * b[0]) / det]
    sol = _solutions(M, b, k)
    return sol[0] if sol is not None and not sol[1] else None


def _column_part(d: np.ndarray, lb: np.ndarray, ub: np.ndarray) -> np.ndarray:
    """Row sums of ``min over [lb_j, ub_j] of d_j x_j`` (-inf where a side is missing)."""
    with np.errstate(invalid="ignore"):
        part = np.where(d > 0, d * lb, np.where(d < 0, d * ub, 0.0))
    return part.sum(axis=1)


_LOCAL = threading.local()


def _part_highs():
    """This thread's HiGHS instance for the parts' LPs (each `passModel` starts afresh)."""
    h = getattr(_LOCAL, "h", None)
    if h is None:
        import highspy

        h = _LOCAL.h = highspy._Highs()  # type: ignore[attr-defined]
        h.setOptionValue("output_flag", False)
        h.setOptionValue("presolve", "off")
        h.setOptionValue("threads", 1)
    return h


def _highs_part(A: np.ndarray, cost: np.ndarray, lb: np.ndarray, ub: np.ndarray,
                rlo: np.ndarray, rhi: np.ndarray) -> float:
    """The netting columns' LP solved by HiGHS (infeasible: inf; not solved: -inf)."""
    import highspy

    h = _part_highs()
    nz = A.T != 0                        # column by column
    indptr = np.r_[0, np.cumsum(nz.sum(axis=1))].astype(np.int32)
    h.passModel(A.shape[1], A.shape[0], int(indptr[-1]), 1, 1, 0.0,
                np.ascontiguousarray(cost, np.float64), np.ascontiguousarray(lb, np.float64),
                np.ascontiguousarray(ub, np.float64), np.ascontiguousarray(rlo, np.float64),
                np.ascontiguousarray(rhi, np.float64), indptr,
                np.nonzero(nz)[1].astype(np.int32), np.ascontiguousarray(A.T[nz], np.float64),
                np.zeros(A.shape[1], np.int32))
    h.run()
    if h.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
        return np.inf
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return -np.inf
    return float(h.getInfo().objective_function_value)
