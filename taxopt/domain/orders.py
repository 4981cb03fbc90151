"""The trade list in indexed form: one entry per order, lot by lot for taxable sales.

This is what the decoder and the heuristics produce and what the audit reads.
Everything reported (tax, drift, cash) is recomputed from it, never taken from
the optimizer's own numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .household import Household


@dataclass(frozen=True, slots=True, eq=False)
class Orders:
    """Orders as parallel arrays; ``lot`` is -1 where no lot is named."""

    account: np.ndarray
    security: np.ndarray
    is_buy: np.ndarray
    shares: np.ndarray
    lot: np.ndarray
    # Per account, dollars paid out of it and put into it for goal-level cash flows
    # (None: the plan places none; the `withdraw` / `deposit` rows of the trade table).
    withdraw: np.ndarray | None = None
    deposit: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.account)

    @classmethod
    def empty(cls) -> Orders:
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z, np.zeros(0, bool), np.zeros(0), z)

    def with_flows(self, withdraw: np.ndarray | None, deposit: np.ndarray | None) -> Orders:
        """The same orders with the accounts' payouts and deposits of goal-level flows."""
        from dataclasses import replace

        return replace(self, withdraw=withdraw, deposit=deposit)

    @classmethod
    def make(cls, account: np.ndarray, security: np.ndarray, is_buy: np.ndarray,
             shares: np.ndarray, lot: np.ndarray, household: Household) -> Orders:
        """Drop empty orders and sort deterministically: account, sells first, symbol, lot."""
        keep = shares > 0
        account, security, is_buy = account[keep], security[keep], is_buy[keep]
        shares, lot = shares[keep], lot[keep]
        sym_rank, lot_rank = household.cached("order_ranks", lambda: _ranks(household))
        lr = np.where(lot >= 0, lot_rank[np.maximum(lot, 0)] if len(lot_rank) else 0, -1)
        order = np.lexsort((lr, sym_rank[security], is_buy, account))
        # the indexed arrays are new already: converted only where the dtype differs
        return cls(account[order].astype(np.int64, copy=False),
                   security[order].astype(np.int64, copy=False),
                   is_buy[order].astype(bool, copy=False),
                   shares[order].astype(float, copy=False),
                   lot[order].astype(np.int64, copy=False))

    @classmethod
    def from_frame(cls, household: Household, frame) -> Orders:
        """Orders read back from a contract trade table (ids resolved to indices)."""
        acc = {a: i for i, a in enumerate(household.accounts.account_id)}
        sec = {s: i for i, s in enumerate(household.securities.symbol)}
        lots = {lid: i for i, lid in enumerate(household.lots.lot_id)}
        flows = frame["side"].isin(("withdraw", "deposit"))
        if flows.any():
            return cls.from_frame(household, frame[~flows]).with_flows(
                *flows_from_frame(household, frame[flows], acc))
        lot_col = frame["lot_id"].fillna("").astype(str)
        return cls(np.array([acc[a] for a in frame["account_id"]], dtype=np.int64),
                   np.array([sec[s] for s in frame["symbol"]], dtype=np.int64),
                   (frame["side"] == "buy").to_numpy(),
                   frame["shares"].to_numpy(dtype=float),
                   np.array([lots.get(v, -1) if v else -1 for v in lot_col], dtype=np.int64))


def _ranks(household: Household) -> tuple[np.ndarray, np.ndarray]:
    """Each security's rank by symbol and each lot's by lot id (read-only)."""
    sym_rank = _rank(household.securities.symbol)
    lot_rank = _rank(household.lots.lot_id) if len(household.lots) else np.zeros(0, np.int64)
    sym_rank.setflags(write=False)
    lot_rank.setflags(write=False)
    return sym_rank, lot_rank


def _rank(names) -> np.ndarray:
    """Each name's rank in sorted order. A household packs its securities and lots in
    that order already (`taxopt.domain.household`; ids are unique): then the rank is the
    position, found without numpy's string sort (a household's costliest step in decoding)."""
    if list(names) == sorted(names):
        return np.arange(len(names))
    return np.argsort(np.argsort(np.array(names)))


def flows_from_frame(household: Household, rows, acc: dict[str, int]
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Per account, the ``withdraw`` and ``deposit`` rows' values of a trade table."""
    n = len(household.accounts)
    out = []
    for side in ("withdraw", "deposit"):
        mine = rows[rows["side"] == side]
        idx = np.array([acc[a] for a in mine["account_id"]], dtype=np.int64)
        out.append(np.bincount(idx, weights=mine["value"].to_numpy(dtype=float), minlength=n))
    return out[0], out[1]
