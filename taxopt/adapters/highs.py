"""The fast path: a `Program` passed straight to HiGHS through highspy's pointer API.

No modelling layer in between: the sparse matrix goes in as CSC arrays of the
exact dtypes the binding expects (it checks no lengths), one thread per process.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from ..model.program import Program
from ..options import Options
from .base import Solution, qp_scale
from .branch import search
from .clock import Deadline, cannot_start, reserve_for_bound
from .condense import Condensed, condense
from .highs_run import (  # noqa: F401  (new_highs, mip_presolve, read_solution: public here)
    PRESOLVE_MAX_COLUMNS,
    TIME_LIMIT_MESSAGE,
    Highs,
    _version,
    interrupt_after,
    interrupted,
    mip_presolve,
    new_highs,
    read_solution,
    reused_highs,
    stopped_solution,
    timed_run,
)

_COLWISE, _MINIMIZE, _TRIANGULAR = 1, 1, 1


def pass_program(h: Highs, prog: Program) -> None:
    """Load the program into a HiGHS instance as it is (pointer form, CSC arrays)."""
    A, lo, hi = prog.matrix("csc")
    c, const = prog.cost()
    lb, ub = prog.bounds()
    scale = qp_scale(prog)
    _pass(h, A, lo, hi, c * scale, const * scale, lb, ub, prog.integrality())
    if prog.quadratic:
        _pass_hessian(h, prog, prog.n, scale)


def load_program(h, prog: Program) -> Condensed:
    """Load the program for solving: long rows shortened (`taxopt.adapters.condense`),
    every column continuous (the search of `taxopt.adapters.branch` solves relaxations
    and hands HiGHS the integers only for its own MIP: loading them only to relax them
    costs a call as dear as reading a solution)."""
    cp = condense(prog)
    scale = qp_scale(prog)
    c, const = (cp.c, cp.const) if scale == 1.0 else (cp.c * scale, cp.const * scale)
    _pass(h, cp.A, cp.lo, cp.hi, c, const, cp.lb, cp.ub, np.zeros(cp.n_total, np.int32))
    if prog.quadratic:
        _pass_hessian(h, prog, cp.n_total, scale)
    return cp


def _pass(h, A, lo, hi, c, const, lb, ub, integrality) -> None:
    h.passModel(int(A.shape[1]), int(A.shape[0]), int(A.nnz), _COLWISE, _MINIMIZE,
                float(const), np.ascontiguousarray(c, np.float64),
                np.ascontiguousarray(lb, np.float64), np.ascontiguousarray(ub, np.float64),
                np.ascontiguousarray(lo, np.float64), np.ascontiguousarray(hi, np.float64),
                np.ascontiguousarray(A.indptr, np.int32),
                np.ascontiguousarray(A.indices, np.int32),
                np.ascontiguousarray(A.data, np.float64),
                np.ascontiguousarray(integrality, np.int32))


def _pass_hessian(h, prog: Program, n_total: int, scale: float = 1.0) -> None:
    H = prog.hessian()
    if scale != 1.0:
        H = H * scale
    if n_total > prog.n:
        H = sp.csc_matrix((H.data, H.indices, np.r_[H.indptr, np.full(n_total - prog.n,
                                                                       H.indptr[-1])]),
                          shape=(n_total, n_total))
    h.passHessian(int(n_total), int(H.nnz), _TRIANGULAR,
                  np.ascontiguousarray(H.indptr, np.int32),
                  np.ascontiguousarray(H.indices, np.int32),
                  np.ascontiguousarray(H.data, np.float64))


def solve_highs(prog: Program, options: Options, deadline: Deadline | None = None) -> Solution:
    """Solve with HiGHS directly: LPs first, binaries by taxopt's own search.

    A rebalance's LP relaxation is almost always integral in its wash-sale
    binaries, and an integral relaxation is the MIP's optimum; only when it is not
    does the search of `taxopt.adapters.branch` run. The netting binaries are not
    relaxed at all: each of their combinations is a root of that search.
    """
    clock = deadline or Deadline(options.time_limit)
    # Spent building the model, or too little left for HiGHS to get anywhere: do not
    # even load it (`taxopt.adapters.clock.cannot_start`); the same before the first run.
    if clock.expired or cannot_start(clock, sum(len(b.T.v) for b in prog.rows.values())):
        return stopped_solution(prog)
    h = reused_highs(options, prog.is_mip, prog.n)
    t0 = time.perf_counter()
    loaded = load_program(h, prog)
    loading = time.perf_counter() - t0
    runs = reserve_for_bound(clock, loaded.A.nnz, loading)
    if cannot_start(runs, loaded.A.nnz, load=False, loading=loading):
        return stopped_solution(prog)
    return solve_loaded(h, prog, runs, loaded)


def solve_loaded(h: Highs, prog: Program, deadline: Deadline, loaded: Condensed) -> Solution:
    """Solve a program already loaded into ``h`` (by `load_program`)."""
    ints = loaded.integrality[: prog.n].nonzero()[0].astype(np.int32)
    if not len(ints):
        return timed_run(h, prog, deadline)
    return search(h, prog, ints, deadline, loaded)


class HighsSession:
    """One HiGHS instance kept across re-solves of the same household.

    When the program keeps its shape (same variables and rows: new prices, targets or
    weights), the new data is loaded and HiGHS starts from the previous optimal basis.
    Loading is cheap (about 1.4 ms at 30,000 lots); updating coefficients one by one
    in place is not, because a price move changes every lot's gain per dollar.
    Every `solve` gets the whole time limit, however long the instance has lived.
    """

    def __init__(self, options: Options) -> None:
        self.options = options
        self._h: Highs = None
        self._shape: tuple[object, ...] | None = None
        self._basis = None
        self.warm_solves = 0

    def solve(self, prog: Program) -> Solution:
        clock = Deadline(self.options.time_limit)
        shape = (prog.n, sum(r.T.shape[0] for r in prog.rows.values()),
                 prog.integrality().tobytes(), tuple(prog.pieces))
        if self._h is None:
            self._h = new_highs(self.options, prog.is_mip, prog.n)
        h = self._h
        loaded = load_program(h, prog)
        shape = (*shape, *loaded.shape_key())
        if shape == self._shape and self._basis is not None:
            h.setBasis(self._basis)
            self.warm_solves += 1
        sol = solve_loaded(h, prog, clock, loaded)
        self._shape = shape
        self._basis = h.getBasis() if sol.status.has_solution else None
        return sol
