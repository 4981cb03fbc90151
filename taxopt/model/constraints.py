"""Constraint groups: each is a small object that adds its rows to the program.

The groups marked elastic are the household's hard rules; when they cannot all
hold, the infeasibility explainer relaxes exactly these rows and reports which
ones had to give, in words.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ..options import Options
from .context import ModelContext
from .expr import Triplets
from .funding import flow_bands
from .layout import unit_gain_fraction
from .taxes import GainBudget, LotReliefOrder, SaleRules


class Constraint(Protocol):
    """Anything that adds rows to a model context."""

    name: str

    def compile(self, ctx: ModelContext) -> None: ...


class CashConstraint:
    """Each account pays for its own buys and withdrawal and keeps ``min_cash``."""

    name = "cash"

    def compile(self, ctx: ModelContext) -> None:
        acc = ctx.hh.accounts
        labels = [f"account {a}: cash after trades and cash flow >= min_cash {m:,.2f}"
                  + (f" (withdrawal {-f:,.2f})" if f < 0 else "")
                  for a, m, f in zip(acc.account_id, acc.min_cash.tolist(),
                                     acc.cash_flow.tolist(), strict=True)]
        ctx.program.add_rows(self.name, ctx.cash.T, acc.min_cash - ctx.cash.c, np.inf, labels,
                             elastic=True)


class BandConstraint:
    """Asset-location bands: a class's share of an account's value after trades."""

    name = "bands"

    def compile(self, ctx: ModelContext) -> None:
        hh, K = ctx.hh, ctx.n_classes
        acc = hh.accounts
        a_idx, k_idx = acc.banded.nonzero()
        if not len(a_idx):
            return
        if ctx.withdraw is not None:   # a goal-level flow moves the account's value
            return flow_bands(ctx, self.name, a_idx, k_idx)
        rows = ctx.account_class.take(a_idx * K + k_idx)
        value = ctx.layout.account_value[a_idx]
        lo = acc.band_lo[a_idx, k_idx] * value - rows.c
        hi = acc.band_hi[a_idx, k_idx] * value - rows.c
        labels = [f"account {acc.account_id[a]}: {hh.classes[k]} band "
                  f"[{acc.band_lo[a, k]:.2f}, {acc.band_hi[a, k]:.2f}]"
                  for a, k in zip(a_idx, k_idx, strict=True)]
        ctx.program.add_rows(self.name, rows.T, lo, hi, labels, elastic=True,
                             scale=np.maximum(value, 1e-9), unit="of account value")


class ToleranceConstraint:
    """The goal's hard drift tolerance: every class within ``tol`` of its target."""

    name = "tolerance"

    def compile(self, ctx: ModelContext) -> None:
        hh, K = ctx.hh, ctx.n_classes
        goals = hh.goals
        g_idx = (~np.isnan(goals.tolerance)).nonzero()[0]
        if not len(g_idx):
            return
        g_rep, k_rep = g_idx.repeat(K), np.arange(K * len(g_idx)) % K
        # every goal with a tolerance (the usual case): all rows, as they are
        rows = (ctx.goal_class if len(g_idx) == len(goals) else
                ctx.goal_class.take(g_rep * K + k_rep))
        total = ctx.layout.goal_value[g_rep]
        centre = goals.target[g_rep, k_rep] * total
        width = goals.tolerance[g_rep] * total
        tol, tgt = goals.tolerance.tolist(), goals.target.tolist()
        labels = [f"goal {goals.goal_id[g]}: {hh.classes[k]} within "
                  f"{tol[g]:.2%} of target {tgt[g][k]:.2%}"
                  for g, k in zip(g_rep.tolist(), k_rep.tolist(), strict=True)]
        ctx.program.add_rows(self.name, rows.T, centre - width - rows.c,
                             centre + width - rows.c, labels, elastic=True,
                             scale=np.maximum(total, 1e-9), unit="of goal value")


WASH_TIEBREAK = 1e-4


class WashSaleConstraint:
    """Never buy a wash group anywhere in the household while selling it at a loss.

    One binary per group that has taxable lots and somewhere to buy it, and one row
    per taxable lot of such a group.
    Groups sold at a loss in the last 30 days are already unbuyable in the layout.
    """

    name = "wash"

    def compile(self, ctx: ModelContext) -> None:
        hh, lay, prog = ctx.hh, ctx.layout, ctx.program
        group = hh.securities.wash_group
        gain = unit_gain_fraction(lay, hh.securities.price)
        taxed = lay.unit_taxable.nonzero()[0]
        buy_groups = group[lay.buy_security]
        names = hh.securities.wash_group_names
        # groups with a taxable unit and a place to buy (sorted, as np.intersect1d gives)
        seen = np.zeros((2, len(names)), bool)
        taxed_groups = group[lay.unit_security[taxed]]
        seen[0, taxed_groups] = True
        seen[1, buy_groups] = True
        groups = (seen[0] & seen[1]).nonzero()[0]
        if not len(groups):
            return
        z = prog.add_vars("wash", len(groups), 0.0, 1.0, integer=True)
        slot = np.full(len(hh.securities.wash_group_names), -1)
        slot[groups] = np.arange(len(groups))
        taxed_slot = slot[taxed_groups]
        has_slot = taxed_slot >= 0
        lu, lz = taxed[has_slot], taxed_slot[has_slot]
        loss = gain[lu] < 0
        cap = prog.vars["sell"].ub[lu]
        n, m1 = prog.n, len(lu)
        # One row per loss lot (sell <= cap * z): tighter than one row per group, and
        # HiGHS's dual simplex needs the rows: with 21,000 boxed columns and 44 rows its
        # ratio test took 380 ms an LP; with a row per loss lot, 50 ms (measured).
        # Gain lots get a row too, slack by construction (sell <= cap), so the program
        # keeps its shape when prices move lots across their basis (warm re-solves).
        r1 = np.arange(m1)
        sells = Triplets(np.concatenate([r1, r1]),
                         np.concatenate([ctx.sell.start + lu, z.start + lz]),
                         np.concatenate([np.ones(m1), -np.where(loss, cap, 0.0)]), (m1, n))
        # One label a group, shared by its rows (a string a row: 43 ms at 100,000 lots).
        label = np.array([f"wash group {names[g]}: loss sale only if the group is not bought"
                          for g in groups], dtype=object)
        prog.add_rows("wash_sell", sells, -np.inf, np.where(loss, 0.0, cap), label[lz].tolist())
        buy_slot = slot[buy_groups]
        bj = (buy_slot >= 0).nonzero()[0]
        bz = buy_slot[bj]
        big = prog.vars["buy"].ub[bj]
        m2 = len(bj)
        r2 = np.arange(m2)
        buys = Triplets(np.concatenate([r2, r2]),
                        np.concatenate([ctx.buy.start + bj, z.start + bz]),
                        np.concatenate([np.ones(m2), big]), (m2, n))
        label = np.array([f"wash group {names[g]}: no buy while harvesting its loss"
                          for g in groups], dtype=object)
        prog.add_rows("wash_buy", buys, -np.inf, big, label[bz].tolist())
        # Among equally good purchases, prefer groups the plan is not harvesting: one
        # basis point on buys of groups with loss lots. Without it, a direct-indexing
        # book's relaxation buys and harvests the same stocks in ties, and hundreds of
        # wash binaries come out fractional (measured: 15 s instead of 0.2 s).
        has_loss = np.zeros(len(groups), bool)
        has_loss[lz[loss]] = True
        coef = np.zeros(prog.n)
        coef[ctx.buy.start + bj] = WASH_TIEBREAK * has_loss[bz]
        # A group the plan neither buys nor harvests leaves its binary free anywhere
        # in [0, 1]; a millionth of a dollar for "harvest allowed" puts it at 1.
        coef[z.start:z.start + z.size] = -1e-6
        prog.add_term("wash_tiebreak", coef)


def default_constraints(options: Options) -> list[Constraint]:
    """The hard rules every rebalance obeys, plus those the options switch on."""
    out: list[Constraint] = [SaleRules(options.no_short_term_gains,
                                       options.protect_long_term_days,
                                       options.discount_rate),
                             CashConstraint(), BandConstraint(), ToleranceConstraint(),
                             WashSaleConstraint()]
    if options.lot_relief != "optimal":
        out.append(LotReliefOrder(options.lot_relief))
    return out


def budget_constraints(options: Options) -> list[Constraint]:
    """Caps that refer to the tax term, so they compile after it."""
    if (options.max_realized_short_term is None and options.max_realized_long_term is None
            and options.max_tax is None):
        return []
    return [GainBudget(options.max_realized_short_term, options.max_realized_long_term,
                       options.max_tax, harvest_min_loss=options.harvest_min_loss,
                       harvest_min_loss_pct=options.harvest_min_loss_pct)]


__all__ = ["BandConstraint", "CashConstraint", "Constraint", "ToleranceConstraint",
           "WashSaleConstraint", "default_constraints"]
