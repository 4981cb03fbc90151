"""An ESG exclusion and a sector cap added to taxopt's model as user constraint groups.

- ``esg``: never buy the excluded funds, in any account (sales stay allowed, so the
  plan may still sell what the household holds);
- ``sector_cap``: the goal's REIT weight after the trades at most ``CAP``.

Both are callables of the model (as in skfolio), so they are rebuilt if the
model's structure changes. The program stays a MILP (HiGHS through cvxpy); the
result reports, per group, whether it binds: active at the solution and with a
nonzero dual in the LP with the integer variables fixed.

Run: ``python examples/esg_sector_cap.py``
"""

from __future__ import annotations

from pathlib import Path

import taxopt

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "three_account_location.json"
EXCLUDED = ["SCHH"]            # e.g. a fund that fails the client's screen
GOAL, SECTOR, CAP = "retirement", "us_equity", 0.48

hh = taxopt.load(SCENARIO)
model = taxopt.build(hh).cvxpy()
before = model.solve()

model.add_constraints("esg", lambda m: [m.buy.where(symbol=EXCLUDED).sum() <= 0])
model.add_constraints("sector_cap", lambda m: [m.goal_class_weight[GOAL, SECTOR] <= CAP])
result = model.solve()

bought = result.plan.trades.query("side == 'buy'").groupby(level="symbol")["value"].sum()
weight = result.plan.goals.loc[(hh.household_id, GOAL, SECTOR), "weight_after"]

if __name__ == "__main__":
    print(f"status {result.status}; binding user constraints: {result.binding}")
    print(result.constraint_report[result.constraint_report["user"]].to_string())
    print(f"{SECTOR} weight after: {weight:.4f} (cap {CAP}); "
          f"before the constraints: "
          f"{before.plan.goals.loc[(hh.household_id, GOAL, SECTOR), 'weight_after']:.4f}")
    print("bought per symbol:", bought.round(2).to_dict())
    print(result.plan.trades[["side", "shares", "value", "est_tax"]].to_string())
