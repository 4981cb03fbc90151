"""cvxpy expressions with a pandas label per entry.

`Labelled` pairs a one-dimensional cvxpy expression with a `pandas.Index` of the
same length, so a user can name what they constrain instead of counting
positions:

>>> m.buy.where(symbol="VNQ").sum() == 0                          # doctest: +SKIP
>>> m.goal_class_weight["retirement", "us_equity"] <= 0.45        # doctest: +SKIP
>>> m.holdings_after.by("symbol")["VTI"]                          # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp


def _as_list(value: object) -> list[object]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        return [value]
    return list(value)


class Labelled:
    """A vector cvxpy expression whose entries carry pandas labels.

    Parameters
    ----------
    expr
        A cvxpy expression of shape ``(len(index),)``.
    index
        One label per entry; a `pandas.MultiIndex` with named levels for the
        model's blocks (e.g. ``account_id, symbol, lot_id`` for sales).

    Notes
    -----
    The cvxpy expression itself is ``.expr``; indexing with a full label gives a
    scalar cvxpy expression, so comparisons build constraints directly:
    ``m.cash_after["roth-ira"] >= 500``.
    """

    __slots__ = ("expr", "index")

    def __init__(self, expr: Any, index: pd.Index) -> None:
        size = int(np.prod(expr.shape)) if expr.shape else 1
        if size != len(index):
            raise ValueError(f"expression has {size} entries but the index has {len(index)}")
        self.expr: Any = expr
        self.index: pd.Index = index

    def __len__(self) -> int:
        return len(self.index)

    def __repr__(self) -> str:
        names = [str(n) for n in self.index.names if n is not None]
        return f"Labelled({len(self)} entries by {', '.join(names) or 'position'})"

    def __getitem__(self, label: Hashable) -> Any:
        """The scalar cvxpy expression of one entry (a full label).

        Raises
        ------
        KeyError
            When no entry has this label; the message lists a few that exist.
        """
        try:
            loc = self.index.get_loc(label)
        except KeyError:
            some = ", ".join(repr(v) for v in list(self.index[:5]))
            raise KeyError(f"no entry {label!r}; entries look like {some}") from None
        if not isinstance(loc, int | np.integer):
            raise KeyError(f"{label!r} names several entries; use `where` to select them")
        return self.expr[int(loc)]

    def positions(self, **levels: object) -> np.ndarray:
        """Positions of the entries whose levels take the given value(s)."""
        mask = np.ones(len(self.index), bool)
        for level, wanted in levels.items():
            if level not in self.index.names:
                raise KeyError(f"no level {level!r}; levels are {list(self.index.names)}")
            values = self.index.get_level_values(level)
            mask &= np.asarray(values.isin(_as_list(wanted)), bool)
        return np.flatnonzero(mask)

    def take(self, positions: np.ndarray) -> Labelled:
        """The entries at these positions (an empty selection is allowed)."""
        import cvxpy as cp

        positions = np.asarray(positions, dtype=np.int64)
        if not len(positions):
            return Labelled(cp.Constant(np.zeros(0)), self.index[positions])
        return Labelled(self.expr[positions], self.index[positions])

    def where(self, **levels: object) -> Labelled:
        """The entries whose index levels take the given value or any of the given values.

        Examples
        --------
        ``m.buy.where(symbol=["VNQ", "SCHH"])`` is every purchase of either symbol in
        any account; ``m.sell.where(account_id="joint-brokerage")`` every sale there.
        """
        return self.take(self.positions(**levels))

    def by(self, level: str | list[str]) -> Labelled:
        """Sums of the entries per value of one or more index levels.

        Examples
        --------
        ``m.buy.by("symbol")`` is dollars bought per symbol across accounts.
        """
        import cvxpy as cp

        names = _as_list(level)
        missing = [n for n in names if n not in self.index.names]
        if missing:
            raise KeyError(f"no level {missing[0]!r}; levels are {list(self.index.names)}")
        if isinstance(self.index, pd.MultiIndex):
            keys = self.index.droplevel([n for n in self.index.names if n not in names])
        else:
            keys = self.index
        codes, uniques = pd.factorize(keys)
        group_index = (uniques if isinstance(uniques, pd.Index)
                       else pd.Index(uniques, name=names[0]))
        if not len(self):
            return Labelled(cp.Constant(np.zeros(0)), group_index)
        S = sp.csr_matrix((np.ones(len(codes)), (codes, np.arange(len(codes)))),
                          shape=(len(group_index), len(codes)))
        return Labelled(S @ self.expr, group_index)

    def sum(self) -> Any:
        """The sum of all entries as a scalar cvxpy expression (0 when empty)."""
        import cvxpy as cp

        if not len(self):
            return cp.Constant(0.0)
        return self.expr.sum()

    @property
    def value(self) -> pd.Series | None:
        """The entries' values at the last solve, labelled; None before a solve."""
        raw = self.expr.value
        if raw is None:
            return None
        return pd.Series(np.asarray(raw, dtype=float).reshape(-1), index=self.index)
