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
matched comparison divides each method's wealth by its luck multiplier, so it
compares tax and allocation, not which stocks happened to do well. With
``x = prod_t (1 + L_t) - 1``, ``L_t`` the idiosyncratic return its holdings earned
in step t per dollar of value, the multiplier is ``1 + x (1 - tau)``: the stocks
sit in taxable accounts, so a lucky dollar is worth ``1 - tau`` after tax at the
end (``tau`` the long-term rate when embedded gains are taxed at liquidation, 0
in the pre-liquidation lens). Dividing by the pre-tax ``1 + x`` would charge a
lucky method more than its luck gave it (a harvesting method concentrates in past
winners, so its luck swings widely: one household's sleeve gained 46 % from its
stocks' own returns, and the pre-tax division turned that into -79 bps a year).

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


def luck_multiplier(luck: np.ndarray | None, tax: float = 0.0) -> float:
    """``1 + (prod_t (1 + luck_t) - 1) (1 - tax)``: what single stocks' own returns did to
    the holdings, after a tax ``tax`` on the luck (0: before tax)."""
    if luck is None or not len(luck):
        return 1.0
    return 1.0 + (float(np.exp(np.sum(np.log1p(luck)))) - 1.0) * (1.0 - tax)


def matched_bps(wealth_m: float, wealth_b: float, years: float, share_m: np.ndarray,
                share_b: np.ndarray, risky_ret: np.ndarray, safe_ret: np.ndarray,
                luck_m: np.ndarray | None = None, luck_b: np.ndarray | None = None,
                luck_tax: float = 0.0) -> float:
    """Annualized after-tax return of the method over the comparator scaled to its risk, bps.

    ``luck_m`` / ``luck_b``: per step, the idiosyncratic return of the single stocks each
    held (per dollar of value); each wealth is divided by its luck multiplier, so two
    methods that hold different stocks of a direct-indexing sleeve are not ranked by
    which stocks happened to do well (mean zero, but large in a small sample);
    ``luck_tax`` is the tax the terminal wealth charges on that luck (see the module).
    """
    if wealth_m <= 0 or wealth_b <= 0:
        return math.nan
    m = exposure_multiplier(share_m, share_b, risky_ret, safe_ret)
    wm = wealth_m / luck_multiplier(luck_m, luck_tax)
    wb = wealth_b / luck_multiplier(luck_b, luck_tax)
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
