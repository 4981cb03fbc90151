"""Affine expressions ``M @ x + c`` over the program's variables, for building rows.

Holdings, cash and class values are affine in the trade variables; composing
them as sparse matrices keeps the builder vectorized and readable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True, slots=True, eq=False)
class Affine:
    """``M @ x + c``: one row per entry of the expression."""

    M: sp.csr_matrix
    c: np.ndarray

    @property
    def size(self) -> int:
        return self.M.shape[0]

    def __add__(self, other: Affine) -> Affine:
        n = max(self.M.shape[1], other.M.shape[1])
        return Affine(widen(self.M, n) + widen(other.M, n), self.c + other.c)

    def __neg__(self) -> Affine:
        return Affine(-self.M, -self.c)

    def __sub__(self, other: Affine) -> Affine:
        return self + (-other)

    def left(self, P: sp.spmatrix) -> Affine:
        """``P @ self``: sums or maps entries (positions to classes, accounts to goals)."""
        P = sp.csr_matrix(P)
        return Affine(sp.csr_matrix(P @ self.M), P @ self.c)

    def take(self, rows: np.ndarray) -> Affine:
        return Affine(self.M[rows], self.c[rows])

    def value(self, x: np.ndarray) -> np.ndarray:
        return self.M @ x[: self.M.shape[1]] + self.c


def incidence(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int],
              data: np.ndarray | float = 1.0) -> sp.csr_matrix:
    """A sparse matrix with ``data`` at (rows, cols), duplicates summed."""
    data = np.broadcast_to(np.asarray(data, float), len(rows))
    return sp.csr_matrix((data, (rows, cols)), shape=shape)


def widen(M: sp.csr_matrix, n: int) -> sp.csr_matrix:
    if M.shape[1] == n:
        return M
    return sp.csr_matrix((M.data, M.indices, M.indptr), shape=(M.shape[0], n))
