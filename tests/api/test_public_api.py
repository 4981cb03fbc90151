"""The public names of the embedding API, `model.solve`, `Plan`, `with_targets`."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest

import taxopt
from taxopt.api import Labelled

from .conftest import ROOT

NEW = ("CvxpyModel", "EmbeddedResult", "Plan", "plan_of", "with_targets")


def test_names_are_exported_lazily_and_resolve():
    for name in NEW:
        assert name in taxopt.__all__
        assert getattr(taxopt, name) is not None
    api = importlib.import_module("taxopt.api")
    for name in api.__all__:
        assert getattr(api, name) is not None
    for method in ("solve", "cvxpy", "write_mps", "write_lp"):
        assert callable(getattr(taxopt.RebalanceModel, method))
    assert (ROOT / "taxopt" / "py.typed").exists()
    assert taxopt.Status.OPTIMAL == "optimal"


def test_model_solve_is_the_engine_pipeline(hh, engine_result):
    res = taxopt.build(hh).solve()
    assert res.status == taxopt.Status.OPTIMAL
    assert res.assessment.est_tax == pytest.approx(engine_result.assessment.est_tax)
    assert res.trades().equals(engine_result.trades())
    via_cvxpy = taxopt.build(hh).solve(adapter="cvxpy", solver="HIGHS")
    assert via_cvxpy.solution.adapter == "cvxpy"
    assert via_cvxpy.assessment.est_tax == pytest.approx(engine_result.assessment.est_tax,
                                                         abs=0.01)


def test_model_solve_refuses_knobs_that_change_the_program(hh):
    with pytest.raises(taxopt.InvalidOptions, match="tracking_weight"):
        taxopt.build(hh).solve(tracking_weight=0.5)


def test_plan_is_indexed_by_named_levels(hh, engine_result):
    plan = engine_result.plan
    assert isinstance(plan, taxopt.Plan)
    assert plan.status is taxopt.Status.OPTIMAL
    assert list(plan.trades.index.names) == ["household_id", "account_id", "symbol", "lot_id"]
    assert plan.trades.index.is_unique
    assert {"side", "shares", "value", "est_tax"} <= set(plan.trades.columns)
    assert len(plan.trades) == len(engine_result.orders)
    roth = plan.trades.xs("roth-ira", level="account_id")
    assert (roth.index.get_level_values("lot_id") == "").all()      # no lots outside taxable
    assert isinstance(plan.summary, pd.Series)
    assert plan.summary["est_tax"] == pytest.approx(round(engine_result.assessment.est_tax, 2))
    assert list(plan.accounts.index.names) == ["household_id", "account_id"]
    assert list(plan.goals.index.names) == ["household_id", "goal_id", "asset_class"]
    w = plan.goals.xs("retirement", level="goal_id")["weight_after"]
    assert w.sum() == pytest.approx(1.0, abs=1e-5)          # rounded to 6 places
    assert plan.objective.sum() == pytest.approx(engine_result.solution.objective, abs=0.1)
    assert taxopt.plan_of(engine_result).record == plan.record


def test_plan_of_an_infeasible_result_is_empty():
    res = taxopt.rebalance(taxopt.load(ROOT / "scenarios" / "infeasible.json"))
    plan = res.plan
    assert plan.status is taxopt.Status.INFEASIBLE
    assert plan.trades.empty
    assert list(plan.trades.index.names) == ["household_id", "account_id", "symbol", "lot_id"]


def test_with_targets_replaces_a_goal_and_validates(hh):
    new = taxopt.with_targets(hh, {"retirement": {"us_equity": 0.4, "intl_equity": 0.2,
                                                  "us_bonds": 0.35, "reit": 0.05}})
    k = hh.classes.index("us_bonds")
    assert new.goals.target[0, k] == 0.35 and hh.goals.target[0, k] == 0.25
    with pytest.raises(taxopt.InvalidInput, match="sum to 1"):
        taxopt.with_targets(hh, {"retirement": {"us_equity": 0.5}})
    with pytest.raises(taxopt.InvalidInput, match="unknown asset class"):
        taxopt.with_targets(hh, {"retirement": {"gold": 1.0}})
    with pytest.raises(taxopt.InvalidInput, match="unknown goal"):
        taxopt.with_targets(hh, {"college": {"us_equity": 1.0}})


def test_labelled_selects_and_sums_by_level():
    import cvxpy as cp

    idx = pd.MultiIndex.from_tuples([("a", "X"), ("a", "Y"), ("b", "X")],
                                    names=["account_id", "symbol"])
    v = cp.Variable(3)
    lab = Labelled(v, idx)
    v.value = np.array([1.0, 2.0, 4.0])
    assert lab["a", "Y"].value == 2.0
    assert lab.where(symbol="X").sum().value == 5.0
    assert lab.by("symbol").value.to_dict() == {"X": 5.0, "Y": 2.0}
    assert len(lab.where(symbol="Z")) == 0 and lab.where(symbol="Z").sum().value == 0.0
    with pytest.raises(KeyError, match="no level"):
        lab.where(lot_id="L1")
    with pytest.raises(KeyError, match="no entry"):
        lab["c", "X"]
