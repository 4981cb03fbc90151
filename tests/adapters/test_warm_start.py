"""Re-solving a household after a price move reuses the HiGHS instance and its basis."""

from __future__ import annotations

import numpy as np
import pytest

import taxopt
from taxopt import synth
from taxopt.adapters.highs import HighsSession, solve_highs
from taxopt.model import build


@pytest.mark.parametrize("seed", range(6))
def test_warm_resolve_after_price_move_matches_cold_solve(seed):
    # A move of up to 15 % turns some lots from gain to loss; the program keeps its
    # shape all the same and HiGHS re-solves from the previous basis.
    hh = taxopt.from_dict(synth.household(seed, n_lots=80))
    session = HighsSession(hh.options)
    first = session.solve(build(hh).program)
    assert first.status == "optimal"
    rng = np.random.default_rng(seed)
    shock = {s: float(p * rng.uniform(0.85, 1.15))
             for s, p in zip(hh.securities.symbol, hh.securities.price, strict=True)}
    moved = hh.with_prices(shock)
    prog = build(moved).program
    warm = session.solve(prog)
    cold = solve_highs(prog, moved.options)
    assert session.warm_solves == 1
    assert warm.status == cold.status == "optimal"
    assert warm.objective == pytest.approx(cold.objective, rel=1e-7, abs=1e-6)


def test_new_shape_loads_afresh():
    a = taxopt.from_dict(synth.household(1, n_lots=40))
    b = taxopt.from_dict(synth.household(2, n_lots=90))
    session = HighsSession(a.options)
    session.solve(build(a).program)
    sol = session.solve(build(b).program)
    assert session.warm_solves == 0
    assert sol.objective == pytest.approx(solve_highs(build(b).program, b.options).objective,
                                          rel=1e-7, abs=1e-6)


def test_solves_after_someone_else_ran_highs_with_more_threads():
    import subprocess
    import sys

    code = ("import highspy, taxopt\n"
            "h = highspy.Highs(); h.setOptionValue('output_flag', False)\n"
            "h.addVar(0, 1); h.changeColCost(0, 1.0); h.run()\n"
            "r = taxopt.rebalance(taxopt.load('scenarios/deposit.json'))\n"
            "print(r.status)\n")
    from ..conftest import ROOT

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip().splitlines()[-1] == "optimal"
