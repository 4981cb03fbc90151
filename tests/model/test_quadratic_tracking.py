"""Quadratic tracking error: the model's term is the goal's ex-ante TE variance in dollars."""

from __future__ import annotations

import numpy as np
import pytest

import taxopt
from taxopt.adapters import solve_program
from taxopt.model import build
from taxopt.model.terms import default_covariance

from ..conftest import SCENARIOS

PATH = next(p for p in SCENARIOS if p.stem == "three_account_location")


def test_default_covariance_is_a_covariance():
    S = default_covariance(("intl_equity", "reit", "us_bonds", "us_equity", "cash"))
    assert np.allclose(S, S.T)
    assert np.linalg.eigvalsh(S).min() > 0
    assert S[3, 3] == pytest.approx(0.16 ** 2)            # US equity: 16 % a year
    assert S[0, 3] == pytest.approx(0.8 * 0.17 * 0.16)    # equities move together
    assert S[2, 3] == pytest.approx(0.1 * 0.05 * 0.16)


def test_quadratic_term_equals_tracking_error_variance_of_the_plan():
    hh = taxopt.load(PATH).with_options(tracking="quadratic", tracking_te_weight=100.0)
    model = build(hh)
    sol = solve_program(model.program, hh.options)
    assert sol.status == "optimal"
    value = model.program.evaluate(sol.x)["tracking_retirement"]
    # Independently: class weights implied by the solution's dollars, then w'Sw.
    ctx = model.context
    gc = ctx.goal_class.value(sol.x)
    total = ctx.layout.goal_value[0]
    gap = gc / total - hh.goals.target[0]
    S = default_covariance(hh.classes)
    assert value == pytest.approx(100.0 * total * gap @ S @ gap, rel=1e-9)


def test_quadratic_plan_is_audited_and_adapters_agree():
    hh = taxopt.load(PATH).with_options(tracking="quadratic")
    fast = taxopt.rebalance(hh, adapter="highs")
    slow = taxopt.rebalance(hh, adapter="cvxpy")
    assert fast.status == slow.status == "optimal"
    assert fast.violations == [] and slow.violations == []
    # HiGHS's QP solver and cvxpy's path stop at slightly different points.
    assert fast.solution.objective == pytest.approx(slow.solution.objective, rel=1e-4)
    assert "integers fixed by the linear stage" in fast.solution.message
