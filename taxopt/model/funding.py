"""Goal-level cash flows in the program: totals per goal and what each source costs.

Each account's part of its goal's flow is a pair of variables (`taxopt.model.flows`);
here they get their rules and their price:

- ``FundingConstraint``: the goal's accounts together pay out exactly what the
  goal withdraws (its need, or its required distributions when larger) and take
  in exactly what it deposits; retirement accounts take in only the goal's own
  deposit (a required excess goes to taxable accounts).
- ``DistributionTaxTerm``: the tax on traditional payouts, at ``ordinary_rate``
  or through ``ordinary_brackets`` as a convex piecewise-linear epigraph (one
  variable ``t`` and a row per bracket: ``t >= B_j(income + payouts) - B(income)``,
  where ``B_j`` is the bracket's line; the brackets' rates never fall, so the
  largest line is the tax and the program stays an LP), plus the penalty on
  payouts of accounts flagged ``penalty_applies``. Taxable sources pay through
  their sales (the tax term), Roth payouts are free.
- ``ShelterTerm``: a dollar paid out of an account forfeits what that dollar is
  worth there after tax against the same dollar in a tax-deferred account (the
  location value, `taxopt.model.location`); a dollar deposited gains it. The
  location term already counts ``location_weight`` of it on the sales and buys
  that move the money, so this term adds the rest: shelter given up is given up
  for good (contribution room does not come back), and a Roth is not drained
  first just because its payouts are untaxed today.
"""

from __future__ import annotations

import numpy as np

from ..domain.funding import funding_of
from ..domain.household import TAX_DEFERRED, TAXABLE, Household
from ..options import Options
from ..tax.distributions import bracket_tax, cents_by_goal, goal_totals
from .context import ModelContext
from .expr import incidence
from .program import Program, VarBlock


class FundingConstraint:
    """Each goal's flow is paid out and taken in exactly, across its own accounts."""

    name = "funding"

    def compile(self, ctx: ModelContext) -> None:
        if ctx.withdraw is None or ctx.deposit is None:
            return
        hh, prog = ctx.hh, ctx.program
        acc, gid = hh.accounts, hh.goals.goal_id
        t = goal_totals(hh)
        n, A, G = prog.n, len(acc), len(hh.goals)
        rows = np.arange(A)
        g_w = np.flatnonzero(t.withdraw > 0)
        paid = incidence(acc.goal, ctx.withdraw.start + rows, (G, n)).take(g_w)
        prog.add_rows("funding_withdraw", paid, t.withdraw[g_w], t.withdraw[g_w],
                      [f"goal {gid[g]}: its accounts pay out {t.withdraw[g]:,.2f} in all"
                       for g in g_w], elastic=True)
        g_d = np.flatnonzero(t.deposit > 0)
        taken = incidence(acc.goal, ctx.deposit.start + rows, (G, n)).take(g_d)
        prog.add_rows("funding_deposit", taken, t.deposit[g_d], t.deposit[g_d],
                      [f"goal {gid[g]}: its accounts take in {t.deposit[g]:,.2f} in all "
                       "(within contribution room)" for g in g_d], elastic=True)
        sheltered = acc.tax_type != TAXABLE
        own = np.maximum(funding_of(hh).goal_flow, 0.0)
        g_x = np.flatnonzero(t.to_taxable > 0)
        if len(g_x) and sheltered.any():
            s = np.flatnonzero(sheltered)
            into = incidence(acc.goal[s], ctx.deposit.start + s, (G, n)).take(g_x)
            prog.add_rows("funding_excess", into, -np.inf, own[g_x],
                          [f"goal {gid[g]}: the required distribution's excess goes to "
                           "taxable accounts" for g in g_x])


class DistributionTaxTerm:
    """Tax and penalty on payouts of tax-deferred accounts (flat rate or brackets)."""

    name = "distribution_tax"

    def compile(self, ctx: ModelContext) -> None:
        if ctx.withdraw is None:
            return
        hh, prog = ctx.hh, ctx.program
        f = funding_of(hh)
        td = np.flatnonzero(hh.accounts.tax_type == TAX_DEFERRED)
        w = ctx.withdraw.start + td
        if len(f.brackets) and len(td):
            tax = prog.add_vars("distribution_tax", 1, 0.0, np.inf)
            lo, rate = f.brackets[:, 0], f.brackets[:, 1]
            line = bracket_tax(f.brackets, lo) - rate * lo      # B_j(x) = rate_j x + line_j
            base = float(bracket_tax(f.brackets, f.ordinary_income))
            J, n = len(lo), prog.n
            T = (incidence(np.arange(J), np.full(J, tax.start), (J, n))
                 - incidence(np.repeat(np.arange(J), len(td)), np.tile(w, J), (J, n),
                             np.repeat(rate, len(td))))
            prog.add_rows("distribution_brackets", T,
                          rate * f.ordinary_income + line - base, np.inf,
                          [f"ordinary income from {lo_j:,.0f} taxed at {r_j:.2%}"
                           for lo_j, r_j in zip(lo, rate, strict=True)])
            coef = np.zeros(prog.n)
            coef[tax.start] = 1.0
        else:
            coef = np.zeros(prog.n)
            coef[w] = f.ordinary_rate
        coef[ctx.withdraw.slice] += f.payout_rate()
        prog.add_term(self.name, coef)


def shelter_value(hh: Household, horizon: float, discount: float) -> np.ndarray:
    """Per account: the location value of a dollar there, valued by what it holds now
    (by what it may buy when it holds nothing); 0 in tax-deferred accounts."""
    from .location import location_value

    lv = location_value(hh, horizon, discount)
    lots, price = hh.lots, hh.securities.price
    held = np.zeros(lv.shape)
    np.add.at(held, (lots.account, lots.security), lots.shares * price[lots.security])
    value = held.sum(axis=1)
    menu = hh.accounts.buyable
    fallback = np.divide((lv * menu).sum(axis=1), menu.sum(axis=1),
                         out=np.zeros(len(value)), where=menu.sum(axis=1) > 0)
    mean = np.divide((lv * held).sum(axis=1), value, out=fallback.copy(), where=value > 0)
    return np.where(hh.accounts.tax_type == TAX_DEFERRED, 0.0, mean)


class ShelterTerm:
    """The after-tax value a payout forfeits (a deposit gains), beyond the location
    term's own share of it."""

    name = "shelter"

    def __init__(self, horizon: float, discount: float, location_weight: float):
        self.horizon, self.discount, self.weight = horizon, discount, location_weight

    def compile(self, ctx: ModelContext) -> None:
        if ctx.withdraw is None or ctx.deposit is None or self.horizon <= 0:
            return
        top = (1.0 - self.weight) * shelter_value(ctx.hh, self.horizon, self.discount)
        coef = np.zeros(ctx.program.n)
        coef[ctx.withdraw.slice] = top
        coef[ctx.deposit.slice] = -top
        ctx.program.add_term(self.name, coef)


def funding_constraints(options: Options) -> list[FundingConstraint]:
    """The rules of goal-level flows (they add nothing to a household without one)."""
    return [FundingConstraint()]


def funding_terms(options: Options) -> list[DistributionTaxTerm | ShelterTerm]:
    """The costs of goal-level flows (they add nothing to a household without one)."""
    return [DistributionTaxTerm(),
            ShelterTerm(options.location_horizon_years, options.discount_rate,
                        options.location_weight)]


def flow_amounts(ctx: ModelContext, x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Dollars each account pays out and takes in (to the cent), or None without flows."""
    if ctx.withdraw is None or ctx.deposit is None:
        return None
    t = goal_totals(ctx.hh)
    goal = ctx.hh.accounts.goal
    return (cents_by_goal(x[ctx.withdraw.slice], t.withdraw, goal),
            cents_by_goal(x[ctx.deposit.slice], t.deposit, goal))


def fix_flows(prog: Program, ctx: ModelContext, x: np.ndarray) -> None:
    """Fix the flow variables of ``prog`` at the solution's amounts (to the cent), so a
    re-solve in shares (the rounding repair) keeps the split the solve chose."""
    amounts = flow_amounts(ctx, x)
    if amounts is None:
        return
    for name, value in zip(("withdraw", "deposit"), amounts, strict=True):
        b = prog.vars[name]
        prog.vars[name] = VarBlock(name, b.start, b.size, value.copy(), value.copy(), b.integer)


def flow_bands(ctx: ModelContext, name: str, a_idx: np.ndarray, k_idx: np.ndarray) -> None:
    """Asset-location bands when a goal-level flow changes the account's value:
    ``lo (value + deposit - withdrawal) <= class dollars <= hi (...)``."""
    assert ctx.withdraw is not None and ctx.deposit is not None
    hh, prog = ctx.hh, ctx.program
    acc, K, m, n = hh.accounts, ctx.n_classes, len(a_idx), prog.n
    rows = ctx.account_class.take(a_idx * K + k_idx)
    value = ctx.layout.account_value[a_idx]
    labels = [f"account {acc.account_id[a]}: {hh.classes[k]} band "
              f"[{acc.band_lo[a, k]:.2f}, {acc.band_hi[a, k]:.2f}]"
              for a, k in zip(a_idx, k_idx, strict=True)]
    r = np.arange(m)
    for side, share in (("lo", acc.band_lo[a_idx, k_idx]), ("hi", acc.band_hi[a_idx, k_idx])):
        flow = (incidence(r, ctx.deposit.start + a_idx, (m, n), share)
                - incidence(r, ctx.withdraw.start + a_idx, (m, n), share))
        bound = share * value - rows.c
        prog.add_rows(f"{name}_{side}" if side == "lo" else name, rows.T - flow,
                      bound if side == "lo" else -np.inf, np.inf if side == "lo" else bound,
                      labels, elastic=True, scale=np.maximum(value, 1e-9),
                      unit="of account value")
