"""Solving the embedding model: the cvxpy solve, the engine's decode and audit, the
duals of the fixed-integer LP, and the forced lot order's comparison."""

from __future__ import annotations

import time
from dataclasses import fields
from typing import TYPE_CHECKING, Any

import numpy as np

from ...adapters.base import Solution, Status
from ...adapters.cvxpy_adapter import cvxpy_version
from ...adapters.cvxpy_adapter import run as run_cvxpy
from ...adapters.cvxpy_adapter import solver_options as solver_options_of
from ...engine import Result, finish, solve_options, with_relief
from ...errors import TaxoptError
from ...model.builder import RebalanceModel
from ...options import Options
from .checks import kind
from .pieces import EmbeddedResult
from .repair import repair_model, user_check
from .report import constraint_report
from .spec import spec_of

if TYPE_CHECKING:
    from .compiled import CompiledModel


def default_solver(m: CompiledModel) -> str:
    """HiGHS for linear programs (integer or not), Clarabel otherwise."""
    linear = all(ut.expr.is_affine() for ut in m._user_terms.values()) and all(
        all(a.is_affine() for a in c.args) and kind(c) in ("le", "eq")
        for ug in m._user_groups.values() for c in ug.constraints)
    if linear and not (m._spec.quadratic and len(m._spec.integer)):
        return "HIGHS"   # LP, MILP, or with the built-in quadratic terms a QP
    if len(m._spec.integer):
        raise TaxoptError("the model has integer variables and a nonlinear term or "
                          "constraint: call fix_integers() first, or name a mixed-integer "
                          "conic solver")
    return "CLARABEL"


def solve(m: CompiledModel, solver: str | None = None, *, duals: bool | None = None,
          **solver_options: Any) -> EmbeddedResult:
    """`CompiledModel.solve`: the cvxpy solve, then the engine's decode and audit."""
    import cvxpy as cp

    name = (solver or default_solver(m)).upper()
    opts = solve_options(m.model, {"adapter": "cvxpy", "solver": name})
    n, ints = m._spec.n, m._spec.integer
    try:
        run = run_cvxpy(m.problem, name, {**solver_options_of(name, opts, bool(len(ints))),
                                             **solver_options})
    except cp.error.SolverError as err:
        sol = Solution(Status.ERROR, np.zeros(n), float("nan"), "cvxpy", name,
                       cvxpy_version(), message=str(err).splitlines()[0])
        return embed(finish(m.model, sol, opts, {}), compiled=True)
    status = run.status if m._x.value is not None or not run.status.has_solution \
        else Status.ERROR
    x = np.asarray(m._x.value, dtype=float) if status.has_solution else np.zeros(n)
    if status.has_solution and len(ints):
        x[ints] = np.round(x[ints])
    sol = Solution(status, x, run.objective / m.objective_scale, "cvxpy", run.solver,
                   cvxpy_version(), None,
                   run.seconds, run.message)
    timings = {"compile": run.compile_seconds, "solve": run.seconds}
    compiled = run.compiled
    report, terms = None, {}
    if status.has_solution:
        terms = m.objective_values(x)
        dual_of = None
        if len(ints) and (duals if duals is not None else bool(m._user_groups)):
            t0 = time.perf_counter()
            twin = fixed_twin(m, x[ints], opts)
            if twin is not None:
                dual_of, twin_compiled = twin
                compiled = compiled or twin_compiled
            timings["duals"] = time.perf_counter() - t0
        m._last_duals = dual_of
        report = constraint_report(m, dual_of)
    res = finish(m.model, sol, opts, timings,
                 check=user_check(m, x) if m._user_groups else None,
                 repair_model=lambda: repair_model(m, sol, opts))
    res = with_relief(res, opts, lambda model, o: solve_free(m, model, name,
                                                                   solver_options))
    if status == Status.INFEASIBLE and not res.reasons and m._user_groups:
        res.message = ("infeasible with the user constraints "
                       f"({', '.join(m._user_groups)}); the model's own rules can "
                       "hold without them")
    out = embed(res, compiled=compiled)
    out.constraint_report = report
    out.objective_terms = terms
    if report is not None:
        user = report[report["user"] & report["binding"]]
        out.binding = [str(g) for g in user.index]
    return out


def solve_free(m: CompiledModel, model: RebalanceModel, solver: str,
                solver_options: dict[str, Any]) -> Result | None:
    """``model`` (this one without its forced lot order) with this model's weights
    and user pieces, solved with the same solver; None when a user piece cannot be
    rebuilt on it (given as an expression, not a callable)."""
    if not all(callable(u.source) for u in m._user_terms.values()) or not all(
            callable(g.source) for g in m._user_groups.values()):
        return None
    free = type(m)(model)
    for name, w in m._weights.items():
        if name in free._spec.terms or name in free._spec.quadratic:
            free.set_weight(name, w)
    for name, ut in m._user_terms.items():
        free.add_objective(name, ut.source, ut.weight)
    for name, ug in m._user_groups.items():
        free.add_constraints(name, ug.source, ug.tol)
    return solve(free, solver, duals=False, **solver_options)


def fixed_twin(m: CompiledModel, values: np.ndarray, opts: Options
                ) -> tuple[dict[str, list[Any]], bool] | None:
    """Duals from the LP with the integer variables fixed at ``values``.

    The twin model is kept (its cvxpy problem compiles once); it follows this
    model's data, weights and user pieces. None when a user piece is not a
    callable (it cannot be rebuilt on the twin) or the LP fails.
    """
    import cvxpy as cp

    if not all(callable(u.source) for u in m._user_terms.values()) or not all(
            callable(g.source) for g in m._user_groups.values()):
        return None
    twin = m._twin
    if twin is None:
        twin = type(m)(m.model, fixed_integers=values)
        for name, ut in m._user_terms.items():
            twin.add_objective(name, ut.source, ut.weight)
        for name, ug in m._user_groups.items():
            twin.add_constraints(name, ug.source, ug.tol)
        m._twin = twin
    else:
        twin.model, twin._fixed = m.model, values
        spec = spec_of(m.model, values)
        compatible = twin._compatible(spec)
        twin._spec = spec
        if compatible:
            twin._load()
        else:
            twin._build_variables()
    twin._weights = dict(m._weights)
    twin._load_objective()
    for name, ut in m._user_terms.items():
        twin.set_weight(name, ut.weight)
    name = default_solver(twin)
    try:
        run = run_cvxpy(twin.problem, name, solver_options_of(name, opts, False))
    except cp.error.SolverError:
        return None
    if not run.status.has_solution:
        return None
    return ({g: [c.dual_value for c in grp.constraints] for g, grp in twin._groups.items()},
            run.compiled)


def embed(res: Result, compiled: bool) -> EmbeddedResult:
    """The engine's result as an `EmbeddedResult` (the embedding's fields empty)."""
    base = {f.name: getattr(res, f.name) for f in fields(Result)}
    return EmbeddedResult(**base, compiled=compiled)
