"""Solution to orders: rounding with repair, then one order per lot or position."""

from __future__ import annotations

import numpy as np

from ..adapters.base import Solution
from ..adapters.clock import Deadline
from ..domain.orders import Orders
from ..model.builder import RebalanceModel
from ..model.funding import flow_amounts
from ..options import Options
from .rounding import RoundedTrades, quick_round, round_trades


def to_orders(model: RebalanceModel, rounded: RoundedTrades,
              flows: tuple[np.ndarray, np.ndarray] | None = None) -> Orders:
    """Orders from rounded shares: taxable sales name their lot, the rest do not; with
    the accounts' parts of goal-level flows when the program has them."""
    ctx = model.context
    assert ctx is not None
    lay = ctx.layout
    n_s, n_b = lay.n_units, lay.n_buys
    orders = Orders.make(
        np.concatenate([lay.unit_account, lay.buy_account]),
        np.concatenate([lay.unit_security, lay.buy_security]),
        np.concatenate([np.zeros(n_s, bool), np.ones(n_b, bool)]),
        np.concatenate([rounded.sell_shares, rounded.buy_shares]),
        np.concatenate([lay.unit_lot, np.full(n_b, -1)]),
        model.household)
    return orders if flows is None else orders.with_flows(*flows)


def decode(model: RebalanceModel, sol: Solution, options: Options,
           repair: bool = False, deadline: Deadline | None = None
           ) -> tuple[Orders, RoundedTrades]:
    """Round the solution to tradable shares and list the orders.

    ``repair=False`` rounds directly (no solve); ``repair=True`` re-solves in shares
    so every hard rule holds after rounding. The engine tries the first, audits it,
    and repairs only when the audit finds a broken rule. A repair solve gets what is
    left of ``deadline`` (the end of the whole time limit; None: its own limit).
    """
    rounded = (round_trades if repair else quick_round)(model, sol, options, deadline)
    if not rounded.status.has_solution:
        return Orders.empty(), rounded
    assert model.context is not None
    return to_orders(model, rounded, flow_amounts(model.context, sol.x)), rounded


__all__ = ["decode", "quick_round", "round_trades", "to_orders"]
