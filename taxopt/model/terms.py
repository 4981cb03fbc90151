"""Objective terms: each is a small object that adds named coefficients to the program.

All terms are in dollars, so their weights compare: a dollar of tax, a dollar of
drift penalty, a dollar of trading cost and a dollar of distribution tax drag.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ..domain.household import TAXABLE
from ..options import Options
from .context import ModelContext
from .expr import Triplets, incidence, widen
from .location import CashDragTerm, LocationTerm, distribution_rate
from .taxes import ExactTaxTerm, LotTaxTerm


class Term(Protocol):
    """Anything that adds a named term to the objective."""

    name: str

    def compile(self, ctx: ModelContext) -> None: ...


class TrackingTerm:
    """L1 penalty on each goal's dollars away from target, per asset class (cash included)."""

    name = "tracking"

    def __init__(self, weight: float):
        self.weight = weight

    def compile(self, ctx: ModelContext) -> None:
        self.compile_named(ctx, self.name)

    def compile_named(self, ctx: ModelContext, name: str) -> None:
        hh, prog = ctx.hh, ctx.program
        K, G = ctx.n_classes, len(hh.goals)
        dev = prog.add_vars(f"{name}_dev" if name != "tracking" else "dev", G * K, 0.0, np.inf)
        target = hh.goals.target.reshape(-1) * ctx.layout.goal_value.repeat(K)
        gc = ctx.goal_class
        # d - M and d + M: the deviation variables first, then the goal's class dollars
        rows = np.arange(G * K)
        r = np.concatenate([rows, gc.T.r])
        c = np.concatenate([dev.start + rows, gc.T.c])
        ones = np.ones(G * K)
        shape = (G * K, max(prog.n, gc.T.shape[1]))
        prog.add_rows(f"{name}_over", Triplets(r, c, np.concatenate([ones, -gc.T.v]), shape),
                      gc.c - target, np.inf)
        prog.add_rows(f"{name}_under", Triplets(r, c, np.concatenate([ones, gc.T.v]), shape),
                      target - gc.c, np.inf)
        coef = np.zeros(prog.n)
        coef[dev.slice] = self.weight
        prog.add_term(name, coef)


# Long-run volatilities and correlations of asset classes (annual; of the order of
# published long-run statistics), for the quadratic tracking error when the options
# give no covariance. Unknown classes get OTHER_VOL and correlation OTHER_CORR.
CLASS_VOL = {"us_equity": 0.16, "intl_equity": 0.17, "equity": 0.16, "reit": 0.20,
             "us_bonds": 0.05, "bonds": 0.05, "muni": 0.05, "cash": 0.005}
EQUITY_LIKE = {"us_equity", "intl_equity", "equity", "reit"}
OTHER_VOL, OTHER_CORR = 0.12, 0.3


def default_covariance(classes: tuple[str, ...]) -> np.ndarray:
    """Asset-class covariance from long-run volatilities and a simple correlation model:
    equity-like classes 0.8 with each other, 0.1 with bonds; cash uncorrelated."""
    vol = np.array([CLASS_VOL.get(c, OTHER_VOL) for c in classes])
    eq = np.array([c in EQUITY_LIKE for c in classes])
    cash = np.array([c == "cash" for c in classes])
    corr = np.where(eq[:, None] & eq[None, :], 0.8,
                    np.where(eq[:, None] ^ eq[None, :], 0.1, OTHER_CORR))
    corr = np.where(cash[:, None] | cash[None, :], 0.0, corr)
    np.fill_diagonal(corr, 1.0)
    return np.asarray(corr * vol[:, None] * vol[None, :])


class QuadraticTrackingTerm:
    """Ex-ante tracking-error variance of each goal against its target, in dollars:
    ``weight * T * (w - t)' S (w - t)`` with ``w`` the goal's class weights after trades.

    The goal's deviation per class enters as its own variables, so the Hessian is one
    small block per goal however many lots there are. The L1 term with the same
    weight as `TrackingTerm` stands in while the integer choices are made.
    """

    name = "tracking"

    def __init__(self, weight: float, proxy_weight: float,
                 covariance: np.ndarray | None = None):
        self.weight, self.proxy_weight, self.covariance = weight, proxy_weight, covariance

    def compile(self, ctx: ModelContext) -> None:
        hh, prog = ctx.hh, ctx.program
        K, G = ctx.n_classes, len(hh.goals)
        S = self.covariance if self.covariance is not None else default_covariance(hh.classes)
        gap = prog.add_vars("gap", G * K, -np.inf, np.inf)
        g_rep = np.repeat(np.arange(G), K)
        target = hh.goals.target.reshape(-1) * ctx.layout.goal_value[g_rep]
        gc = ctx.goal_class
        e = incidence(np.arange(G * K), gap.start + np.arange(G * K), (G * K, prog.n))
        prog.add_rows("gap", e - widen(gc.T, prog.n), gc.c - target, gc.c - target)
        for g in range(G):
            total = max(float(ctx.layout.goal_value[g]), 1e-9)
            prog.add_quadratic(f"{self.name}_{hh.goals.goal_id[g]}",
                               gap.start + g * K + np.arange(K), 2.0 * self.weight * S / total)
        TrackingTerm(self.proxy_weight).compile_named(ctx, "tracking_proxy")
        prog.mark_stand_in("tracking_proxy")


class CostTerm:
    """Trading cost in basis points of value traded: keeps the plan from churning."""

    name = "cost"

    def __init__(self, bps: float):
        self.bps = bps

    def compile(self, ctx: ModelContext) -> None:
        coef = np.zeros(ctx.program.n)
        coef[ctx.sell.slice] = self.bps / 1e4
        coef[ctx.buy.slice] = self.bps / 1e4
        ctx.program.add_term(self.name, coef)


class DragTerm:
    """Asset-location drag: yearly tax on distributions of taxable holdings, over a horizon.

    Qualified dividends are taxed at the long-term rate, the rest at the ordinary
    rate, tax-exempt (municipal) distributions not at all.
    """

    name = "drag"

    def __init__(self, horizon_years: float):
        self.horizon = horizon_years

    def compile(self, ctx: ModelContext) -> None:
        hh, lay = ctx.hh, ctx.layout
        sec = hh.securities
        per_dollar = sec.dist_yield * distribution_rate(hh) * self.horizon
        taxable = hh.accounts.tax_type == TAXABLE
        coef = np.zeros(ctx.program.n)
        coef[ctx.sell.slice] = -per_dollar[lay.unit_security] * taxable[lay.unit_account]
        coef[ctx.buy.slice] = per_dollar[lay.buy_security] * taxable[lay.buy_account]
        const = float(np.sum(per_dollar[lay.pos_security] * taxable[lay.pos_account]
                             * lay.pos_value))
        ctx.program.add_term(self.name, coef, const)


def default_terms(options: Options) -> list[Term]:
    """The objective of a tax-aware rebalance, as the options ask for it."""
    thresholds = {"harvest_min_loss": options.harvest_min_loss,
                  "harvest_min_loss_pct": options.harvest_min_loss_pct}
    recapture = options.recapture_horizon_years
    tax: Term = (ExactTaxTerm(options.carryforward_value, options.discount_rate, recapture,
                              **thresholds)
                 if options.tax_model == "exact"
                 else LotTaxTerm(None, recapture, options.discount_rate, **thresholds))
    tracking: Term = (TrackingTerm(options.tracking_weight) if options.tracking == "l1"
                      else QuadraticTrackingTerm(options.tracking_te_weight,
                                                 options.tracking_weight))
    out: list[Term] = [tax, tracking, CostTerm(options.transaction_cost_bps)]
    if options.location_horizon_years > 0:
        out.append(LocationTerm(options.location_horizon_years, options.discount_rate,
                                options.location_weight))
    if options.cash_drag_years > 0:
        out.append(CashDragTerm(options.cash_drag_years))
    if options.location_horizon_years <= 0 and options.drag_horizon_years > 0:
        out.append(DragTerm(options.drag_horizon_years))
    return out
