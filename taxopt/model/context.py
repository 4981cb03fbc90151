"""The shared state that terms and constraints compile against.

It declares the trade variables once and derives, as affine expressions, the
quantities every rule talks about: holdings, cash, class values per account and
per goal. Terms and constraints then only add rows and objective coefficients.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..domain.household import Household
from .expr import Affine, Triplets
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
    room = lay.account_value + flows.deposit_cap if flows.active else lay.account_value
    buy_cap = np.maximum(room, 0.0)[lay.buy_account]
    buy = prog.add_vars("buy", lay.n_buys, 0.0, buy_cap)
    withdraw, deposit = flows.add_to(prog)
    n, n_pos, n_acc, K = prog.n, len(lay.pos_account), len(acc), len(hh.classes)
    n_units, n_buys = sell.size, buy.size

    # A buy adds a dollar to its position and takes one from its account's cash; a sale
    # the reverse. Built as triplets at once (buys then sales for holdings, sales then
    # buys for cash: the order of the incidence sums they stand for).
    cols = np.arange(n)
    sell_cols, buy_cols = cols[sell.start:sell.start + n_units], cols[buy.start:buy.start + n_buys]
    holdings_v = np.ones(n_buys + n_units)
    holdings_v[n_buys:] = -1.0
    cash_v = np.ones(n_units + n_buys)
    cash_v[n_units:] = -1.0
    holdings = Affine(Triplets(np.concatenate([lay.buy_pos, lay.unit_pos]),
                               np.concatenate([buy_cols, sell_cols]), holdings_v, (n_pos, n)),
                      lay.pos_value.copy())
    cash = Affine(Triplets(np.concatenate([lay.unit_account, lay.buy_account]),
                           np.concatenate([sell_cols, buy_cols]), cash_v, (n_acc, n)),
                  acc.cash + acc.cash_flow)
    if withdraw is not None and deposit is not None:
        cash = cash + flows.cash(withdraw, deposit, n)

    expo = sec.exposure[lay.pos_security]                       # positions x classes
    p_idx, k_idx = expo.nonzero()
    to_class = Triplets(lay.pos_account[p_idx] * K + k_idx, p_idx, expo[p_idx, k_idx],
                        (n_acc * K, n_pos))
    account_class = holdings.left(to_class) + cash.mapped(np.arange(n_acc) * K + hh.cash_class,
                                                          n_acc * K)
    to_goal = (acc.goal[:, None] * K + np.arange(K)).ravel()   # row a * K + k: goal g * K + k
    goal_class = account_class.mapped(to_goal, len(hh.goals) * K)
    return ModelContext(hh, lay, prog, sell, buy, holdings, cash, account_class, goal_class,
                        withdraw, deposit)
