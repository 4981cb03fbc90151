"""The pipeline of one household: build, solve, decode, audit. No I/O here.

Every stage is timed; every plan leaves through the audit, and a plan that
fails it is replaced by an `error` result that says why.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .adapters import Status, solve_program
from .adapters.base import Solution
from .audit import Assessment, assess, violations
from .decode import decode
from .decode.rounding import RoundedTrades
from .domain.household import Household
from .model.builder import RebalanceModel, build
from .options import Options
from .plan.orders import Orders
from .plan.report import summary_record, trade_columns

if TYPE_CHECKING:
    from .api.plan import Plan


@dataclass(slots=True, eq=False)
class Result:
    """The outcome of one rebalance: status, audited orders and what they imply."""

    household: Household
    status: str                      # optimal | feasible | infeasible | error
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
        return self.status in ("optimal", "feasible")

    @property
    def plan(self) -> Plan:
        """The plan as pandas objects indexed by named levels (`taxopt.api.plan_of`)."""
        from .api.plan import plan_of

        return plan_of(self)

    def trade_columns(self) -> dict[str, list[Any]]:
        """The trade list as columns in the contract's order."""
        return trade_columns(self.household, self.orders, self.assessment, self.order_reasons)

    def trades(self):
        """The trade list as a pandas DataFrame (contract columns)."""
        import pandas as pd

        return pd.DataFrame(self.trade_columns())

    def summary(self, timings: bool = False) -> dict[str, Any]:
        """The summary record; ``timings`` adds the seconds of each stage (not deterministic)."""
        rec = summary_record(self.household, self.orders, self.assessment, self.status,
                             self.message, self.order_reasons,
                             None if self.model is None else self.model.options)
        if self.reasons:
            rec["infeasible_because"] = list(self.reasons)
        if self.violations:
            rec["violations"] = list(self.violations)
        if self.solution is not None:
            rec["solver"] = self.solution.describe()
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
        cash_now = a.cash_before + hh.accounts.cash_flow
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
        opts = opts.replace(**changes)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    model = build(household, opts)
    t1 = time.perf_counter()
    timings["build"] = t1 - t0
    sol = solve_program(model.program, opts)
    timings["solve"] = time.perf_counter() - t1
    return finish(model, sol, opts, timings)


Check = Callable[[RoundedTrades], list[str]]


def finish(model: RebalanceModel, sol: Solution, opts: Options, timings: dict[str, float],
           check: Check | None = None,
           repair_model: Callable[[], RebalanceModel] | None = None) -> Result:
    """Decode a solution, audit the plan (plus ``check``), repair once if needed.

    Parameters
    ----------
    check
        Extra rules the plan must keep (an embedding model's own constraints),
        evaluated on the rounded trades; returns a sentence per rule broken.
    repair_model
        Makes the model whose program the whole-share repair re-solves (same layout
        as ``model``); ``model`` itself when None, or when that model's repair fails.
    """
    hh = model.household
    if not sol.status.has_solution:
        return _failed(hh, model, sol, opts, timings)

    def audit(orders: Orders, rounded: RoundedTrades) -> tuple[Assessment, list[str]]:
        a = assess(hh, orders)
        return a, violations(hh, orders, a, opts) + (check(rounded) if check else [])

    t0 = time.perf_counter()
    orders, rounded = decode(model, sol, opts)
    t1 = time.perf_counter()
    timings["decode"] = t1 - t0
    a, broken = audit(orders, rounded)
    timings["audit"] = time.perf_counter() - t1
    if broken:  # direct rounding crossed a bound: repair by re-solving in shares
        t2 = time.perf_counter()
        orders, rounded = decode(repair_model() if repair_model else model, sol, opts,
                                 repair=True)
        if repair_model is not None and not rounded.status.has_solution:
            orders, rounded = decode(model, sol, opts, repair=True)
        timings["repair"] = time.perf_counter() - t2
        if not rounded.status.has_solution:
            return _nothing(hh, "infeasible", rounded.message, sol, model, timings)
        t3 = time.perf_counter()
        a, broken = audit(orders, rounded)
        timings["audit"] += time.perf_counter() - t3
    if broken:
        res = _nothing(hh, "error", f"plan failed audit: {broken[0]}", sol, model, timings)
        res.violations = broken
        return res
    status = "optimal" if sol.status == Status.OPTIMAL else "feasible"
    message = "" if status == "optimal" else f"solver stopped early: {sol.message}"
    result = Result(hh, status, message, orders, a, sol, model, timings=timings)
    if opts.lot_relief != "optimal":
        result.lot_relief = _relief_difference(hh, opts, a)
    return result


def _relief_difference(hh: Household, opts: Options, forced: Assessment) -> dict[str, Any]:
    """What the forced custodian method costs against the optimizer's own lot choice.

    Both plans' drift is reported beside their tax: when the forced order makes
    selling dearer, the plan may also rebalance less, and the tax difference alone
    would flatter it.
    """
    free = rebalance(hh, opts.replace(lot_relief="optimal"))
    out: dict[str, Any] = {"method": opts.lot_relief,
                           "est_tax": round(forced.est_tax, 2) + 0.0,
                           "drift_after": round(float(forced.drift_after.max()), 6),
                           "optimal_est_tax": None, "optimal_drift_after": None,
                           "difference": None}
    if free.ok:
        best = free.assessment
        out.update(optimal_est_tax=round(best.est_tax, 2) + 0.0,
                   optimal_drift_after=round(float(best.drift_after.max()), 6),
                   difference=round(forced.est_tax - best.est_tax, 2) + 0.0)
    return out


def _nothing(hh: Household, status: str, message: str, sol: Solution | None,
             model: RebalanceModel | None, timings: dict[str, float]) -> Result:
    """A result with no orders (the household as it stands)."""
    orders = Orders.empty()
    return Result(hh, status, message, orders, assess(hh, orders), sol, model, timings=timings)


def _failed(hh: Household, model: RebalanceModel, sol: Solution, opts: Options,
            timings: dict[str, float]) -> Result:
    if sol.status == Status.INFEASIBLE:
        from .explain import explain_infeasible

        t = time.perf_counter()
        reasons = explain_infeasible(model.program, opts)
        timings["explain"] = time.perf_counter() - t
        msg = "the hard rules cannot all hold: " + ("; ".join(reasons) if reasons else
                                                    "no relaxation found")
        res = _nothing(hh, "infeasible", msg, sol, model, timings)
        res.reasons = reasons
        return res
    return _nothing(hh, "error", f"solver {sol.adapter}/{sol.solver}: {sol.status} "
                    f"({sol.message})", sol, model, timings)
