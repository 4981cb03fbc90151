"""The fast path: a `Program` passed straight to HiGHS through highspy's pointer API.

No modelling layer in between: the sparse matrix goes in as CSC arrays of the
exact dtypes the binding expects (it checks no lengths), one thread per process.
"""

from __future__ import annotations

import functools
import itertools
import time
from typing import Any

import numpy as np

from ..model.program import Program
from ..options import Options
from .base import Solution, Status

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
    """Load the program into a HiGHS instance (pointer form, CSC arrays)."""
    A, lo, hi = prog.matrix("csc")
    c, const = prog.cost()
    lb, ub = prog.bounds()
    integrality = prog.integrality()
    h.passModel(int(prog.n), int(A.shape[0]), int(A.nnz), _COLWISE, _MINIMIZE, float(const),
                np.ascontiguousarray(c, np.float64), np.ascontiguousarray(lb, np.float64),
                np.ascontiguousarray(ub, np.float64), np.ascontiguousarray(lo, np.float64),
                np.ascontiguousarray(hi, np.float64),
                np.ascontiguousarray(A.indptr, np.int32),
                np.ascontiguousarray(A.indices, np.int32),
                np.ascontiguousarray(A.data, np.float64),
                np.ascontiguousarray(integrality, np.int32))
    if prog.quadratic:
        H = prog.hessian()
        h.passHessian(int(prog.n), int(H.nnz), _TRIANGULAR,
                      np.ascontiguousarray(H.indptr, np.int32),
                      np.ascontiguousarray(H.indices, np.int32),
                      np.ascontiguousarray(H.data, np.float64))


def solve_highs(prog: Program, options: Options) -> Solution:
    """Solve with HiGHS directly: piece binaries enumerated, each piece LP first.

    A rebalance's LP relaxation is almost always integral in its wash-sale
    binaries, and an integral relaxation is the MIP's optimum; only when it is not
    does the branch-and-bound run. The netting binary is not relaxed at all: its
    two pieces are two LPs, the second warm-started from the first.
    """
    h = new_highs(options, prog.is_mip, prog.n)
    pass_program(h, prog)
    return solve_loaded(h, prog)


def solve_loaded(h: Highs, prog: Program) -> Solution:
    """Solve a program already loaded into ``h`` (fresh or updated in place)."""
    ints = np.flatnonzero(prog.integrality()).astype(np.int32)
    pieces = np.asarray(prog.pieces, dtype=np.int32)
    best: Solution | None = None
    seconds = 0.0
    last: Solution | None = None
    for combo in itertools.product((0.0, 1.0), repeat=len(pieces)):
        if len(pieces):
            fixed = np.asarray(combo, dtype=np.float64)
            h.changeColsBounds(len(pieces), pieces, fixed, fixed)
        sol = _lp_first(h, prog, ints)
        seconds += sol.solver_seconds
        last = sol
        if sol.status.has_solution and (best is None or sol.objective < best.objective - 1e-9):
            best = sol
    result = best or last
    assert result is not None
    result.solver_seconds = seconds
    return result


class HighsSession:
    """One HiGHS instance kept across re-solves of the same household.

    When the program keeps its shape (same variables and rows: new prices, targets or
    weights), the new data is loaded and HiGHS starts from the previous optimal basis.
    Loading is cheap (about 1.4 ms at 30,000 lots); updating coefficients one by one
    in place is not, because a price move changes every lot's gain per dollar.
    """

    def __init__(self, options: Options) -> None:
        self.options = options
        self._h: Highs = None
        self._shape: tuple[object, ...] | None = None
        self._basis = None
        self.warm_solves = 0

    def solve(self, prog: Program) -> Solution:
        shape = (prog.n, sum(r.T.shape[0] for r in prog.rows.values()),
                 prog.integrality().tobytes(), tuple(prog.pieces))
        if self._h is None:
            self._h = new_highs(self.options, prog.is_mip, prog.n)
        h = self._h
        pass_program(h, prog)
        if shape == self._shape and self._basis is not None:
            h.setBasis(self._basis)
            self.warm_solves += 1
        sol = solve_loaded(h, prog)
        self._shape = shape
        self._basis = h.getBasis() if sol.status.has_solution else None
        return sol


def _lp_first(h: Highs, prog: Program, ints: np.ndarray) -> Solution:
    """Solve the relaxation; branch only if the integer variables come out fractional.

    Binary-only programs (the wash-sale choice) branch here, depth first on warm-started
    LPs: HiGHS's MIP machinery costs 10-50 ms per household even when it closes at the
    root, while a handful of warm dual-simplex re-solves costs well under a millisecond.
    General integers, or a tree larger than `_MAX_NODES`, go to HiGHS's MIP solver.
    """
    if len(ints):
        h.changeColsIntegrality(len(ints), ints, np.zeros(len(ints), dtype=np.uint8))
    t0 = time.perf_counter()
    h.run()
    sol = read_solution(h, prog, time.perf_counter() - t0, relaxed=bool(len(ints)))
    if not len(ints) or not sol.status.has_solution or _integral(sol.x[ints]):
        if len(ints) and sol.status.has_solution:
            sol.x[ints] = np.round(sol.x[ints])
        return sol
    lb, ub = prog.bounds()
    lb_i, ub_i = lb[ints].copy(), ub[ints].copy()
    if np.all((lb_i >= 0) & (ub_i <= 1)):
        found = _branch(h, prog, ints, lb_i, ub_i, sol)
        if found is not None:
            return found
    h.changeColsIntegrality(len(ints), ints, np.ones(len(ints), dtype=np.uint8))
    mip_presolve(h, prog.n)
    t0 = time.perf_counter()
    h.run()
    h.setOptionValue("presolve", "off")
    mip = read_solution(h, prog, time.perf_counter() - t0)
    mip.solver_seconds += sol.solver_seconds
    h.changeColsIntegrality(len(ints), ints, np.zeros(len(ints), dtype=np.uint8))
    h.changeColsBounds(len(ints), ints, lb_i, ub_i)
    return mip


_MAX_NODES = 256


def _integral(values: np.ndarray) -> bool:
    return bool(np.all(np.abs(values - np.round(values)) <= 1e-9))


def _branch(h: Highs, prog: Program, ints: np.ndarray, lb0: np.ndarray, ub0: np.ndarray,
            root: Solution) -> Solution | None:
    """Depth-first branch and bound over binaries; None if the tree grows too large."""
    best: Solution | None = None
    seconds = root.solver_seconds
    stack = [(lb0, ub0, root)]
    nodes = 0
    while stack:
        lb, ub, parent = stack.pop()
        if best is not None and parent.objective >= best.objective - 1e-9:
            continue
        vals = parent.x[ints]
        frac = np.abs(vals - np.round(vals))
        j = int(np.argmax(frac))
        near = round(float(vals[j]))
        for side in (1 - near, near):   # the side nearer the LP value is explored first
            nodes += 1
            if nodes > _MAX_NODES:
                h.changeColsBounds(len(ints), ints, lb0, ub0)
                return None
            lo, hi = lb.copy(), ub.copy()
            lo[j] = hi[j] = side
            h.changeColsBounds(len(ints), ints, lo, hi)
            t0 = time.perf_counter()
            h.run()
            child = read_solution(h, prog, time.perf_counter() - t0, relaxed=True)
            seconds += child.solver_seconds
            if not child.status.has_solution:
                continue
            if best is not None and child.objective >= best.objective - 1e-9:
                continue
            if _integral(child.x[ints]):
                child.x[ints] = np.round(child.x[ints])
                best = child
            else:
                stack.append((lo, hi, child))
    h.changeColsBounds(len(ints), ints, lb0, ub0)
    if best is None:
        return Solution(Status.INFEASIBLE, np.zeros(prog.n), float("nan"), "highs", "HiGHS",
                        _version(), None, seconds, "infeasible in every branch")
    best.solver_seconds = seconds
    best.mip_gap = 0.0
    return best


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
    x = np.asarray(h.getSolution().col_value, dtype=float) if status.has_solution else np.zeros(
        prog.n)
    gap = (0.0 if relaxed else float(info.mip_gap)) if prog.is_mip and status.has_solution \
        else None
    return Solution(status, x, float(info.objective_function_value) if status.has_solution
                    else float("nan"), "highs", "HiGHS", _version(), gap, seconds,
                    h.modelStatusToString(ms))
