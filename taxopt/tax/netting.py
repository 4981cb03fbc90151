"""The year's capital-gains tax with full Schedule D netting.

Short-term results net within their term (carryforwards included), long-term
likewise, then across terms; a remaining net loss offsets ordinary income up to
the limit at the short-term rate, the rest carries forward. The function is
piecewise linear and not convex, which is why the model estimates it per lot and
every plan is scored with this exact version.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..domain.household import TaxProfile


@dataclass(frozen=True, slots=True)
class NettedYear:
    """One year's Schedule D outcome."""

    net_short: float
    net_long: float
    tax: float
    carryforward_short: float
    carryforward_long: float


def year_tax(net_short: np.ndarray | float, net_long: np.ndarray | float, ts: float, tl: float,
             limit: float) -> np.ndarray | float:
    """Tax for the year given net short- and long-term results (carryforwards already in)."""
    if type(net_short) is float and type(net_long) is float:
        # one year (the engine's case): the same arithmetic on Python floats
        total = net_short + net_long
        if total < 0:
            return -ts * min(limit, -total)
        if net_short >= 0 and net_long >= 0:
            return ts * net_short + tl * net_long
        return ts * total if net_short >= 0 else tl * total
    nst, nlt = np.asarray(net_short, dtype=float), np.asarray(net_long, dtype=float)
    total = nst + nlt
    tax = np.where(
        total < 0, -ts * np.minimum(limit, -total),
        np.where((nst >= 0) & (nlt >= 0), ts * nst + tl * nlt,
                 np.where(nst >= 0, ts * total, tl * total)))
    return float(tax) if tax.ndim == 0 else tax


def net_year(profile: TaxProfile, plan_short: float = 0.0, plan_long: float = 0.0) -> NettedYear:
    """Net the plan's realized results with the year so far and the carryforwards."""
    nst = profile.ytd_short + plan_short - profile.carry_short
    nlt = profile.ytd_long + plan_long - profile.carry_long
    ts, tl, limit = profile.short_term_rate, profile.long_term_rate, profile.offset_limit
    tax = float(year_tax(nst, nlt, ts, tl, limit))
    carry_s = carry_l = 0.0
    total = nst + nlt
    if total < 0:
        # The loss left after the ordinary offset carries forward with its character;
        # short-term losses are used first against the offset.
        if nst < 0 and nlt < 0:
            used_short = min(-nst, limit)
            carry_s = -nst - used_short
            carry_l = max(0.0, -nlt - max(0.0, limit - used_short))
        elif nst < 0:
            carry_s = max(0.0, -total - limit)
        else:
            carry_l = max(0.0, -total - limit)
    return NettedYear(nst, nlt, tax, carry_s, carry_l)


def plan_tax(profile: TaxProfile, plan_short: float, plan_long: float) -> float:
    """What the plan adds to the year's capital-gains tax (negative when it saves tax)."""
    return net_year(profile, plan_short, plan_long).tax - net_year(profile).tax
