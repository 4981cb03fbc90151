"""Mean-variance rebalancing with taxopt's tax model: a QP solved by Clarabel through cvxpy.

The household's goal weights per asset class after the trades are a cvxpy expression
(``goal_class_weight``); this example adds the goal's expected return and its risk
(an asset-class covariance matrix) to taxopt's own objective (tax with full Schedule D
netting, asset location, trading cost, cash drag), drops the tracking penalty and
lets the goal's hard drift tolerance bound the allocation:

    minimize  tax + location + cost + ... - V mu'w + (lambda / 2) V w' Sigma w

Binaries: the model keeps ``tax_model="exact"``; its integer variables (one per
wash-sale group, the Schedule D netting piece) are **fixed first** with
``fix_integers()`` at the optimum of taxopt's own MILP (HiGHS), which makes the
program a continuous QP for Clarabel. The plan then goes through taxopt's decoder
(whole shares) and audit like any other.

Run: ``python examples/mean_variance.py``
"""

from __future__ import annotations

from pathlib import Path

import cvxpy as cp
import numpy as np
import pandas as pd

import taxopt
from taxopt.model.location import DEFAULT_RETURNS

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "three_account_location.json"
GOAL = "retirement"
RISK_AVERSION = 4.0          # lambda: certainty-equivalent dollars per dollar of variance
VOL = {"us_equity": 0.16, "intl_equity": 0.18, "reit": 0.20, "us_bonds": 0.05, "cash": 0.005}
CORR = {("us_equity", "intl_equity"): 0.75, ("us_equity", "reit"): 0.60,
        ("intl_equity", "reit"): 0.50, ("us_equity", "us_bonds"): 0.10,
        ("intl_equity", "us_bonds"): 0.10, ("reit", "us_bonds"): 0.20}


def covariance(classes: tuple[str, ...]) -> np.ndarray:
    """The asset-class covariance matrix in the household's class order."""
    sd = np.array([VOL[c] for c in classes])
    corr = np.eye(len(classes))
    for (a, b), rho in CORR.items():
        i, j = classes.index(a), classes.index(b)
        corr[i, j] = corr[j, i] = rho
    return corr * np.outer(sd, sd)


hh = taxopt.load(SCENARIO)
classes = hh.classes
sigma = covariance(classes)
mu = np.array([DEFAULT_RETURNS.get(c, 0.05) for c in classes])

model = taxopt.build(hh).cvxpy()
tax_only = model.solve()                       # taxopt's own objective (MILP, HiGHS)

fixed = model.fix_integers()                   # binaries at taxopt's MILP optimum
value = float(model.goal_value.value[GOAL])    # the goal's dollars (trades keep it)
model.set_weight("tracking", 0.0)              # the drift tolerance still bounds weights


def weights(m: taxopt.CvxpyModel) -> object:
    return m.goal_class_weight.where(goal_id=GOAL).expr


model.add_objective("expected_return", lambda m: -value * (mu @ weights(m)))
model.add_objective("risk", lambda m: 0.5 * value * cp.quad_form(weights(m), sigma),
                    weight=RISK_AVERSION)
result = model.solve()                         # QP: Clarabel by default

before = tax_only.assessment.weights_before[0]
table = pd.DataFrame({"target": hh.goals.target[0], "before": before,
                      "tax_only": tax_only.assessment.weights_after[0],
                      "mean_variance": result.assessment.weights_after[0]}, index=classes)


def stats(w: np.ndarray) -> str:
    return f"return {mu @ w:.4f}, volatility {np.sqrt(w @ sigma @ w):.4f}"


if __name__ == "__main__":
    print(f"binaries fixed at taxopt's MILP optimum: {fixed.astype(int).tolist()}")
    print(f"solver: {result.solution.solver}, status {result.status}, "
          f"violations {result.violations}")
    print(table.round(4).to_string())
    for name in ("before", "tax_only", "mean_variance"):
        print(f"{name:>14}: {stats(table[name].to_numpy())}")
    print(f"estimated tax: tax-only {tax_only.assessment.est_tax:,.2f}, "
          f"mean-variance {result.assessment.est_tax:,.2f}")
    print("objective terms:", {k: round(v, 2) for k, v in result.objective_terms.items()})
