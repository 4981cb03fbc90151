"""Sparse triplets and affine expressions ``M @ x + c`` for building rows.

Holdings, cash and class values are affine in the trade variables. They are
composed as coordinate triplets (plain numpy arrays), not scipy matrices: a
typical household's program is built from a few dozen small pieces, and scipy's
per-matrix checks cost more than the arithmetic (3 ms of a 5 ms budget, measured).
scipy enters once, when the program is handed to a solver.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True, slots=True, eq=False)
class Triplets:
    """A sparse matrix as (row, col, value) arrays; duplicates add up."""

    r: np.ndarray
    c: np.ndarray
    v: np.ndarray
    shape: tuple[int, int]

    @classmethod
    def of(cls, A: Triplets | sp.spmatrix | np.ndarray) -> Triplets:
        """Triplets from a scipy matrix or a dense array (small pieces only)."""
        if isinstance(A, Triplets):
            return A
        if sp.issparse(A):
            coo = sp.coo_matrix(A)  # type: ignore[arg-type]  # stubs: spmatrix | ndarray
            return cls(coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data.astype(float),
                       coo.shape)
        A = np.atleast_2d(np.asarray(A, float))
        r, c = np.nonzero(A)
        return cls(r, c, A[r, c], A.shape)

    def widen(self, n: int) -> Triplets:
        return self if self.shape[1] >= n else Triplets(self.r, self.c, self.v,
                                                        (self.shape[0], n))

    def __add__(self, other: Triplets) -> Triplets:
        n = max(self.shape[1], other.shape[1])
        return Triplets(np.concatenate([self.r, other.r]), np.concatenate([self.c, other.c]),
                        np.concatenate([self.v, other.v]), (self.shape[0], n))

    def __neg__(self) -> Triplets:
        return Triplets(self.r, self.c, -self.v, self.shape)

    def __sub__(self, other: Triplets) -> Triplets:
        n = max(self.shape[1], other.shape[1])
        return Triplets(np.concatenate([self.r, other.r]), np.concatenate([self.c, other.c]),
                        np.concatenate([self.v, -other.v]), (self.shape[0], n))

    def left(self, P: Triplets) -> Triplets:
        """``P @ self`` by a join on P's columns and self's rows (no scipy)."""
        k = self.shape[0]
        # (array methods: the same operations without numpy's Python-level wrappers)
        order = self.r.argsort(kind="stable")
        counts = np.bincount(self.r, minlength=k)
        cnt = counts[P.c]
        upto = cnt.cumsum()
        total = int(upto[-1]) if len(upto) else 0
        # self's row P.c[e] sits at order[end - cnt_e : end] (end: the counts summed up to
        # that row), and P's entry e fills output places [upto_e - cnt_e, upto_e)
        idx = order[(counts.cumsum()[P.c] - upto).repeat(cnt) + np.arange(total)]
        return Triplets(P.r.repeat(cnt), self.c[idx], P.v.repeat(cnt) * self.v[idx],
                        (P.shape[0], self.shape[1]))

    def mapped(self, rows: np.ndarray, m: int) -> Triplets:
        """`left` of the P that sends row ``i`` to row ``rows[i]`` of ``m`` with weight 1
        (``incidence(rows, arange(k), (m, k))``): the same entries in the same order (by
        row, stably), without the join."""
        order = self.r.argsort(kind="stable")
        return Triplets(rows[self.r[order]], self.c[order], self.v[order], (m, self.shape[1]))

    def take(self, rows: np.ndarray) -> Triplets:
        """The given rows (distinct), renumbered in that order."""
        where = np.full(self.shape[0], -1)
        where[rows] = np.arange(len(rows))
        keep = where[self.r] >= 0
        return Triplets(where[self.r[keep]], self.c[keep], self.v[keep],
                        (len(rows), self.shape[1]))

    def matvec(self, x: np.ndarray) -> np.ndarray:
        return np.bincount(self.r, weights=self.v * x[self.c], minlength=self.shape[0])

    def rmatvec(self, y: np.ndarray) -> np.ndarray:
        """``y @ self``."""
        return np.bincount(self.c, weights=self.v * y[self.r], minlength=self.shape[1])

    def tocsr(self, n: int | None = None) -> sp.csr_matrix:
        shape = (self.shape[0], max(n or 0, self.shape[1]))
        return sp.csr_matrix((self.v, (self.r, self.c)), shape=shape)


@dataclass(frozen=True, slots=True, eq=False)
class Affine:
    """``M @ x + c``: one row per entry of the expression (``T`` holds M as triplets)."""

    T: Triplets
    c: np.ndarray
    _csr: list[sp.csr_matrix] = field(default_factory=list, repr=False)

    @property
    def M(self) -> sp.csr_matrix:
        """M as a scipy matrix (built once, for callers outside the builder)."""
        if not self._csr:
            self._csr.append(self.T.tocsr())
        return self._csr[0]

    @property
    def size(self) -> int:
        return self.T.shape[0]

    def __add__(self, other: Affine) -> Affine:
        return Affine(self.T + other.T, self.c + other.c)

    def __neg__(self) -> Affine:
        return Affine(-self.T, -self.c)

    def __sub__(self, other: Affine) -> Affine:
        return self + (-other)

    def left(self, P: Triplets) -> Affine:
        """``P @ self``: sums or maps entries (positions to classes, accounts to goals)."""
        return Affine(self.T.left(P), P.matvec(self.c) if len(self.c) else np.zeros(P.shape[0]))

    def mapped(self, rows: np.ndarray, m: int) -> Affine:
        """`left` of the P that sends entry ``i`` to row ``rows[i]`` of ``m`` (weight 1):
        accounts to goals, an account's cash to its cash class."""
        return Affine(self.T.mapped(rows, m), np.bincount(rows, weights=self.c, minlength=m))

    def take(self, rows: np.ndarray) -> Affine:
        return Affine(self.T.take(rows), self.c[rows])

    def value(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.T.matvec(x) + self.c)


def incidence(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int],
              data: np.ndarray | float = 1.0) -> Triplets:
    """A sparse matrix with ``data`` at (rows, cols), duplicates summed."""
    rows = np.asarray(rows, np.int64)
    if isinstance(data, float | int):
        values = np.empty(len(rows))
        values.fill(data)
    elif isinstance(data, np.ndarray) and data.shape == rows.shape:
        values = np.array(data, float)
    else:
        values = np.broadcast_to(np.asarray(data, float), len(rows)).copy()
    return Triplets(rows, np.asarray(cols, np.int64), values, shape)


def widen(M: Triplets, n: int) -> Triplets:
    return M.widen(n)
