"""One program's numbers in the shape the cvxpy model loads them, and their labels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ...adapters.cvxpy_adapter import Rows, data_of, widen
from ...errors import TaxoptError
from ...model.builder import RebalanceModel


@dataclass(frozen=True, slots=True, eq=False)
class Spec:
    """One program's numbers, in the shape the cvxpy model loads them."""

    n: int
    blocks: tuple[tuple[str, int, int], ...]
    integer: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    rows: dict[str, Rows]
    terms: dict[str, tuple[np.ndarray, float]]
    quadratic: dict[str, tuple[np.ndarray, np.ndarray]]   # name -> (indices, F), F'F = Q
    affine: dict[str, tuple[sp.csr_matrix, np.ndarray]]
    goal_value: np.ndarray
    account_value: np.ndarray
    labels: tuple[object, ...]      # what the variables and rows stand for (see `_labels`)

    def structure(self) -> tuple[object, ...]:
        """What the compiled cvxpy problem depends on besides parameter values."""
        lb_fin, ub_fin = np.isfinite(self.lb), np.isfinite(self.ub)
        rows = tuple((name, r.A.shape, np.isfinite(r.lo).tobytes(), np.isfinite(r.hi).tobytes(),
                      (np.isfinite(r.lo) & (r.lo == r.hi)).tobytes())
                     for name, r in self.rows.items())
        return (self.n, self.blocks, self.integer.tobytes(), lb_fin.tobytes(), ub_fin.tobytes(),
                rows, tuple(self.terms),
                tuple((k, idx.tobytes()) for k, (idx, _) in self.quadratic.items()))


def labels_of(model: RebalanceModel) -> tuple[object, ...]:
    """A cheap key of what each position means (ids and index maps), for `_compatible`."""
    ctx = model.context
    assert ctx is not None
    hh, lay = model.household, ctx.layout
    maps = (lay.unit_account, lay.unit_security, lay.unit_lot, lay.buy_account,
            lay.buy_security, lay.pos_account, lay.pos_security)
    return (hh.accounts.account_id, hh.securities.symbol, hh.lots.lot_id, hh.goals.goal_id,
            hh.classes, tuple(a.tobytes() for a in maps))


def indexes(model: RebalanceModel) -> dict[str, pd.Index]:
    ctx = model.context
    assert ctx is not None
    hh, lay = model.household, ctx.layout
    aid = np.array(hh.accounts.account_id, dtype=object)
    sym = np.array(hh.securities.symbol, dtype=object)
    lot_ids = np.array(hh.lots.lot_id, dtype=object) if len(hh.lots) else np.zeros(0, object)
    unit_lot = np.array([lot_ids[i] if i >= 0 else "" for i in lay.unit_lot], dtype=object)
    classes = list(hh.classes)
    return {
        "sell": pd.MultiIndex.from_arrays(
            [aid[lay.unit_account], sym[lay.unit_security], unit_lot],
            names=["account_id", "symbol", "lot_id"]),
        "buy": pd.MultiIndex.from_arrays([aid[lay.buy_account], sym[lay.buy_security]],
                                         names=["account_id", "symbol"]),
        "holdings": pd.MultiIndex.from_arrays([aid[lay.pos_account], sym[lay.pos_security]],
                                              names=["account_id", "symbol"]),
        "account": pd.Index(list(aid), name="account_id"),
        "account_class": pd.MultiIndex.from_product([list(aid), classes],
                                                    names=["account_id", "asset_class"]),
        "goal": pd.Index(list(hh.goals.goal_id), name="goal_id"),
        "goal_class": pd.MultiIndex.from_product([list(hh.goals.goal_id), classes],
                                                 names=["goal_id", "asset_class"]),
    }


def spec_of(model: RebalanceModel, fixed: np.ndarray | None) -> Spec:
    prog = model.program
    ctx = model.context
    assert ctx is not None
    if fixed is not None:
        count = int(prog.integrality().sum())
        if len(fixed) != count:
            raise TaxoptError("the fixed integer values no longer match the program's "
                              f"{count} integer variables; call fix_integers() again")
        prog = prog.with_integers_fixed(fixed)
    d = data_of(prog.quadratic_stage())   # quadratic terms replace their linear stand-ins
    affine = {name: (widen(a.M, d.n), a.c.copy()) for name, a in
              (("holdings", ctx.holdings), ("cash", ctx.cash),
               ("account_class", ctx.account_class), ("goal_class", ctx.goal_class))}
    return Spec(d.n, tuple((b.name, b.start, b.size) for b in prog.vars.values()),
                 d.integer, d.lb, d.ub, d.rows, d.terms, d.quadratic, affine,
                 ctx.layout.goal_value.copy(), ctx.layout.account_value.copy(), labels_of(model))


def same_matrix(a: sp.csr_matrix, b: sp.csr_matrix) -> bool:
    return (a.shape == b.shape and a.nnz == b.nnz and np.array_equal(a.indptr, b.indptr)
            and np.array_equal(a.indices, b.indices) and np.array_equal(a.data, b.data))
