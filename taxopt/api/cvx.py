"""taxopt's program as named cvxpy pieces: extend it, re-weight it, solve it with any solver.

`CvxpyModel` exposes one household's rebalancing program by name:

- variables: ``sell`` (dollars sold per lot, or per position outside taxable
  accounts), ``buy`` (dollars bought per account and symbol), as `Labelled`
  cvxpy expressions indexed ``(account_id, symbol, lot_id)`` / ``(account_id, symbol)``;
- derived expressions after the trades: ``holdings_after`` ``(account_id, symbol)``,
  ``cash_after`` ``(account_id)``, ``account_class_value`` ``(account_id,
  asset_class)``, ``goal_class_value`` and ``goal_class_weight`` ``(goal_id,
  asset_class)``; data: ``goal_value``, ``account_value``;
- objective terms (``tax``, ``tax_tiebreak``, ``tracking``, ``cost``, ``location``,
  ``cash_drag``, ...) in ``terms``, each a cvxpy expression in dollars with a weight;
- constraint groups (``bounds``, ``cash``, ``bands``, ``tolerance``, ``wash_sell``,
  ``wash_buy``, ``tracking_over``, ...) in ``constraints``, with aliases for prefixes
  (``wash`` is both wash groups).

A user adds terms (`CvxpyModel.add_objective`) and constraint groups
(`CvxpyModel.add_constraints`), changes weights (`CvxpyModel.set_weight`) and
solves with any cvxpy solver (`CvxpyModel.solve`: HiGHS for LP/MILP, Clarabel for
QP/conic problems by default). The solution goes through taxopt's own decoder and
audit, and the result says which user constraints bind.

Re-solving cheaply
------------------
All of the household's numbers (bounds, row coefficients and bounds, objective
coefficients, the data inside the derived expressions) and every weight are
cvxpy Parameters; the structure (variables, sparsity, integrality, names) is
compiled once. A weight change, new targets (`taxopt.api.with_targets`) or new
prices (`Household.with_prices`, via `CvxpyModel.update`) then only load new
parameter values, and cvxpy reuses its compiled problem.

Measured (median of 9 runs, one thread, cvxpy 1.9.3, HiGHS 1.16, Clarabel 0.11; the
wall time of `CvxpyModel.solve`, decode and audit included; ``python
examples/resolve_after_price_shock.py`` prints its own numbers):

| household, program | first solve (compiling) | weight change | price shock |
|---|---|---|---|
| three_account_location, MILP (HiGHS) | 94 ms (58 ms) | 43 ms (2 ms) | 14 + 40 ms |
| same, integers fixed (LP) | 76 ms (58 ms) | 19 ms (2 ms) | 26 + 22 ms |
| direct_indexing_500 (6,515 vars), fixed | 407 ms (146 ms) | 204 ms (31 ms) | 99 + 310 ms |

A price shock is `update` (taxopt's program rebuilt, Parameters loaded; with fixed
integers it also re-solves taxopt's MILP for them) plus the solve. What is left of
a re-solve is the solver itself: HiGHS's MILP through cvxpy takes about 35 ms on the
typical household where taxopt's direct path (LP first, then branching) takes 20 ms
for the whole pipeline, and 6 s against 60 ms on direct_indexing_500 (500 wash-sale
binaries); fix the integers there.

Integer variables
-----------------
The program has binaries (wash-sale groups, the Schedule D netting piece, a
carryforward piece, forced lot order). HiGHS solves the mixed-integer LP through
cvxpy. For a QP or conic objective (e.g. a risk term) with a continuous solver,
call `CvxpyModel.fix_integers` first: it fixes every integer variable at the
optimum of taxopt's own MILP (HiGHS, direct) and makes the rest continuous.
A program with the quadratic tracking term (``tracking="quadratic"``) starts with
its integers fixed, as the engine solves it: they are chosen on the linear program
with the L1 stand-in, then the QP is solved with them fixed (HiGHS's QP solver).
"""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..adapters.base import Solution, Status
from ..adapters.cvxpy_adapter import SPARSE_WARNING, CvxpyProgram, Rows, data_of, widen
from ..adapters.cvxpy_adapter import run as run_cvxpy
from ..adapters.cvxpy_adapter import solver_options as solver_options_of
from ..engine import Result, with_relief
from ..errors import SolverError, TaxoptError
from ..model.builder import RebalanceModel
from ..options import Options
from .labelled import Labelled
from .pipeline import finish, solve_options

if TYPE_CHECKING:
    from ..audit import Assessment  # noqa: F401  (names in Result's fields, for the docs)
    from ..decode.rounding import RoundedTrades
    from ..domain.household import Household
    from ..plan.orders import Orders  # noqa: F401

Expr = Any
"""A cvxpy expression (cvxpy's own classes are not precisely typed)."""

ConstraintSource = Callable[["CvxpyModel"], Iterable[Any]] | Iterable[Any]
ObjectiveSource = Callable[["CvxpyModel"], Any] | Any

ACTIVE_RTOL = 1e-6
"""A constraint entry is active when its slack is below this share of its size (min 1)."""
DUAL_TOL = 1e-9
"""An active entry binds when its dual exceeds this (dollars of objective per unit)."""



# --------------------------------------------------------------------------- the numbers

@dataclass(frozen=True, slots=True, eq=False)
class _Spec:
    """One program's numbers, in the shape the cvxpy model loads them."""

    n: int
    blocks: tuple[tuple[str, int, int], ...]
    integer: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    rows: dict[str, Rows]
    terms: dict[str, tuple[np.ndarray, float]]
    quadratic: dict[str, tuple[np.ndarray, np.ndarray]]   # name -> (indices, F), F'F = Q
    affine: dict[str, tuple[sp.csr_matrix, np.ndarray]]
    goal_value: np.ndarray
    account_value: np.ndarray
    labels: tuple[object, ...]      # what the variables and rows stand for (see `_labels`)

    def structure(self) -> tuple[object, ...]:
        """What the compiled cvxpy problem depends on besides parameter values."""
        lb_fin, ub_fin = np.isfinite(self.lb), np.isfinite(self.ub)
        rows = tuple((name, r.A.shape, np.isfinite(r.lo).tobytes(), np.isfinite(r.hi).tobytes(),
                      (np.isfinite(r.lo) & (r.lo == r.hi)).tobytes())
                     for name, r in self.rows.items())
        return (self.n, self.blocks, self.integer.tobytes(), lb_fin.tobytes(), ub_fin.tobytes(),
                rows, tuple(self.terms),
                tuple((k, idx.tobytes()) for k, (idx, _) in self.quadratic.items()))


def _labels(model: RebalanceModel) -> tuple[object, ...]:
    """A cheap key of what each position means (ids and index maps), for `_compatible`."""
    ctx = model.context
    assert ctx is not None
    hh, lay = model.household, ctx.layout
    maps = (lay.unit_account, lay.unit_security, lay.unit_lot, lay.buy_account,
            lay.buy_security, lay.pos_account, lay.pos_security)
    return (hh.accounts.account_id, hh.securities.symbol, hh.lots.lot_id, hh.goals.goal_id,
            hh.classes, tuple(a.tobytes() for a in maps))


def _indexes(model: RebalanceModel) -> dict[str, pd.Index]:
    ctx = model.context
    assert ctx is not None
    hh, lay = model.household, ctx.layout
    aid = np.array(hh.accounts.account_id, dtype=object)
    sym = np.array(hh.securities.symbol, dtype=object)
    lot_ids = np.array(hh.lots.lot_id, dtype=object) if len(hh.lots) else np.zeros(0, object)
    unit_lot = np.array([lot_ids[i] if i >= 0 else "" for i in lay.unit_lot], dtype=object)
    classes = list(hh.classes)
    return {
        "sell": pd.MultiIndex.from_arrays(
            [aid[lay.unit_account], sym[lay.unit_security], unit_lot],
            names=["account_id", "symbol", "lot_id"]),
        "buy": pd.MultiIndex.from_arrays([aid[lay.buy_account], sym[lay.buy_security]],
                                         names=["account_id", "symbol"]),
        "holdings": pd.MultiIndex.from_arrays([aid[lay.pos_account], sym[lay.pos_security]],
                                              names=["account_id", "symbol"]),
        "account": pd.Index(list(aid), name="account_id"),
        "account_class": pd.MultiIndex.from_product([list(aid), classes],
                                                    names=["account_id", "asset_class"]),
        "goal": pd.Index(list(hh.goals.goal_id), name="goal_id"),
        "goal_class": pd.MultiIndex.from_product([list(hh.goals.goal_id), classes],
                                                 names=["goal_id", "asset_class"]),
    }


def _spec(model: RebalanceModel, fixed: np.ndarray | None) -> _Spec:
    prog = model.program
    ctx = model.context
    assert ctx is not None
    if fixed is not None:
        count = int(prog.integrality().sum())
        if len(fixed) != count:
            raise TaxoptError("the fixed integer values no longer match the program's "
                              f"{count} integer variables; call fix_integers() again")
        prog = prog.with_integers_fixed(fixed)
    d = data_of(prog.quadratic_stage())   # quadratic terms replace their linear stand-ins
    affine = {name: (widen(a.M, d.n), a.c.copy()) for name, a in
              (("holdings", ctx.holdings), ("cash", ctx.cash),
               ("account_class", ctx.account_class), ("goal_class", ctx.goal_class))}
    return _Spec(d.n, tuple((b.name, b.start, b.size) for b in prog.vars.values()),
                 d.integer, d.lb, d.ub, d.rows, d.terms, d.quadratic, affine,
                 ctx.layout.goal_value.copy(), ctx.layout.account_value.copy(), _labels(model))


def _same_matrix(a: sp.csr_matrix, b: sp.csr_matrix) -> bool:
    return (a.shape == b.shape and a.nnz == b.nnz and np.array_equal(a.indptr, b.indptr)
            and np.array_equal(a.indices, b.indices) and np.array_equal(a.data, b.data))


# ------------------------------------------------------------------------ the named pieces

@dataclass(slots=True, eq=False)
class ObjectiveTerm:
    """One named objective term: ``weight * expr``, in dollars.

    Attributes
    ----------
    name
        The term's name (``tax``, ``tracking``, ... or a user's).
    expr
        The unweighted cvxpy expression (for built-in terms ``coef @ x + constant``
        with the coefficients as Parameters); usable in user constraints.
    user
        True for terms added with `CvxpyModel.add_objective`.
    """

    name: str
    expr: Expr
    user: bool
    _model: CvxpyModel = field(repr=False)

    @property
    def weight(self) -> float:
        """The term's weight; setting it changes a Parameter (no recompilation)."""
        return self._model.weight(self.name)

    @weight.setter
    def weight(self, value: float) -> None:
        self._model.set_weight(self.name, value)

    @property
    def value(self) -> float | None:
        """``weight * expr`` at the last solve."""
        v = _value(self.expr)
        return None if v is None else float(self.weight * float(v))


@dataclass(slots=True, eq=False)
class ConstraintGroup:
    """A named list of cvxpy constraints.

    Attributes
    ----------
    name
        The group's name (a program row block such as ``cash``, ``bands``,
        ``tolerance``, ``wash_sell``; ``bounds``; or a user's).
    constraints
        The cvxpy constraints (vector constraints count one row per entry).
    labels
        Built-in groups: one label per row of the program's block, in words (the
        constraints split the rows into ``==``, ``>=`` and ``<=`` parts;
        `CvxpyModel.constraint_rows` labels each entry). None for user groups.
    user
        True for groups added with `CvxpyModel.add_constraints`.
    tol
        User groups: how far (in the constraint's own units) the rounded plan may
        cross them; None means ``1e-6`` of the constraint's size (at least 1).
    """

    name: str
    constraints: list[Any]
    labels: list[str] | None = None
    user: bool = False
    tol: float | None = None

    def __iter__(self) -> Iterator[Any]:
        return iter(self.constraints)

    def __len__(self) -> int:
        return len(self.constraints)


@dataclass(slots=True, eq=False)
class _UserTerm:
    source: ObjectiveSource
    weight: float
    expr: Expr = None
    param: Any = None
    epigraph: Any = None


@dataclass(slots=True, eq=False)
class _UserGroup:
    source: ConstraintSource
    tol: float | None
    constraints: list[Any] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class EmbeddedResult(Result):
    """A `taxopt.Result` from `CvxpyModel.solve`, with what the embedding adds.

    Attributes
    ----------
    binding
        Names of the user constraint groups that bind at the solution: some entry
        is active (no slack) with a nonzero dual. A MILP has no duals: they come
        from the LP with the integer variables fixed at the solution (solved when
        there are user groups, or with ``solve(duals=True)``); without duals, an
        active entry counts as binding.
    constraint_report
        One row per constraint group (user and built-in), indexed by name: ``user``,
        ``rows``, ``active`` (entries without slack), ``binding``, ``min_slack``,
        ``max_abs_dual`` (NaN without duals).
    objective_terms
        Each term's weighted value at the solution, built-in and user terms.
    compiled
        Whether this solve compiled the cvxpy problem (False: cvxpy's cache was hit
        and only parameter values were loaded).
    """

    binding: list[str] = field(default_factory=list)
    constraint_report: pd.DataFrame | None = None
    objective_terms: dict[str, float] = field(default_factory=dict)
    compiled: bool = True

    def summary(self, timings: bool = False) -> dict[str, Any]:
        """`Result.summary`, with weighted user terms and the user constraints' report."""
        rec = Result.summary(self, timings)
        if self.objective_terms:
            rec["objective"] = {k: round(v, 2) + 0.0 for k, v in self.objective_terms.items()}
        if self.constraint_report is not None and self.constraint_report["user"].any():
            user = self.constraint_report[self.constraint_report["user"]]
            rec["user_constraints"] = {
                str(name): {"rows": int(row["rows"]), "active": int(row["active"]),
                            "binding": bool(row["binding"])}
                for name, row in user.iterrows()}
        return rec


# ------------------------------------------------------------------------------ the model

class CvxpyModel:
    """One household's rebalancing program as named, re-weightable cvxpy pieces.

    Create it with ``taxopt.build(hh).cvxpy()`` (or ``CvxpyModel(model)``), keep it,
    and solve it as often as needed; see the module documentation.

    Parameters
    ----------
    model
        A built `taxopt.RebalanceModel`.
    fixed_integers
        Start with the integer variables fixed at these values (see `fix_integers`).

    Examples
    --------
    >>> m = taxopt.build(hh).cvxpy()                                   # doctest: +SKIP
    >>> m.add_constraints("no_reit", lambda m: [m.buy.where(symbol="VNQ").sum() <= 0])
    ... # doctest: +SKIP
    >>> m.set_weight("tax", 2.0)                                       # doctest: +SKIP
    >>> res = m.solve()                                                # doctest: +SKIP
    >>> res.binding, taxopt.plan_of(res).trades                        # doctest: +SKIP
    """

    def __init__(self, model: RebalanceModel, *,
                 fixed_integers: np.ndarray | None = None) -> None:
        self.model = model
        self.compilations = 0
        """How many times a cvxpy problem was built for this model."""
        self._weights: dict[str, float] = {}
        self._user_terms: dict[str, _UserTerm] = {}
        self._user_groups: dict[str, _UserGroup] = {}
        self._fix_mode: Literal["solve", "given"] | None = None
        self._fixed: np.ndarray | None = None
        self._cp: CvxpyProgram | None = None
        self._problem: Any = None
        self._retired: set[int] = set()   # ids of earlier variable vectors
        self._x: Any = None
        self._twin: CvxpyModel | None = None
        self._last_duals: dict[str, list[Any]] | None = None
        if fixed_integers is not None:
            self._fix_mode = "given"
            self._fixed = np.round(np.asarray(fixed_integers, dtype=float))
        elif model.program.quadratic and model.program.is_mip:
            # A QP with integers is a MIQP, which no default solver takes: as in the
            # engine, the integers are those of the linear stage (see `fix_integers`).
            self._fix_mode = "solve"
            self._fixed = self._solve_integers(model)
        self._spec = _spec(model, self._fixed)
        self._build_variables()

    # ------------------------------------------------------------------ building
    def _build_variables(self) -> None:
        """Declare the variable and Parameters for the current spec (structure)."""
        import cvxpy as cp
        from cvxpy.atoms.affine.binary_operators import multiply

        s = self._spec
        if self._x is not None:
            self._retired.add(int(self._x.id))
        self._cp = CvxpyProgram(s, self._cp.patterns if self._cp is not None else None)
        x = self._x = self._cp.x
        self._bound_entries = self._cp.bounds
        self._groups: dict[str, ConstraintGroup] = {
            "bounds": ConstraintGroup("bounds", [c for c, _, _ in self._bound_entries])}
        self._row_entries = self._cp.rows
        for name, r in s.rows.items():
            self._groups[name] = ConstraintGroup(
                name, [c for c, _, _ in self._row_entries[name]], r.labels)
        self._aliases: dict[str, list[str]] = {}
        for prefix in sorted({k.split("_")[0] for k in s.rows if "_" in k}):
            if prefix not in self._groups:
                self._aliases[prefix] = [k for k in s.rows if k.startswith(prefix + "_")]
        self._alias_groups()
        self._terms: dict[str, ObjectiveTerm] = {}
        for name, expr in self._cp.terms.items():
            self._terms[name] = ObjectiveTerm(name, expr, False, self)
            self._weights.setdefault(name, 1.0)

        ix = _indexes(self.model)
        self._p_affine: dict[str, Any] = {k: cp.Parameter(len(c)) for k, (_, c) in
                                          s.affine.items()}
        K = len(self.model.household.classes)
        self._p_goal_value: Any = cp.Parameter(len(s.goal_value))
        self._p_account_value: Any = cp.Parameter(len(s.account_value))
        self._p_inv_goal: Any = cp.Parameter(len(s.goal_value) * K, nonneg=True)
        self._p_goal_weight0: Any = cp.Parameter(len(s.goal_value) * K)
        self.sell = Labelled(x[slice(*self._block("sell"))], ix["sell"])
        """Dollars sold per lot (taxable accounts) or per position (elsewhere)."""
        self.buy = Labelled(x[slice(*self._block("buy"))], ix["buy"])
        """Dollars bought per account and symbol (only pairs a buy is allowed for)."""
        self.holdings_after = Labelled(self._affine("holdings"), ix["holdings"])
        """Dollars held per account and symbol after the trades."""
        self.cash_after = Labelled(self._affine("cash"), ix["account"])
        """Cash per account after the trades and the cash flows."""
        self.account_class_value = Labelled(self._affine("account_class"), ix["account_class"])
        """Dollars per account and asset class after the trades (cash is a class)."""
        self.goal_class_value = Labelled(self._affine("goal_class"), ix["goal_class"])
        """Dollars per goal and asset class after the trades."""
        self.goal_class_weight = Labelled(
            multiply(self._p_inv_goal, s.affine["goal_class"][0] @ x) + self._p_goal_weight0,
            ix["goal_class"])
        """Share of each goal's value per asset class after the trades (trades keep the
        goal's value)."""
        self.goal_value = Labelled(self._p_goal_value, ix["goal"])
        """Each goal's value (data: a Parameter)."""
        self.account_value = Labelled(self._p_account_value, ix["account"])
        """Each account's value after its cash flow (data: a Parameter)."""
        self._load()
        for name, ut in self._user_terms.items():
            self._realize_term(name, ut)
        for name, ug in self._user_groups.items():
            self._realize_group(name, ug)
        self._problem = None
        self._twin = None

    def _alias_groups(self) -> None:
        """Groups named by a prefix of several row blocks (``wash``: both wash groups)."""
        for prefix, members in self._aliases.items():
            labels = [lab for k in members for lab in (self._groups[k].labels
                                                        or [f"{k}[{i}]" for i in
                                                            range(self._spec.rows[k].A.shape[0])])]
            self._groups[prefix] = ConstraintGroup(
                prefix, [c for k in members for c in self._groups[k].constraints], labels)

    def _check_rebuildable(self) -> None:
        """Raise before a structural rebuild if a user piece cannot be rebuilt."""
        for name, ut in self._user_terms.items():
            if not callable(ut.source):
                raise TaxoptError(f"objective {name!r} was given as an expression; pass a "
                                  "callable (lambda m: ...) so it can be rebuilt when the "
                                  "model's structure changes (fix_integers, a structural update)")
        for name, ug in self._user_groups.items():
            if not callable(ug.source):
                raise TaxoptError(f"constraints {name!r} were given as a list; pass a callable "
                                  "(lambda m: [...]) so they can be rebuilt when the model's "
                                  "structure changes (fix_integers, a structural update)")

    def _block(self, name: str) -> tuple[int, int]:
        for b, start, size in self._spec.blocks:
            if b == name:
                return start, start + size
        raise KeyError(name)

    def _affine(self, name: str) -> Any:
        M = self._spec.affine[name][0]
        return M @ self._x + self._p_affine[name]

    def _load(self) -> None:
        """Load the spec's numbers into the Parameters."""
        s = self._spec
        assert self._cp is not None
        self._cp.load(s, self._weights)
        for name, r in s.rows.items():
            self._groups[name].labels = r.labels
        self._alias_groups()
        for name, (_, c) in s.affine.items():
            self._p_affine[name].value = c
        K = len(self.model.household.classes)
        gv = np.repeat(s.goal_value, K)
        inv = np.divide(1.0, gv, out=np.zeros_like(gv), where=gv > 0)
        self._p_goal_value.value = s.goal_value
        self._p_account_value.value = s.account_value
        self._p_inv_goal.value = inv
        self._p_goal_weight0.value = s.affine["goal_class"][1] * inv

    def _load_objective(self) -> None:
        assert self._cp is not None
        self._cp.load_objective(self._spec, self._weights)

    def _stale(self, expr: Any) -> bool:
        """Whether ``expr`` uses the variable vector of an earlier compilation."""
        return any(int(v.id) in self._retired for v in expr.variables())

    def _realize_term(self, name: str, ut: _UserTerm) -> None:
        import cvxpy as cp

        raw = ut.source(self) if callable(ut.source) else ut.source
        expr = raw if isinstance(raw, cp.Expression) else cp.Constant(raw)
        if self._stale(expr):
            raise TaxoptError(f"objective {name!r} was given as an expression over an earlier "
                              "compilation's variables; pass a callable (lambda m: ...) so it "
                              "is rebuilt when the model's structure changes")
        if expr.size != 1:
            raise ValueError(f"objective {name!r} must be a scalar expression, got shape "
                             f"{expr.shape}")
        if not expr.is_convex():
            raise ValueError(f"objective {name!r} is not convex; terms are minimized, so give "
                             "a convex expression (negate a concave one)")
        affine = expr.is_affine()
        if not affine and ut.weight < 0:
            raise ValueError(f"objective {name!r} is not affine: its weight must be >= 0")
        ut.expr = expr
        ut.param = cp.Parameter(nonneg=not affine, value=ut.weight)
        ut.epigraph = None
        if expr.parameters():
            # ``weight * expr`` would multiply two parameters (not DPP); an epigraph
            # variable keeps the weight a Parameter and the problem DPP.
            t = cp.Variable(name=f"epigraph_{name}")
            ut.epigraph = (t, (t == expr) if affine else (expr <= t))

    def _realize_group(self, name: str, ug: _UserGroup) -> None:
        raw = ug.source(self) if callable(ug.source) else ug.source
        cons = list(raw) if isinstance(raw, Iterable) else [raw]
        for c in cons:
            if not hasattr(c, "dual_value"):
                raise TypeError(f"constraint group {name!r}: {c!r} is not a cvxpy constraint")
            if self._stale(c):
                raise TaxoptError(f"constraints {name!r} were given over an earlier "
                                  "compilation's variables; pass a callable (lambda m: [...]) "
                                  "so they are rebuilt when the model's structure changes")
        ug.constraints = cons
        self._groups[name] = ConstraintGroup(name, cons, None, True, ug.tol)

    @property
    def problem(self) -> Any:
        """The `cvxpy.Problem` (built on first use, kept while the structure holds)."""
        import cvxpy as cp

        if self._problem is None:
            assert self._cp is not None
            obj = self._cp.objective
            cons: list[Any] = []
            for g in self._groups.values():
                if g.name in self._spec.rows or g.name == "bounds" or g.user:
                    cons.extend(g.constraints)
            for ut in self._user_terms.values():
                if ut.epigraph is not None:
                    t, c = ut.epigraph
                    obj = obj + ut.param * t
                    cons.append(c)
                else:
                    obj = obj + ut.param * ut.expr
            self._problem = cp.Problem(cp.Minimize(obj), cons)
            self.compilations += 1
        return self._problem

    # ------------------------------------------------------------------ public pieces
    @property
    def x(self) -> Expr:
        """The whole program's variable vector (in `taxopt.model.program.Program` order)."""
        return self._x

    @property
    def household(self) -> Household:
        """The household the parameters currently hold."""
        return self.model.household

    @property
    def terms(self) -> dict[str, ObjectiveTerm]:
        """Objective terms by name, built-in first, then the user's."""
        out = dict(self._terms)
        for name, ut in self._user_terms.items():
            out[name] = ObjectiveTerm(name, ut.expr, True, self)
        return out

    @property
    def constraints(self) -> dict[str, ConstraintGroup]:
        """Constraint groups by name: ``bounds``, the program's row blocks, prefix
        aliases (``wash``, ``tracking``, ...) and the user's groups."""
        return dict(self._groups)

    @property
    def variables(self) -> dict[str, Labelled]:
        """The program's variable blocks by name (``sell``, ``buy``, ``dev``, ``wash``,
        ``tax_total``, ...), labelled by position within the block except sell and buy."""
        out: dict[str, Labelled] = {"sell": self.sell, "buy": self.buy}
        for name, start, size in self._spec.blocks:
            if name not in out:
                out[name] = Labelled(self._x[start:start + size],
                                     pd.RangeIndex(size, name=name))
        return out

    def weight(self, name: str) -> float:
        """The weight of objective term ``name``."""
        if name in self._user_terms:
            return self._user_terms[name].weight
        if name in self._spec.terms or name in self._spec.quadratic:
            return self._weights.get(name, 1.0)
        raise KeyError(f"no objective term {name!r}; terms are {list(self.terms)}")

    def set_weight(self, name: str, weight: float) -> None:
        """Set the weight of an objective term (built-in or user); no recompilation.

        Built-in weights multiply the term as the options built it (``tracking``
        already carries ``tracking_weight``); 1.0 is the model as built.
        """
        w = float(weight)
        if not np.isfinite(w):
            raise ValueError(f"weight of {name!r} must be finite, got {weight!r}")
        if name in self._user_terms:
            ut = self._user_terms[name]
            if w < 0 and ut.param is not None and ut.param.is_nonneg():
                raise ValueError(f"objective {name!r} is not affine: its weight must be >= 0")
            ut.weight = w
            if ut.param is not None:
                ut.param.value = w
            return
        if name not in self._spec.terms and name not in self._spec.quadratic:
            raise KeyError(f"no objective term {name!r}; terms are {list(self.terms)}")
        if name in self._spec.quadratic and w < 0:
            raise ValueError(f"objective {name!r} is quadratic: its weight must be >= 0")
        self._weights[name] = w
        self._load_objective()

    def add_objective(self, name: str, expr: ObjectiveSource, weight: float = 1.0) -> None:
        """Add a named term ``weight * expr`` to the minimized objective.

        Parameters
        ----------
        name
            A new name (not a built-in term's).
        expr
            A convex scalar cvxpy expression in dollars, or a callable
            ``f(model) -> expression`` (preferred: it is rebuilt if the model's
            structure changes, e.g. after `fix_integers` or a structural `update`).
        weight
            Its weight; change it later with `set_weight` without recompiling.
        """
        if name in self._terms or name in self._user_terms:
            raise ValueError(f"objective term {name!r} exists; use set_weight or remove")
        ut = _UserTerm(expr, float(weight))
        self._realize_term(name, ut)
        self._user_terms[name] = ut
        self._problem = None
        self._twin = None

    def add_constraints(self, name: str, constraints: ConstraintSource,
                        tol: float | None = None) -> None:
        """Add a named group of constraints, like skfolio's custom constraints.

        Parameters
        ----------
        name
            A new group name.
        constraints
            A callable ``f(model) -> list of cvxpy constraints`` (preferred: rebuilt
            when the structure changes), or the list itself.
        tol
            How far (in the constraint's own units) whole-share rounding may cross
            the group; a plan crossing it further is repaired once, then refused.
            None: ``1e-6`` of the constraint's size.

        Notes
        -----
        The plan is rounded to whole shares by taxopt's decoder, which knows only the
        built-in rules; user groups are checked on the rounded plan (the model's other
        variables at their solved values). Quick rounding sells up and buys down, so
        exclusions and caps on purchases or on a class usually survive it; when a
        group (or a built-in rule) is crossed, the repair re-solves in whole shares
        near the solution and the groups are checked again; a plan still crossing
        one is refused (an ``error`` result listing the violations).
        """
        if name in self._groups:
            raise ValueError(f"constraint group {name!r} exists; remove it first")
        ug = _UserGroup(constraints, tol)
        self._realize_group(name, ug)
        self._user_groups[name] = ug
        self._problem = None
        self._twin = None

    def remove(self, name: str) -> None:
        """Remove a user objective term or constraint group."""
        if name in self._user_terms:
            del self._user_terms[name]
        elif name in self._user_groups:
            del self._user_groups[name]
            del self._groups[name]
        else:
            raise KeyError(f"no user term or constraint group {name!r}")
        self._problem = None
        self._twin = None

    # ------------------------------------------------------------------ data and structure
    def fix_integers(self, values: np.ndarray | None = None) -> np.ndarray:
        """Fix every integer variable, making the program continuous (for QP/conic solvers).

        Parameters
        ----------
        values
            One value per integer variable in program order; None solves taxopt's
            own MILP (HiGHS, direct, without the user's terms and constraints) and
            fixes them at its optimum, again after each `update`.

        Returns
        -------
        numpy.ndarray
            The values fixed.
        """
        prog = self.model.program
        ints = np.flatnonzero(prog.integrality())
        if values is None:
            vals = self._solve_integers(self.model)
            mode: Literal["solve", "given"] = "solve"
        else:
            vals = np.round(np.asarray(values, dtype=float))
            if vals.shape != ints.shape:
                raise ValueError(f"expected {len(ints)} integer values, got {vals.shape}")
            mode = "given"
        self._check_rebuildable()
        self._fix_mode, self._fixed = mode, vals
        self._spec = _spec(self.model, vals)
        self._build_variables()
        return vals

    def unfix_integers(self) -> None:
        """Undo `fix_integers`: the integer variables are integer again."""
        self._check_rebuildable()
        self._fix_mode, self._fixed = None, None
        self._spec = _spec(self.model, None)
        self._build_variables()

    @staticmethod
    def _solve_integers(model: RebalanceModel) -> np.ndarray:
        from ..adapters import choose_integers

        prog = model.program
        ints = np.flatnonzero(prog.integrality())
        if not len(ints):
            return np.zeros(0)
        sol = choose_integers(prog, model.options.replace(adapter="highs"))
        if not sol.status.has_solution:
            raise SolverError(f"household {model.household.household_id}: taxopt's own MILP "
                              f"has no solution ({sol.status}: {sol.message}); cannot fix "
                              "its integer variables")
        return np.round(sol.x[ints])

    def update(self, household: Household) -> bool:
        """Load a changed household (new prices, targets, cash...) into the Parameters.

        The program is rebuilt by taxopt's model (numpy only) with the same terms
        and constraints; when its structure is unchanged only Parameter values
        change and the next solve skips compilation.

        Parameters
        ----------
        household
            The same household with new data, e.g. ``hh.with_prices({...})`` or
            `taxopt.api.with_targets`.

        Returns
        -------
        bool
            True when the structure changed and the cvxpy problem was rebuilt (e.g. a
            lot crossed its basis and joined a wash-sale row); user pieces given as
            callables are rebuilt, those given as expressions raise `TaxoptError`.
        """
        old = self.model
        model = RebalanceModel(household, old.options, terms=list(old.terms),
                               constraints=list(old.constraints),
                               late_constraints=list(old.late_constraints))
        model.compile()
        fixed = self._solve_integers(model) if self._fix_mode == "solve" else self._fixed
        spec = _spec(model, fixed)
        compatible = self._compatible(spec)
        if not compatible:
            self._check_rebuildable()
        self.model = model
        if self._fix_mode == "solve":
            self._fixed = fixed
        self._spec = spec
        if compatible:
            self._load()
            return False
        self._build_variables()
        return True

    def _compatible(self, new: _Spec) -> bool:
        old = self._spec
        if old.structure() != new.structure():
            return False
        for name, r in new.rows.items():
            if self._cp is None or not self._cp.matrices[name].fits(r.A):
                return False
        if any(not _same_matrix(old.affine[k][0], new.affine[k][0]) for k in old.affine):
            return False
        return old.labels == new.labels

    # ------------------------------------------------------------------ solving
    def default_solver(self) -> str:
        """HiGHS for linear programs (integer or not), Clarabel otherwise."""
        linear = all(ut.expr.is_affine() for ut in self._user_terms.values()) and all(
            all(a.is_affine() for a in c.args) and _kind(c) in ("le", "eq")
            for ug in self._user_groups.values() for c in ug.constraints)
        if linear and not (self._spec.quadratic and len(self._spec.integer)):
            return "HIGHS"   # LP, MILP, or with the built-in quadratic terms a QP
        if len(self._spec.integer):
            raise TaxoptError("the model has integer variables and a nonlinear term or "
                              "constraint: call fix_integers() first, or name a mixed-integer "
                              "conic solver")
        return "CLARABEL"

    def solve(self, solver: str | None = None, *, duals: bool | None = None,
              **solver_options: Any) -> EmbeddedResult:
        """Solve with a cvxpy solver, then decode, audit and report binding constraints.

        Parameters
        ----------
        solver
            A cvxpy solver name; `default_solver` when None.
        duals
            For a mixed-integer program (no duals), also solve the LP with the integer
            variables fixed at the solution, for the duals of the constraint report.
            None: only when there are user constraint groups.
        **solver_options
            Passed to ``cvxpy.Problem.solve`` (override taxopt's defaults: for HiGHS
            ``time_limit``, ``threads=1``, ``mip_rel_gap``; for Clarabel ``time_limit``).

        Returns
        -------
        EmbeddedResult
            Audited like `taxopt.rebalance`'s, with ``binding``,
            ``constraint_report``, ``objective_terms`` and ``compiled``.
        """
        import cvxpy as cp

        name = (solver or self.default_solver()).upper()
        opts = solve_options(self.model, {"adapter": "cvxpy", "solver": name})
        n, ints = self._spec.n, self._spec.integer
        try:
            run = run_cvxpy(self.problem, name, {**solver_options_of(name, opts, bool(len(ints))),
                                                 **solver_options})
        except cp.error.SolverError as err:
            sol = Solution(Status.ERROR, np.zeros(n), float("nan"), "cvxpy", name,
                           _cvxpy_version(), message=str(err).splitlines()[0])
            return self._embed(finish(self.model, sol, opts, {}), compiled=True)
        status = run.status if self._x.value is not None or not run.status.has_solution \
            else Status.ERROR
        x = np.asarray(self._x.value, dtype=float) if status.has_solution else np.zeros(n)
        if status.has_solution and len(ints):
            x[ints] = np.round(x[ints])
        sol = Solution(status, x, run.objective, "cvxpy", run.solver, _cvxpy_version(), None,
                       run.seconds, run.message)
        timings = {"compile": run.compile_seconds, "solve": run.seconds}
        compiled = run.compiled
        report, terms = None, {}
        if status.has_solution:
            terms = self.objective_values(x)
            dual_of = None
            if len(ints) and (duals if duals is not None else bool(self._user_groups)):
                t0 = time.perf_counter()
                twin = self._fixed_twin(x[ints], opts)
                if twin is not None:
                    dual_of, twin_compiled = twin
                    compiled = compiled or twin_compiled
                timings["duals"] = time.perf_counter() - t0
            self._last_duals = dual_of
            report = self.constraint_report(dual_of)
        res = finish(self.model, sol, opts, timings,
                     check=self._user_check(x) if self._user_groups else None,
                     repair_model=lambda: self._repair_model(sol, opts))
        res = with_relief(res, opts, lambda model, o: self._solve_free(model, name,
                                                                       solver_options))
        if status == Status.INFEASIBLE and not res.reasons and self._user_groups:
            res.message = ("infeasible with the user constraints "
                           f"({', '.join(self._user_groups)}); the model's own rules can "
                           "hold without them")
        out = self._embed(res, compiled=compiled)
        out.constraint_report = report
        out.objective_terms = terms
        if report is not None:
            user = report[report["user"] & report["binding"]]
            out.binding = [str(g) for g in user.index]
        return out

    def _solve_free(self, model: RebalanceModel, solver: str,
                    solver_options: dict[str, Any]) -> Result | None:
        """``model`` (this one without its forced lot order) with this model's weights
        and user pieces, solved with the same solver; None when a user piece cannot be
        rebuilt on it (given as an expression, not a callable)."""
        if not all(callable(u.source) for u in self._user_terms.values()) or not all(
                callable(g.source) for g in self._user_groups.values()):
            return None
        free = CvxpyModel(model)
        for name, w in self._weights.items():
            if name in free._spec.terms or name in free._spec.quadratic:
                free.set_weight(name, w)
        for name, ut in self._user_terms.items():
            free.add_objective(name, ut.source, ut.weight)
        for name, ug in self._user_groups.items():
            free.add_constraints(name, ug.source, ug.tol)
        return free.solve(solver, duals=False, **solver_options)

    def _fixed_twin(self, values: np.ndarray, opts: Options
                    ) -> tuple[dict[str, list[Any]], bool] | None:
        """Duals from the LP with the integer variables fixed at ``values``.

        The twin model is kept (its cvxpy problem compiles once); it follows this
        model's data, weights and user pieces. None when a user piece is not a
        callable (it cannot be rebuilt on the twin) or the LP fails.
        """
        import cvxpy as cp

        if not all(callable(u.source) for u in self._user_terms.values()) or not all(
                callable(g.source) for g in self._user_groups.values()):
            return None
        twin = self._twin
        if twin is None:
            twin = CvxpyModel(self.model, fixed_integers=values)
            for name, ut in self._user_terms.items():
                twin.add_objective(name, ut.source, ut.weight)
            for name, ug in self._user_groups.items():
                twin.add_constraints(name, ug.source, ug.tol)
            self._twin = twin
        else:
            twin.model, twin._fixed = self.model, values
            spec = _spec(self.model, values)
            compatible = twin._compatible(spec)
            twin._spec = spec
            if compatible:
                twin._load()
            else:
                twin._build_variables()
        twin._weights = dict(self._weights)
        twin._load_objective()
        for name, ut in self._user_terms.items():
            twin.set_weight(name, ut.weight)
        name = twin.default_solver()
        try:
            run = run_cvxpy(twin.problem, name, solver_options_of(name, opts, False))
        except cp.error.SolverError:
            return None
        if not run.status.has_solution:
            return None
        return ({g: [c.dual_value for c in grp.constraints] for g, grp in twin._groups.items()},
                run.compiled)

    @staticmethod
    def _embed(res: Result, compiled: bool) -> EmbeddedResult:
        base = {f.name: getattr(res, f.name) for f in fields(Result)}
        return EmbeddedResult(**base, compiled=compiled)

    def objective_values(self, x: np.ndarray | None = None) -> dict[str, float]:
        """Each term's weighted value in dollars: built-in terms at ``x`` (default: the
        last solve's values), user terms at the last solve."""
        if x is None:
            if self._x.value is None:
                return {}
            x = np.asarray(self._x.value, dtype=float)
        out = {name: float(self._weights.get(name, 1.0) * (coef @ x + k))
               for name, (coef, k) in self._spec.terms.items()}
        for name, (idx, F) in self._spec.quadratic.items():
            out[name] = float(self._weights.get(name, 1.0) * 0.5 * np.sum((F @ x[idx]) ** 2))
        for name, ut in self._user_terms.items():
            v = _value(ut.expr)
            if v is not None:
                out[name] = float(ut.weight * float(v))
        return out

    def _entry_arrays(self, name: str, duals: list[Any] | None, x: np.ndarray,
                      labels: bool) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """Labels (if asked), slack, size and dual of each entry of a group at ``x``.

        Built-in groups are evaluated with numpy from the program's own rows; user
        groups through cvxpy.
        """
        if name in self._aliases:
            parts = [self._entry_arrays(k, None, x, labels) for k in self._aliases[name]]
            return ([lab for p in parts for lab in p[0]], _cat([p[1] for p in parts]),
                    _cat([p[2] for p in parts]), _cat([p[3] for p in parts]))
        if duals is None and self._last_duals is not None:
            duals = self._last_duals.get(name)
        s = self._spec
        out_l: list[str] = []
        out: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

        def dual(k: int, c: Any, size: int) -> np.ndarray:
            d = duals[k] if duals is not None else c.dual_value
            if d is None:
                return np.full(size, np.nan)
            return np.broadcast_to(np.asarray(d, float).reshape(-1), (size,)).copy()

        if name == "bounds" or name in self._row_entries:
            if name == "bounds":
                value, lo, hi = x, s.lb, s.ub
                entries = self._bound_entries
            else:
                r = s.rows[name]
                value, lo, hi = r.A @ x, r.lo, r.hi
                entries = self._row_entries[name]
            for k, (c, idx, kind) in enumerate(entries):
                v = value[idx]
                bound = (hi if kind == "hi" else lo)[idx]
                slack = (bound - v if kind == "hi" else v - bound if kind == "lo"
                         else -np.abs(v - bound))
                out.append((slack, np.maximum(1.0, np.maximum(np.abs(v), np.abs(bound))),
                            dual(k, c, len(idx))))
                if labels:
                    out_l.extend(self._row_label(name, i, kind) for i in idx)
        else:
            for k, c in enumerate(self._groups[name].constraints):
                size = int(np.prod(c.shape)) if c.shape else 1
                sides = _sides(c)
                slack, scale = sides if sides is not None else (np.full(size, np.nan),
                                                                  np.ones(size))
                out.append((slack, scale, dual(k, c, size)))
                if labels:
                    out_l.extend(f"{name}[{k}]" + (f"[{i}]" if size > 1 else "")
                                 for i in range(size))
        return (out_l, _cat([o[0] for o in out]), _cat([o[1] for o in out]),
                _cat([o[2] for o in out]))

    def _row_label(self, name: str, i: int, kind: str) -> str:
        if name == "bounds":
            for b, start, size in self._spec.blocks:
                if start <= i < start + size:
                    return f"{b}[{i - start}] {'>=' if kind == 'lo' else '<='} bound"
        labels = self._spec.rows[name].labels
        return labels[i] if labels else f"{name}[{i}]"

    def _solution(self) -> np.ndarray:
        if self._x.value is None:
            raise TaxoptError("no solution yet: call solve() first")
        return np.asarray(self._x.value, dtype=float)

    def constraint_rows(self, name: str, duals: list[Any] | None = None) -> pd.DataFrame:
        """Per entry of a constraint group at the last solve: ``slack``, ``dual``,
        ``active``, ``binding``, indexed by the row's label in words.

        ``duals`` replaces the solver's duals, one per constraint of the group; by
        default those of the last solve's fixed-integer LP, if it ran.
        """
        if name not in self._groups:
            raise KeyError(f"no constraint group {name!r}; groups are {list(self._groups)}")
        labels, slack, scale, d = self._entry_arrays(name, duals, self._solution(), True)
        active, binding = _activity(slack, scale, d)
        return pd.DataFrame({"slack": slack, "dual": d, "active": active, "binding": binding},
                            index=pd.Index(labels, name="row"))

    def constraint_report(self, duals: dict[str, list[Any]] | None = None) -> pd.DataFrame:
        """One row per constraint group at the last solve (see `EmbeddedResult`).

        ``duals`` (by group name) replaces the solver's duals, e.g. those of the LP
        with the integer variables fixed.
        """
        x = self._solution()
        rows = {}
        for name, g in self._groups.items():
            if name in self._aliases:
                continue  # prefix aliases repeat their members
            _, slack, scale, d = self._entry_arrays(
                name, duals.get(name) if duals is not None else None, x, False)
            active, binding = _activity(slack, scale, d)
            finite = np.isfinite(d)
            rows[name] = {"user": g.user, "rows": len(slack), "active": int(active.sum()),
                          "binding": bool(binding.any()),
                          "min_slack": float(np.nanmin(slack)) if np.isfinite(slack).any()
                          else np.nan,
                          "max_abs_dual": float(np.abs(d[finite]).max()) if finite.any()
                          else np.nan}
        out = pd.DataFrame.from_dict(rows, orient="index")
        out.index.name = "group"
        return out

    def _repair_model(self, sol: Solution, opts: Options) -> RebalanceModel:
        """The model the whole-share repair re-solves, if quick rounding breaks a rule.

        taxopt's repair re-solves its own program in shares over the solution's
        orders; purchases may move anywhere below their bound. Here the purchases
        are boxed to the solution's whole shares (one share either way), the
        built-in terms carry this model's weights and the user's terms enter by
        their gradient at the solution, so the repair rounds the user's optimum
        rather than re-optimizing without the user's terms. (When no rounding in
        that box keeps every rule, taxopt's repair frees the sales.)
        """
        from dataclasses import replace

        from ..decode.rounding import _support
        from ..model.program import VarBlock

        ctx = self.model.context
        assert ctx is not None
        prog, lay = ctx.program, ctx.layout
        sec = self.model.household.securities
        price, frac = sec.price[lay.buy_security], sec.fractional[lay.buy_security]
        _, shares, _, buy_on = _support(self.model, sol, opts)
        step = np.where(frac, 1e-6, 1.0)
        lo = np.where(buy_on, np.floor(shares / step + 1e-9) * step * price, 0.0)
        block = prog.vars["buy"]
        hi = np.minimum(block.ub, np.ceil(shares / step - 1e-9) * step * price)
        # every term (quadratic ones and their stand-ins too) with this model's weights
        boxed = prog.weighted(self._weights)
        boxed.vars["buy"] = VarBlock("buy", block.start, block.size, block.lb.copy(),
                                     np.maximum(hi, 0.0), block.integer)
        rows = sp.csr_matrix((np.ones(block.size), (np.arange(block.size),
                                                     block.start + np.arange(block.size))),
                             shape=(block.size, prog.n))
        boxed.add_rows("embedding_rounding", rows, np.minimum(lo, boxed.vars["buy"].ub),
                       np.inf)
        user = np.zeros(prog.n)
        for ut in self._user_terms.values():   # first order at the solution
            grad = _gradient(ut.expr, self._x)
            if grad is not None:
                user += ut.weight * grad[: prog.n]
        if user.any():
            boxed.terms["user_linearized"] = (user, 0.0)
        return RebalanceModel(self.model.household, self.model.options, self.model.terms,
                              self.model.constraints, self.model.late_constraints,
                              replace(ctx, program=boxed))

    def _user_check(self, x_solved: np.ndarray) -> Callable[[RoundedTrades], list[str]]:
        """The user groups, evaluated on the rounded trades."""
        ctx = self.model.context
        assert ctx is not None
        lay, price = ctx.layout, self.model.household.securities.price
        s0, s1 = self._block("sell")
        b0, b1 = self._block("buy")

        def check(rounded: RoundedTrades) -> list[str]:
            x = x_solved.copy()
            x[s0:s1] = rounded.sell_shares * price[lay.unit_security]
            x[b0:b1] = rounded.buy_shares * price[lay.buy_security]
            if len(self._spec.integer):
                x[self._spec.integer] = np.round(x[self._spec.integer])
            saved = self._x.value
            out: list[str] = []
            try:
                self._x.value = x
                for name, ug in self._user_groups.items():
                    for k, c in enumerate(ug.constraints):
                        out.extend(_crossed(name, k, c, ug.tol))
            finally:
                self._x.value = saved
            return out

        return check


# ------------------------------------------------------------------ constraint arithmetic

@functools.cache
def _cvxpy_version() -> str:
    from importlib.metadata import version

    return version("cvxpy")


def _kind(c: Any) -> str:
    from cvxpy.constraints.nonpos import Inequality, NonNeg, NonPos
    from cvxpy.constraints.zero import Equality, Zero

    if isinstance(c, Inequality | NonPos | NonNeg):
        return "le"
    if isinstance(c, Equality | Zero):
        return "eq"
    return "other"


def _sides(c: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """(slack, size) per entry for linear-style constraints; None for cones."""
    from cvxpy.constraints.nonpos import Inequality, NonNeg, NonPos
    from cvxpy.constraints.zero import Equality

    if isinstance(c, Inequality | Equality):
        lhs, rhs = _value(c.args[0]), _value(c.args[1])
        if lhs is None or rhs is None:
            return None
        lhs_a = np.broadcast_to(np.asarray(lhs, float), c.shape).reshape(-1)
        rhs_a = np.broadcast_to(np.asarray(rhs, float), c.shape).reshape(-1)
        gap = rhs_a - lhs_a if isinstance(c, Inequality) else -np.abs(rhs_a - lhs_a)
        return gap, np.maximum(1.0, np.maximum(np.abs(lhs_a), np.abs(rhs_a)))
    if isinstance(c, NonPos | NonNeg):
        v = _value(c.args[0])
        if v is None:
            return None
        arr = np.asarray(v, float).reshape(-1)
        slack = -arr if isinstance(c, NonPos) else arr
        return slack, np.maximum(1.0, np.abs(arr))
    return None


def _value(expr: Any) -> Any:
    """``expr.value``, without cvxpy's warning about reading sparse Parameters densely."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=SPARSE_WARNING)
        return expr.value


def _gradient(expr: Any, x: Any) -> np.ndarray | None:
    """d expr / d x at the current values (None if cvxpy cannot say)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=SPARSE_WARNING)
        grad = expr.grad.get(x)
    if grad is None:
        return None
    dense = grad.toarray() if hasattr(grad, "toarray") else np.asarray(grad)
    out = np.asarray(dense, dtype=float).reshape(-1)
    return out if np.all(np.isfinite(out)) else None


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0)


def _activity(slack: np.ndarray, scale: np.ndarray, dual: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """Active: no slack (relative to the entry's size); binding: active with a nonzero
    dual, or active when there are no duals (cones without slack: a nonzero dual)."""
    no_slack = np.isnan(slack)
    active = np.where(no_slack, np.abs(np.nan_to_num(dual)) > DUAL_TOL,
                      np.nan_to_num(slack, nan=np.inf) <= ACTIVE_RTOL * scale)
    binding = active & (np.isnan(dual) | (np.abs(dual) > DUAL_TOL))
    return active, binding


def _crossed(name: str, k: int, c: Any, tol: float | None) -> list[str]:
    sides = _sides(c)
    if sides is None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=SPARSE_WARNING)
            v = c.violation()
        worst = float(np.max(v)) if v is not None and np.size(v) else 0.0
        limit = tol if tol is not None else ACTIVE_RTOL
        return [f"user constraint {name}[{k}] is crossed by {worst:.6g} after rounding"] \
            if worst > limit else []
    slack, scale = sides
    allowed = np.full_like(slack, tol) if tol is not None else ACTIVE_RTOL * scale
    bad = np.flatnonzero(slack < -allowed)
    return [f"user constraint {name}[{k}] entry {i} is crossed by {-slack[i]:.6g} after "
            "rounding" for i in bad]


__all__ = ["ConstraintGroup", "CvxpyModel", "EmbeddedResult", "ObjectiveTerm"]
