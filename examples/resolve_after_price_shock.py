"""Re-solve after a price shock without recompiling: data enters cvxpy as Parameters.

The cvxpy model is compiled once. ``update(household)`` rebuilds taxopt's program
for the new prices (numpy only) and loads the new numbers (bounds, gains per dollar,
tax rows, targets, values) into the problem's Parameters; when the structure is the
same, cvxpy reuses its compiled problem (``result.compiled`` is False). The result
is the same plan `taxopt.rebalance` finds for the shocked household.

Run: ``python examples/resolve_after_price_shock.py``; it prints its timings.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import taxopt

T = TypeVar("T")

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "three_account_location.json"
SHOCK = {"VTI": 0.85, "ITOT": 0.85, "VXUS": 0.90, "IXUS": 0.90}   # equities fall


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


hh = taxopt.load(SCENARIO)
taxopt.build(hh).cvxpy().solve()               # warm-up: imports, solver start-up

model = taxopt.build(hh).cvxpy()
first, t_first = timed(model.solve)            # compiles the cvxpy problem

model.set_weight("tax", 1.5)                   # a weight: one Parameter changes
reweighted, t_weight = timed(model.solve)
model.set_weight("tax", 1.0)

price = dict(zip(hh.securities.symbol, hh.securities.price, strict=True))
shocked = hh.with_prices({s: price[s] * f for s, f in SHOCK.items()})
rebuilt, t_update = timed(lambda: model.update(shocked))
after, t_shock = timed(model.solve)

reference = taxopt.rebalance(shocked)          # the engine on the shocked household

if __name__ == "__main__":
    print(f"first solve   {t_first * 1e3:7.1f} ms (compiled: {first.compiled}, "
          f"cvxpy compile {first.timings['compile'] * 1e3:.1f} ms)")
    print(f"weight change {t_weight * 1e3:7.1f} ms (compiled: {reweighted.compiled}, "
          f"cvxpy compile {reweighted.timings['compile'] * 1e3:.1f} ms)")
    print(f"price shock   {(t_update + t_shock) * 1e3:7.1f} ms = update {t_update * 1e3:.1f} "
          f"+ solve {t_shock * 1e3:.1f} (structure rebuilt: {rebuilt}, "
          f"compiled: {after.compiled})")
    print(f"estimated tax before the shock {first.assessment.est_tax:,.2f}, after "
          f"{after.assessment.est_tax:,.2f} (engine: {reference.assessment.est_tax:,.2f})")
    sells = after.plan.trades.query("side == 'sell'")
    print("sales after the shock:")
    print(sells[["shares", "value", "realized_gain", "est_tax"]].to_string())
