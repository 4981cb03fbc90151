"""Quadratic tracking at the time limit: the integers and the plan come from the linear
stage, so when the limit stops the quadratic stage that plan is still returned."""

from __future__ import annotations

import taxopt
import taxopt.adapters as adapters
from taxopt import engine, synth
from taxopt.adapters import Status
from taxopt.adapters.clock import Deadline
from taxopt.audit import assess, violations


def _household():
    # As it stands it breaks a rule (the REIT band): "no trades" is no plan here.
    return taxopt.from_dict(synth.household(synth.household_seed(31, 4), n_lots=150,
                                            n_accounts=3, drift=0.08))


def test_linear_stage_plan_returned_when_the_limit_stops_the_quadratic_stage(monkeypatch):
    hh = _household()
    opts = hh.options.replace(tracking="quadratic")
    stuck = engine.rebalance(hh, opts)
    assert stuck.status == Status.OPTIMAL          # with time: the two stages finish
    before = assess(hh, taxopt.domain.orders.Orders.empty())
    assert violations(hh, taxopt.domain.orders.Orders.empty(), before, opts)

    solve_qp = adapters._solve_qp

    def out_of_time(prog, options, deadline):      # the limit passes as the QP stage starts
        return solve_qp(prog, options, Deadline(0.0))

    monkeypatch.setattr(adapters, "_solve_qp", out_of_time)
    res = engine.rebalance(hh, opts)
    # Before: status error, "time limit ... reached before the solver found a plan, and
    # no trades would break a rule" although the linear stage had found one.
    assert res.status == Status.FEASIBLE, res.message
    assert res.message == ("solver stopped early: time limit reached in the quadratic "
                           "stage: the linear stage's plan, gap unknown")
    assert len(res.orders) > 0 and not res.violations
    assert violations(hh, res.orders, res.assessment, opts) == []
    solver = res.summary()["solver"]
    assert solver["mip_gap"] is None and "gap_dollars" not in solver
    # the linear stage's own plan, decoded
    first = adapters.choose_integers(res.model.program, opts)
    assert first.status == Status.OPTIMAL
    assert (res.solution.x == first.x).all()


def test_no_optimal_from_integers_of_a_stopped_linear_stage(monkeypatch):
    hh = _household()
    opts = hh.options.replace(tracking="quadratic")
    choose = adapters.choose_integers

    def stopped(prog, options, deadline=None):      # the limit stopped the linear search
        sol = choose(prog, options, deadline)
        sol.status, sol.message = Status.FEASIBLE, "time limit reached: best plan found"
        return sol

    monkeypatch.setattr(adapters, "choose_integers", stopped)
    sol = adapters.solve_program(taxopt.build(hh, opts).program, opts)
    # Before: "optimal" (the QP with those integers fixed was solved to optimality).
    assert sol.status == Status.FEASIBLE and sol.mip_gap is None
    assert sol.message == ("Optimal; integers fixed by the linear stage "
                           "(time limit reached: best plan found)")
