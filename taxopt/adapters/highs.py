"""The fast path: a `Program` passed straight to HiGHS through highspy's pointer API.

No modelling layer in between: the sparse matrix goes in as CSC arrays of the
exact dtypes the binding expects (it checks no lengths), one thread per process.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..model.program import Program
from ..options import Options
from .base import Solution, Status
from .clock import Deadline
from .condense import Condensed, condense

_COLWISE, _MINIMIZE, _TRIANGULAR = 1, 1, 1

Highs = Any
"""A raw highspy ``_Highs`` instance (the binding is untyped)."""


@functools.cache
def _version() -> str:
    import highspy

    h = highspy._Highs()  # type: ignore[attr-defined]
    return f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"


PRESOLVE_MAX_COLUMNS = 2000
_SCHEDULER_RESET: list[bool] = []


def new_highs(options: Options, is_mip: bool, n_cols: int = 0) -> Highs:
    """A silent single-thread HiGHS instance with the time limit and gap set.

    Presolve is off for the LPs (measured: 5.3 ms against 6.2 ms a typical household,
    and 29 ms against 2.1 s for an LP of 21,000 lots). A MIP handed to HiGHS's own
    branch and bound gets it back below `PRESOLVE_MAX_COLUMNS` (`mip_presolve`).
    """
    import highspy

    h = highspy._Highs()  # type: ignore[attr-defined]  # the raw binding: no callbacks, no banner
    h.setOptionValue("output_flag", False)
    h.setOptionValue("presolve", "off")
    if not _SCHEDULER_RESET:
        # HiGHS fixes its thread count at the first run() in a process; if anything ran
        # HiGHS before us with more threads, every solve with threads=1 fails "Not Set".
        # Reset it once, so the process runs on one thread per solve from here on.
        h.resetGlobalScheduler(True)
        _SCHEDULER_RESET.append(True)
    h.setOptionValue("threads", 1)
    h.setOptionValue("time_limit", float(options.time_limit))
    if is_mip:
        h.setOptionValue("mip_rel_gap", float(options.mip_rel_gap))
        # Feasibility jump costs ~2 ms per tiny household MIP and never pays here:
        # the LP relaxation of a rebalance is near-integral.
        h.setOptionValue("mip_heuristic_run_feasibility_jump", False)
    return h


def mip_presolve(h: Highs, n_cols: int) -> None:
    """Presolve helps HiGHS's branch and bound on small programs, not on large books."""
    h.setOptionValue("presolve", "on" if n_cols <= PRESOLVE_MAX_COLUMNS else "off")


def pass_program(h: Highs, prog: Program) -> None:
    """Load the program into a HiGHS instance as it is (pointer form, CSC arrays)."""
    A, lo, hi = prog.matrix("csc")
    c, const = prog.cost()
    lb, ub = prog.bounds()
    _pass(h, A, lo, hi, c, const, lb, ub, prog.integrality())
    if prog.quadratic:
        _pass_hessian(h, prog, prog.n)


def load_program(h, prog: Program) -> Condensed:
    """Load the program for solving: long rows shortened (`taxopt.adapters.condense`)."""
    cp = condense(prog)
    _pass(h, cp.A, cp.lo, cp.hi, cp.c, cp.const, cp.lb, cp.ub, cp.integrality)
    if prog.quadratic:
        _pass_hessian(h, prog, cp.n_total)
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


def _pass_hessian(h, prog: Program, n_total: int) -> None:
    H = prog.hessian()
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
    if clock.expired:    # spent building the model: do not even load it
        return Solution(Status.ERROR, np.zeros(prog.n), float("nan"), "highs", "HiGHS",
                        _version(), None, 0.0, TIME_LIMIT_MESSAGE, {"stopped": 1.0})
    h = new_highs(options, prog.is_mip, prog.n)
    loaded = load_program(h, prog)
    return solve_loaded(h, prog, clock, loaded)


def solve_loaded(h: Highs, prog: Program, deadline: Deadline, loaded: Condensed) -> Solution:
    """Solve a program already loaded into ``h`` (by `load_program`)."""
    from .branch import search

    ints = np.flatnonzero(prog.integrality()).astype(np.int32)
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


TIME_LIMIT_MESSAGE = "time limit reached"


def timed_run(h: Highs, prog: Program, deadline: Deadline, relaxed: bool = False) -> Solution:
    """One ``run()`` given the time that is left on taxopt's clock.

    HiGHS compares its ``time_limit`` with a run clock that accumulates over the
    instance's life, so the limit handed over is that clock plus the time left.
    A solve stopped by the limit carries ``info["stopped"] = 1``.
    """
    left = deadline.left()
    if left <= 0.0:
        return Solution(Status.ERROR, np.zeros(prog.n), float("nan"), "highs", "HiGHS",
                        _version(), None, 0.0, TIME_LIMIT_MESSAGE, {"stopped": 1.0})
    h.setOptionValue("time_limit", float(h.getRunTime()) + left)
    t0 = time.perf_counter()
    h.run()
    return read_solution(h, prog, time.perf_counter() - t0, relaxed=relaxed)


def read_solution(h: Highs, prog: Program, seconds: float, relaxed: bool = False) -> Solution:
    """Map HiGHS's model status onto taxopt's status vocabulary."""
    import highspy

    ms = h.getModelStatus()
    S = highspy.HighsModelStatus
    info = h.getInfo()
    has_primal = info.primal_solution_status == 2
    if ms == S.kOptimal:
        status = Status.OPTIMAL
    elif ms in (S.kInfeasible,):
        status = Status.INFEASIBLE
    elif ms in (S.kUnbounded, S.kUnboundedOrInfeasible):
        status = Status.UNBOUNDED if ms == S.kUnbounded else Status.INFEASIBLE
    elif ms in (S.kTimeLimit, S.kIterationLimit, S.kInterrupt, S.kSolutionLimit) and has_primal:
        status = Status.FEASIBLE
    else:
        status = Status.ERROR
    x = (np.asarray(h.getSolution().col_value, dtype=float)[: prog.n] if status.has_solution
         else np.zeros(prog.n))
    gap = (0.0 if relaxed else float(info.mip_gap)) if prog.is_mip and status.has_solution \
        else None
    stopped = {"stopped": 1.0} if ms == S.kTimeLimit else {}
    return Solution(status, x, float(info.objective_function_value) if status.has_solution
                    else float("nan"), "highs", "HiGHS", _version(), gap, seconds,
                    h.modelStatusToString(ms), stopped)
