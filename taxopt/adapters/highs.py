"""The fast path: a `Program` passed straight to HiGHS through highspy's pointer API.

No modelling layer in between: the sparse matrix goes in as CSC arrays of the
exact dtypes the binding expects (it checks no lengths), one thread per process.
"""

from __future__ import annotations

import functools
import time

import numpy as np

from ..model.program import Program
from ..options import Options
from .base import Solution, Status

_COLWISE, _MINIMIZE = 1, 1


@functools.cache
def _version() -> str:
    import highspy

    h = highspy._Highs()
    return f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"


def new_highs(options: Options, is_mip: bool):
    """A silent single-thread HiGHS instance with the time limit and gap set."""
    import highspy

    h = highspy._Highs()  # the raw binding: no Python callbacks, no banner on stdout
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("time_limit", float(options.time_limit))
    if is_mip:
        h.setOptionValue("mip_rel_gap", float(options.mip_rel_gap))
        # Feasibility jump costs ~2 ms per tiny household MIP and never pays here:
        # the LP relaxation of a rebalance is near-integral.
        h.setOptionValue("mip_heuristic_run_feasibility_jump", False)
    return h


def pass_program(h, prog: Program) -> None:
    """Load the program into a HiGHS instance (pointer form, CSC arrays)."""
    A, lo, hi = prog.matrix()
    A = A.tocsc()
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


def solve_highs(prog: Program, options: Options) -> Solution:
    """Solve with HiGHS directly."""
    h = new_highs(options, prog.is_mip)
    pass_program(h, prog)
    t0 = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - t0
    return read_solution(h, prog, seconds)


def read_solution(h, prog: Program, seconds: float) -> Solution:
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
    gap = float(info.mip_gap) if prog.is_mip and status.has_solution else None
    return Solution(status, x, float(info.objective_function_value) if status.has_solution
                    else float("nan"), "highs", "HiGHS", _version(), gap, seconds,
                    h.modelStatusToString(ms))
