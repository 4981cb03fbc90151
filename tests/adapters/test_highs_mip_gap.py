"""When HiGHS's own MIP closes the search it stops at `mip_rel_gap`: the gap and bound
stated are HiGHS's proof, not zero; and an optimum's gap carries into the bound of a
plan returned at the limit."""

from __future__ import annotations

from dataclasses import replace

import taxopt
from taxopt import engine, synth
from taxopt.adapters import Status, branch, solve_program
from taxopt.model import build


def _household(drift: float = 0.08):
    # Its relaxation is fractional at the root (two wash-sale binaries).
    return taxopt.from_dict(synth.household(synth.household_seed(51, 11), n_lots=1500,
                                            n_accounts=4, drift=drift))


def test_gap_of_a_search_closed_by_highs_mip_is_highs_proof(monkeypatch):
    hh = _household()
    opts = hh.options.replace(mip_rel_gap=0.5)
    prog = build(hh, opts).program
    exact = solve_program(prog, opts.replace(mip_rel_gap=0.0))
    assert exact.status == Status.OPTIMAL and exact.info["fractional_at_root"] > 0
    monkeypatch.setattr(branch, "MAX_NODES", 0)           # straight to HiGHS's MIP
    sol = solve_program(prog, opts)
    assert sol.status == Status.OPTIMAL and sol.info["highs_mip"] == 1.0
    # HiGHS stopped within 50 %: its dual bound is below the plan. Before, the search
    # stated mip_gap 0.0 and best_bound = the plan's objective, which it had not proven.
    bound = sol.info["best_bound"]
    assert bound < sol.objective - 1.0
    assert bound <= exact.objective + 1e-6
    assert sol.mip_gap == (sol.objective - bound) / abs(sol.objective)
    assert 0.0 < sol.mip_gap <= 0.5


def test_stopped_repair_bound_keeps_the_solves_gap():
    # A solve optimal up to a gap g proves only objective - g |objective|: the bound of
    # the household as it stands, returned when the repair ran out of time, says so.
    hh = _household(drift=0.005)
    model = build(hh, hh.options)
    sol = solve_program(model.program, hh.options)
    assert sol.status == Status.OPTIMAL
    loose = replace(sol, mip_gap=0.1)
    res = engine._stopped_without_plan(hh, model, loose, hh.options, {},
                                       "before the plan could be repaired in whole shares")
    assert res.status == Status.FEASIBLE, res.message
    # Before: the bound was the objective itself (the gap dropped before it was read).
    assert res.solution.info["best_bound"] == sol.objective - 0.1 * abs(sol.objective)
    assert res.solution.info["gap_dollars"] == (res.solution.info["plan_objective"]
                                                - res.solution.info["best_bound"])


def test_stopped_repair_bound_of_a_mip_solved_without_a_stated_gap():
    # A MIP solver that states no gap (HiGHS through cvxpy) may have stopped anywhere
    # within mip_rel_gap: the bound is the optimum less that much, not the optimum.
    hh = _household(drift=0.005)
    opts = hh.options.replace(mip_rel_gap=0.1)
    model = build(hh, opts)
    assert model.program.is_mip
    sol = solve_program(model.program, opts)
    assert sol.status == Status.OPTIMAL
    silent = replace(sol, mip_gap=None, adapter="cvxpy")
    res = engine._stopped_without_plan(hh, model, silent, opts, {},
                                       "before the plan could be repaired in whole shares")
    assert res.status == Status.FEASIBLE, res.message
    assert res.solution.info["best_bound"] == sol.objective - 0.1 * abs(sol.objective)
