"""The core claim of the comparison: the optimizer pays no more tax than a plain lockstep
FIFO rebalance, while ending at the same or a smaller drift.

Two checks per scenario, both scored by the same audit on the original household:

1. the optimizer with default options pays no more tax than lockstep FIFO;
2. asked to end at least as close to target as lockstep (each goal's tolerance
   tightened to lockstep's drift after, when that is smaller than the goal's
   own), it still pays no more tax, and its drift is indeed no larger.

The second is how "at the same or smaller drift" is made to hold: by default the
optimizer stops where a further dollar of drift costs more than
``2 x tracking_weight`` of tax and cost, which on taxable_only, withdrawal,
loss_harvest_wash_trap and direct_indexing_500 is a few hundredths of a point
above lockstep's whole-share result (e.g. 0.312 % against 0.299 %).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import taxopt
from taxopt.audit import assess, violations
from taxopt.heuristics import lockstep_fifo

from ..conftest import SCENARIOS

DRIFT_EPS = 1e-6
TAX_EPS = 0.005

# infeasible: no plan to compare. direct_indexing_500: the optimizer's solve takes
# 4 to 80 s there (exact-netting MIP), too slow for the unit suite; `taxopt compare
# scenarios` covers it (optimizer -$15,640 vs lockstep FIFO +$44,985).
SKIPPED = ("infeasible", "direct_indexing_500")
CASES = [p for p in SCENARIOS if p.stem not in SKIPPED]


def tightened(hh, drift: np.ndarray):
    """The household with each goal's tolerance at most ``drift``."""
    tol = hh.goals.tolerance
    tol = np.where(np.isnan(tol), drift, np.minimum(tol, drift))
    return dataclasses.replace(hh, goals=dataclasses.replace(hh.goals, tolerance=tol))


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_optimizer_tax_at_most_lockstep_fifo_at_same_drift(path):
    hh = taxopt.load(path)
    lock = assess(hh, lockstep_fifo(hh))

    default = taxopt.rebalance(hh)
    assert default.ok, default.message
    assert default.assessment.est_tax <= lock.est_tax + TAX_EPS

    matched = taxopt.rebalance(tightened(hh, lock.drift_after))
    assert matched.ok, matched.message
    assert violations(hh, matched.orders) == []
    opt = assess(hh, matched.orders)
    assert np.all(opt.drift_after <= lock.drift_after + DRIFT_EPS), (opt.drift_after,
                                                                     lock.drift_after)
    assert opt.est_tax <= lock.est_tax + TAX_EPS, (opt.est_tax, lock.est_tax)
