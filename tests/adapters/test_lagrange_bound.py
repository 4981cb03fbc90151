"""The Lagrangian bound (`taxopt.adapters.lagrange`) and the objective of a given plan
(`taxopt.adapters.plan_value`): the bound is never above the optimum, it equals the LP
optimum at the LP's own duals, and a plan is scored like the solver scores it."""

from __future__ import annotations

import numpy as np
import pytest

import taxopt
from taxopt import synth
from taxopt.adapters.clock import Deadline
from taxopt.adapters.highs import new_highs, pass_program
from taxopt.adapters.lagrange import Relaxation, finite_box
from taxopt.adapters.plan_value import plan_objective, trade_columns
from taxopt.model import build
from taxopt.model.program import Program
from taxopt.options import Options
from taxopt.synth_book import direct_indexing_book


def tiny() -> Program:
    # min -x1 - x2 + 0.5 z  s.t.  x1 + x2 <= 1,  z - x1 = 0,  0 <= x <= 1,  z free.
    # Optimum: x2 = 1, x1 = z = 0, objective -1.
    prog = Program()
    prog.add_vars("x", 2, 0.0, 1.0)
    prog.add_vars("z", 1, -np.inf, np.inf)
    prog.add_rows("budget", np.array([[1.0, 1.0, 0.0]]), -np.inf, 1.0)
    prog.add_rows("link", np.array([[-1.0, 0.0, 1.0]]), 0.0, 0.0)
    prog.add_term("value", np.array([-1.0, -1.0, 0.5]))
    return prog


def test_tiny_case_by_hand():
    rel = Relaxation.of_program(tiny())
    # z is free; the link row bounds it by x1's box: 0 <= z <= 1.
    assert rel.lb.tolist() == [0.0, 0.0, 0.0] and rel.ub.tolist() == [1.0, 1.0, 1.0]
    # y = 0: every column at the end its cost prefers: -1 - 1 + 0.5 * 0 = -2.
    assert rel.value(np.zeros(2)) == -2.0
    # y_budget = -1 (the upper side), y_link = 0: reduced costs 0, 0, 0.5 -> bound
    # -1 * 1 + 0 = -1, the optimum.
    assert rel.value(np.array([-1.0, 0.0])) == -1.0
    # A multiplier of the wrong sign for its row is taken as 0: +1 on a row with no
    # lower side prices nothing.
    assert rel.value(np.array([1.0, 0.0])) == -2.0
    bound, y = rel.ascend()
    assert bound == pytest.approx(-1.0, abs=1e-12)
    assert y[0] == pytest.approx(-1.0)


def test_free_column_without_rows_to_bound_it_makes_the_bound_infinite():
    prog = Program()
    prog.add_vars("x", 1, -np.inf, np.inf)
    prog.add_term("value", np.array([1.0]))       # min x over all reals: unbounded
    rel = Relaxation.of_program(prog)
    assert rel.value(np.zeros(0)) == -np.inf


def test_finite_box_from_an_equality_row():
    # z = 2 x1 - 3 x2 with x in [0, 1]: z in [-3, 2]; x3 has both sides already.
    r, c, v = np.array([0, 0, 0]), np.array([0, 1, 2]), np.array([2.0, -3.0, -1.0])
    lb, ub = finite_box(r, c, v, np.zeros(1), np.zeros(1), np.array([0.0, 0.0, -np.inf]),
                        np.array([1.0, 1.0, np.inf]))
    assert lb.tolist() == [0.0, 0.0, -3.0] and ub.tolist() == [1.0, 1.0, 2.0]


def _relaxation_optimum(prog: Program) -> tuple[float, np.ndarray]:
    """The LP relaxation (every binary in [0, 1]) solved by HiGHS: objective, row duals."""
    h = new_highs(Options(), False, prog.n)
    pass_program(h, prog)
    ints = np.flatnonzero(prog.integrality()).astype(np.int32)
    h.changeColsIntegrality(len(ints), ints, np.zeros(len(ints), np.uint8))
    h.run()
    return float(h.getInfo().objective_function_value), np.asarray(h.getSolution().row_dual)


def _households():
    for seed in range(1, 9):
        yield taxopt.from_dict(synth.household(seed, n_lots=150))
    yield taxopt.from_dict(direct_indexing_book(3, n_lots=2_000, n_stocks=60))


@pytest.mark.parametrize("hh", list(_households()), ids=lambda h: h.household_id)
def test_bound_never_above_the_optimum(hh):
    res = taxopt.rebalance(hh)
    assert res.status == "optimal", res.message
    prog = res.model.program
    rel = Relaxation.of_program(prog)
    lp, duals = _relaxation_optimum(prog)
    opt = res.solution.objective
    tol = 1e-7 * max(abs(opt), 1.0)
    assert lp <= opt + tol
    for y in (np.zeros(rel.m), duals):
        assert rel.value(y) <= lp + tol
    bound, _ = rel.ascend()
    assert rel.value(np.zeros(rel.m)) <= bound <= lp + tol
    # The LP's own duals close the gap to the LP optimum (strong duality).
    assert rel.value(duals) == pytest.approx(lp, rel=1e-6, abs=1e-3)
    # The plan's objective from its trades alone: the solver's, to the cent; no
    # trades, never below the bound.
    fixed = trade_columns(prog)
    assert plan_objective(prog, rel, fixed, res.solution.x) == pytest.approx(opt, abs=0.01)
    assert plan_objective(prog, rel, fixed, np.zeros(prog.n)) >= bound - tol


def test_ascent_stops_at_its_deadline():
    hh = taxopt.from_dict(direct_indexing_book(3, n_lots=2_000, n_stocks=60))
    rel = Relaxation.of_program(build(hh).program)
    bound, y = rel.ascend(deadline=Deadline(0.0))        # no time: the bound at y = 0
    assert bound == rel.value(np.zeros(rel.m))
    assert not y.any()
