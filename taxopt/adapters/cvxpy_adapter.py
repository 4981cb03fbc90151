"""The same `Program` as cvxpy objects: any cvxpy solver, and a model users can extend.

`CvxpyProgram` is the one translation of a program into cvxpy: a variable vector,
the bounds, each row block split into ``==``, ``>=`` and ``<=`` parts, the linear
and quadratic terms. Its numbers are cvxpy Parameters, so the embedding model
(`taxopt.api.cvx.CvxpyModel`) reloads new data without recompiling; `solve_cvxpy`
uses the same translation once. `solver_options` is the one set of HiGHS (and
Clarabel) options used through cvxpy.
"""

from __future__ import annotations

import functools
import time
import warnings
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import scipy.sparse as sp

from ..model.program import Program
from ..options import Options
from .base import Solution, Status, qp_scale

Kind = Literal["eq", "lo", "hi"]
"""How a part of a row block or of the bounds holds: ``== lo``, ``>= lo``, ``<= hi``."""

SPARSE_WARNING = r".*sparse CVXPY expression.*"
"""cvxpy warns when a sparse Parameter is read densely; taxopt does that on purpose."""


@dataclass(frozen=True, slots=True, eq=False)
class Rows:
    """One row block's numbers, ``lo <= A @ x <= hi``, ``A`` as wide as the program."""

    A: sp.csr_matrix
    lo: np.ndarray
    hi: np.ndarray
    labels: list[str] | None = None


class ProgramData(Protocol):
    """A program's numbers in the shape `CvxpyProgram` loads (all full length):
    bounds, rows, linear terms, and per quadratic term its indices and F, F'F = Q."""

    @property
    def n(self) -> int: ...
    @property
    def integer(self) -> np.ndarray: ...
    @property
    def lb(self) -> np.ndarray: ...
    @property
    def ub(self) -> np.ndarray: ...
    @property
    def rows(self) -> dict[str, Rows]: ...
    @property
    def terms(self) -> dict[str, tuple[np.ndarray, float]]: ...
    @property
    def quadratic(self) -> dict[str, tuple[np.ndarray, np.ndarray]]: ...


@dataclass(frozen=True, slots=True, eq=False)
class Data:
    """`ProgramData` of a `Program` as it stands (see `data_of`)."""

    n: int
    integer: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    rows: dict[str, Rows]
    terms: dict[str, tuple[np.ndarray, float]]
    quadratic: dict[str, tuple[np.ndarray, np.ndarray]]


def data_of(prog: Program) -> Data:
    """A program's numbers for `CvxpyProgram`: rows widened, term vectors full length,
    each quadratic term's Hessian block factored."""
    n = prog.n
    lb, ub = prog.bounds()
    rows = {name: Rows(widen(r.A, n), r.lo.copy(), r.hi.copy(), r.labels)
            for name, r in prog.rows.items()}
    terms = {}
    for name, (coef, const) in prog.terms.items():
        full = np.zeros(n)
        full[: len(coef)] = coef
        terms[name] = (full, float(const))
    quadratic = {k: (idx, factor(Q)) for k, (idx, Q) in prog.quadratic.items()}
    return Data(n, np.flatnonzero(prog.integrality()).astype(np.int64), lb, ub, rows, terms,
                quadratic)


def widen(A: Any, n: int) -> sp.csr_matrix:
    """``A`` as CSR with ``n`` columns (a block may be narrower than the program)."""
    out = sp.csr_matrix(A)
    if out.shape[1] < n:
        out = sp.csr_matrix((out.data, out.indices, out.indptr), shape=(out.shape[0], n))
    out.sum_duplicates()
    return out


def factor(Q: np.ndarray) -> np.ndarray:
    """F with F'F = Q (Q symmetric PSD), so ``1/2 x'Qx = 1/2 |F x|^2`` keeps the problem DPP."""
    vals, vecs = np.linalg.eigh((Q + Q.T) / 2)
    return np.asarray(np.sqrt(np.maximum(vals, 0.0))[:, None] * vecs.T)


def row_parts(lo: np.ndarray, hi: np.ndarray) -> list[tuple[Kind, np.ndarray]]:
    """The rows of a block by how they hold: equalities, lower bounds, upper bounds
    (a ranged row is in both of the last two; a free row in none)."""
    fin_lo, fin_hi = np.isfinite(lo), np.isfinite(hi)
    eq = fin_lo & (lo == hi)
    parts: list[tuple[Kind, np.ndarray]] = [("eq", np.flatnonzero(eq)),
                                            ("lo", np.flatnonzero(fin_lo & ~eq)),
                                            ("hi", np.flatnonzero(fin_hi & ~eq))]
    return [(kind, idx) for kind, idx in parts if len(idx)]


def relation(kind: Kind, expr: Any, bound: Any) -> Any:
    """The cvxpy constraint ``expr == / >= / <= bound``."""
    if kind == "eq":
        return expr == bound
    return expr >= bound if kind == "lo" else expr <= bound


class SparseParam:
    """A sparse matrix Parameter with a fixed pattern; values outside it are refused."""

    def __init__(self, A: sp.csr_matrix, extra: np.ndarray | None = None) -> None:
        import cvxpy as cp

        m, n = A.shape
        coo = A.tocoo()
        keys = np.unique(np.concatenate([coo.row.astype(np.int64) * n + coo.col,
                                         extra if extra is not None else np.zeros(0, np.int64)]))
        self.shape = (m, n)
        self.keys = keys                          # sorted, the pattern
        self.param: Any = None
        if len(keys):
            self.param = cp.Parameter((m, n), sparsity=(keys // n, keys % n))
            r, c = self.param.sparse_idx
            self._order = np.searchsorted(keys, np.asarray(r, np.int64) * n + c)
        self.load(A)

    def _entries(self, A: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        coo = A.tocoo()
        nz = coo.data != 0
        return coo.row[nz].astype(np.int64) * self.shape[1] + coo.col[nz], coo.data[nz]

    def fits(self, A: sp.csr_matrix) -> bool:
        """Whether ``A``'s nonzeros all lie in the pattern."""
        if A.shape != self.shape:
            return False
        k, _ = self._entries(A)
        if not len(self.keys):
            return not len(k)
        pos = np.minimum(np.searchsorted(self.keys, k), len(self.keys) - 1)
        return bool(np.all(self.keys[pos] == k))

    def load(self, A: sp.csr_matrix) -> None:
        if self.param is None:
            return
        k, data = self._entries(A)
        vals = np.zeros(len(self.keys))
        vals[np.searchsorted(self.keys, k)] = data
        # The pattern is the Parameter's own (checked by `fits`), in its canonical order,
        # so the value is saved without cvxpy's re-validation of the pattern.
        self.param.save_value(sp.coo_array((vals[self._order], self.param.sparse_idx),
                                           shape=self.shape), sparse_path=True)

    def times(self, x: Any) -> Any:
        import cvxpy as cp

        if self.param is None:
            return cp.Constant(np.zeros(self.shape[0]))
        return self.param @ x


Entry = tuple[Any, np.ndarray, Kind]
"""One cvxpy constraint of a block, the block's rows (or variables) it holds, and how."""


class CvxpyProgram:
    """A program's structure as cvxpy objects; its numbers are Parameters (`load`).

    Attributes
    ----------
    x
        The variable vector, in program order (integer where the data says).
    bounds
        The finite variable bounds as constraint entries.
    rows
        Per row block, its constraint entries (see `row_parts`).
    matrices
        Per row block, the sparse Parameter of its matrix.
    terms
        Per term, its unweighted expression (linear: ``c @ x + k``; quadratic:
        ``1/2 |F x[idx]|^2``).
    objective
        The weighted sum of the terms (weights as Parameters, see `load_objective`).
    """

    def __init__(self, data: ProgramData,
                 patterns: dict[str, tuple[tuple[int, int], np.ndarray]] | None = None) -> None:
        import cvxpy as cp
        from cvxpy.atoms.sum_squares import sum_squares

        n = data.n
        x = cp.Variable(n, name="x", integer=(data.integer,) if len(data.integer) else False)
        self.x = x
        self.n = n
        self._lb_idx = np.flatnonzero(np.isfinite(data.lb))
        self._ub_idx = np.flatnonzero(np.isfinite(data.ub))
        self._p_lb: Any = cp.Parameter(len(self._lb_idx))
        self._p_ub: Any = cp.Parameter(len(self._ub_idx))
        self.bounds: list[Entry] = []
        if len(self._lb_idx):
            self.bounds.append((x[self._lb_idx] >= self._p_lb, self._lb_idx, "lo"))
        if len(self._ub_idx):
            self.bounds.append((x[self._ub_idx] <= self._p_ub, self._ub_idx, "hi"))
        self.patterns = dict(patterns or {})
        self.matrices: dict[str, SparseParam] = {}
        self.rows: dict[str, list[Entry]] = {}
        self._row_bounds: dict[str, list[tuple[Kind, np.ndarray, Any]]] = {}
        for name, r in data.rows.items():
            shape, seen = self.patterns.get(name, (None, None))
            P = SparseParam(r.A, seen if shape == r.A.shape else None)
            self.patterns[name] = (r.A.shape, P.keys)   # patterns only grow: fewer rebuilds
            e = P.times(x)
            self.matrices[name] = P
            self.rows[name], self._row_bounds[name] = [], []
            for kind, idx in row_parts(r.lo, r.hi):
                p = cp.Parameter(len(idx))
                self.rows[name].append((relation(kind, e[idx], p), idx, kind))
                self._row_bounds[name].append((kind, idx, p))
        self._p_obj: Any = cp.Parameter(n)
        self._p_obj_k: Any = cp.Parameter()
        self._term_params: dict[str, tuple[Any, Any]] = {}
        self.terms: dict[str, Any] = {}
        for name in data.terms:
            pc, pk = cp.Parameter(n), cp.Parameter()
            self._term_params[name] = (pc, pk)
            self.terms[name] = pc @ x + pk
        self._quad_params: dict[str, tuple[Any, Any]] = {}
        quad_objective: list[Any] = []
        for name, (idx, F) in data.quadratic.items():
            pf, pw = cp.Parameter(F.shape), cp.Parameter(F.shape)   # F, sqrt(weight) F
            self._quad_params[name] = (pf, pw)
            self.terms[name] = 0.5 * sum_squares(pf @ x[idx])
            quad_objective.append(0.5 * sum_squares(pw @ x[idx]))
        self.objective = self._p_obj @ x + self._p_obj_k + sum(quad_objective)

    @property
    def constraints(self) -> list[Any]:
        """Every constraint: the bounds, then the row blocks in program order."""
        return [c for c, _, _ in self.bounds] + [c for entries in self.rows.values()
                                                 for c, _, _ in entries]

    def load(self, data: ProgramData, weights: dict[str, float] | None = None) -> None:
        """Load a program's numbers (same structure as at construction)."""
        self._p_lb.value = data.lb[self._lb_idx]
        self._p_ub.value = data.ub[self._ub_idx]
        for name, r in data.rows.items():
            self.matrices[name].load(r.A)
            for kind, idx, p in self._row_bounds[name]:
                p.value = (r.hi if kind == "hi" else r.lo)[idx]
        for name, (coef, const) in data.terms.items():
            pc, pk = self._term_params[name]
            pc.value, pk.value = coef, const
        self.load_objective(data, weights or {})

    def load_objective(self, data: ProgramData, weights: dict[str, float]) -> None:
        """The weighted objective's Parameters (a term without a weight counts once)."""
        coef = np.zeros(self.n)
        const = 0.0
        for name, (c, k) in data.terms.items():
            w = weights.get(name, 1.0)
            coef += w * c
            const += w * k
        self._p_obj.value, self._p_obj_k.value = coef, const
        for name, (_, F) in data.quadratic.items():
            pf, pw = self._quad_params[name]
            pf.value, pw.value = F, np.sqrt(weights.get(name, 1.0)) * F


def to_cvxpy(prog: Program) -> tuple[Any, Any, list[Any]]:
    """The program as a cvxpy variable vector, objective expression and constraint list."""
    data = data_of(prog)
    translated = CvxpyProgram(data)
    translated.load(data)
    return translated.x, translated.objective, translated.constraints


STATUS = {"optimal": Status.OPTIMAL, "optimal_inaccurate": Status.FEASIBLE,
          "infeasible": Status.INFEASIBLE, "infeasible_inaccurate": Status.INFEASIBLE,
          "unbounded": Status.UNBOUNDED, "unbounded_inaccurate": Status.UNBOUNDED,
          "user_limit": Status.FEASIBLE}
"""cvxpy's statuses in taxopt's vocabulary."""


def solver_options(solver: str, options: Options, mip: bool) -> dict[str, Any]:
    """taxopt's options for a cvxpy solver: HiGHS set up as the direct path's
    (`taxopt.adapters.highs.new_highs`: one thread, the time limit, the gap, no
    feasibility jump), Clarabel with the time limit, others as cvxpy's defaults."""
    name = solver.upper()
    if name == "HIGHS":
        kwargs: dict[str, Any] = {"time_limit": float(options.time_limit), "threads": 1}
        if mip:
            kwargs["mip_rel_gap"] = float(options.mip_rel_gap)
            kwargs["mip_heuristic_run_feasibility_jump"] = False
        return kwargs
    if name == "CLARABEL":
        return {"time_limit": float(options.time_limit)}
    return {}


@functools.cache
def cvxpy_version() -> str:
    """cvxpy's version, for the summary's solver record."""
    from importlib.metadata import version

    return version("cvxpy")


_BANNER_SILENCED: list[bool] = []


def silence_highs_banner() -> None:
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
            highspy.Highs()  # type: ignore[no-untyped-call]
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    _BANNER_SILENCED.append(True)


@dataclass(frozen=True, slots=True)
class Run:
    """How one cvxpy solve went."""

    status: Status
    objective: float
    solver: str
    seconds: float
    compile_seconds: float
    compiled: bool
    message: str


def run(problem: Any, solver: str, kwargs: dict[str, Any]) -> Run:
    """Solve a cvxpy problem; say whether cvxpy compiled it or reused its cache.

    Raises cvxpy's ``SolverError`` when the solver fails outright.
    """
    if solver.upper() == "HIGHS":
        silence_highs_banner()
    cached = getattr(getattr(problem, "_cache", None), "param_prog", None)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=SPARSE_WARNING)
        problem.solve(solver=solver, **kwargs)
    seconds = time.perf_counter() - t0
    after = getattr(getattr(problem, "_cache", None), "param_prog", None)
    status = STATUS.get(str(problem.status), Status.ERROR)
    stats = problem.solver_stats
    return Run(status, float(problem.value) if status.has_solution else float("nan"),
               str(stats.solver_name) if stats else solver, seconds,
               float(problem.compilation_time or 0.0), cached is None or after is not cached,
               str(problem.status))


def solve_cvxpy(prog: Program, options: Options) -> Solution:
    """Solve through cvxpy with the solver named in the options (HiGHS by default)."""
    import cvxpy as cp

    x, objective, cons = to_cvxpy(prog)
    scale = qp_scale(prog)
    problem = cp.Problem(cp.Minimize(scale * objective if scale != 1.0 else objective), cons)
    try:
        done = run(problem, options.solver, solver_options(options.solver, options,
                                                           prog.is_mip))
    except cp.error.SolverError as err:
        return Solution(Status.ERROR, np.zeros(prog.n), float("nan"), "cvxpy", options.solver,
                        cvxpy_version(), message=str(err).splitlines()[0])
    status = done.status
    if status.has_solution and x.value is None:
        status = Status.ERROR
    values = np.asarray(x.value, dtype=float) if status.has_solution else np.zeros(prog.n)
    return Solution(status, values, done.objective / scale, "cvxpy", done.solver, cvxpy_version(),
                    None, done.seconds, done.message)
