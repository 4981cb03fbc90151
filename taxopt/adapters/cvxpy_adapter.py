"""The same `Program` as cvxpy objects: any cvxpy solver, and a model users can extend."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..model.program import Program
from ..options import Options
from .base import Solution, Status


def to_cvxpy(prog: Program) -> tuple[Any, Any, list[Any]]:
    """The program as a cvxpy variable vector, objective expression and constraint list."""
    import cvxpy as cp

    integer = np.flatnonzero(prog.integrality())
    x = cp.Variable(prog.n, integer=(integer,) if len(integer) else False,
                    name="x")
    lb, ub = prog.bounds()
    cons: list[Any] = []
    lo_fin, hi_fin = np.isfinite(lb), np.isfinite(ub)
    if lo_fin.any():
        cons.append(x[np.flatnonzero(lo_fin)] >= lb[lo_fin])
    if hi_fin.any():
        cons.append(x[np.flatnonzero(hi_fin)] <= ub[hi_fin])
    A, lo, hi = prog.matrix()
    eq = np.isfinite(lo) & np.isfinite(hi) & (lo == hi)
    for mask, build in ((eq, lambda M, v, w: M @ x == v),
                        (~eq & np.isfinite(lo), lambda M, v, w: M @ x >= v),
                        (~eq & np.isfinite(hi), lambda M, v, w: M @ x <= w)):
        rows = np.flatnonzero(mask)
        if len(rows):
            cons.append(build(A[rows], lo[rows], hi[rows]))
    c, const = prog.cost()
    objective = c @ x + const
    for idx, Q in prog.quadratic.values():
        objective = objective + 0.5 * cp.quad_form(x[idx], cp.psd_wrap(Q))
    return x, objective, cons


_STATUS = {"optimal": Status.OPTIMAL, "optimal_inaccurate": Status.FEASIBLE,
           "infeasible": Status.INFEASIBLE, "infeasible_inaccurate": Status.INFEASIBLE,
           "unbounded": Status.UNBOUNDED, "unbounded_inaccurate": Status.UNBOUNDED,
           "user_limit": Status.FEASIBLE}


_BANNER_SILENCED: list[bool] = []


def _silence_highs_banner() -> None:
    """highspy prints a copyright banner on stdout the first time a `Highs` object is
    made in a process (cvxpy makes one); print it to /dev/null instead, once."""
    if _BANNER_SILENCED:
        return
    import os
    import sys

    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    _BANNER_SILENCED.append(True)


def solve_cvxpy(prog: Program, options: Options) -> Solution:
    """Solve through cvxpy with the solver named in the options (HiGHS by default)."""
    import cvxpy as cp

    if options.solver.upper() == "HIGHS":
        _silence_highs_banner()

    x, objective, cons = to_cvxpy(prog)
    problem = cp.Problem(cp.Minimize(objective), cons)
    kwargs: dict[str, Any] = {}
    if options.solver.upper() == "HIGHS":
        kwargs = {"time_limit": float(options.time_limit), "threads": 1}
        if prog.is_mip:
            kwargs["mip_rel_gap"] = float(options.mip_rel_gap)
    t0 = time.perf_counter()
    try:
        problem.solve(solver=options.solver, **kwargs)
    except cp.error.SolverError as err:
        return Solution(Status.ERROR, np.zeros(prog.n), float("nan"), "cvxpy", options.solver,
                        cp.__version__, message=str(err).splitlines()[0])
    seconds = time.perf_counter() - t0
    status = _STATUS.get(problem.status, Status.ERROR)
    if status.has_solution and x.value is None:
        status = Status.ERROR
    values = np.asarray(x.value, dtype=float) if status.has_solution else np.zeros(prog.n)
    stats = problem.solver_stats
    return Solution(status, values,
                    float(problem.value) if status.has_solution else float("nan"),
                    "cvxpy", stats.solver_name if stats else options.solver, cp.__version__,
                    None, seconds, str(problem.status))
