"""The seams between the model, the engine and the cvxpy API solve what they say.

Each test pins a case where two paths used to disagree: the quadratic tracking
term through cvxpy, the objective the summary reports, the whole-share repair's
program, and the forced-lot-order comparison with the user's own pieces.
"""

from __future__ import annotations

import numpy as np
import pytest

import taxopt

from ..conftest import SCENARIOS

THREE = next(p for p in SCENARIOS if p.stem == "three_account_location")
FIFO = next(p for p in SCENARIOS if p.stem == "tax_lot_relief_fifo")


@pytest.fixture(scope="module")
def quadratic():
    return taxopt.load(THREE).with_options(tracking="quadratic")


@pytest.fixture(scope="module")
def quadratic_engine(quadratic):
    return taxopt.rebalance(quadratic)


def test_cvxpy_model_solves_the_quadratic_tracking_term_like_the_engine(quadratic,
                                                                         quadratic_engine):
    # The engine picks the integers on the L1 stand-in, fixes them and solves the QP:
    # a 1.48 variance term (dollars squared, weighted). The cvxpy model must solve the
    # same QP, not the stand-in, and give the same trades. (Before the QP objective was
    # scaled for HiGHS, its 1e-7 regularization swamped this Hessian: "optimal" plans
    # reported a 57.14 variance term and est_tax -3,801.55, $1,300 of objective short.)
    res = taxopt.build(quadratic).cvxpy().solve()
    assert res.status == "optimal" and res.violations == []
    assert round(quadratic_engine.assessment.est_tax, 2) == -3199.34
    assert round(res.assessment.est_tax, 2) == -3199.34
    assert quadratic_engine.solution.objective == pytest.approx(-115857.17, abs=0.01)
    assert "tracking_proxy" not in res.objective_terms
    assert res.objective_terms["tracking_retirement"] == pytest.approx(1.48, abs=0.01)
    assert res.trades().equals(quadratic_engine.trades())


def test_cvxpy_model_weights_the_quadratic_term(quadratic):
    m = taxopt.build(quadratic).cvxpy()
    assert m.solve().objective_terms["tracking_retirement"] == pytest.approx(1.48, abs=0.01)
    m.set_weight("tracking_retirement", 3.0)
    res = m.solve()
    assert res.compiled is False                        # the weight is a Parameter
    variance = m.model.program.evaluate(res.solution.x)["tracking_retirement"]
    assert res.objective_terms["tracking_retirement"] == pytest.approx(3.0 * variance)
    assert variance < 1.48 - 0.5 / 3.0                 # dearer tracking: closer to target
    with pytest.raises(ValueError, match=">= 0"):
        m.set_weight("tracking_retirement", -1.0)


def test_summary_objective_is_the_objective_that_was_solved(quadratic_engine):
    # The QP stage drops the L1 stand-in: the breakdown must not report it, and its
    # terms add up to the solver's objective.
    rec = quadratic_engine.summary()["objective"]
    assert "tracking_proxy" not in rec
    assert rec["tracking_retirement"] == 1.48
    assert sum(rec.values()) == pytest.approx(quadratic_engine.solution.objective, abs=0.05)


def test_rescaled_program_is_the_same_problem_in_new_units(quadratic):
    prog = taxopt.build(quadratic).program
    assert prog.quadratic and prog.proxies == {"tracking_proxy"}
    rng = np.random.default_rng(7)
    scale = rng.uniform(0.5, 400.0, prog.n)
    x = rng.uniform(0.0, 1000.0, prog.n)
    out = prog.rescaled(scale)
    assert out.proxies == prog.proxies and set(out.quadratic) == set(prog.quadratic)
    assert out.evaluate(x / scale) == pytest.approx(prog.evaluate(x), rel=1e-12)
    A, lo, hi = prog.matrix()
    B, lo2, hi2 = out.matrix()
    np.testing.assert_allclose(B @ (x / scale), A @ x, rtol=1e-12)
    np.testing.assert_array_equal(lo, lo2)
    np.testing.assert_array_equal(hi, hi2)
    lb, ub = prog.bounds()
    lb2, ub2 = out.bounds()
    np.testing.assert_allclose(lb2 * scale, lb)
    np.testing.assert_allclose(ub2 * scale, ub)


def test_embedding_repair_keeps_the_quadratic_terms_and_the_stand_ins(quadratic):
    m = taxopt.build(quadratic).cvxpy()
    m.set_weight("tax", 2.0)
    res = m.solve()
    repair = m._repair_model(res.solution, res.model.options).program
    prog = m.model.program
    assert set(repair.quadratic) == set(prog.quadratic)
    assert repair.proxies == prog.proxies
    x = res.solution.x
    got, want = repair.evaluate(x), prog.evaluate(x)
    assert got["tax"] == pytest.approx(2.0 * want["tax"], rel=1e-12)
    assert got["tracking_retirement"] == pytest.approx(want["tracking_retirement"], rel=1e-12)


def _no_newest_vti(m):
    return [m.sell.where(lot_id="LB-VTI-03").sum() <= 0]


def test_forced_lot_order_is_compared_with_the_users_own_pieces():
    # FIFO sells the oldest lots (est_tax 2,185.62); the free choice sells the newest
    # (569.22). With a user rule that keeps LB-VTI-03, the free plan the FIFO plan is
    # compared with must keep it too.
    hh = taxopt.load(FIFO)
    m = taxopt.build(hh).cvxpy()
    m.add_constraints("keep_vti_03", _no_newest_vti)
    res = m.solve()
    assert res.status == "optimal"
    free_model = taxopt.build(hh.with_options(lot_relief="optimal")).cvxpy()
    free_model.add_constraints("keep_vti_03", _no_newest_vti)
    free = free_model.solve()
    assert free.status == "optimal"
    relief = res.summary()["lot_relief"]
    assert relief["method"] == "fifo"
    assert relief["optimal_est_tax"] == round(free.assessment.est_tax, 2)
    assert relief["optimal_est_tax"] != 569.22
    assert relief["difference"] == round(res.assessment.est_tax - free.assessment.est_tax, 2)


def test_fixing_integers_of_an_infeasible_program_raises_with_the_reasons():
    hh = taxopt.load(next(p for p in SCENARIOS if p.stem == "infeasible"))
    engine = taxopt.rebalance(hh)
    assert engine.status == "infeasible" and engine.reasons
    with pytest.raises(taxopt.ProgramInfeasible) as info:
        taxopt.build(hh).cvxpy().fix_integers()
    assert info.value.reasons == engine.reasons
    assert str(info.value) == ("household infeasible: infeasible: account megacorp-401k: "
                               "us_bonds band [0.60, 1.00] cannot hold: the closest plan ends "
                               "0.6000 of account value below its lower bound")


def test_layers_give_the_documented_api():
    # build returns the API's model (solve, cvxpy, export bound on), the model layer's
    # class underneath; results carry their pandas plan.
    from taxopt.model.builder import RebalanceModel as Bare

    hh = taxopt.load(THREE)
    model = taxopt.build(hh)
    assert isinstance(model, Bare) and isinstance(model, taxopt.RebalanceModel)
    assert not hasattr(Bare, "solve") and not hasattr(Bare, "cvxpy")
    res = taxopt.solve(model)
    assert isinstance(res, taxopt.Result) and res.plan.status == "optimal"
    assert res.trades().equals(model.solve().trades())
    assert res.trades().equals(taxopt.rebalance(hh).trades())
