"""One synthetic household from its seed, and seeded batches of them."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import numpy as np

from . import universe as U
from .stages import (
    Draft,
    accounts_and_mix,
    band_and_profile,
    cash_and_flows,
    dates_before,
    lots,
    menus_and_restrictions,
    positions,
    recent_trades,
    tolerance,
)

__all__ = ["household", "household_seed", "households"]


def household_seed(seed: int, index: int) -> int:
    """Seed of the ``index``-th household of ``households(n, seed)``.

    Derived through ``numpy.random.SeedSequence`` so that batches with
    different seeds do not share households, yet any one household of a
    batch can be rebuilt alone with :func:`household`.

    Parameters
    ----------
    seed : int
        The batch seed (>= 0).
    index : int
        Position in the batch (>= 0).

    Returns
    -------
    int
        A 63-bit seed for :func:`household`.
    """
    state = np.random.SeedSequence([seed, index]).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1))


def household(
    seed: int,
    *,
    n_lots: int = 150,
    n_accounts: int = 3,
    household_id: str | None = None,
    as_of: str = "2026-11-24",
    drift: float = 0.08,
    with_recent_trades: bool = True,
) -> dict[str, Any]:
    """Generate one valid, feasible household in the contract's JSON format.

    Parameters
    ----------
    seed : int
        Seed (>= 0) of ``numpy.random.default_rng``; the whole household
        follows from it (with the other arguments), so a test can name a case
        by its seed.
    n_lots : int
        Number of tax lots across all accounts (>= ``n_accounts``: every
        account holds something, so every account type is exercised).
    n_accounts : int
        Number of accounts (>= 1), typed taxable, tax_deferred, tax_free,
        taxable, ... so the first is always taxable.
    household_id : str, optional
        Defaults to ``"syn-seed<seed>"``.
    as_of : str
        Trade date, ISO ``YYYY-MM-DD``; every date is relative to it.
    drift : float
        Largest absolute gap (roughly) between current class weights and
        targets, so that there is something to rebalance; 0 gives holdings
        near target (cash, per-account noise and share rounding remain).
    with_recent_trades : bool
        Whether to add 0 to 2 trades of the last 30 days (wash-sale inputs).

    Returns
    -------
    dict
        A ``taxopt.household/1`` document, as ``json.load`` would return it.

    Raises
    ------
    ValueError
        On arguments that cannot give a valid household.
    """
    if n_accounts < 1:
        raise ValueError(f"n_accounts must be >= 1, got {n_accounts}")
    if n_lots < n_accounts:
        raise ValueError(f"n_lots ({n_lots}) must be >= n_accounts ({n_accounts})")
    if not 0.0 <= drift < 1.0:
        raise ValueError(f"drift must be in [0, 1), got {drift}")
    d = Draft(np.random.default_rng(seed), n_lots, n_accounts, drift, *dates_before(as_of))
    accounts_and_mix(d)
    positions(d)
    lots(d)
    menus_and_restrictions(d)
    if with_recent_trades:
        recent_trades(d)
    cash_and_flows(d)
    witness_ok, y_lo, y_hi = band_and_profile(d)
    tolerance(d, witness_ok, y_lo, y_hi)
    hid = household_id if household_id is not None else f"syn-seed{seed}"
    return _document(d, hid, as_of)


@lru_cache(maxsize=16)
def _lot_ids(n: int) -> tuple[str, ...]:
    width = max(4, len(str(n)))
    return tuple(f"L-{i:0{width}d}" for i in range(1, n + 1))


def _accounts(d: Draft) -> tuple[list[str], list[dict[str, Any]]]:
    """Account ids (``brokerage-1``, ``ira-1``, ...) and the contract's account entries."""
    counters = [0, 0, 0]
    acct_ids = []
    for kd in d.kinds:
        counters[kd] += 1
        acct_ids.append(f"{U.PREFIX[kd]}-{counters[kd]}")
    accounts = []
    for a in range(d.n_accounts):
        e: dict[str, Any] = {"account_id": acct_ids[a], "goal_id": "retirement",
                             "tax_type": U.TYPES[d.kinds[a]], "cash": d.cash[a]}
        if d.flow[a]:
            e["cash_flow"] = d.flow[a]
        if d.min_cash[a]:
            e["min_cash"] = d.min_cash[a]
        if a == 0 and d.band is not None:     # the first account is always taxable
            e["bands"] = {"us_bonds": [0.0, d.band]}
        if a in d.restricted:
            e["restricted"] = [U.SYM[d.restricted[a]]]
        if a in d.menus:
            e["allowed"] = [U.SYM[s] for s in d.menus[a]]
        accounts.append(e)
    return acct_ids, accounts


def _lot_entries(d: Draft, acct_ids: list[str]) -> list[dict[str, Any]]:
    """The contract's lots: whole shares as integers; basis and date where kept."""
    whole = ~d.frac
    shares_o = d.shares.astype(object)
    shares_o[whole] = d.shares[whole].astype(np.int64).astype(object)
    return [
        {"lot_id": lid, "account_id": acct_ids[a], "symbol": U.SYM[s], "shares": sh,
         "cost_basis": b, "acquired": d.day_strings[day]}
        if keep else
        {"lot_id": lid, "account_id": acct_ids[a], "symbol": U.SYM[s], "shares": sh}
        for lid, a, s, sh, b, day, keep in zip(
            _lot_ids(len(d.lot_acct)), d.lot_acct.tolist(), d.lot_sec.tolist(),
            shares_o.tolist(), d.basis.tolist(), d.days.tolist(),
            d.keep_basis[d.lot_acct].tolist(), strict=True)
    ]


def _document(d: Draft, hid: str, as_of: str) -> dict[str, Any]:
    """The finished draft as a ``taxopt.household/1`` document."""
    acct_ids, accounts = _accounts(d)
    goal: dict[str, Any] = {"goal_id": "retirement", "targets": d.targets}
    if d.tolerance is not None:
        goal["drift_tolerance"] = d.tolerance
    lot_entries = _lot_entries(d, acct_ids)
    for tr, a in zip(d.trades, d.trade_acct, strict=True):
        tr["account_id"] = acct_ids[a]
    ytd_st, ytd_lt, carry_st, carry_lt = d.realized
    return {
        "format": U.FORMAT,
        "household_id": hid,
        "as_of": as_of,
        "tax_profile": {
            "short_term_rate": round(d.st_fed + d.state, 4),
            "long_term_rate": round(d.lt_fed + d.state, 4),
            "realized_ytd": {"short_term": ytd_st, "long_term": ytd_lt},
            "loss_carryforward": {"short_term": carry_st, "long_term": carry_lt},
            "ordinary_offset_limit": 3000.0,
        },
        "securities": U.securities_universe(),
        "goals": [goal],
        "accounts": accounts,
        "lots": lot_entries,
        "recent_trades": d.trades,
        "options": {},
    }


def households(n: int, seed: int = 0, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Yield ``n`` households with ids ``syn-000000``, ``syn-000001``, ...

    Household ``i`` is ``household(household_seed(seed, i),
    household_id=f"syn-{i:06d}", **kwargs)``: deterministic, independent of
    ``n`` (a longer batch starts with the shorter one) and rebuildable alone.

    Parameters
    ----------
    n : int
        Number of households.
    seed : int
        Batch seed.
    **kwargs
        Passed to :func:`household` (not ``household_id``).
    """
    if "household_id" in kwargs:
        raise TypeError("households() names the households itself; do not pass household_id")
    for i in range(n):
        yield household(household_seed(seed, i), household_id=f"syn-{i:06d}", **kwargs)
