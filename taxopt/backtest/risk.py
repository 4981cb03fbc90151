"""Risk-matched comparison: how much of a method's edge is extra market exposure.

Two methods of a household run through the same market path but need not hold
the same risk: a method that ends with more equity earns the equity premium on
it, which is not tax skill. The backtest therefore reports, beside after-tax
wealth, each method's time-averaged after-tax risky share (equity and REITs,
IRA dollars at 1 - ordinary rate) and its tracking error against the goal, and
compares methods at matched risk.

The matching (chosen over a certainty equivalent at a stated risk aversion)
---------------------------------------------------------------------------
The comparator's portfolio is *scaled to the method's after-tax risky share*,
step by step, on the household's own path: in a two-fund world (the goal's
risky sleeve with return ``R_t``, its safe sleeve with return ``S_t``) a
portfolio with risky share ``s`` returns ``S_t + s (R_t - S_t)``; the
comparator's terminal wealth is multiplied by

    M = prod_t (1 + S_t + s_m,t (R_t - S_t)) / (1 + S_t + s_b,t (R_t - S_t)),

which is what it would have had holding the method's risky share, and the
annualized difference is taken against ``W_b x M``. Why this and not a
certainty equivalent: it needs no risk-aversion parameter to argue about, it
uses the path's realized returns (so the exposure difference's own luck is
removed household by household rather than averaged away), and a reader can
check it by hand. What it does not do: it prices exposure differences at the
sleeve level (the mix within equity, e.g. US against international, is not
matched), and it matches the share held *after* each rebalance.

Stock-specific luck: in a direct-indexing sleeve two methods hold different
stocks, and each stock has its own (mean-zero) idiosyncratic return. The
matched comparison divides each method's wealth by ``prod_t (1 + L_t)``, ``L_t``
the idiosyncratic return its holdings earned in step t per dollar of value, so
it compares tax and allocation, not which stocks happened to do well.

Tracking error is ex ante, per step: ``sqrt(d' S d)`` with ``d`` the goal's
class weights less its targets and ``S`` the market's annual class covariance
(cash riskless), goals weighted by value; reported as the root mean square
over steps (annual, percent).
"""

from __future__ import annotations

import math

import numpy as np


def sleeve_returns(class_ret: np.ndarray, target: np.ndarray,
                   risky: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per step: the return of the target's risky sleeve and of its safe sleeve.

    ``class_ret`` steps x classes (cash columns hold the cash rate), ``target`` the
    household's value-weighted target per class, ``risky`` a mask of risky classes.
    A sleeve the target does not hold gets the equal-weighted return of its classes.
    """
    out = []
    for mask in (risky, ~risky):
        w = np.where(mask, target, 0.0)
        if w.sum() <= 0:
            w = mask.astype(float)
        if w.sum() <= 0:
            out.append(np.zeros(class_ret.shape[0]))
            continue
        out.append(class_ret @ (w / w.sum()))
    return out[0], out[1]


def exposure_multiplier(share_m: np.ndarray, share_b: np.ndarray, risky_ret: np.ndarray,
                        safe_ret: np.ndarray) -> float:
    """``M``: the comparator's wealth multiplier when it holds the method's risky share."""
    x = risky_ret - safe_ret
    num = 1.0 + safe_ret + share_m * x
    den = 1.0 + safe_ret + share_b * x
    return float(np.exp(np.sum(np.log(num) - np.log(den))))


def luck_multiplier(luck: np.ndarray | None) -> float:
    """``prod_t (1 + luck_t)``: what single stocks' own returns did to the holdings."""
    if luck is None or not len(luck):
        return 1.0
    return float(np.exp(np.sum(np.log1p(luck))))


def matched_bps(wealth_m: float, wealth_b: float, years: float, share_m: np.ndarray,
                share_b: np.ndarray, risky_ret: np.ndarray, safe_ret: np.ndarray,
                luck_m: np.ndarray | None = None, luck_b: np.ndarray | None = None) -> float:
    """Annualized after-tax return of the method over the comparator scaled to its risk, bps.

    ``luck_m`` / ``luck_b``: per step, the idiosyncratic return of the single stocks each
    held (per dollar of value); each wealth is divided by its luck multiplier, so two
    methods that hold different stocks of a direct-indexing sleeve are not ranked by
    which stocks happened to do well (mean zero, but large in a small sample).
    """
    if wealth_m <= 0 or wealth_b <= 0:
        return math.nan
    m = exposure_multiplier(share_m, share_b, risky_ret, safe_ret)
    wm = wealth_m / luck_multiplier(luck_m)
    wb = wealth_b / luck_multiplier(luck_b)
    return ((wm / (wb * m)) ** (1.0 / years) - 1.0) * 1e4


def tracking_error(weights: np.ndarray, target: np.ndarray, cov: np.ndarray,
                   goal_value: np.ndarray) -> float:
    """Ex-ante annual tracking error of the goals' class weights (goals x classes),
    goal variances weighted by value."""
    d = weights - target
    var = np.einsum("gk,kl,gl->g", d, cov, d)
    total = goal_value.sum()
    if total <= 0:
        return 0.0
    return float(math.sqrt(max(float(var @ goal_value) / total, 0.0)))
