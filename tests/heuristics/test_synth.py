"""On seeded synthetic households, the heuristics never break a hard rule.

Only bands and the goal's drift tolerance may be missed (see test_scenarios.py
for why); lockstep and the locator always meet the bands of these households.
"""

from __future__ import annotations

import pytest

import taxopt
from taxopt.audit import violations
from taxopt.heuristics import HEURISTICS

from .test_scenarios import kinds

synth = pytest.importorskip("taxopt.synth")

SEEDS = range(40)


@pytest.fixture(scope="module")
def households():
    out = []
    for seed in SEEDS:
        kw = {"n_lots": 120} if seed % 3 else {"n_lots": 60, "n_accounts": 4}
        out.append(taxopt.from_dict(synth.household(seed, **kw)))
    return out


@pytest.mark.parametrize("method", list(HEURISTICS))
def test_no_hard_rule_is_broken(households, method):
    for hh in households:
        got = kinds(violations(hh, HEURISTICS[method](hh)))
        hard = [k for k in got if k[0] == "hard rule"]
        assert hard == [], (hh.household_id, hard)
        if method in ("lockstep_fifo", "lockstep_hifo", "rule_of_thumb_locator"):
            assert [k for k in got if k[0] == "band"] == [], (hh.household_id, got)
