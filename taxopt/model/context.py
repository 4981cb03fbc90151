"""The shared state that terms and constraints compile against.

It declares the trade variables once and derives, as affine expressions, the
quantities every rule talks about: holdings, cash, class values per account and
per goal. Terms and constraints then only add rows and objective coefficients.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..domain.household import Household
from .expr import Affine, incidence
from .flows import declare_flows
from .layout import Layout, build_layout
from .program import Program, VarBlock


@dataclass(slots=True, eq=False)
class ModelContext:
    """Variables and derived expressions of one household's program (all in dollars)."""

    hh: Household
    layout: Layout
    program: Program
    sell: VarBlock
    buy: VarBlock
    holdings: Affine       # per position, after trades
    cash: Affine           # per account, after trades and cash flows
    account_class: Affine  # per (account, class), row a * K + k
    goal_class: Affine     # per (goal, class), row g * K + k
    withdraw: VarBlock | None = None   # per account, its part of a goal-level flow
    deposit: VarBlock | None = None

    @property
    def n_classes(self) -> int:
        return len(self.hh.classes)


def make_context(hh: Household, layout: Layout | None = None) -> ModelContext:
    """Declare sell and buy variables and derive holdings, cash and class values."""
    lay = layout or build_layout(hh)
    sec, acc = hh.securities, hh.accounts
    prog = Program()
    sell_cap = lay.unit_shares * sec.price[lay.unit_security]
    sell = prog.add_vars("sell", lay.n_units, 0.0, sell_cap)
    flows = declare_flows(hh)
    buy_cap = np.maximum(lay.account_value + flows.deposit_cap, 0.0)[lay.buy_account]
    buy = prog.add_vars("buy", lay.n_buys, 0.0, buy_cap)
    withdraw, deposit = flows.add_to(prog)
    n, n_pos, n_acc, K = prog.n, len(lay.pos_account), len(acc), len(hh.classes)

    holdings = Affine(
        incidence(lay.buy_pos, buy.start + np.arange(buy.size), (n_pos, n))
        - incidence(lay.unit_pos, sell.start + np.arange(sell.size), (n_pos, n)),
        lay.pos_value.copy())
    cash = Affine(
        incidence(lay.unit_account, sell.start + np.arange(sell.size), (n_acc, n))
        - incidence(lay.buy_account, buy.start + np.arange(buy.size), (n_acc, n)),
        acc.cash + acc.cash_flow)
    if withdraw is not None and deposit is not None:
        cash = cash + flows.cash(withdraw, deposit, n)

    expo = sec.exposure[lay.pos_security]                       # positions x classes
    p_idx, k_idx = np.nonzero(expo)
    to_class = incidence(lay.pos_account[p_idx] * K + k_idx, p_idx, (n_acc * K, n_pos),
                         expo[p_idx, k_idx])
    cash_rows = incidence(np.arange(n_acc) * K + hh.cash_class, np.arange(n_acc),
                          (n_acc * K, n_acc))
    account_class = holdings.left(to_class) + cash.left(cash_rows)
    a_idx = np.repeat(np.arange(n_acc), K)
    to_goal = incidence(acc.goal[a_idx] * K + np.tile(np.arange(K), n_acc), np.arange(n_acc * K),
                        (len(hh.goals) * K, n_acc * K))
    goal_class = account_class.left(to_goal)
    return ModelContext(hh, lay, prog, sell, buy, holdings, cash, account_class, goal_class,
                        withdraw, deposit)
