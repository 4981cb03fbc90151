"""Households with changed data, for re-solves: new targets (prices: `Household.with_prices`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from ..domain.household import Household
from ..errors import InvalidInput


def with_targets(household: Household, targets: Mapping[str, Mapping[str, float]]) -> Household:
    """The same household with new target weights for some goals.

    Parameters
    ----------
    household
        A validated household.
    targets
        ``{goal_id: {asset_class: weight}}``; each goal given is replaced whole
        (classes left out get 0) and must sum to 1 over the household's classes.

    Returns
    -------
    Household
        A new household; the input is unchanged.

    Raises
    ------
    InvalidInput
        For an unknown goal or class, a weight outside [0, 1], or weights that do
        not sum to 1.
    """
    hid = household.household_id
    goals = household.goals
    target = goals.target.copy()
    g_ix = {g: i for i, g in enumerate(goals.goal_id)}
    k_ix = {c: i for i, c in enumerate(household.classes)}
    for gid, weights in targets.items():
        if gid not in g_ix:
            raise InvalidInput(hid, f"targets[{gid}]", "goal_id", "unknown goal")
        row = np.zeros(len(household.classes))
        for cls_name, w in weights.items():
            if cls_name not in k_ix:
                raise InvalidInput(hid, f"goals[{gid}]", f"targets.{cls_name}",
                                   f"unknown asset class; classes are {list(household.classes)}")
            if not np.isfinite(w) or not 0.0 <= w <= 1.0:
                raise InvalidInput(hid, f"goals[{gid}]", f"targets.{cls_name}",
                                   f"must be in [0, 1], got {w}")
            row[k_ix[cls_name]] = float(w)
        if abs(row.sum() - 1.0) > 1e-6:
            raise InvalidInput(hid, f"goals[{gid}]", "targets",
                               f"targets must sum to 1, they sum to {row.sum():.6g}")
        target[g_ix[gid]] = row
    return replace(household, goals=replace(goals, target=target))
