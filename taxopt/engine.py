"""The pipeline of one household: build, solve, decode, audit. No I/O here.

Every stage is timed; every plan leaves through the audit, and a plan that
fails it is replaced by an `error` result that says why. `rebalance` runs the
whole pipeline from a household; `solve` takes an already built model (an
embedding user's, with extra terms or constraints) through the same steps.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .adapters import Deadline, Status, solve_program
from .adapters.base import Solution
from .adapters.branch import TIME_WHY
from .adapters.gap import plan_x, proven_gap
from .audit import Assessment, assess, violations
from .decode import decode
from .decode.rounding import REPAIR_SECONDS, RoundedTrades
from .domain.household import Household
from .domain.orders import Orders
from .errors import InvalidOptions
from .model.builder import RebalanceModel, build
from .options import Options
from .plan.report import summary_record, trade_columns

if TYPE_CHECKING:
    import pandas as pd


@dataclass(slots=True, eq=False)
class Result:
    """The outcome of one rebalance: status, audited orders and what they imply."""

    household: Household
    status: Status                   # optimal | feasible | infeasible | error
    message: str
    orders: Orders
    assessment: Assessment
    solution: Solution | None = None
    model: RebalanceModel | None = None
    reasons: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    lot_relief: dict[str, Any] | None = None
    _order_reasons: Any = field(default=None, repr=False)

    @property
    def order_reasons(self) -> Any:
        """Why each order is there (computed once: the trade table and summary share it)."""
        if self._order_reasons is None:
            from .plan.reasons import order_reasons

            self._order_reasons = order_reasons(self.household, self.orders, self.assessment)
        return self._order_reasons

    @property
    def ok(self) -> bool:
        return self.status.has_solution

    def trade_columns(self) -> dict[str, list[Any]]:
        """The trade list as columns in the contract's order."""
        return trade_columns(self.household, self.orders, self.assessment, self.order_reasons)

    def trades(self) -> pd.DataFrame:
        """The trade list as a pandas DataFrame (contract columns)."""
        import pandas as pd

        return pd.DataFrame(self.trade_columns())

    def summary(self, timings: bool = False) -> dict[str, Any]:
        """The summary record; ``timings`` adds the seconds of each stage (not deterministic)."""
        rec = summary_record(self.household, self.orders, self.assessment, str(self.status),
                             self.message, self.order_reasons,
                             None if self.model is None else self.model.options)
        if self.reasons:
            rec["infeasible_because"] = list(self.reasons)
        if self.violations:
            rec["violations"] = list(self.violations)
        if self.solution is not None:
            rec["solver"] = self.solution.describe()
            info = self.solution.info
            if "gap_dollars" in info:      # a plan returned at the time limit
                rec["solver"].update({k: round(info[k], 2) + 0.0 for k in
                                      ("plan_objective", "best_bound", "gap_dollars")})
            if self.model is not None and self.solution.status.has_solution:
                rec["objective"] = {k: round(v, 2) + 0.0 for k, v in
                                    self.model.program.evaluate(self.solution.x).items()}
        if self.lot_relief is not None:
            rec["lot_relief"] = self.lot_relief
        self._add_location(rec)
        if timings:
            rec["timings"] = {k: round(v, 6) for k, v in self.timings.items()}
        return rec


    def _add_location(self, rec: dict[str, Any]) -> None:
        """Per account: after-tax value of its holdings before and after, and the gain."""
        opts = self.household.options if self.model is None else self.model.options
        if opts.location_horizon_years <= 0:
            return
        from .model.location import account_after_tax_values

        a, hh = self.assessment, self.household
        h, d = opts.location_horizon_years, opts.discount_rate
        from .plan.reasons import account_flow

        cash_now = a.cash_before + account_flow(hh, a)   # flows as the plan placed them
        before = account_after_tax_values(hh, a.holdings_before, cash_now, h, d)
        after = account_after_tax_values(hh, a.holdings_after, a.cash_after, h, d)
        for i, aid in enumerate(hh.accounts.account_id):
            rec["accounts"][aid].update({
                "after_tax_value_before": round(float(before[i]), 2) + 0.0,
                "after_tax_value_after": round(float(after[i]), 2) + 0.0,
                "location_added": round(float(after[i] - before[i]), 2) + 0.0})
        rec["location"] = {"horizon_years": h, "discount_rate": d,
                           "after_tax_value_before": round(float(before.sum()), 2) + 0.0,
                           "after_tax_value_after": round(float(after.sum()), 2) + 0.0,
                           "added": round(float(after.sum() - before.sum()), 2) + 0.0}


def rebalance(household: Household, options: Options | None = None, **changes: Any) -> Result:
    """Rebalance one household: the whole pipeline, audited.

    Parameters
    ----------
    household
        A validated household (see `taxopt.load`).
    options
        Knobs; the household's own ``options`` when omitted. Keyword arguments
        override single knobs, e.g. ``rebalance(hh, adapter="cvxpy")``.
    """
    opts = (options or household.options)
    if changes:
        opts = opts.replace(household.household_id, **changes)
    timings: dict[str, float] = {}
    # The limit covers building and solving, less a share kept for decoding and the audit;
    # a repair or the lot-relief comparison gets only what is left of the whole limit.
    limit = Deadline(opts.time_limit)
    deadline = Deadline(opts.time_limit * SOLVE_SHARE)
    t0 = time.perf_counter()
    model = build(household, opts)
    t1 = time.perf_counter()
    timings["build"] = t1 - t0
    sol = solve_program(model.program, opts, deadline)
    timings["solve"] = time.perf_counter() - t1
    return with_relief(finish(model, sol, opts, timings, deadline=limit), opts,
                       _solve_free, limit)


SOLVE_KNOBS = frozenset({"adapter", "solver", "time_limit", "mip_rel_gap", "min_trade_value"})
"""Options that a solve may change without rebuilding the program."""


def solve_options(model: RebalanceModel, changes: dict[str, Any]) -> Options:
    """The model's options with solve-time knobs changed; other knobs are refused.

    Raises
    ------
    InvalidOptions
        For a knob that changes the program (weights, tax model, rules): those
        need ``taxopt.build(household, options.replace(...))``.
    """
    given = {k: v for k, v in changes.items() if v is not None}
    for key in sorted(given):
        if key not in SOLVE_KNOBS:
            raise InvalidOptions(model.household.household_id, "solve", key,
                                 "changes the program; build a new model with "
                                 "taxopt.build(household, options.replace(...)) "
                                 f"(a solve may change {', '.join(sorted(SOLVE_KNOBS))})")
    if given.get("adapter") == "cvxpy" and "solver" not in given \
            and model.options.adapter != "cvxpy":
        given["solver"] = "HIGHS"
    return (model.options.replace(model.household.household_id, **given) if given
            else model.options)


def solve(model: RebalanceModel, adapter: str | None = None, solver: str | None = None,
          **changes: Any) -> Result:
    """Solve a built model with one of taxopt's adapters, then decode and audit.

    Parameters
    ----------
    model
        From `taxopt.build` (or `taxopt.model.build`).
    adapter
        ``"highs"`` (direct, fast; the default) or ``"cvxpy"``.
    solver
        The cvxpy solver name when ``adapter="cvxpy"`` (``"HIGHS"`` by default).
    **changes
        Solve-time options: ``time_limit``, ``mip_rel_gap``, ``min_trade_value``.

    Returns
    -------
    Result
        Audited like `rebalance`'s.
    """
    opts = solve_options(model, {"adapter": adapter, "solver": solver, **changes})
    limit = Deadline(opts.time_limit)
    t0 = time.perf_counter()
    sol = solve_program(model.program, opts, Deadline(opts.time_limit * SOLVE_SHARE))
    timings = {"solve": time.perf_counter() - t0}
    return with_relief(finish(model, sol, opts, timings, deadline=limit), opts,
                       _solve_free, limit)


Check = Callable[[RoundedTrades], list[str]]

SOLVE_SHARE = 0.85   # of the time limit; the rest is for decoding and the audit


def finish(model: RebalanceModel, sol: Solution, opts: Options, timings: dict[str, float],
           check: Check | None = None,
           repair_model: Callable[[], RebalanceModel] | None = None,
           deadline: Deadline | None = None) -> Result:
    """Decode a solution, audit the plan (plus ``check``), repair once if needed.

    Parameters
    ----------
    deadline
        The end of the whole time limit: a whole-share repair gets what is left of it
        (at most `taxopt.decode.rounding.REPAIR_SECONDS`); None: its own limit.
    check
        Extra rules the plan must keep (an embedding model's own constraints),
        evaluated on the rounded trades; returns a sentence per rule broken.
    repair_model
        Makes the model whose program the whole-share repair re-solves (same layout
        as ``model``); ``model`` itself when None, or when that model's repair fails.
    """
    hh = model.household
    if not sol.status.has_solution:
        return _failed(hh, model, sol, opts, timings, deadline)

    def audit(orders: Orders, rounded: RoundedTrades) -> tuple[Assessment, list[str]]:
        a = assess(hh, orders)
        return a, violations(hh, orders, a, opts) + (check(rounded) if check else [])

    t0 = time.perf_counter()
    orders, rounded = decode(model, sol, opts, deadline=deadline)
    t1 = time.perf_counter()
    timings["decode"] = t1 - t0
    a, broken = audit(orders, rounded)
    timings["audit"] = time.perf_counter() - t1
    if broken:  # direct rounding crossed a bound: repair by re-solving in shares
        t2 = time.perf_counter()
        orders, rounded = decode(repair_model() if repair_model else model, sol, opts,
                                 repair=True, deadline=deadline)
        if repair_model is not None and not rounded.status.has_solution \
                and not rounded.stopped:
            orders, rounded = decode(model, sol, opts, repair=True, deadline=deadline)
        timings["repair"] = time.perf_counter() - t2
        if rounded.stopped:
            return _stopped_without_plan(hh, model, sol, opts, timings,
                                         "before the plan could be repaired in whole shares",
                                         deadline)
        if not rounded.status.has_solution:
            return _nothing(hh, Status.INFEASIBLE, rounded.message, sol, model, timings)
        t3 = time.perf_counter()
        a, broken = audit(orders, rounded)
        timings["audit"] += time.perf_counter() - t3
    if broken:
        res = _nothing(hh, Status.ERROR, f"plan failed audit: {broken[0]}", sol, model, timings)
        res.violations = broken
        return res
    status = Status.OPTIMAL if sol.status == Status.OPTIMAL else Status.FEASIBLE
    message = "" if status == Status.OPTIMAL else f"solver stopped early: {sol.message}"
    if status == Status.FEASIBLE and not rounded.cut_short:
        # the solver's gap (if it states one) is of its own plan: state the one of the
        # plan returned, whichever adapter stopped early
        t4 = time.perf_counter()
        gap = proven_gap(model, sol, plan_x(model, rounded.sell_shares, rounded.buy_shares,
                                            sol.x), deadline)
        timings["gap"] = time.perf_counter() - t4
        if gap is not None:
            why = TIME_WHY if "best_bound" in sol.info else sol.message
            sol = replace(sol, mip_gap=gap.relative, info={**sol.info, **gap.info()})
            message = f"solver stopped early: {why}: best plan found, {gap.sentence()}"
    if rounded.cut_short:    # the shares are the repair's best when its time ran out
        status, sol = Status.FEASIBLE, replace(sol, mip_gap=None)
        by_limit = (deadline.expired if deadline is not None
                    else opts.time_limit <= REPAIR_SECONDS)
        why = ("work limit of the repair reached" if rounded.work_limited
               else f"time limit of {opts.time_limit:g} s reached" if by_limit
               else f"{REPAIR_SECONDS:g} s limit of the repair reached")
        message = f"{why} during the whole-share repair: the best plan found in shares; gap unknown"
    return Result(hh, status, message, orders, a, sol, model, timings=timings)


def with_relief(result: Result, opts: Options,
                solve_free: Callable[..., Result | None],
                deadline: Deadline | None = None) -> Result:
    """Add the cost of a forced lot order to a result (nothing when lots are free).

    ``solve_free`` solves the same model without the forced order (see
    `RebalanceModel.without_lot_order`) the way the result was solved, so an
    embedding model's own terms and constraints hold in both; None when it cannot.
    With a ``deadline`` (the end of the whole time limit) it is called with it as a
    third argument, and not at all once it has passed: the comparison is then unknown.
    """
    if result.ok and result.model is not None and opts.lot_relief != "optimal":
        free_opts = opts.replace(lot_relief="optimal")
        if deadline is None:
            free = solve_free(result.model.without_lot_order(), free_opts)
        elif deadline.expired:
            free = None
        else:
            free = solve_free(result.model.without_lot_order(), free_opts, deadline)
        result.lot_relief = relief_difference(result.assessment, opts.lot_relief, free)
    return result


def _solve_free(model: RebalanceModel, opts: Options, deadline: Deadline | None = None
                ) -> Result:
    """The engine's way: solve the program, decode and audit (no further comparison),
    within what is left of ``deadline`` (the solve its usual share of it)."""
    solve_by = None if deadline is None else deadline.share(SOLVE_SHARE)
    return finish(model, solve_program(model.program, opts, solve_by), opts, {},
                  deadline=deadline)


def relief_difference(forced: Assessment, method: str, free: Result | None) -> dict[str, Any]:
    """What the forced custodian method costs against the optimizer's own lot choice.

    Both plans' drift is reported beside their tax: when the forced order makes
    selling dearer, the plan may also rebalance less, and the tax difference alone
    would flatter it. Only a comparison solved to optimality is reported (one the time
    limit stopped, or that came back as the household as it stands, is no optimum).
    """
    out: dict[str, Any] = {"method": method,
                           "est_tax": round(forced.est_tax, 2) + 0.0,
                           "drift_after": round(float(forced.drift_after.max()), 6),
                           "optimal_est_tax": None, "optimal_drift_after": None,
                           "difference": None}
    if free is not None and free.status == Status.OPTIMAL:
        best = free.assessment
        out.update(optimal_est_tax=round(best.est_tax, 2) + 0.0,
                   optimal_drift_after=round(float(best.drift_after.max()), 6),
                   difference=round(forced.est_tax - best.est_tax, 2) + 0.0)
    return out


def _nothing(hh: Household, status: Status, message: str, sol: Solution | None,
             model: RebalanceModel | None, timings: dict[str, float]) -> Result:
    """A result with no orders (the household as it stands)."""
    orders = Orders.empty()
    return Result(hh, status, message, orders, assess(hh, orders), sol, model, timings=timings)


def _failed(hh: Household, model: RebalanceModel, sol: Solution, opts: Options,
            timings: dict[str, float], deadline: Deadline | None = None) -> Result:
    if sol.info.get("stopped") and sol.status != Status.INFEASIBLE:
        return _stopped_without_plan(hh, model, sol, opts, timings, deadline=deadline)
    if sol.status == Status.INFEASIBLE:
        from .explain import explain_infeasible

        t = time.perf_counter()
        reasons = explain_infeasible(model.program, opts)
        timings["explain"] = time.perf_counter() - t
        msg = "the hard rules cannot all hold: " + ("; ".join(reasons) if reasons else
                                                    "no relaxation found")
        res = _nothing(hh, Status.INFEASIBLE, msg, sol, model, timings)
        res.reasons = reasons
        return res
    return _nothing(hh, Status.ERROR, f"solver {sol.adapter}/{sol.solver}: {sol.status} "
                    f"({sol.message})", sol, model, timings)


def _stopped_without_plan(hh: Household, model: RebalanceModel, sol: Solution, opts: Options,
                          timings: dict[str, float],
                          when: str = "before the solver found a plan",
                          deadline: Deadline | None = None) -> Result:
    """The time limit passed before the solver had any plan (or before the plan could be
    put in whole shares): the household as it stands is the plan, if it keeps every hard
    rule (the audit decides); otherwise an error. Its proven gap (`taxopt.adapters.gap`:
    its objective against a Lagrangian bound raised until ``deadline``, the end of the
    whole limit) goes into the message and ``solver.mip_gap``; null when it cannot be
    evaluated (a program with quadratic terms)."""
    solved, sol = sol, replace(sol, mip_gap=None)
    t = time.perf_counter()
    orders = Orders.empty()
    a = assess(hh, orders)
    broken = violations(hh, orders, a, opts)
    timings["audit"] = time.perf_counter() - t
    if broken:
        return _nothing(hh, Status.ERROR, f"time limit of {opts.time_limit:g} s reached {when}, "
                        f"and no trades would break a rule: {broken[0]}", sol, model, timings)
    t = time.perf_counter()
    gap = proven_gap(model, solved, plan_x(model), deadline)   # an optimum less its gap
    timings["gap"] = time.perf_counter() - t
    if gap is not None:
        sol = replace(sol, mip_gap=gap.relative, info={**sol.info, **gap.info()})
    msg = (f"time limit of {opts.time_limit:g} s reached {when}: no "
           "trades (the household as it stands keeps every rule); "
           + (gap.sentence() if gap is not None else "gap unknown"))
    return Result(hh, Status.FEASIBLE, msg, orders, a, sol, model, timings=timings)
