"""`CompiledModel`: one household's program as named cvxpy pieces, without the solving.

It builds and keeps the pieces (variables, Parameters, groups, user terms) and
loads new data into them; `taxopt.api.cvx.model.CvxpyModel` adds the solve, the
constraint report and the repair on top, so the modules that do those take this
class and never the other way round.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from ...adapters.base import qp_scale
from ...adapters.cvxpy_adapter import CvxpyProgram
from ...errors import TaxoptError
from ...model.builder import RebalanceModel
from ..labelled import Labelled
from .checks import value_of
from .integers import solve_integers
from .pieces import (
    ConstraintGroup,
    ConstraintSource,
    Expr,
    ObjectiveSource,
    ObjectiveTerm,
    UserGroup,
    UserTerm,
)
from .spec import Spec, indexes, same_matrix, spec_of

if TYPE_CHECKING:
    from ...domain.household import Household


class CompiledModel:
    """The pieces of `CvxpyModel` that describe the program: variables, Parameters,
    terms, groups, weights and data (see `CvxpyModel` for the whole interface)."""

    def __init__(self, model: RebalanceModel, *,
                 fixed_integers: np.ndarray | None = None) -> None:
        self.model = model
        self.compilations = 0
        """How many times a cvxpy problem was built for this model."""
        self._weights: dict[str, float] = {}
        self._user_terms: dict[str, UserTerm] = {}
        self._user_groups: dict[str, UserGroup] = {}
        self._fix_mode: Literal["solve", "given"] | None = None
        self._fixed: np.ndarray | None = None
        self._cp: CvxpyProgram | None = None
        self._problem: Any = None
        self._retired: set[int] = set()   # ids of earlier variable vectors
        self._x: Any = None
        self._twin: CompiledModel | None = None
        self._last_duals: dict[str, list[Any]] | None = None
        if fixed_integers is not None:
            self._fix_mode = "given"
            self._fixed = np.round(np.asarray(fixed_integers, dtype=float))
        elif model.program.quadratic and model.program.is_mip:
            # A QP with integers is a MIQP, which no default solver takes: as in the
            # engine, the integers are those of the linear stage (see `fix_integers`).
            self._fix_mode = "solve"
            self._fixed = solve_integers(model)
        self._spec = spec_of(model, self._fixed)
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

        ix = indexes(self.model)
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

    def _realize_term(self, name: str, ut: UserTerm) -> None:
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

    def _realize_group(self, name: str, ug: UserGroup) -> None:
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
            scale = self.objective_scale
            self._problem = cp.Problem(cp.Minimize(scale * obj if scale != 1.0 else obj), cons)
            self.compilations += 1
        return self._problem

    @property
    def objective_scale(self) -> float:
        """What the objective is multiplied by for the solver (`taxopt.adapters.base.qp_scale`:
        1 for an LP); reported objective values are in dollars."""
        return qp_scale(self.model.program)

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
        ut = UserTerm(expr, float(weight))
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
        ug = UserGroup(constraints, tol)
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

        Raises
        ------
        ProgramInfeasible
            When taxopt's own program (before the user's pieces) has no solution; its
            ``reasons`` name the hard rules that would have to give.
        """
        prog = self.model.program
        ints = np.flatnonzero(prog.integrality())
        if values is None:
            vals = solve_integers(self.model)
            mode: Literal["solve", "given"] = "solve"
        else:
            vals = np.round(np.asarray(values, dtype=float))
            if vals.shape != ints.shape:
                raise ValueError(f"expected {len(ints)} integer values, got {vals.shape}")
            mode = "given"
        self._check_rebuildable()
        self._fix_mode, self._fixed = mode, vals
        self._spec = spec_of(self.model, vals)
        self._build_variables()
        return vals

    def unfix_integers(self) -> None:
        """Undo `fix_integers`: the integer variables are integer again."""
        self._check_rebuildable()
        self._fix_mode, self._fixed = None, None
        self._spec = spec_of(self.model, None)
        self._build_variables()

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
        model = type(old)(household, old.options, terms=list(old.terms),
                               constraints=list(old.constraints),
                               late_constraints=list(old.late_constraints))
        model.compile()
        fixed = solve_integers(model) if self._fix_mode == "solve" else self._fixed
        spec = spec_of(model, fixed)
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

    def _compatible(self, new: Spec) -> bool:
        old = self._spec
        if old.structure() != new.structure():
            return False
        for name, r in new.rows.items():
            if self._cp is None or not self._cp.matrices[name].fits(r.A):
                return False
        if any(not same_matrix(old.affine[k][0], new.affine[k][0]) for k in old.affine):
            return False
        return old.labels == new.labels

    # ------------------------------------------------------------------ values
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
            v = value_of(ut.expr)
            if v is not None:
                out[name] = float(ut.weight * float(v))
        return out

    def _solution(self) -> np.ndarray:
        if self._x.value is None:
            raise TaxoptError("no solution yet: call solve() first")
        return np.asarray(self._x.value, dtype=float)
