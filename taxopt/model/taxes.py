"""Tax pieces of the model: the tax term (per lot or exactly netted), gain budgets,
sale rules and forced lot-relief order.

The year's tax after Schedule D netting is piecewise linear and not convex.
With T = NST + NLT (net short- and long-term results, year-to-date and
carryforwards included) it can be written, for any two rates, as

    tax = ts * max(T, -limit) + (tl - ts) * max(0, min(NLT, T))

(check each region of the primer: both gains; a long-term loss against a
short-term gain; the reverse; a net loss). The first part is convex; the second
needs one binary to pick between ``0`` and ``min(NLT, T)``. That is the whole
"exact" model: one binary for the netting, one more if carryforwards have value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..domain.household import TaxProfile
from ..tax.holding import lot_days_to_long_term
from ..tax.netting import net_year
from .context import ModelContext
from .expr import Triplets, incidence
from .layout import unit_gain_fraction
from .program import NettingBlock


@dataclass(frozen=True, slots=True, eq=False)
class SaleGains:
    """Modelled gain per dollar sold, split by term (zero outside taxable accounts)."""

    short: np.ndarray
    long: np.ndarray

    @property
    def total(self) -> np.ndarray:
        return self.short + self.long


def sale_gains(ctx: ModelContext, harvest_min_loss: float = 0.0,
               harvest_min_loss_pct: float = 0.0) -> SaleGains:
    """Gain per dollar of each sell unit as the tax model counts it.

    The part of a loss that purchases of the group in the last 30 days disallow counts
    as zero, pro rata over the lot (see `layout.washed_share`); a loss below the
    harvesting thresholds counts as zero too (it is not worth harvesting).
    """
    lay, price = ctx.layout, ctx.hh.securities.price
    g = unit_gain_fraction(lay, price)      # already 0 outside taxable accounts
    # (each step only where it can change something: a household's few hundred units
    # cost a numpy call each more than its arithmetic)
    small = None
    if harvest_min_loss > 0 or harvest_min_loss_pct > 0:   # else no loss is small
        value = lay.unit_shares * price[lay.unit_security]
        small = (g < 0) & ((-g * value < harvest_min_loss) | (-g < harvest_min_loss_pct))
    if lay.unit_washed.any():
        g = np.where(g < 0, g * (1.0 - lay.unit_washed), g)
    if small is not None:
        g = np.where(small, np.maximum(g, 0.0), g)
    return SaleGains(np.where(lay.unit_long, 0.0, g), np.where(lay.unit_long, g, 0.0))


def _padded(ctx: ModelContext, block_coef: np.ndarray) -> np.ndarray:
    coef = np.zeros(ctx.program.n)
    coef[ctx.sell.slice] = block_coef
    return coef


class LotTaxTerm:
    """Estimated tax of the sales: each lot's gain at its own short- or long-term rate.

    Losses are worth their rate (a credit) whether or not the year can use them.
    """

    name = "tax"

    def __init__(self, gains: SaleGains | None = None, recapture_years: float | None = None,
                 discount_rate: float = 0.04, **thresholds: float):
        self.gains, self.thresholds = gains, thresholds
        self.recapture_years, self.discount_rate = recapture_years, discount_rate

    def compile(self, ctx: ModelContext) -> None:
        t = ctx.hh.tax
        g = self.gains or sale_gains(ctx, **self.thresholds)
        ctx.program.add_term(self.name, _padded(ctx, t.short_term_rate * g.short
                                                + t.long_term_rate * g.long))
        if self.recapture_years is not None:
            r = recapture_rate(t, self.discount_rate, self.recapture_years)
            ctx.program.add_term(RECAPTURE, _padded(ctx, -r * g.short - r * g.long))


#: Name of the objective term that gives back, at liquidation, the tax a realization
#: moves into this year (`recapture_rate`); apart from ``"tax"``, so ``max_tax`` and
#: the year's tax stay the year's.
RECAPTURE = "recapture"


def recapture_rate(tax: TaxProfile, discount_rate: float, horizon_years: float) -> float:
    """What a dollar of realized gain saves later, per dollar, today.

    The proceeds are reinvested, so the replacement's basis is higher by the gain (lower
    by a loss) and a liquidation ``horizon_years`` out taxes that much less (more) gain.
    By then every lot is long-term: ``tl / (1 + discount_rate) ** horizon_years``, the
    same for either term of the realization. Realizing a gain then costs ``ts - r`` or
    ``tl - r`` (the deferral's time value plus any rate gap), a harvested loss is worth
    the same, and a loss carried forward ``carryforward_value - r``.
    """
    return tax.long_term_rate / (1.0 + discount_rate) ** horizon_years


TIEBREAK = 0.001

# Expected years until a dollar of loss carried forward is used. A carried loss first
# meets the next year's gains (taxopt's own rebalances realize some every year) and
# the $3,000 ordinary offset; it cannot be used before next year's return, and a
# larger one takes longer. Two years is the middle of that range; at a 4 % discount
# rate a dollar carried is worth 0.92 of the long-term rate.
CARRYFORWARD_YEARS = 2.0


def default_carryforward_value(tax: TaxProfile, discount_rate: float) -> float:
    """Present value of a dollar of loss carried forward, per dollar.

    It will offset a future gain, taxed at worst at the long-term rate (a short-term
    gain or the ordinary offset saves more, so this is the prudent value), one to a
    few years from now: ``tl / (1 + discount_rate) ** CARRYFORWARD_YEARS``.
    """
    return tax.long_term_rate / (1.0 + discount_rate) ** CARRYFORWARD_YEARS


def _term_sums(ctx: ModelContext, g: SaleGains, st: int, lt: int):
    """The two rows defining the plan's net short- and long-term results.

    (Tried: partial sums over chunks of 64 lots to avoid long rows; HiGHS then needed
    15x more iterations for the same time at 21,000 lots, so the plain rows stay.)
    """
    n, s0 = ctx.program.n, ctx.sell.start
    nz_s, nz_l = g.short.nonzero()[0], g.long.nonzero()[0]
    # row 0: st - sum of short gains, row 1: lt - sum of long gains
    k = len(nz_s) + 1
    r = np.zeros(k + 1 + len(nz_l), np.int64)
    r[k:] = 1
    c = np.empty(len(r), np.int64)
    c[0], c[k] = st, lt
    np.add(nz_s, s0, out=c[1:k])
    np.add(nz_l, s0, out=c[k + 1:])
    v = np.empty(len(r))
    v[0] = v[k] = 1.0
    np.negative(g.short[nz_s], out=v[1:k])
    np.negative(g.long[nz_l], out=v[k + 1:])
    return Triplets(r, c, v, (2, n)), np.zeros(2), np.zeros(2)


def _rows(n: int, rows: list[list[tuple[int, float]]]) -> Triplets:
    """A few short rows given as (column, value) lists."""
    r = [i for i, entries in enumerate(rows) for _ in entries]
    c = [j for entries in rows for j, _ in entries]
    v = [x for entries in rows for _, x in entries]
    return Triplets(np.array(r, np.int64), np.array(c, np.int64), np.array(v, float),
                    (len(rows), n))


class ExactTaxTerm:
    """What the plan adds to the year's tax, with full netting (see the module docstring)."""

    name = "tax"

    def __init__(self, carryforward_value: float | None = 0.0, discount_rate: float = 0.04,
                 recapture_years: float | None = None, **thresholds: float):
        self.carryforward_value = carryforward_value
        self.discount_rate = discount_rate
        self.recapture_years = recapture_years
        self.thresholds = thresholds

    def compile(self, ctx: ModelContext) -> None:
        hh, prog = ctx.hh, ctx.program
        t = hh.tax
        ts, tl, limit = t.short_term_rate, t.long_term_rate, t.offset_limit
        g = sale_gains(ctx, **self.thresholds)
        nst0, nlt0 = t.ytd_short - t.carry_short, t.ytd_long - t.carry_long
        cap = prog.vars["sell"].ub
        total = g.total
        big = abs(nst0) + abs(nlt0) + float(np.abs(total) @ cap) + limit + 1.0
        # Net plan results by term as two variables: the only dense rows (every lot
        # appears once), so the netting rows below stay tiny.
        st = prog.add_vars("plan_short", 1, -np.inf, np.inf)
        lt = prog.add_vars("plan_long", 1, -np.inf, np.inf)
        tau = prog.add_vars("tax_total", 1, -limit, np.inf)     # max(T, -limit)
        pref = prog.add_vars("tax_pref", 1, 0.0, big)           # max(0, min(NLT, T))
        b = prog.add_vars("tax_piece", 1, 0.0, 1.0, integer=True)
        prog.pieces.append(b.start)
        n = prog.n
        prog.add_rows("plan_by_term", *_term_sums(ctx, g, st.start, lt.start),
                      ["plan: net short-term", "plan: net long-term"])

        # tau >= T = nst0 + nlt0 + st + lt
        prog.add_rows("tax_total", _rows(n, [[(tau.start, 1.0), (st.start, -1.0),
                                              (lt.start, -1.0)]]),
                      nst0 + nlt0, np.inf, ["tax: net total"])
        if tl < ts:   # preferential part wants to be large: pref <= max(0, min(NLT, T))
            rows = _rows(n, [[(pref.start, 1.0), (b.start, big), (lt.start, -1.0)],
                             [(pref.start, 1.0), (b.start, big), (st.start, -1.0),
                              (lt.start, -1.0)],
                             [(pref.start, 1.0), (b.start, -big)]])
            hi = [nlt0 + big, nst0 + nlt0 + big, 0.0]
            prog.add_rows("tax_pref", rows, -np.inf, np.array(hi),
                          ["tax: long-term part", "tax: long-term part", "tax: piece"])
        elif tl > ts:  # pref wants to be small: pref >= min(NLT, T) when that is >= 0
            rows = _rows(n, [[(pref.start, 1.0), (b.start, big), (lt.start, -1.0)],
                             [(pref.start, 1.0), (b.start, -big), (st.start, -1.0),
                              (lt.start, -1.0)]])
            lo = [nlt0, nst0 + nlt0 - big]
            prog.add_rows("tax_pref", rows, np.array(lo), np.inf,
                          ["tax: long-term part", "tax: net total part"])
        else:
            prog.vars["tax_pref"].ub[:] = 0.0
        prog.netting = NettingBlock((st.start, lt.start, tau.start, pref.start, b.start),
                                    ("tax_total", "tax_pref"))
        self._plan = (st.start, lt.start)
        before = net_year(t).tax
        coef = np.zeros(prog.n)
        coef[tau.start], coef[pref.start] = ts, tl - ts
        prog.add_term(self.name, coef, -before)
        # Where netting makes the year's tax flat (losses absorbed, gains offset), lots
        # tie; realizing less gain keeps carryforwards and future room. A small share of
        # the realized gain, whatever its term, breaks those ties. (Per-lot tax, ts on
        # short-term and tl on long-term gains, was tried: it prefers a long-term lot
        # with a larger gain, so a plan filled the flat region up to its edge with it
        # and whole-share rounding then crossed the edge: $3-$20 of tax that selling the
        # short-term lot alone avoids.)
        prog.add_term("tax_tiebreak", _padded(ctx, TIEBREAK * ts * total))
        if self.recapture_years is not None:
            # Linear in the plan's net results by term: the netting's shape is unchanged.
            r = recapture_rate(t, self.discount_rate, self.recapture_years)
            coef = np.zeros(prog.n)
            coef[[st.start, lt.start]] = -r
            prog.add_term(RECAPTURE, coef)
        value = (default_carryforward_value(t, self.discount_rate)
                 if self.carryforward_value is None else self.carryforward_value)
        if value > 0:
            self._credit_carryforward(ctx, nst0 + nlt0, limit, big, value)

    def _credit_carryforward(self, ctx: ModelContext, t0: float, limit: float,
                             big: float, value: float) -> None:
        """Credit the net loss carried to later years, ``value * max(0, -T - limit)``.

        With ``value`` below the short-term rate no binary is needed: the carried loss
        is ``u = tau - T`` (``tau = max(T, -limit)``), and ``ts * tau - value * u`` is
        convex in T (slope ``value`` below ``-limit``, ``ts`` above), so the solver keeps
        ``tau`` at ``max(T, -limit)``. Otherwise one binary picks the piece:
        ``c <= max(0, -T - limit)``.
        """
        prog = ctx.program
        before = max(0.0, -t0 - limit)
        if value < ctx.hh.tax.short_term_rate:
            coef = np.zeros(prog.n)
            coef[prog.vars["tax_total"].start] = -value
            coef[self._plan[0]] = coef[self._plan[1]] = value
            prog.add_term("carryforward", coef, value * (t0 + before))
            return
        c = prog.add_vars("carryforward", 1, 0.0, big)
        b = prog.add_vars("carryforward_piece", 1, 0.0, 1.0, integer=True)
        prog.pieces.append(b.start)
        n = prog.n
        r1, r2 = np.zeros(n), np.zeros(n)
        r1[c.start], r1[b.start] = 1.0, big
        r1[list(self._plan)] = 1.0
        r2[c.start], r2[b.start] = 1.0, -big
        prog.add_rows("carryforward", np.vstack([r1, r2]), -np.inf,
                      np.array([-t0 - limit + big, 0.0]), ["carryforward", "carryforward"])
        if prog.netting is not None:
            prog.netting = NettingBlock((*prog.netting.columns, c.start, b.start),
                                        (*prog.netting.rows, "carryforward"))
        coef = np.zeros(n)
        coef[c.start] = -value
        prog.add_term("carryforward", coef, value * before)


class SaleRules:
    """Short-term gains: never sold on request (a hard rule), and a price on selling a
    gain that turns long-term soon.

    Protection is a cost, not a wall: selling a lot within ``protect_days`` of turning
    long-term is charged what waiting would have saved, the rate gap ``ts - tl`` on its
    gain, discounted over the days left at ``discount_rate``. The lot is then avoided
    when another is cheaper and still used when it is the cheapest way (or the only
    way) to raise the cash.
    """

    name = "sale_rules"

    def __init__(self, no_short_term_gains: bool, protect_days: int,
                 discount_rate: float = 0.0):
        self.no_short_term_gains, self.protect_days = no_short_term_gains, protect_days
        self.discount_rate = discount_rate

    def compile(self, ctx: ModelContext) -> None:
        prog = ctx.program
        units = _short_gain_units(ctx)
        if self.no_short_term_gains and len(units):
            A = incidence(np.zeros(len(units), np.int64), ctx.sell.start + units,
                          (1, prog.n))
            prog.add_rows("no_short_term_gains", A, -np.inf, 0.0,
                          ["no_short_term_gains: no lot is sold at a short-term gain"],
                          elastic=True)
        if self.protect_days > 0 and len(units):
            cost = _protection_cost(ctx, units, self.protect_days, self.discount_rate)
            if cost is not None:
                prog.add_term("protection", _padded(ctx, cost))


def _short_gain_units(ctx: ModelContext) -> np.ndarray:
    """Taxable units held short-term at a gain (the taxable units come first)."""
    lay = ctx.layout
    g = unit_gain_fraction(lay, ctx.hh.securities.price)
    return (lay.unit_taxable & ~lay.unit_long & (g > 0)).nonzero()[0]


def _protection_cost(ctx: ModelContext, units: np.ndarray, protect_days: int,
                     discount_rate: float) -> np.ndarray | None:
    """`protection_cost` computed on the short-term gain ``units`` alone (None: no cost)."""
    hh, lay = ctx.hh, ctx.layout
    if not len(hh.lots):
        return None
    days = lot_days_to_long_term(hh)[lay.unit_lot[units]]   # taxable units are lots
    soon = (days > 0) & (days <= protect_days)
    if not soon.any():
        return None
    t = hh.tax
    at, d = units[soon], days[soon]
    gap = max(t.short_term_rate - t.long_term_rate, 0.0)
    g = unit_gain_fraction(lay, hh.securities.price)[at]
    cost = np.zeros(lay.n_units)
    cost[at] = gap * g * (1.0 + discount_rate) ** (-d / 365.0)
    return cost if cost.any() else None


def protection_cost(ctx: ModelContext, protect_days: int, discount_rate: float) -> np.ndarray:
    """Per dollar sold of each unit, what waiting for long-term would have saved.

    A short-term gain ``g`` per dollar that turns long-term in ``d <= protect_days`` days
    saves ``(ts - tl) g`` if the sale waits, worth ``(1 + r)^(-d / 365)`` today.
    """
    hh, lay = ctx.hh, ctx.layout
    t = hh.tax
    g = unit_gain_fraction(lay, hh.securities.price)
    lots = hh.lots
    # units that are not a lot (NaT: no date) never turn long-term by their data: -1
    days = np.where(lay.unit_lot >= 0, lot_days_to_long_term(hh)[np.maximum(lay.unit_lot, 0)]
                    if len(lots) else -1, -1)
    soon = lay.unit_taxable & ~lay.unit_long & (g > 0) & (days > 0) & (days <= protect_days)
    gap = max(t.short_term_rate - t.long_term_rate, 0.0)
    disc = (1.0 + discount_rate) ** (-np.maximum(days, 0) / 365.0)
    return np.where(soon, gap * g * disc, 0.0)


class GainBudget:
    """Caps for the year: net realized short- and long-term gains, and tax dollars."""

    name = "gain_budget"

    def __init__(self, max_short: float | None, max_long: float | None,
                 max_tax: float | None, **thresholds: float):
        self.max_short, self.max_long, self.max_tax = max_short, max_long, max_tax
        self.thresholds = thresholds

    def compile(self, ctx: ModelContext) -> None:
        prog = ctx.program
        g = sale_gains(ctx, **self.thresholds)
        for label, coef, cap in (("short-term", g.short, self.max_short),
                                 ("long-term", g.long, self.max_long)):
            if cap is not None:
                prog.add_rows(f"budget_{label}", _padded(ctx, coef)[None, :], -np.inf, cap,
                              [f"net realized {label} gains <= {cap:,.2f}"], elastic=True)
        if self.max_tax is not None:
            coef, const = prog.terms["tax"]
            prog.add_rows("budget_tax", coef[None, :], -np.inf, self.max_tax - const,
                          [f"estimated tax <= {self.max_tax:,.2f}"], elastic=True)
            if prog.netting is not None:      # the tax term's columns alone
                prog.netting = prog.netting.with_rows("budget_tax")


_ORDER_KEYS = ("fifo", "hifo", "min_tax")


class LotReliefOrder:
    """Force a custodian's lot order inside each taxable position.

    A lot may be sold only once every lot ahead of it is sold in full: one binary per
    consecutive pair of lots ("the lot ahead is used up").
    """

    name = "lot_relief"

    def __init__(self, method: str):
        if method not in _ORDER_KEYS:
            raise ValueError(f"unknown lot relief method {method!r}")
        self.method = method

    def compile(self, ctx: ModelContext) -> None:
        hh, lay, prog = ctx.hh, ctx.layout, ctx.program
        units = np.flatnonzero(lay.unit_taxable)
        if len(units) < 2:
            return
        lots = hh.lots
        li = lay.unit_lot[units]
        if self.method == "fifo":
            key = lots.acquired[li].astype(np.int64).astype(float)
        elif self.method == "hifo":
            key = -(lots.basis[li] / lots.shares[li])
        else:
            t = hh.tax
            g = unit_gain_fraction(lay, hh.securities.price)[units]
            key = g * np.where(lay.unit_long[units], t.long_term_rate, t.short_term_rate)
        order = units[np.lexsort((li, key, lay.unit_pos[units]))]
        same = lay.unit_pos[order[1:]] == lay.unit_pos[order[:-1]]
        ahead, behind = order[:-1][same], order[1:][same]
        if not len(ahead):
            return
        m = len(ahead)
        d = prog.add_vars("lot_order", m, 0.0, 1.0, integer=True)
        cap = prog.vars["sell"].ub
        n, s0 = prog.n, ctx.sell.start
        r = np.arange(m)
        # behind <= cap_behind * d ; ahead >= cap_ahead * d
        A1 = incidence(r, s0 + behind, (m, n)) - incidence(r, d.start + r, (m, n), cap[behind])
        A2 = incidence(r, s0 + ahead, (m, n)) - incidence(r, d.start + r, (m, n), cap[ahead])
        prog.add_rows("lot_order_behind", A1, -np.inf, 0.0)
        prog.add_rows("lot_order_ahead", A2, 0.0, np.inf)
