"""`Program` owns its transformations: copies, fixed integers, stand-in stages."""

from __future__ import annotations

import numpy as np
import pytest

import taxopt
from taxopt.model import build

from ..conftest import SCENARIOS

THREE = next(p for p in SCENARIOS if p.stem == "three_account_location")


@pytest.fixture(scope="module")
def prog():
    return build(taxopt.load(THREE).with_options(tracking="quadratic")).program


def test_copy_is_independent_in_its_containers(prog):
    out = prog.copy()
    out.terms.pop("tax")
    out.vars.pop("buy")
    out.proxies.clear()
    out.pieces.append(-1)
    assert "tax" in prog.terms and "buy" in prog.vars
    assert prog.proxies == {"tracking_proxy"} and -1 not in prog.pieces


def test_integers_fixed_make_a_continuous_program_at_those_values(prog):
    ints = np.flatnonzero(prog.integrality())
    assert len(ints) and prog.pieces
    values = np.arange(len(ints)) % 2
    fixed = prog.with_integers_fixed(values + 1e-9)
    assert not fixed.is_mip and fixed.pieces == []
    lb, ub = fixed.bounds()
    np.testing.assert_array_equal(lb[ints], values)
    np.testing.assert_array_equal(ub[ints], values)
    lb0, ub0 = prog.bounds()
    rest = np.setdiff1d(np.arange(prog.n), ints)
    np.testing.assert_array_equal(lb[rest], lb0[rest])
    np.testing.assert_array_equal(ub[rest], ub0[rest])
    assert prog.is_mip                                    # the original is untouched
    with pytest.raises(ValueError, match=f"expected {len(ints)} integer values"):
        prog.with_integers_fixed(np.zeros(len(ints) + 1))


def test_stages_swap_quadratic_terms_and_their_stand_ins(prog):
    assert prog.stand_ins == frozenset({"tracking_proxy"})
    linear = prog.linear_stage()
    assert linear.quadratic == {} and "tracking_proxy" in linear.terms
    qp = prog.quadratic_stage()
    assert "tracking_proxy" not in qp.terms and set(qp.quadratic) == {"tracking_retirement"}
    x = np.ones(prog.n)
    assert "tracking_proxy" not in prog.evaluate(x)
    assert "tracking_proxy" in prog.evaluate(x, stand_ins=True)
    with pytest.raises(KeyError, match="no linear term 'nope'"):
        prog.copy().mark_stand_in("nope")


def test_weighted_multiplies_linear_and_quadratic_terms(prog):
    x = np.random.default_rng(3).uniform(0, 100, prog.n)
    got = prog.weighted({"tax": 2.0, "tracking_retirement": 0.5}).evaluate(x)
    want = prog.evaluate(x)
    assert got["tax"] == pytest.approx(2.0 * want["tax"])
    assert got["tracking_retirement"] == pytest.approx(0.5 * want["tracking_retirement"])
    assert got["cost"] == pytest.approx(want["cost"])
