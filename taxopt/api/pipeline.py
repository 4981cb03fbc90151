"""Solve an already built model and take its solution through decode and audit.

The steps after the solve are `taxopt.engine.finish`, the same as
`taxopt.rebalance`'s (round, audit, repair when the audit finds a broken rule, audit
again), with the extra checks of an embedding model (user constraints evaluated at
the rounded plan).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..adapters import solve_program
from ..engine import Check, Result, _solve_free, finish, with_relief
from ..errors import InvalidOptions
from ..options import Options

if TYPE_CHECKING:
    from ..model.builder import RebalanceModel

SOLVE_KNOBS = frozenset({"adapter", "solver", "time_limit", "mip_rel_gap", "min_trade_value"})
"""Options that a solve may change without rebuilding the program."""

def solve_options(model: RebalanceModel, changes: dict[str, Any]) -> Options:
    """The model's options with solve-time knobs changed; other knobs are refused.

    Raises
    ------
    InvalidOptions
        For a knob that changes the program (weights, tax model, rules): those
        need ``taxopt.build(household, options.replace(...))``.
    """
    given = {k: v for k, v in changes.items() if v is not None}
    for key in sorted(given):
        if key not in SOLVE_KNOBS:
            raise InvalidOptions(model.household.household_id, "solve", key,
                                 "changes the program; build a new model with "
                                 "taxopt.build(household, options.replace(...)) "
                                 f"(a solve may change {', '.join(sorted(SOLVE_KNOBS))})")
    if given.get("adapter") == "cvxpy" and "solver" not in given \
            and model.options.adapter != "cvxpy":
        given["solver"] = "HIGHS"
    return model.options.replace(**given) if given else model.options


def solve_model(model: RebalanceModel, adapter: str | None = None, solver: str | None = None,
                **changes: Any) -> Result:
    """Solve a built model with one of taxopt's adapters, then decode and audit.

    Parameters
    ----------
    model
        From `taxopt.build`.
    adapter
        ``"highs"`` (direct, fast; the default) or ``"cvxpy"``.
    solver
        The cvxpy solver name when ``adapter="cvxpy"`` (``"HIGHS"`` by default).
    **changes
        Solve-time options: ``time_limit``, ``mip_rel_gap``, ``min_trade_value``.

    Returns
    -------
    Result
        Audited like `taxopt.rebalance`'s.
    """
    opts = solve_options(model, {"adapter": adapter, "solver": solver, **changes})
    t0 = time.perf_counter()
    sol = solve_program(model.program, opts)
    timings = {"solve": time.perf_counter() - t0}
    return with_relief(finish(model, sol, opts, timings), opts, _solve_free)


__all__ = ["SOLVE_KNOBS", "Check", "finish", "solve_model", "solve_options"]
