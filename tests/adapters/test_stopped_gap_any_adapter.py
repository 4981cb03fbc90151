"""A plan from a solver that stopped early states its proven gap whichever adapter
stopped: cvxpy reports only "user_limit" and a point, no bound of its own."""

from __future__ import annotations

from dataclasses import replace

import pytest

import taxopt
from taxopt import engine, synth
from taxopt.adapters import Status, solve_program
from taxopt.model import build


@pytest.mark.parametrize("seed", [3, 8])
def test_a_stopped_solve_without_a_bound_of_its_own_gets_a_proven_gap(seed):
    hh = taxopt.from_dict(synth.household(synth.household_seed(seed, 2), n_lots=150))
    opts = hh.options
    model = build(hh, opts)
    best = solve_program(model.program, opts)
    assert best.status == Status.OPTIMAL
    # what the cvxpy adapter hands over when HiGHS under cvxpy hits the limit: a
    # feasible point (here the optimum itself), its message, no gap and no bound
    stopped = replace(best, status=Status.FEASIBLE, adapter="cvxpy", message="user_limit",
                      mip_gap=None, info={})
    res = engine.finish(model, stopped, opts, {})
    assert res.status == Status.FEASIBLE
    assert res.message.startswith("solver stopped early: user_limit: best plan found, "
                                  "proven gap $")
    info = res.solution.info
    # the bound is proven: never above the optimum; the plan returned is the optimum
    # in whole shares, so its objective is at or above it
    assert info["best_bound"] <= best.objective + 1e-6
    assert info["plan_objective"] >= best.objective - 1e-6
    assert info["gap_dollars"] == pytest.approx(info["plan_objective"] - info["best_bound"])
    assert res.solution.mip_gap == pytest.approx(
        info["gap_dollars"] / max(abs(info["plan_objective"]), 1.0))
