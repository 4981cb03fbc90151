"""The multi-period simulation of one household under every method.

Each household gets its own seeded market path (class returns per step), and
every method runs through the *same* path, flows and start, so the methods
differ only by their trades. One step on date ``d_t`` (``t = 1 .. T``):

1. the market moves from ``d_{t-1}`` to ``d_t``: distributions of the step are
   paid in cash, then prices move (`Ledger.move`);
2. on the first step of a calendar year the previous year is closed: its
   capital-gains tax by Schedule D netting (`taxopt.tax.netting.net_year`, with
   the year's realized gains and the carryforward, the new carryforward fed into
   the next year's profile) plus its distribution tax, paid from the taxable
   accounts' cash, selling pro rata when cash is short (`Ledger.settle`);
3. the step's deposit or withdrawal is passed to the rebalance as the
   account's ``cash_flow`` (a withdrawal is capped at the account's value less
   ``min_cash``; the rest is recorded unpaid), or, for a retiree, as the goal's
   ``cash_flow`` (`taxopt.domain.funding.with_goal_flows`; capped at the goal's
   accounts' value less ``min_cash``): the method chooses the accounts, and the
   tax on what an IRA pays out is charged to the year (`Ledger.apply`);
4. the method rebalances; a failed rebalance (optimizer status not
   optimal/feasible, a heuristic's plan with audit violations, or an exception)
   keeps the holdings: the flow is settled as in step 2 (a goal's flow split pro
   rata) and the failure counted.

Every booked trade (a plan's, or a forced sale of steps 2 and 4) pays the market's
trading cost (`MarketParams.trading_cost_bps`, one way, of its dollar value) from its
account's cash above ``min_cash``; what the cash cannot pay is owed (subtracted from
wealth) and paid from the account's cash before a later rebalance, usually the next one's
distributions (`Ledger.charge_costs`, `Ledger.pay_owed`); the run keeps the total
(``trading_costs``).

Step 0 is the rebalance on the start date; after the last step (``t = T``, no
rebalance) the household is liquidated (`Ledger.after_tax_wealth`); its wealth
without the liquidation's tax is kept too (`Ledger.pre_liquidation_wealth`, the
``pre_liquidation`` lens of `LENSES`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..audit import Assessment
from ..domain import from_dict
from ..domain.household import Household
from ..domain.orders import Orders
from ..methods import Planner
from ..methods import planner as method_planner
from ..tax.netting import net_year
from .ledger import Ledger
from .market import (
    MarketParams,
    class_index,
    class_returns_in,
    exempt_factor,
    idiosyncratic,
    security_total_returns,
)
from .population import IDIO_VOL, Traits, goal_flows, life_flows, with_direct_index
from .risk import sleeve_returns, tracking_error

BASELINE = "lockstep_fifo"
MAX_MESSAGES = 3
#: Terminal-wealth conventions. ``liquidation``: everything sold at the end, every
#: embedded gain taxed (harvesting keeps only its deferral value; the headline).
#: ``pre_liquidation``: the embedded gains pass untaxed (step-up at death, donation,
#: never sold), the IRA still at 1 - ordinary rate.
LENSES = ("liquidation", "pre_liquidation")


@dataclass
class MethodRun:
    """One method's path through one household's simulation."""

    method: str
    wealth: np.ndarray          # after-tax liquidation wealth on d_0 .. d_T (after trades)
    value: np.ndarray           # pre-tax value (holdings + cash) on d_0 .. d_{T-1}, after trades
    drift: np.ndarray           # goal-level drift after each rebalance, d_0 .. d_{T-1}
    drift_before: np.ndarray    # before each rebalance
    traded: float               # dollars traded (both sides, forced sales included)
    taxes: dict[int, float]     # per calendar year: capital-gains + distribution tax
    cg_taxes: dict[int, float]  # per calendar year: capital-gains tax alone
    liquidation_tax: float      # capital-gains tax of the final liquidation
    failures: int
    messages: list[str]
    unpaid: float
    seconds: float
    final_lots: int
    after_tax_risky: np.ndarray  # share of after-tax value in classes other than bonds and
    #                              cash, after each rebalance (IRA at 1 - ordinary rate)
    tracking_error: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #                              ex-ante annual tracking error vs the goals, after each rebalance
    stock_luck: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #                              per step: the idiosyncratic part of single stocks' returns on
    #                              the holdings after the rebalance, per dollar of value
    pre_liquidation: float = float("nan")
    #                              terminal wealth without the liquidation's capital-gains tax
    #                              (`Ledger.pre_liquidation_wealth`)
    trading_costs: float = 0.0  # dollars of trading costs paid (`Ledger.charge_costs`)

    @property
    def terminal(self) -> float:
        return float(self.wealth[-1])

    def terminal_in(self, lens: str) -> float:
        """Terminal wealth under ``lens``: ``liquidation`` (every embedded gain taxed at the
        end) or ``pre_liquidation`` (embedded gains pass untaxed; see `LENSES`)."""
        if lens == "liquidation":
            return self.terminal
        if lens == "pre_liquidation":
            return self.pre_liquidation
        raise ValueError(f"unknown wealth lens {lens!r} (one of {', '.join(LENSES)})")


@dataclass
class HouseholdRun:
    """Every method on one household."""

    household_id: str
    initial_wealth: float
    years: float
    dates: np.ndarray
    runs: dict[str, MethodRun] = field(default_factory=dict)
    risky_return: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per step: the
    safe_return: np.ndarray = field(default_factory=lambda: np.zeros(0))   # goal's sleeves
    regime: str = "calm"
    traits: Traits | None = None
    long_term_rate: float = 0.0   # the tax on single stocks' luck when gains are liquidated


def step_dates(start: np.datetime64, steps: int, step_months: int) -> np.ndarray:
    """``steps + 1`` dates ``step_months`` apart on the start's day of month (at most 28)."""
    start = np.datetime64(start, "D")
    month = start.astype("datetime64[M]")
    day = min(int((start - month.astype("datetime64[D]")).astype(np.int64)), 27)
    months = month + np.arange(steps + 1) * step_months
    return months.astype("datetime64[D]") + np.timedelta64(day, "D")


def year_of(d: np.datetime64) -> int:
    return int(np.datetime64(d, "Y").astype(np.int64)) + 1970


def prepare(raw: dict[str, Any], keep_tolerance: bool = False,
            keep_bands: bool = False) -> tuple[Household, np.ndarray]:
    """The start household (cash flows zeroed) and each account's yearly cash flow.

    The synthetic household's one-time ``cash_flow`` becomes a yearly amount,
    spread evenly over the steps. Drift tolerances and bands are dropped unless
    kept: they are hard rules that some heuristics do not try to meet, and a
    plan that breaks one is a failed step (the household would stop trading).
    """
    raw = dict(raw)
    raw["accounts"] = [dict(a) for a in raw["accounts"]]
    yearly = np.array([float(a.get("cash_flow", 0.0)) for a in raw["accounts"]])
    for a in raw["accounts"]:
        a["cash_flow"] = 0.0
        if not keep_bands:
            a.pop("bands", None)
    if not keep_tolerance:
        raw["goals"] = [{k: v for k, v in g.items() if k != "drift_tolerance"}
                        for g in raw["goals"]]
    return from_dict(raw), yearly


TRIGGERS = ("always", "drift:<x>")


def trigger_band(trigger: str) -> float | None:
    """None for ``always``; the drift band of ``drift:<x>`` (e.g. ``drift:0.03``)."""
    if trigger == "always":
        return None
    if trigger.startswith("drift:"):
        try:
            band = float(trigger.split(":", 1)[1])
        except ValueError:
            band = -1.0
        if band >= 0:
            return band
    raise ValueError(f"unknown rebalance trigger {trigger!r} (always or drift:<x>, e.g. "
                     "drift:0.03)")


def planner(method: str, options: dict[str, Any] | None = None,
            trigger: str = "always") -> Planner:
    """The method as ``hh -> Outcome`` (`taxopt.methods.planner`); ``options`` change
    the optimizer's knobs (the method's own changes win).

    ``trigger`` (optimizer methods only): ``always`` plans with the full objective at
    every step; ``drift:<x>`` runs the optimizer every step too (harvesting, cash
    flows) but with ``tracking_weight=0`` while the household's drift is within ``x``,
    so it trades back to target only once the drift crosses the band.
    """
    return method_planner(method, options, trigger_band(trigger))


StepHook = Callable[[int, Household, Orders, "Assessment | None", bool, Ledger], Any]


def simulate_method(hh0: Household, method: str, dates: np.ndarray, sec_ret: np.ndarray,
                    dist_frac: np.ndarray, flows: np.ndarray,
                    on_step: StepHook | None = None, cov: np.ndarray | None = None,
                    reinvest: bool | np.ndarray = False,
                    options: dict[str, Any] | None = None,
                    trigger: str = "always", idio: np.ndarray | None = None,
                    goal_flow: np.ndarray | None = None,
                    cost_rate: float | np.ndarray = 0.0) -> MethodRun:
    """Run one method through the path; ``flows`` per step and account (T x accounts),
    ``goal_flow`` per step and goal (T x goals, goal-level flows the method splits).

    ``on_step(t, household, orders, assessment, ok, ledger)`` is called after each
    rebalance is planned, before it is booked (tests use it to audit every plan).
    ``cov`` (the household's classes' annual covariance) prices the tracking error;
    ``reinvest`` turns dividend reinvestment on (all securities, or a mask);
    ``options`` change the optimizer methods' knobs, ``trigger`` their rebalance
    trigger (see `planner`); ``idio`` (steps x securities) is the idiosyncratic part
    of each step's returns, whose effect on the holdings is recorded as ``stock_luck``;
    ``cost_rate`` (per security, or one number) is the trading cost per dollar traded.
    """
    T = len(dates) - 1
    plan = planner(method, options, trigger)
    book = Ledger(hh0, cost_rate)
    wealth, value = np.zeros(T + 1), np.zeros(T)
    drift, drift_before = np.zeros(T), np.zeros(T)
    risky, te, luck = np.zeros(T), np.zeros(T), np.zeros(T)
    cov = np.zeros((len(hh0.classes),) * 2) if cov is None else cov
    taxes: dict[int, float] = {}
    cg_taxes: dict[int, float] = {}
    failures, messages, seconds = 0, [], 0.0
    for t in range(T + 1):
        d = dates[t]
        if t > 0:
            book.move(sec_ret[t - 1], dist_frac, d, reinvest)
            if year_of(d) != year_of(dates[t - 1]):
                ny, dist = book.close_year()
                y = year_of(dates[t - 1])
                taxes[y], cg_taxes[y] = ny.tax + dist, ny.tax
                book.settle(d, book.tax_flows(ny.tax + dist))
        if t == T:
            break
        book.pay_owed()      # trading costs the cash could not pay before, from new cash
        flow = _payable(book, flows[t])
        gflow = None
        if goal_flow is not None:
            # a goal's withdrawal is capped at what its accounts hold above min_cash
            room = np.maximum(book.account_values() - book.min_cash, 0.0)
            g_room = np.bincount(hh0.accounts.goal, weights=np.maximum(room + flow, 0.0),
                                 minlength=len(hh0.goals))
            gflow = np.maximum(goal_flow[t], -g_room)
            book.unpaid += float((gflow - goal_flow[t]).sum())
        drift_before[t] = book.drift()
        hh = book.household(d, flow, gflow)
        t0 = time.perf_counter()
        orders, a, ok, msg = _plan_step(plan, hh)
        seconds += time.perf_counter() - t0
        if on_step is not None:
            on_step(t, hh, orders, a, ok, book)
        if ok:
            book.apply(hh, orders, a)
        else:
            failures += 1
            if len(messages) < MAX_MESSAGES:
                messages.append(f"{d}: {msg}")
            book.settle(d, flow, gflow)
        drift[t] = book.drift()
        risky[t] = book.after_tax_risky_share()
        w, gv = book.goal_weights()
        te[t] = tracking_error(w, hh0.goals.target, cov, gv)
        if idio is not None:
            held = book.holdings().sum(axis=0)
            total = float(held.sum() + book.cash.sum())
            luck[t] = float(held @ idio[t]) / total if total > 0 else 0.0
        value[t] = float(book.account_values().sum())
        wealth[t] = book.after_tax_wealth(d)
    # liquidation on the last date: the year's regular tax, then the sale of everything
    end = dates[T]
    ny = net_year(book.profile())
    st, lt = book.unrealized(end)
    y = year_of(end)
    taxes[y] = ny.tax + book.distribution_tax()
    cg_taxes[y] = ny.tax
    liquidation = net_year(book.profile(), st, lt).tax - ny.tax
    wealth[T] = book.after_tax_wealth(end)
    return MethodRun(method, wealth, value, drift, drift_before, book.traded, taxes, cg_taxes,
                     liquidation, failures, messages, book.unpaid, seconds, len(book.shares),
                     risky, te, luck, book.pre_liquidation_wealth(end), book.costs)


def _payable(book: Ledger, flow: np.ndarray) -> np.ndarray:
    """The step's flows, a withdrawal capped at what the account holds above ``min_cash``
    (the rest is recorded as unpaid)."""
    room = np.maximum(book.account_values() - book.min_cash, 0.0)
    capped = np.maximum(flow, -room)
    book.unpaid += float((capped - flow).sum())
    return capped


def _plan_step(plan: Planner, hh: Household) -> tuple[Orders, Assessment | None, bool, str]:
    """The method's plan for the step; a crash in a method is a failed step, reported."""
    try:
        out = plan(hh)
    except Exception as err:
        return Orders.empty(), None, False, f"error: {type(err).__name__}: {err}"
    return out.orders, out.assessment, out.ok, "" if out.ok else f"{out.status}: {out.message}"


@dataclass(frozen=True)
class SimSpec:
    """What one household's simulation needs (picklable for a process pool)."""

    index: int
    raw: dict[str, Any]
    years: int
    step_months: int
    seed: int
    methods: tuple[str, ...]
    market: MarketParams
    flow_scale: float = 1.0
    keep_tolerance: bool = False
    keep_bands: bool = False
    traits: Traits | None = None        # the rich population's traits (None: classic)
    di_stocks: int = 0                  # stocks of a direct-indexing sleeve
    reinvest: bool = False              # dividend reinvestment
    options: tuple[tuple[str, Any], ...] = ()   # optimizer knobs for every optimizer method
    trigger: str = "always"             # the optimizer's rebalance trigger (see `planner`)
    common_return: float | None = None  # every taxable security's stated expected return


def market_rng(seed: int, index: int) -> np.random.Generator:
    """The market path's generator of household ``index`` (independent of the synth's)."""
    return np.random.default_rng(np.random.SeedSequence([seed, index, 0x6D6B74]))


@dataclass(frozen=True)
class MarketPath:
    """One household's start and market path, shared by every method."""

    household: Household
    dates: np.ndarray           # d_0 .. d_T
    security_returns: np.ndarray  # T x securities, total returns per step
    dist_fraction: np.ndarray   # per security: distribution per dollar of price per step
    flows: np.ndarray           # T x accounts: deposits (> 0) and withdrawals (< 0)
    reinvest: np.ndarray | None = None        # per security: distributions reinvested
    idiosyncratic: np.ndarray | None = None   # T x securities: the single stocks' own part
    class_returns: np.ndarray | None = None   # T x the household's classes (cash: cash rate)
    covariance: np.ndarray | None = None      # the household's classes, annual (cash: 0)
    regime: str = "calm"
    goal_flows: np.ndarray | None = None      # T x goals: a retiree's goal-level withdrawals
    cost_rate: np.ndarray | None = None       # per security: trading cost per dollar traded


def _seeded(spec: SimSpec, tag: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([spec.seed, spec.index, tag]))


def build_path(spec: SimSpec) -> MarketPath:
    """The start household, the step dates, the market path and the flows of ``spec``."""
    raw, stocks = spec.raw, ()
    tr = spec.traits
    if tr is not None and tr.direct_index and spec.di_stocks > 0:
        raw, stocks = with_direct_index(raw, spec.di_stocks, _seeded(spec, 0x6469))
    if spec.common_return is not None:
        raw = dict(raw, securities=[s if s.get("tax_exempt") else
                                    dict(s, expected_return=spec.common_return)
                                    for s in raw["securities"]])
    hh0, yearly = prepare(raw, spec.keep_tolerance, spec.keep_bands)
    T = round(spec.years * 12 / spec.step_months)
    dates = step_dates(hh0.as_of, T, spec.step_months)
    regime = tr.regime if tr is not None else "calm"
    cls_ret = class_returns_in(spec.market, T, spec.step_months,
                               market_rng(spec.seed, spec.index), regime)
    sec = hh0.securities
    ix = class_index(spec.market, hh0.classes)
    sec_ret = security_total_returns(sec.exposure, ix, cls_ret, spec.market.cash_rate,
                                     spec.step_months)
    gap = exempt_factor(spec.market, sec.exposure, ix, sec.tax_exempt, spec.step_months)
    sec_ret = np.where(gap != 1.0, (1.0 + sec_ret) * gap - 1.0, sec_ret)
    single = np.isin(np.asarray(sec.symbol), stocks)
    idio = None
    if stocks:
        vol = np.where(single, IDIO_VOL, 0.0)
        factor = idiosyncratic(T, len(sec.symbol), vol, spec.step_months, _seeded(spec, 0x1D10))
        systematic = sec_ret
        sec_ret = (1.0 + sec_ret) * factor - 1.0
        idio = sec_ret - systematic
    dist_frac = sec.dist_yield * spec.step_months / 12.0
    g_flows = None
    if tr is not None and tr.life != "synthetic":
        start = Ledger(hh0).account_values()
        flows = life_flows(tr.life, start, hh0.accounts.tax_type, T, spec.step_months)
        if tr.life == "retiree":
            g_flows = goal_flows(flows, hh0.accounts.goal, len(hh0.goals))
            flows = np.zeros_like(flows)
    else:
        flows = np.tile(yearly * spec.flow_scale * spec.step_months / 12.0, (T, 1))
    hh_ret = security_total_returns(np.eye(len(ix)), ix, cls_ret, spec.market.cash_rate,
                                    spec.step_months)
    full = spec.market.covariance()
    known = ix >= 0
    cov = np.zeros((len(ix), len(ix)))
    cov[np.ix_(known, known)] = full[np.ix_(ix[known], ix[known])]
    # funds reinvest their distributions; single stocks of a direct-indexing sleeve pay
    # cash, which the next rebalance invests (as direct-indexing managers do)
    reinvest = spec.reinvest & ~single
    return MarketPath(hh0, dates, sec_ret, dist_frac, flows, reinvest, idio, hh_ret, cov,
                      regime, g_flows, spec.market.cost_rate(single))


def household_target(hh: Household) -> np.ndarray:
    """The household's target per class: its goals' targets weighted by their values."""
    _, value = Ledger(hh).goal_weights()
    total = value.sum()
    if total <= 0:
        return hh.goals.target.mean(axis=0)
    return (hh.goals.target * value[:, None]).sum(axis=0) / total


def risky_classes(classes: tuple[str, ...]) -> np.ndarray:
    """Classes other than bonds and cash (the ledger's after-tax risky share counts these)."""
    return np.array([not (c == "cash" or "bond" in c) for c in classes])


def simulate_household(spec: SimSpec, on_step: StepHook | None = None) -> HouseholdRun:
    """Every method of ``spec.methods`` through the household's market path."""
    p = build_path(spec)
    hh0 = p.household
    start = Ledger(hh0).after_tax_wealth(hh0.as_of)
    T = len(p.dates) - 1
    out = HouseholdRun(hh0.household_id, start, T * spec.step_months / 12.0, p.dates)
    assert p.class_returns is not None
    out.risky_return, out.safe_return = sleeve_returns(
        p.class_returns, household_target(hh0), risky_classes(hh0.classes))
    out.regime = p.regime
    out.traits = spec.traits
    out.long_term_rate = hh0.tax.long_term_rate
    for m in spec.methods:
        out.runs[m] = simulate_method(hh0, m, p.dates, p.security_returns, p.dist_fraction,
                                      p.flows, on_step, p.covariance, p.reinvest,
                                      dict(spec.options), spec.trigger, p.idiosyncratic,
                                      p.goal_flows,
                                      0.0 if p.cost_rate is None else p.cost_rate)
    return out
