"""One HiGHS instance and one run of it: set-up, the time left, the status read back.

Kept apart from `taxopt.adapters.highs` so that the search (`taxopt.adapters.branch`)
and the adapter both build on it without importing each other.
"""

from __future__ import annotations

import functools
import threading
import time
from typing import Any

import numpy as np

from ..model.program import Program
from ..options import Options
from .base import Solution, Status
from .clock import Deadline

Highs = Any
"""A raw highspy ``_Highs`` instance (the binding is untyped)."""


@functools.cache
def _version() -> str:
    import highspy

    h = highspy._Highs()  # type: ignore[attr-defined]
    return f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"


PRESOLVE_MAX_COLUMNS = 2000
_SCHEDULER_RESET: list[bool] = []


QP_ITERATIONS_PER_COLUMN = 100


def new_highs(options: Options, is_mip: bool, n_cols: int = 0) -> Highs:
    """A silent single-thread HiGHS instance with the time limit and gap set.

    Presolve is off for the LPs (measured: 5.3 ms against 6.2 ms a typical household,
    and 29 ms against 2.1 s for an LP of 21,000 lots). A MIP handed to HiGHS's own
    branch and bound gets it back below `PRESOLVE_MAX_COLUMNS` (`mip_presolve`).
    """
    import highspy

    h = highspy._Highs()  # type: ignore[attr-defined]  # the raw binding: no callbacks, no banner
    _configure(h, options, is_mip, n_cols)
    return h


def _configure(h: Highs, options: Options, is_mip: bool, n_cols: int) -> None:
    """Every option taxopt sets, on an instance at HiGHS's defaults."""
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
    # HiGHS's active-set QP can cycle on degenerate programs (seen: 350,000 iterations
    # at one objective value until the time limit). A real QP here needs a few active
    # set changes per column, so a cap turns a cycle into a quick, visible stop.
    h.setOptionValue("qp_iteration_limit", QP_ITERATIONS_PER_COLUMN * max(n_cols, 100))
    if is_mip:
        h.setOptionValue("mip_rel_gap", float(options.mip_rel_gap))
        # Feasibility jump costs ~2 ms per tiny household MIP and never pays here:
        # the LP relaxation of a rebalance is near-integral.
        h.setOptionValue("mip_heuristic_run_feasibility_jump", False)


REUSE_MAX_COLUMNS = 5000
_LOCAL = threading.local()


def reused_highs(options: Options, is_mip: bool, n_cols: int) -> Highs:
    """`new_highs`, without building a new instance for a small program: this thread's
    instance, every option back at HiGHS's default and then set as `new_highs` sets
    it (creating one costs more than a household's LP run; `passModel` replaces the
    model, basis and solution of the last solve, not the options).

    The options must be reset, not only ours set again: HiGHS changes some itself. A
    MIP run leaves ``primal_feasibility_tolerance`` at ``mip_feasibility_tolerance``
    (1e-6 instead of 1e-7), and every later LP on the instance then stopped at other
    vertices among near-ties (a backtest household's plan depended on whether an
    earlier household of the process had reached HiGHS's MIP solver).

    Larger programs get their own instance, so that no thread keeps a book's arrays.
    The caller must be done with the instance before the thread's next solve starts.
    """
    if n_cols > REUSE_MAX_COLUMNS:
        return new_highs(options, is_mip, n_cols)
    h = getattr(_LOCAL, "h", None)
    if h is None:
        h = _LOCAL.h = new_highs(options, is_mip, n_cols)
        return h
    h.resetOptions()
    _configure(h, options, is_mip, n_cols)
    return h


def info_value(h: Highs, name: str) -> Any:
    """One of HiGHS's info values after a run, without copying the whole info record."""
    import highspy

    status, value = h.getInfoValue(name)
    if status != highspy.HighsStatus.kOk:
        return getattr(h.getInfo(), name)
    return value


def mip_presolve(h: Highs, n_cols: int) -> None:
    """Presolve helps HiGHS's branch and bound on small programs, not on large books."""
    h.setOptionValue("presolve", "on" if n_cols <= PRESOLVE_MAX_COLUMNS else "off")


def interrupt_after(h: Highs, checks: int) -> list[int]:
    """Stop ``h``'s next MIP run after ``checks`` of its interrupt checks: a bound on its
    work that, unlike ``time_limit``, does not depend on the machine's load.

    HiGHS's branch and bound checks its limits once per node and at a few points of its
    root loop (not inside its sub-MIPs); on one thread that sequence is deterministic,
    so a run stopped here stops at the same point, with the same plan, on any machine.
    The run then ends with status ``Interrupted`` (`read_solution`: feasible, if it has
    a plan). Returns the count of checks so far, as a one-element list the run updates.
    """
    import highspy

    seen = [0]

    def count(_kind: int, _message: str, _out: Any, into: Any, _data: Any) -> None:
        seen[0] += 1
        if seen[0] > checks:
            into.user_interrupt = True

    h.setCallback(count, None)
    h.startCallback(highspy.cb.HighsCallbackType.kCallbackMipInterrupt)
    return seen


def interrupted(h: Highs) -> bool:
    """Whether ``h``'s last run was stopped by `interrupt_after`."""
    import highspy

    return bool(h.getModelStatus() == highspy.HighsModelStatus.kInterrupt)


TIME_LIMIT_MESSAGE = "time limit reached"


def stopped_solution(prog: Program) -> Solution:
    """What a solve the time limit stopped before any plan hands back."""
    return Solution(Status.ERROR, np.zeros(prog.n), float("nan"), "highs", "HiGHS",
                    _version(), None, 0.0, TIME_LIMIT_MESSAGE, {"stopped": 1.0})


def timed_run(h: Highs, prog: Program, deadline: Deadline, relaxed: bool = False) -> Solution:
    """One ``run()`` given the time that is left on taxopt's clock.

    HiGHS compares its ``time_limit`` with a run clock that accumulates over the
    instance's life, so the limit handed over is that clock plus the time left.
    A solve stopped by the limit carries ``info["stopped"] = 1``.
    """
    left = deadline.left()
    if left <= 0.0:
        return stopped_solution(prog)
    h.setOptionValue("time_limit", float(h.getRunTime()) + left)
    t0 = time.perf_counter()
    h.run()
    return read_solution(h, prog, time.perf_counter() - t0, relaxed=relaxed)


def floats(values: list[float]) -> np.ndarray:
    """A list of floats HiGHS hands back (its solution vectors come as lists) as an
    array: the same values as ``np.asarray(values, float)``, without its look at each
    element's type (a quarter of the cost on a household's few hundred)."""
    return np.fromiter(values, float, len(values))


def read_solution(h: Highs, prog: Program, seconds: float, relaxed: bool = False) -> Solution:
    """Map HiGHS's model status onto taxopt's status vocabulary."""
    import highspy

    ms = h.getModelStatus()
    S = highspy.HighsModelStatus
    if ms == S.kOptimal:
        status = Status.OPTIMAL
    elif ms in (S.kInfeasible,):
        status = Status.INFEASIBLE
    elif ms in (S.kUnbounded, S.kUnboundedOrInfeasible):
        status = Status.UNBOUNDED if ms == S.kUnbounded else Status.INFEASIBLE
    elif ms in (S.kTimeLimit, S.kIterationLimit, S.kInterrupt, S.kSolutionLimit) \
            and info_value(h, "primal_solution_status") == 2:      # a plan, not proven
        status = Status.FEASIBLE
    else:
        status = Status.ERROR
    solved = status.has_solution
    x = (floats(h.getSolution().col_value)[: prog.n] if solved
         else np.zeros(prog.n))
    # (``relaxed``: one of the search's relaxations of a MIP, whose gap is nil)
    gap = (0.0 if relaxed else float(info_value(h, "mip_gap"))) \
        if solved and (relaxed or prog.is_mip) else None
    stopped = {"stopped": 1.0} if ms == S.kTimeLimit else {}
    # A QP's objective is passed scaled (`taxopt.adapters.highs.qp_scale`): recompute it.
    objective = (float("nan") if not solved
                 else float(h.getObjectiveValue()) if not prog.quadratic
                 else float(sum(prog.evaluate(x).values())))
    return Solution(status, x, objective, "highs", "HiGHS", _version(), gap, seconds,
                    h.modelStatusToString(ms), stopped)
