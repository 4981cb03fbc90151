"""Whole shares, no dust, no churn: repair the LP's fractional trades, don't hope.

The LP trades in dollars. Securities that are not `fractional` must trade whole
shares, and rounding alone can break cash, bands or the drift tolerance. So the
repair re-solves the same program in shares, restricted to what the LP traded,
with integer shares where needed (a small MIP: one integer per order), the cash
rows tightened by the rounding margin, and dust orders removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..adapters.base import Solution, Status
from ..adapters.clock import Deadline
from ..model.builder import RebalanceModel
from ..model.expr import incidence
from ..model.funding import fix_flows
from ..model.program import Program, VarBlock
from ..options import Options

SHARE_DECIMALS = 6          # fractional securities trade in millionths of a share
_EPS = 1e-9
# Rounding that moves a position by more than this fraction of its goal's value is not
# trusted: a share worth a third of the household, rounded up, can double the tax and
# leave a quarter of the goal idle. Such a plan is re-solved in whole shares instead.
ROUNDING_MOVE_MAX = 0.01


@dataclass(slots=True, eq=False)
class RoundedTrades:
    """Shares sold per sell unit and bought per buy pair, ready to become orders."""

    status: Status
    sell_shares: np.ndarray
    buy_shares: np.ndarray
    message: str = ""
    stopped: bool = False      # the time limit ended the repair before it found shares
    cut_short: bool = False    # a time limit ended the repair at the best shares found
    work_limited: bool = False  # ... its work bound (`REPAIR_WORK`), not a time limit


def _support(model: RebalanceModel, sol: Solution, options: Options,
             p_sell: np.ndarray | None = None, p_buy: np.ndarray | None = None):
    """Shares the solve traded and which orders are worth placing (no dust, no churn);
    ``p_sell``, ``p_buy``: the price of each sell unit's and each buy's security, when
    the caller has them already."""
    ctx = model.context
    assert ctx is not None
    lay = ctx.layout
    if p_sell is None or p_buy is None:
        price = ctx.hh.securities.price
        p_sell, p_buy = price[lay.unit_security], price[lay.buy_security]
    sell = sol.x[ctx.sell.slice] / p_sell
    buy = sol.x[ctx.buy.slice] / p_buy
    sell = np.minimum(np.maximum(sell, 0.0), lay.unit_shares)     # np.clip, without its wrapper
    buy = np.maximum(buy, 0.0)

    whole_close = sell >= lay.unit_shares * (1 - 1e-9) - _EPS
    min_value = options.min_trade_value
    sell_value, buy_value = sell * p_sell, buy * p_buy
    sell_on = (sell_value >= max(min_value, 0.005)) | (whole_close & (sell > _EPS))
    buy_on = buy_value >= max(min_value, 0.005)
    # Never buy and sell one security in one account: keep the larger side.
    n_pos = len(lay.pos_account)
    sold = np.bincount(lay.unit_pos, weights=sell_value * sell_on, minlength=n_pos)
    bought = np.bincount(lay.buy_pos, weights=buy_value * buy_on, minlength=n_pos)
    both = (sold > 0) & (bought > 0)
    sell_on &= ~(both & (bought >= sold))[lay.unit_pos]
    buy_on &= ~(both & (sold > bought))[lay.buy_pos]
    return sell, buy, sell_on, buy_on


def quick_round(model: RebalanceModel, sol: Solution, options: Options,
                deadline: Deadline | None = None) -> RoundedTrades:
    """Round without solving: sales up, purchases down, so cash only grows.

    Right for almost every household; the engine audits the result and falls back to
    `round_trades` (the repair MIP) when a band or the tolerance is crossed. When
    rounding moves a position by more than `ROUNDING_MOVE_MAX` of its goal's value
    (a few very expensive shares), the repair MIP decides the whole shares instead, as
    long as it finds a plan.
    """
    ctx = model.context
    assert ctx is not None
    lay, sec = ctx.layout, ctx.hh.securities
    p_sell, p_buy = sec.price[lay.unit_security], sec.price[lay.buy_security]
    sell, buy, sell_on, buy_on = _support(model, sol, options, p_sell, p_buy)
    whole = sell >= lay.unit_shares - 1e-7
    s_new = np.where(whole, lay.unit_shares,
                     np.minimum(_snap(sell, sec.fractional[lay.unit_security], np.ceil),
                                lay.unit_shares))
    b_new = _snap(buy, sec.fractional[lay.buy_security], np.floor)
    s_new = np.where(sell_on & ((s_new * p_sell >= options.min_trade_value) | whole), s_new, 0.0)
    b_new = np.where(buy_on & (b_new * p_buy >= options.min_trade_value), b_new, 0.0)
    if _moves_too_much(lay, ctx.hh, (s_new - sell) * p_sell, (b_new - buy) * p_buy):
        repaired = round_trades(model, sol, options, deadline)
        if repaired.status.has_solution:
            return repaired
        # Out of time, the direct rounding stands: the clock chose it, not the repair.
        return RoundedTrades(sol.status, s_new, b_new, cut_short=repaired.stopped)
    return RoundedTrades(sol.status, s_new, b_new)


def _moves_too_much(lay, hh, sell_moved: np.ndarray, buy_moved: np.ndarray) -> bool:
    """Whether rounding shifted some position by more than `ROUNDING_MOVE_MAX` of the
    value of the goal that holds it (dollars; sales and purchases net per position)."""
    n_pos = len(lay.pos_account)
    moved = np.abs(np.bincount(lay.unit_pos, weights=sell_moved, minlength=n_pos)
                   - np.bincount(lay.buy_pos, weights=buy_moved, minlength=n_pos))
    goal_value = lay.goal_value[hh.accounts.goal[lay.pos_account]]
    return bool((moved > ROUNDING_MOVE_MAX * np.maximum(goal_value, 0.0)).any())


def round_trades(model: RebalanceModel, sol: Solution, options: Options,
                 deadline: Deadline | None = None) -> RoundedTrades:
    """Turn the LP's dollars into whole (or millionth) shares that keep every hard rule.

    Each repair solve gets what is left of ``deadline`` (at most `REPAIR_SECONDS`); one
    the limit stops ends the repair (``stopped``): a wider scope would get no time.
    """
    ctx = model.context
    assert ctx is not None
    hh, lay, prog = ctx.hh, ctx.layout, ctx.program
    frac = hh.securities.fractional
    p_sell, p_buy = hh.securities.price[lay.unit_security], hh.securities.price[lay.buy_security]
    min_value = options.min_trade_value
    sell, buy, sell_on, buy_on = _support(model, sol, options, p_sell, p_buy)

    scale = np.ones(prog.n)
    scale[ctx.sell.slice], scale[ctx.buy.slice] = p_sell, p_buy
    # The repair is a MIP, so quadratic terms give way to their linear stand-ins; every
    # discrete choice the solve made is kept (sell and buy are continuous here).
    base = (prog.rescaled(scale).linear_stage()
            .with_integers_fixed(sol.x[np.flatnonzero(prog.integrality())]))
    fix_flows(base, ctx, sol.x)    # goal-level flows keep the split the solve chose

    traded_accounts = np.zeros(len(hh.accounts), bool)
    traded_accounts[lay.unit_account[sell_on]] = True
    traded_accounts[lay.buy_account[buy_on]] = True
    # Wider and wider: the solve's own orders; every lot and buy of the accounts that
    # trade; everything. Dust is excluded by semi-continuous shares, not by retries.
    scopes = [(sell_on, buy_on, False),
              (traded_accounts[lay.unit_account], traded_accounts[lay.buy_account], True),
              (np.ones_like(sell_on), np.ones_like(buy_on), True)]
    message = ""
    for s_on, b_on, wide in scopes:
        stage = _stage_program(base, ctx.sell, ctx.buy, sell, s_on, b_on, lay.unit_shares,
                               frac[lay.unit_security], frac[lay.buy_security], p_sell, p_buy,
                               min_value, wide)
        _one_side_per_position(stage, ctx.sell, ctx.buy, lay.unit_pos, lay.buy_pos)
        for name in ("sell", "buy"):
            _semi_within_highs(stage, name)
        result = _solve_stage(stage, options, deadline)
        if not result.status.has_solution:
            message = result.message
            if result.info.get("stopped"):
                return RoundedTrades(Status.ERROR, np.zeros_like(sell), np.zeros_like(buy),
                                     f"whole-share rounding: {message}", stopped=True)
            continue
        s_raw = result.x[ctx.sell.slice]
        closes = s_raw >= lay.unit_shares - 1e-7
        s_new = np.where(closes, lay.unit_shares,
                         np.minimum(_snap(s_raw, frac[lay.unit_security], np.ceil),
                                    lay.unit_shares))
        b_new = _snap(result.x[ctx.buy.slice], frac[lay.buy_security], np.floor)
        by_work = bool(result.info.get("work_limited"))
        return RoundedTrades(result.status, s_new, b_new,
                             cut_short=bool(result.info.get("stopped")) or by_work,
                             work_limited=by_work)
    return RoundedTrades(Status.INFEASIBLE, np.zeros_like(sell), np.zeros_like(buy),
                         f"whole-share rounding could not keep every hard rule ({message})")


_SEMI_CONTINUOUS, _SEMI_INTEGER = 2, 3     # HiGHS variable types
REPAIR_GAP, REPAIR_SECONDS = 1e-3, 5.0
REPAIR_WORK = 2000
"""The repair MIP's work bound, in HiGHS's interrupt checks (about one per node; see
`taxopt.adapters.highs.interrupt_after`). A bound the wall clock does not move: a repair
that reaches it stops at the same plan on an idle machine and under load, where
`REPAIR_SECONDS` alone stopped wherever the clock fell. Measured on the 598 repairs of
``benchmarks/repair.py`` (150-lot synth households): of the 117 over 0.1 s CPU, 12 make
more than 100 checks and 9 more than 2,000 (up to 23,500, 10.6 s CPU to the 0.1 % gap);
at 2,000 those stop after 0.4-3.3 s CPU, 7 of them at plans 0.1-0.33 % (in objective) short
of the 0.1 % optimum; 5,000 checks would leave 2 such but take up to 4.6 s CPU, too close
to `REPAIR_SECONDS` for the work bound to decide before the clock under load. HiGHS's
root work (cuts, reduced-cost fixing, its sub-MIP heuristics, restarts) makes few checks,
and some repairs spend 1-3 s CPU there with under 100: those can still meet the clock
first on a machine over 2x slower than an idle one."""


def _stage_program(base: Program, sell_b: VarBlock, buy_b: VarBlock, sell: np.ndarray,
                   sell_on: np.ndarray, buy_on: np.ndarray, lot_shares: np.ndarray,
                   sell_frac: np.ndarray, buy_frac: np.ndarray, p_sell: np.ndarray,
                   p_buy: np.ndarray, min_value: float, wide: bool) -> Program:
    """The repair program in shares: integer shares where the security needs them, and
    each order either zero or at least ``min_value`` (semi-continuous / semi-integer)."""
    stage = base.copy()
    whole = sell >= lot_shares - 1e-9
    if wide:
        s_ub = np.where(sell_on, np.where(sell_frac, lot_shares, np.floor(lot_shares + 1e-9)),
                        0.0)
        fixed_close = np.zeros_like(sell_on)
    else:
        s_ub = np.where(sell_on, np.where(sell_frac | whole, lot_shares,
                                          np.minimum(np.ceil(sell - 1e-9), lot_shares)), 0.0)
        # A whole lot of fractional shares is closed as it stands, whole-share security or not.
        fixed_close = sell_on & whole & ~sell_frac & (np.floor(lot_shares) != lot_shares)
    s_min = np.where(sell_frac, min_value / p_sell, np.maximum(np.ceil(min_value / p_sell), 1))
    s_lb = np.minimum(s_min, s_ub)
    s_type = np.where(sell_frac, _SEMI_CONTINUOUS, _SEMI_INTEGER)
    s_lb = np.where(fixed_close, lot_shares, s_lb)
    s_type = np.where(fixed_close, 0, np.where(s_ub > 0, s_type, 0))
    b_ub = np.where(buy_on, base.vars["buy"].ub, 0.0)
    b_ub = np.where(buy_frac, b_ub, np.floor(b_ub + 1e-9))
    b_min = np.where(buy_frac, min_value / p_buy, np.maximum(np.ceil(min_value / p_buy), 1))
    b_lb = np.minimum(b_min, b_ub)
    b_type = np.where(b_ub > 0, np.where(buy_frac, _SEMI_CONTINUOUS, _SEMI_INTEGER), 0)
    stage.vars["sell"] = VarBlock("sell", sell_b.start, sell_b.size, s_lb, s_ub, s_type)
    stage.vars["buy"] = VarBlock("buy", buy_b.start, buy_b.size, b_lb, b_ub, b_type)
    return stage


def _one_side_per_position(stage: Program, sell_b: VarBlock, buy_b: VarBlock,
                           unit_pos: np.ndarray, buy_pos: np.ndarray) -> None:
    """Never buy and sell one security in one account: where the repair may do both,
    a binary per position picks the side (sales <= cap * y, buys <= cap * (1 - y))."""
    s_ub, b_ub = stage.vars["sell"].ub, stage.vars["buy"].ub
    n_pos = int(max(unit_pos.max(initial=-1), buy_pos.max(initial=-1))) + 1
    can_sell = np.bincount(unit_pos, weights=s_ub > 0, minlength=n_pos) > 0
    can_buy = np.bincount(buy_pos, weights=b_ub > 0, minlength=n_pos) > 0
    both = np.flatnonzero(can_sell & can_buy)
    if not len(both):
        return
    slot = np.full(n_pos, -1)
    slot[both] = np.arange(len(both))
    y = stage.add_vars("repair_side", len(both), 0.0, 1.0, integer=True)
    n = stage.n
    su = np.flatnonzero((slot[unit_pos] >= 0) & (s_ub > 0))
    cap = np.bincount(slot[unit_pos[su]], weights=s_ub[su], minlength=len(both))
    sells = (incidence(slot[unit_pos[su]], sell_b.start + su, (len(both), n))
             - incidence(np.arange(len(both)), y.start + np.arange(len(both)), (len(both), n),
                         cap))
    stage.add_rows("repair_sell_side", sells, -np.inf, 0.0)
    bj = np.flatnonzero((slot[buy_pos] >= 0) & (b_ub > 0))
    m = len(bj)
    buys = (incidence(np.arange(m), buy_b.start + bj, (m, n))
            + incidence(np.arange(m), y.start + slot[buy_pos[bj]], (m, n), b_ub[bj]))
    stage.add_rows("repair_buy_side", buys, -np.inf, b_ub[bj])


_SEMI_UB_MAX = 1e5


def _semi_within_highs(stage: Program, name: str) -> None:
    """Keep HiGHS's semi-variables below its limit on their upper bound.

    HiGHS tightens a semi-variable's upper bound above 1e5 and then fails ("semi-variables
    are active at modified upper bounds") when the plan needs more: 120,000 shares of a
    $10 bond fund, for one. A semi-integer whose minimum is one share is just an integer
    (0, or 1 and up); any other such variable gets an explicit on/off binary z with
    ``lb * z <= x <= ub * z``.
    """
    block = stage.vars[name]
    kind = np.broadcast_to(np.asarray(block.integer, dtype=np.int64), block.size).copy()
    lb, ub = block.lb.copy(), block.ub
    big = ((kind == _SEMI_CONTINUOUS) | (kind == _SEMI_INTEGER)) & (ub > _SEMI_UB_MAX)
    plain = big & (kind == _SEMI_INTEGER) & (lb <= 1.0)
    kind[plain], lb[plain] = 1, 0.0
    rest = np.flatnonzero(big & ~plain)
    if len(rest):
        z = stage.add_vars(f"{name}_on", len(rest), 0.0, 1.0, integer=True)
        n, k, cols = stage.n, len(rest), block.start + rest
        on = z.start + np.arange(k)
        stage.add_rows(f"{name}_on_upper", incidence(np.arange(k), cols, (k, n))
                       - incidence(np.arange(k), on, (k, n), ub[rest]), -np.inf, 0.0)
        stage.add_rows(f"{name}_on_lower", incidence(np.arange(k), cols, (k, n))
                       - incidence(np.arange(k), on, (k, n), lb[rest]), 0.0, np.inf)
        kind[rest] = np.where(kind[rest] == _SEMI_INTEGER, 1, 0)
        lb[rest] = 0.0
    if big.any():
        stage.vars[name] = VarBlock(name, block.start, block.size, lb, ub, kind)


def _solve_stage(stage: Program, options: Options, deadline: Deadline | None = None
                 ) -> Solution:
    """One repair MIP, bounded by its work (`REPAIR_WORK`) and, as a safety net, by the
    clock; a plan cut short by the work bound carries ``info["work_limited"]``, a run
    stopped by it before any plan ``info["stopped"]`` (the repair ends either way)."""
    from ..adapters.highs import (
        interrupt_after,
        interrupted,
        mip_presolve,
        new_highs,
        pass_program,
        timed_run,
    )

    h = new_highs(options, True, stage.n)
    mip_presolve(h, stage.n)
    # The repair only has to be legal and close to the solve's plan; a 0.1 % gap and a
    # few seconds are plenty (a 188-order repair: 2.4 s at 1e-6, measured).
    h.setOptionValue("mip_rel_gap", max(options.mip_rel_gap, REPAIR_GAP))
    clock = Deadline(min(options.time_limit, REPAIR_SECONDS))
    if deadline is not None:
        clock.end = min(deadline.end, clock.end)
    pass_program(h, stage)
    interrupt_after(h, REPAIR_WORK)
    result = timed_run(h, stage, clock)
    if interrupted(h):
        result.info["work_limited" if result.status.has_solution else "stopped"] = 1.0
    return result


def _snap(values: np.ndarray, fractional: np.ndarray, direction) -> np.ndarray:
    """Whole shares for whole-share securities, millionths for fractional ones.

    Sales round up and purchases down (``direction``), so rounding only ever adds
    cash; the solver's own noise (integrality tolerance 1e-6) is removed first.
    """
    if not fractional.any():        # (x * 1.0 / 1.0 is x: the same numbers, fewer calls)
        return np.maximum(direction(_round(values, 1e6)), 0.0)
    clean = np.where(fractional, _round(values, 10.0 ** (SHARE_DECIMALS + 2)),
                     _round(values, 1e6))
    unit = np.where(fractional, 10.0 ** SHARE_DECIMALS, 1.0)
    return np.maximum(direction(clean * unit) / unit, 0.0)


def _round(values: np.ndarray, scale: float) -> np.ndarray:
    """``np.round(values, log10(scale))`` done as numpy does it (times the power of ten,
    to the nearest even integer, divided back), without its generic ufunc calls."""
    out = values * scale
    np.rint(out, out=out)
    out /= scale
    return out
