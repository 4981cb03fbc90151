"""A solver-neutral linear (mixed-integer) program: named variable and row blocks.

The model builder fills one `Program`; adapters (HiGHS, cvxpy) only translate it.
Rows are ``lo <= A @ x <= hi`` with scipy.sparse blocks; the objective is a sum of
named linear terms, so results can be explained term by term.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import accumulate

import numpy as np
import scipy.sparse as sp

from .expr import Triplets

INF = np.inf
_INT32_MAX = 2**31 - 1


def filled(x: np.ndarray | float, size: int) -> np.ndarray:
    """``x`` (a number or an array of ``size``) as a new float array of ``size``: what
    ``np.broadcast_to(np.asarray(x, float), size).copy()`` gives, without its overhead
    on the few dozen small blocks of a household."""
    if isinstance(x, float | int):
        if size == 1:            # the tax term's single variables and rows
            return np.array([float(x)])
        out = np.empty(size)
        out.fill(float(x))
        return out
    if isinstance(x, np.ndarray) and x.shape == (size,):
        return np.array(x, dtype=float)
    return np.broadcast_to(np.asarray(x, float), size).copy()


@dataclass(frozen=True, slots=True, eq=False)
class CompressedArrays:
    """A CSC or CSR matrix as its three arrays, for readers of only these (the HiGHS
    adapter): scipy's constructor checks cost more than building the arrays."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    shape: tuple[int, int]

    @property
    def nnz(self) -> int:
        return len(self.data)


def as_csc(A: sp.csc_matrix | CompressedArrays) -> sp.csc_matrix:
    """A CSC program matrix as scipy's, for the readers that need sparse algebra."""
    if isinstance(A, CompressedArrays):
        return sp.csc_matrix((A.data, A.indices, A.indptr), shape=A.shape)
    return A


def compressed(r: np.ndarray, c: np.ndarray, v: np.ndarray, shape: tuple[int, int],
               fmt: str = "csr", arrays: bool = False
               ) -> sp.csr_matrix | sp.csc_matrix | CompressedArrays:
    """``scipy.sparse.csr_matrix((v, (r, c)), shape)`` (or csc), the same arrays, faster.

    scipy's conversion from triplets costs about 0.3 ms of checks and copies on a
    household's few thousand entries. Without duplicate entries the compressed form is
    unique (entries sorted by major then minor index, explicit zeros kept), so it is
    built here by one sort; with duplicates scipy sums them, in its own order.
    ``arrays``: return the arrays alone (`CompressedArrays`) when no scipy matrix is
    needed (scipy's, with duplicates).
    """
    csc = fmt == "csc"
    major, minor = (c, r) if csc else (r, c)
    n_major = shape[1] if csc else shape[0]
    make = sp.csc_matrix if csc else sp.csr_matrix
    if len(v) and (major.min() < 0 or minor.min() < 0 or major.max() >= n_major
                   or minor.max() >= (shape[0] if csc else shape[1])):
        return make((v, (r, c)), shape=shape)      # scipy raises its own error
    # One sort of the combined key (a few times faster than lexsort of the two); with
    # every entry distinct the order is the same.
    n_minor = shape[0] if csc else shape[1]
    key = major.astype(np.int64, copy=False) * n_minor + minor
    # Keys below 2**16 (a household's program) sort by numpy's radix sort, a few times
    # faster; distinct keys have one order whichever sort finds it.
    # (ndarray methods rather than np.argsort/np.cumsum: the same calls, no wrapper)
    order = (key.astype(np.uint16).argsort(kind="stable") if n_major * n_minor <= 2**16
             else key.argsort())
    key = key[order]
    if len(order) > 1 and (key[1:] == key[:-1]).any():
        return make((v, (r, c)), shape=shape)
    maj, mnr = major[order], minor[order]
    idx = np.int32 if max(max(shape), len(v)) < _INT32_MAX else np.int64
    indptr = np.zeros(n_major + 1, idx)
    np.bincount(maj, minlength=n_major).cumsum(out=indptr[1:])
    data, indices = np.asarray(v, float)[order], mnr.astype(idx)
    if arrays:
        return CompressedArrays(data, indices, indptr, (int(shape[0]), int(shape[1])))
    return make((data, indices, indptr), shape=shape)


@dataclass(slots=True, eq=False)
class VarBlock:
    """A contiguous block of variables with bounds and integrality."""

    name: str
    start: int
    size: int
    lb: np.ndarray
    ub: np.ndarray
    # one flag for the block, or one per variable; per variable it may also hold HiGHS's
    # semi-continuous (2) and semi-integer (3) types, used by the rounding repair
    integer: bool | np.ndarray = False

    @property
    def slice(self) -> slice:
        return slice(self.start, self.start + self.size)


@dataclass(slots=True, eq=False)
class RowBlock:
    """A block of rows ``lo <= A @ x <= hi``; ``labels`` say in words what each row is.

    ``elastic`` rows may be relaxed when explaining infeasibility: they are the
    household's hard rules (bands, tolerance, cash), not the model's own algebra.
    The matrix is kept as triplets; ``A`` gives it as scipy CSR when asked.
    """

    name: str
    T: Triplets
    lo: np.ndarray
    hi: np.ndarray
    labels: list[str] | None = None
    elastic: bool = False
    scale: np.ndarray | None = None
    unit: str = "$"
    _csr: sp.csr_matrix | None = None

    @property
    def A(self) -> sp.csr_matrix:
        if self._csr is None:
            self._csr = self.T.tocsr()
        return self._csr


@dataclass(frozen=True, slots=True)
class NettingBlock:
    """The columns of the year's netting (the plan's net results by term, the net total,
    the preferential part, the pieces) and the row blocks that lie among them alone.

    The HiGHS search bounds one netting root from another by solving these columns
    alone (`taxopt.adapters.netting`); the tax term names them here, so the adapter
    need not search the matrix for them.
    """

    columns: tuple[int, ...]
    rows: tuple[str, ...]

    def with_rows(self, name: str) -> NettingBlock:
        """The block with one more row block among its columns."""
        return NettingBlock(self.columns, (*self.rows, name))


@dataclass(slots=True, eq=False)
class Program:
    """Minimize ``sum(terms) `` subject to variable bounds and row blocks."""

    vars: dict[str, VarBlock] = field(default_factory=dict)
    rows: dict[str, RowBlock] = field(default_factory=dict)
    terms: dict[str, tuple[np.ndarray, float]] = field(default_factory=dict)
    n: int = 0
    # Binaries that pick a piece of a non-convex function: solvers may enumerate them
    # (two LPs are far faster than one MIP with a big-M relaxation).
    pieces: list[int] = field(default_factory=list)
    # Quadratic terms: name -> (variable indices, dense PSD block Q); value 1/2 x'Qx.
    quadratic: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    # Linear terms that stand in for the quadratic ones while integers are chosen
    # (a QP with integers is a MIQP, which HiGHS does not solve).
    proxies: set[str] = field(default_factory=set)
    # The netting columns and rows, when a tax term declared them (see `NettingBlock`).
    netting: NettingBlock | None = None

    def add_vars(self, name: str, size: int, lb: np.ndarray | float = 0.0,
                 ub: np.ndarray | float = INF, integer: bool = False) -> VarBlock:
        """Append a block of ``size`` variables."""
        block = VarBlock(name, self.n, size, filled(lb, size), filled(ub, size), integer)
        self.vars[name] = block
        self.n += size
        return block

    def add_rows(self, name: str, A: Triplets | sp.spmatrix | np.ndarray,
                 lo: np.ndarray | float, hi: np.ndarray | float,
                 labels: list[str] | None = None, elastic: bool = False,
                 scale: np.ndarray | None = None, unit: str = "$") -> None:
        """Append rows; ``A`` may be narrower than the final variable count."""
        T = Triplets.of(A)
        m = T.shape[0]
        if m == 0:
            return
        self.rows[name] = RowBlock(name, T, filled(lo, m), filled(hi, m), labels,
                                   elastic, scale, unit)

    def add_term(self, name: str, coef: np.ndarray, constant: float = 0.0) -> None:
        """Add a named linear objective term ``coef @ x + constant`` (coef may be short)."""
        self.terms[name] = (np.asarray(coef, float), float(constant))

    def mark_stand_in(self, name: str) -> None:
        """Name the linear term ``name`` as a stand-in for the quadratic terms: it takes
        their place while integers are chosen (`linear_stage`) and leaves the objective
        once they are fixed (`quadratic_stage`)."""
        if name not in self.terms:
            raise KeyError(f"no linear term {name!r} to stand in for the quadratic terms")
        self.proxies.add(name)

    @property
    def stand_ins(self) -> frozenset[str]:
        """The linear terms that stand in for the quadratic ones (see `mark_stand_in`)."""
        return frozenset(self.proxies)

    def add_quadratic(self, name: str, idx: np.ndarray, Q: np.ndarray) -> None:
        """Add ``1/2 x[idx]' Q x[idx]`` (Q symmetric positive semidefinite)."""
        self.quadratic[name] = (np.asarray(idx, np.int64), np.asarray(Q, float))

    def hessian(self) -> sp.csc_matrix:
        """The objective's Hessian as a lower-triangular CSC matrix (HiGHS's format)."""
        rows, cols, vals = [], [], []
        for idx, Q in self.quadratic.values():
            r, c = np.nonzero(np.tril(Q))
            rows.append(idx[r])
            cols.append(idx[c])
            vals.append(Q[r, c])
        if not rows:
            return sp.csc_matrix((self.n, self.n))
        H = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(self.n, self.n))
        H.sort_indices()
        return H

    def copy(self) -> Program:
        """A copy whose dicts, sets and lists may be changed freely (the arrays and
        blocks inside are shared: replace a block, do not edit it in place)."""
        return Program(vars=dict(self.vars), rows=dict(self.rows), terms=dict(self.terms),
                       n=self.n, pieces=list(self.pieces), quadratic=dict(self.quadratic),
                       proxies=set(self.proxies), netting=self.netting)

    def without(self, terms: set[str] | None = None, quadratic: bool = False) -> Program:
        """A copy without some linear terms and/or the quadratic ones."""
        out = self.copy()
        for name in terms or ():
            out.terms.pop(name, None)
        out.proxies -= set(terms or ())
        if quadratic:
            out.quadratic = {}
        return out

    def linear_stage(self) -> Program:
        """The program a MIP solver can take: quadratic terms out, their stand-ins in."""
        if not self.quadratic:
            return self
        return self.without(quadratic=True)

    def quadratic_stage(self) -> Program:
        """The program with its own objective: the stand-ins out when quadratic terms
        are there to be solved (a continuous program, or with integers fixed)."""
        return self.without(terms=self.proxies) if self.quadratic else self

    def with_integers_fixed(self, values: np.ndarray) -> Program:
        """A continuous copy: every integer variable fixed at ``values`` (program order),
        the piece binaries no longer enumerated."""
        ints = np.flatnonzero(self.integrality())
        z = np.round(np.asarray(values, float))
        if z.shape != ints.shape:
            raise ValueError(f"expected {len(ints)} integer values, got {z.shape}")
        full = np.zeros(self.n)
        full[ints] = z
        out = self.copy()
        for name, b in self.vars.items():
            if b.size and np.any(b.integer):
                mask = np.broadcast_to(np.asarray(b.integer, bool), b.size)
                lb, ub = b.lb.copy(), b.ub.copy()
                lb[mask] = ub[mask] = full[b.slice][mask]
                out.vars[name] = VarBlock(name, b.start, b.size, lb, ub, False)
        out.pieces = []
        return out

    def rescaled(self, scale: np.ndarray) -> Program:
        """A copy in which variable j stands for ``x_j / scale_j`` (e.g. dollars to shares).

        Bounds are divided, matrix columns, costs and Hessian blocks multiplied, so the
        new program is the same problem in new units (stand-ins included); integrality
        can then be set in those units.
        """
        out = self.copy()
        for name, b in self.vars.items():
            s = scale[b.slice]
            out.vars[name] = VarBlock(name, b.start, b.size, b.lb / s, b.ub / s, b.integer)
        for name, r in self.rows.items():
            T = Triplets(r.T.r, r.T.c, r.T.v * scale[r.T.c], r.T.shape)
            out.rows[name] = RowBlock(name, T, r.lo.copy(), r.hi.copy(), r.labels, r.elastic,
                                      r.scale, r.unit)
        out.terms = {name: (coef * scale[: len(coef)], k)
                     for name, (coef, k) in self.terms.items()}
        out.quadratic = {name: (idx, Q * np.outer(scale[idx], scale[idx]))
                         for name, (idx, Q) in self.quadratic.items()}
        return out

    def weighted(self, weights: dict[str, float]) -> Program:
        """A copy with named terms (linear or quadratic) multiplied by their weights."""
        out = self.copy()
        for name, w in weights.items():
            if name in out.terms:
                coef, k = out.terms[name]
                out.terms[name] = (w * coef, w * k)
            elif name in out.quadratic:
                idx, Q = out.quadratic[name]
                out.quadratic[name] = (idx, w * Q)
        return out

    def cost(self) -> tuple[np.ndarray, float]:
        """The total objective vector and constant."""
        c = np.zeros(self.n)
        const = 0.0
        for coef, k in self.terms.values():
            c[: len(coef)] += coef
            const += k
        return c, const

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lb = np.concatenate([b.lb for b in self.vars.values()]) if self.vars else np.zeros(0)
        ub = np.concatenate([b.ub for b in self.vars.values()]) if self.vars else np.zeros(0)
        return lb, ub

    def integrality(self) -> np.ndarray:
        """1 for integer variables, 0 for continuous ones (HiGHS's encoding)."""
        if not self.vars:
            return np.zeros(0, np.int32)
        out = np.zeros(self.n, np.int32)
        at = 0
        for b in self.vars.values():       # blocks in order, one after the other
            if b.start != at:
                break
            at += b.size
            if b.integer is True:
                out[b.start:at] = 1
            elif b.integer is not False:
                out[b.start:at] = np.asarray(b.integer).astype(np.int32)
        else:
            if at == self.n:
                return out
        return np.concatenate([np.full(b.size, int(b.integer), np.int32)
                               if isinstance(b.integer, bool | np.bool_) else
                               np.broadcast_to(np.asarray(b.integer).astype(np.int32), b.size)
                               for b in self.vars.values()]).astype(np.int32)

    @property
    def is_mip(self) -> bool:
        return any(b.size and (b.integer if isinstance(b.integer, bool)
                               else np.any(b.integer)) for b in self.vars.values())

    def matrix(self, fmt: str = "csr", arrays: bool = False
               ) -> tuple[sp.csr_matrix | sp.csc_matrix | CompressedArrays, np.ndarray,
                          np.ndarray]:
        """All rows stacked, padded to the full variable count (one scipy conversion).
        ``arrays``: the matrix may come as its arrays alone (see `compressed`)."""
        if not self.rows:
            return sp.csr_matrix((0, self.n)), np.zeros(0), np.zeros(0)
        r, c, v, lo, hi, offsets = self.stacked()
        A = compressed(r, c, v, (int(offsets[-1]), self.n), fmt, arrays)
        return A, lo, hi

    def stacked(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                               np.ndarray]:
        """All row blocks as one set of triplets, in block order: rows, columns, values,
        the rows' sides, and each block's first row (the last entry: the row count)."""
        blocks = list(self.rows.values())
        offsets = np.array(list(accumulate([b.T.shape[0] for b in blocks], initial=0)))
        if not blocks:
            empty = np.zeros(0, np.int64)
            return empty, empty, np.zeros(0), np.zeros(0), np.zeros(0), offsets
        # each block's rows shifted by its first row: one addition for all blocks
        sizes = [len(b.T.r) for b in blocks]
        r = np.concatenate([b.T.r for b in blocks]) + offsets[:-1].repeat(sizes)
        c = np.concatenate([b.T.c for b in blocks])
        v = np.concatenate([b.T.v for b in blocks])
        return (r, c, v, np.concatenate([b.lo for b in blocks]),
                np.concatenate([b.hi for b in blocks]), offsets)

    def netting_part(self) -> tuple[list[int], list[int]] | None:
        """The netting block's columns and its rows' indices in `matrix` order (sorted),
        or None when no tax term declared one."""
        if self.netting is None:
            return None
        names, rows, at = set(self.netting.rows), [], 0
        for name, block in self.rows.items():
            m = block.T.shape[0]
            if name in names:
                rows.extend(range(at, at + m))
            at += m
        return sorted(self.netting.columns), rows

    def evaluate(self, x: np.ndarray, stand_ins: bool = False) -> dict[str, float]:
        """Each objective term's value at ``x``: the objective that is solved, so the
        stand-ins of quadratic terms only when ``stand_ins`` (they are not solved with
        their quadratic terms, see `quadratic_stage`)."""
        skip = set() if stand_ins or not self.quadratic else self.proxies
        out = {name: float(coef @ x[: len(coef)] + k) for name, (coef, k) in self.terms.items()
               if name not in skip}
        for name, (idx, Q) in self.quadratic.items():
            out[name] = float(0.5 * x[idx] @ Q @ x[idx])
        return out

