"""When whole-share rounding breaks a rule: the program the repair re-solves, and the
user's constraints checked on the rounded plan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from ...adapters.base import Solution
from ...decode.rounding import RoundedTrades, _support
from ...model.builder import RebalanceModel
from ...model.program import VarBlock
from ...options import Options
from .checks import crossed, gradient

if TYPE_CHECKING:
    from .compiled import CompiledModel


def repair_model(m: CompiledModel, sol: Solution, opts: Options) -> RebalanceModel:
    """The model the whole-share repair re-solves, if quick rounding breaks a rule.

    taxopt's repair re-solves its own program in shares over the solution's
    orders; purchases may move anywhere below their bound. Here the purchases
    are boxed to the solution's whole shares (one share either way), the
    built-in terms carry this model's weights and the user's terms enter by
    their gradient at the solution, so the repair rounds the user's optimum
    rather than re-optimizing without the user's terms. (When no rounding in
    that box keeps every rule, taxopt's repair frees the sales.)
    """

    ctx = m.model.context
    assert ctx is not None
    prog, lay = ctx.program, ctx.layout
    sec = m.model.household.securities
    price, frac = sec.price[lay.buy_security], sec.fractional[lay.buy_security]
    _, shares, _, buy_on = _support(m.model, sol, opts)
    step = np.where(frac, 1e-6, 1.0)
    lo = np.where(buy_on, np.floor(shares / step + 1e-9) * step * price, 0.0)
    block = prog.vars["buy"]
    hi = np.minimum(block.ub, np.ceil(shares / step - 1e-9) * step * price)
    # every term (quadratic ones and their stand-ins too) with this model's weights
    boxed = prog.weighted(m._weights)
    boxed.vars["buy"] = VarBlock("buy", block.start, block.size, block.lb.copy(),
                                 np.maximum(hi, 0.0), block.integer)
    rows = sp.csr_matrix((np.ones(block.size), (np.arange(block.size),
                                                 block.start + np.arange(block.size))),
                         shape=(block.size, prog.n))
    boxed.add_rows("embedding_rounding", rows, np.minimum(lo, boxed.vars["buy"].ub),
                   np.inf)
    user = np.zeros(prog.n)
    for ut in m._user_terms.values():   # first order at the solution
        grad = gradient(ut.expr, m._x)
        if grad is not None:
            user += ut.weight * grad[: prog.n]
    if user.any():
        boxed.terms["user_linearized"] = (user, 0.0)
    return RebalanceModel(m.model.household, m.model.options, m.model.terms,
                          m.model.constraints, m.model.late_constraints,
                          replace(ctx, program=boxed))


def user_check(m: CompiledModel, x_solved: np.ndarray) -> Callable[[RoundedTrades], list[str]]:
    """The user groups, evaluated on the rounded trades."""
    ctx = m.model.context
    assert ctx is not None
    lay, price = ctx.layout, m.model.household.securities.price
    s0, s1 = m._block("sell")
    b0, b1 = m._block("buy")

    def check(rounded: RoundedTrades) -> list[str]:
        x = x_solved.copy()
        x[s0:s1] = rounded.sell_shares * price[lay.unit_security]
        x[b0:b1] = rounded.buy_shares * price[lay.buy_security]
        if len(m._spec.integer):
            x[m._spec.integer] = np.round(x[m._spec.integer])
        saved = m._x.value
        out: list[str] = []
        try:
            m._x.value = x
            for name, ug in m._user_groups.items():
                for k, c in enumerate(ug.constraints):
                    out.extend(crossed(name, k, c, ug.tol))
        finally:
            m._x.value = saved
        return out

    return check
