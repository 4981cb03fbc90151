"""The composable cvxpy model: names, user constraints and terms, Parameters, audit."""

from __future__ import annotations

import numpy as np
import pytest

import taxopt

GOAL = "retirement"


@pytest.fixture
def m(hh) -> taxopt.CvxpyModel:
    return taxopt.build(hh).cvxpy()


def _weight_after(res: taxopt.Result, cls: str) -> float:
    return float(res.plan.goals.loc[(res.household.household_id, GOAL, cls), "weight_after"])


def test_pieces_are_named_and_labelled(m, hh):
    assert list(m.sell.index.names) == ["account_id", "symbol", "lot_id"]
    assert list(m.buy.index.names) == ["account_id", "symbol"]
    assert list(m.holdings_after.index.names) == ["account_id", "symbol"]
    assert list(m.cash_after.index) == list(hh.accounts.account_id)
    assert list(m.goal_class_value.index.names) == ["goal_id", "asset_class"]
    assert {"tax", "tracking", "cost", "location"} <= set(m.terms)
    assert {"bounds", "cash", "bands", "tolerance", "wash", "wash_sell", "wash_buy"} \
        <= set(m.constraints)
    assert m.constraints["wash"].constraints == (m.constraints["wash_sell"].constraints
                                                 + m.constraints["wash_buy"].constraints)
    assert all(t.weight == 1.0 for t in m.terms.values())
    # data before any solve: values after doing nothing
    held = m.holdings_after.expr
    assert m.goal_value.value[GOAL] == pytest.approx(float(hh.goals.goal_id and
                                                           m.model.context.layout.goal_value[0]))
    assert held.shape == (len(m.holdings_after),)


def test_solve_goes_through_decode_and_audit_like_the_engine(m, hh, engine_result):
    res = m.solve()
    assert isinstance(res, taxopt.EmbeddedResult)
    assert res.status == "optimal" and res.solution.adapter == "cvxpy"
    assert res.violations == [] and res.binding == []
    assert res.assessment.est_tax == pytest.approx(engine_result.assessment.est_tax, abs=0.01)
    # the objective report adds up to the solver's objective
    assert sum(res.objective_terms.values()) == pytest.approx(res.solution.objective, abs=1e-3)
    # derived expressions agree with the audit's recomputation (before rounding: close)
    after = m.cash_after.value
    assert after is not None and list(after.index) == list(hh.accounts.account_id)
    rec = res.summary()
    assert rec["status"] == "optimal" and "objective" in rec


def test_a_binding_user_constraint_changes_the_plan_and_is_reported(m, engine_result):
    free = _weight_after(engine_result, "us_equity")
    m.add_constraints("cap", lambda m: [m.goal_class_weight[GOAL, "us_equity"] <= 0.48])
    m.add_constraints("loose", lambda m: [m.goal_class_weight[GOAL, "reit"] <= 0.5])
    res = m.solve()
    assert res.status == "optimal" and res.violations == []
    assert free > 0.485
    assert _weight_after(res, "us_equity") <= 0.48 + 1e-9
    assert not res.trades().equals(engine_result.trades())
    assert res.binding == ["cap"]
    report = res.constraint_report
    assert bool(report.loc["cap", "binding"]) and report.loc["cap", "max_abs_dual"] > 0
    assert not report.loc["loose", "binding"] and report.loc["loose", "min_slack"] > 0.3
    rows = m.constraint_rows("cap")
    assert rows["active"].all() and rows["dual"].abs().min() > 0
    assert res.summary()["user_constraints"]["cap"]["binding"] is True


def test_an_exclusion_that_costs_nothing_is_active_but_not_binding(m, engine_result):
    bought = set(engine_result.trades().query("side == 'buy'")["symbol"])
    never = sorted({"VTEB", "SCHH", "AGG", "ITOT", "IXUS", "VXUS", "BND", "VTI", "VNQ"}
                   - bought)[0]
    m.add_constraints("never", lambda m: [m.buy.where(symbol=never).sum() <= 0])
    res = m.solve()
    assert res.constraint_report.loc["never", "active"] >= 1
    assert res.binding == []
    assert res.assessment.est_tax == pytest.approx(engine_result.assessment.est_tax, abs=0.01)


def test_a_user_term_changes_the_plan_and_its_weight_is_a_parameter(m, engine_result):
    bought = engine_result.trades().query("side == 'buy'")
    symbol = bought.sort_values("value")["symbol"].iloc[-1]          # the largest purchase
    m.add_objective("dislike", lambda m: m.buy.where(symbol=symbol).sum(), weight=0.0)
    res0 = m.solve()
    assert res0.trades().equals(engine_result.trades())              # weight 0: no change
    m.set_weight("dislike", 0.05)                                    # 5 cents per dollar
    res = m.solve()
    assert res.compiled is False                                     # only a Parameter moved
    got = res.trades().query("side == 'buy' and symbol == @symbol")["value"].sum()
    assert got < bought.query("symbol == @symbol")["value"].sum() - 1000
    assert res.objective_terms["dislike"] == pytest.approx(0.05 * got, rel=0.02)
    assert m.terms["dislike"].user and m.terms["dislike"].weight == 0.05


def test_weights_and_targets_change_parameters_without_recompiling(m, hh):
    first = m.solve()
    assert first.compiled and m.compilations == 1
    m.set_weight("tracking", 3.0)
    again = m.solve()
    assert again.compiled is False and m.compilations == 1
    assert again.timings["compile"] < first.timings["compile"]
    m.set_weight("tracking", 1.0)
    target = {"us_equity": 0.4, "intl_equity": 0.2, "us_bonds": 0.35, "reit": 0.05}
    assert m.update(taxopt.with_targets(hh, {GOAL: target})) is False
    moved = m.solve()
    assert moved.compiled is False and m.compilations == 1
    assert abs(_weight_after(moved, "us_bonds") - 0.35) <= 0.03 + 1e-6     # new tolerance
    ref = taxopt.rebalance(taxopt.with_targets(hh, {GOAL: target}))
    assert moved.assessment.est_tax == pytest.approx(ref.assessment.est_tax, abs=0.01)


def test_a_price_shock_is_a_parameter_update_with_the_engines_plan(m, hh):
    m.solve()
    price = dict(zip(hh.securities.symbol, hh.securities.price, strict=True))
    shocked = hh.with_prices({"VTI": price["VTI"] * 0.85, "VXUS": price["VXUS"] * 0.9})
    assert m.update(shocked) is False
    res = m.solve()
    assert res.compiled is False
    ref = taxopt.rebalance(shocked)
    assert res.assessment.est_tax == pytest.approx(ref.assessment.est_tax, abs=0.01)
    assert res.solution.objective == pytest.approx(ref.solution.objective, rel=1e-9)
    assert res.violations == []


def test_fixed_integers_make_a_qp_for_clarabel(m, hh):
    import cvxpy as cp

    values = m.fix_integers()
    assert len(values) == int(taxopt.build(hh).program.integrality().sum())
    w = m.goal_class_weight.where(goal_id=GOAL).expr
    m.add_objective("risk", lambda m: cp.sum_squares(m.goal_class_weight.where(
        goal_id=GOAL).expr), weight=1e4)
    assert m.default_solver() == "CLARABEL"
    res = m.solve()
    assert res.status in ("optimal", "feasible") and res.violations == []
    assert res.solution.solver == "CLARABEL"
    assert w.shape == (len(hh.classes),)


def test_expressions_over_old_variables_are_refused_on_rebuild(m):
    m.add_objective("fixed_expr", m.buy.sum() * 0.0)
    with pytest.raises(taxopt.TaxoptError, match="callable"):
        m.fix_integers(np.zeros(int(m.model.program.integrality().sum())))


def test_user_constraints_that_cannot_hold_say_so(m):
    m.add_constraints("impossible", lambda m: [m.goal_class_weight[GOAL, "us_equity"] <= 0.3])
    res = m.solve()
    assert res.status == "infeasible"
    assert "impossible" in res.message and res.orders.__len__() == 0


def test_bad_user_pieces_are_refused(m):
    import cvxpy as cp

    with pytest.raises(ValueError, match="convex"):
        m.add_objective("concave", lambda m: cp.sqrt(m.buy.sum()))
    with pytest.raises(ValueError, match="exists"):
        m.add_objective("tax", lambda m: m.buy.sum())
    with pytest.raises(TypeError, match="not a cvxpy constraint"):
        m.add_constraints("junk", lambda m: [1.0])
    with pytest.raises(KeyError):
        m.set_weight("nope", 1.0)


def test_lots_crossing_their_basis_keep_the_program_s_shape(m, hh):
    # Every taxable lot of a wash group has its row (gains' rows slack), so a crash that
    # turns gains into losses changes coefficients, not the sparsity: no recompilation.
    m.add_constraints("cap", lambda m: [m.goal_class_weight[GOAL, "us_equity"] <= 0.49])
    m.solve()
    price = dict(zip(hh.securities.symbol, hh.securities.price, strict=True))
    crash = hh.with_prices({"VTI": price["VTI"] * 0.6, "VXUS": price["VXUS"] * 0.6})
    assert m.update(crash) is False
    res = m.solve()
    assert res.compiled is False and m.compilations == 1 and "cap" in m.constraints
    assert res.assessment.est_tax == pytest.approx(
        taxopt.rebalance(crash).assessment.est_tax, abs=0.01)
    assert m.update(hh) is False
