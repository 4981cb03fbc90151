"""A result as pandas objects indexed by named levels: trades, summary, accounts, goals.

>>> plan = taxopt.plan_of(taxopt.rebalance(hh))                   # doctest: +SKIP
>>> plan.trades.loc[("three_account_location", "roth-ira")]       # doctest: +SKIP
>>> plan.summary["est_tax"]                                       # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..adapters.base import Status

if TYPE_CHECKING:
    from ..engine import Result

TRADE_INDEX = ("household_id", "account_id", "symbol", "lot_id")


@dataclass(frozen=True, slots=True, eq=False)
class Plan:
    """One household's audited plan, as pandas objects.

    Attributes
    ----------
    status
        How the solve ended (`taxopt.Status`); only ``OPTIMAL`` and ``FEASIBLE``
        plans have orders.
    trades
        One row per order, indexed by ``(household_id, account_id, symbol, lot_id)``;
        ``lot_id`` is ``""`` for purchases and for sales outside taxable accounts.
        Columns are the trade contract's others: ``side, shares, price, value, term,
        realized_gain, est_tax, wash_disallowed, reason``.
    summary
        The summary's scalar figures (``status, est_tax, realized_short_term,
        realized_long_term, turnover, orders, ...``), named by the household.
    accounts
        Per account, indexed by ``(household_id, account_id)``: tax type, value,
        cash before and after, dollars bought and sold, orders.
    goals
        Per goal and asset class, indexed by ``(household_id, goal_id, asset_class)``:
        ``target``, ``weight_before``, ``weight_after``.
    objective
        The value of each objective term at the solution (empty without a solve).
    record
        The full nested summary record (what ``summary.json`` holds).
    """

    household_id: str
    status: Status
    trades: pd.DataFrame
    summary: pd.Series
    accounts: pd.DataFrame
    goals: pd.DataFrame
    objective: pd.Series
    record: dict[str, Any]

    @classmethod
    def from_result(cls, result: Result) -> Plan:
        """Build the plan of a result (`taxopt.rebalance`, `RebalanceModel.solve`, ...)."""
        hid = result.household.household_id
        frame = pd.DataFrame(result.trade_columns())
        if not len(frame.columns):
            frame = pd.DataFrame({c: [] for c in TRADE_INDEX})
        trades = frame.set_index(list(TRADE_INDEX))
        rec = result.summary()
        scalars = {k: v for k, v in rec.items()
                   if not isinstance(v, dict | list) and k != "household_id"}
        summary = pd.Series(scalars, name=hid, dtype=object)
        accounts = pd.DataFrame.from_dict(
            {(hid, aid): {k: v for k, v in row.items() if not isinstance(v, dict | list)}
             for aid, row in rec.get("accounts", {}).items()}, orient="index")
        if len(accounts):
            accounts.index = accounts.index.set_names(["household_id", "account_id"])
        goal_rows: dict[tuple[str, str, str], dict[str, float]] = {}
        for gid, g in rec.get("goals", {}).items():
            for cls_name, target in g["targets"].items():
                goal_rows[(hid, gid, cls_name)] = {
                    "target": target, "weight_before": g["weights_before"][cls_name],
                    "weight_after": g["weights_after"][cls_name]}
        goals = pd.DataFrame.from_dict(goal_rows, orient="index")
        if len(goals):
            goals.index = goals.index.set_names(["household_id", "goal_id", "asset_class"])
        objective = pd.Series(rec.get("objective", {}), name="objective", dtype=float)
        return cls(hid, Status(result.status), trades, summary, accounts, goals, objective, rec)


def plan_of(result: Result) -> Plan:
    """The plan of a result as pandas objects (see `Plan`).

    Parameters
    ----------
    result
        Any `taxopt.Result`.

    Returns
    -------
    Plan
        Trades indexed by ``(household_id, account_id, symbol, lot_id)``, the summary
        as a `pandas.Series`, per-account and per-goal tables.
    """
    return Plan.from_result(result)
