"""The richer population: life stages, direct-indexing sleeves and market regimes.

``population="rich"`` (see `BacktestConfig`) draws, per household and seeded by
its index, three independent traits on top of the synthetic household:

- life stage: a *saver* deposits ``SAVER_RATE`` of the starting value a year into
  the (first) taxable account, a *retiree* withdraws ``RETIREE_RATE`` a year; both
  monthly (per step). The retiree's withdrawal is a goal-level ``cash_flow``
  (contract 1.1; `goal_flows`): each goal raises its share (its taxable and
  tax-deferred accounts' starting values) and each method decides which of the
  goal's accounts pay it (taxopt optimizes, the heuristics source taxable first,
  ``proportional_sourcing`` pro rata). Withdrawals are gross: the ledger charges
  the tax on IRA payouts to the year, for every method alike.
- a direct-indexing sleeve (``DI_SHARE`` of households; its stocks pay cash dividends,
  which the next rebalance invests, while funds reinvest theirs): the taxable account's
  US-equity fund lots become ``di_stocks`` single stocks of equal weight (class
  ``us_equity``, each its own wash group, so any other stock is a legal
  substitute), each bought in one to four lots over the past five years at
  prices from a seeded path with idiosyncratic volatility, so the sleeve starts
  with the fund's aggregate gain but dispersed: some lots far below basis. In
  the market each stock earns the US-equity return times a mean-one
  idiosyncratic factor (``IDIO_VOL`` a year);
- a market regime: calm, a 2008-like drawdown (``gfc``) or a 2020-like one
  (``covid``), see `taxopt.backtest.market.REGIMES`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from ..domain.household import TAX_DEFERRED, TAXABLE

SAVER_RATE = 0.06
RETIREE_RATE = 0.04
RETIREE_SHARE = 0.4
DI_SHARE = 0.5
IDIO_VOL = 0.30
REGIME_MIX = (("calm", 0.5), ("gfc", 0.25), ("covid", 0.25))
DI_PREFIX = "DI"


@dataclass(frozen=True)
class Traits:
    """What the rich population adds to one household."""

    life: str = "synthetic"     # synthetic | saver | retiree
    regime: str = "calm"
    direct_index: bool = False


def traits(seed: int, index: int) -> Traits:
    """The household's traits, seeded by (seed, index) and independent of its market path."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, index, 0x706F70]))
    u = rng.random(3)
    life = "retiree" if u[0] < RETIREE_SHARE else "saver"
    cum = np.cumsum([p for _, p in REGIME_MIX])
    regime = REGIME_MIX[int(np.searchsorted(cum, u[1] * cum[-1], side="right"))][0]
    return Traits(life, regime, bool(u[2] < DI_SHARE))


def with_direct_index(raw: dict[str, Any], n_stocks: int,
                      rng: np.random.Generator) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The household with its first taxable account's US-equity fund lots replaced by a
    sleeve of ``n_stocks`` single stocks of the same value (see the module docstring).

    Returns the new document and the stocks' symbols. A household without such lots is
    returned unchanged (no stocks).
    """
    raw = dict(raw)
    sec = {s["symbol"]: s for s in raw["securities"]}
    taxable = [a["account_id"] for a in raw["accounts"] if a["tax_type"] == "taxable"]
    if not taxable or n_stocks < 1:
        return raw, ()
    acct = taxable[0]
    fund = [lot for lot in raw["lots"] if lot["account_id"] == acct
            and sec[lot["symbol"]].get("asset_class") == "us_equity"]
    if not fund:
        return raw, ()
    value = sum(lot["shares"] * sec[lot["symbol"]]["price"] for lot in fund)
    basis = sum(lot["cost_basis"] for lot in fund)
    gain = math.log(max(value, 1.0) / max(basis, 1.0))      # the fund's aggregate log gain
    as_of = date.fromisoformat(raw["as_of"])
    symbols = tuple(f"{DI_PREFIX}{i:03d}" for i in range(n_stocks))
    price = np.round(rng.uniform(20.0, 300.0, n_stocks), 2)
    stocks = [{"symbol": s, "price": float(p), "asset_class": "us_equity", "wash_group": s,
               "yield": 0.015, "qualified": 1.0, "fractional": True}
              for s, p in zip(symbols, price, strict=True)]
    lots = [lot for lot in raw["lots"] if lot not in fund]
    per_stock = value / n_stocks
    for i, s in enumerate(symbols):
        k = int(rng.integers(1, 5))
        split = rng.dirichlet(np.ones(k))
        for j in range(k):
            age_days = int(rng.integers(40, 5 * 365))
            years = age_days / 365.25
            log_gain = gain * min(years / 5.0, 1.0) + rng.normal(0.0, IDIO_VOL * math.sqrt(years))
            lot_value = per_stock * float(split[j])
            lots.append({"lot_id": f"{s}-{j + 1}", "account_id": acct, "symbol": s,
                         "shares": round(lot_value / float(price[i]), 6),
                         "cost_basis": round(lot_value * math.exp(-log_gain), 2),
                         "acquired": (as_of - timedelta(days=age_days)).isoformat()})
    raw["securities"] = [*raw["securities"], *stocks]
    raw["lots"] = lots
    raw["accounts"] = [dict(a, allowed=[*a["allowed"], *symbols])
                       if a["account_id"] == acct and "allowed" in a else a
                       for a in raw["accounts"]]
    return raw, symbols


def life_flows(life: str, start_values: np.ndarray, tax_types: np.ndarray, steps: int,
               step_months: int) -> np.ndarray:
    """Steps x accounts deposits (> 0) and withdrawals (< 0) of a saver or a retiree
    (``tax_types``: the household's account type codes)."""
    flows = np.zeros((steps, len(start_values)))
    total = float(start_values.sum())
    dt = step_months / 12.0
    if life == "saver":
        taxable = np.flatnonzero(tax_types == TAXABLE)
        at = int(taxable[0]) if len(taxable) else 0
        flows[:, at] = SAVER_RATE * total * dt
    elif life == "retiree":
        src = np.isin(tax_types, (TAXABLE, TAX_DEFERRED)) * np.maximum(start_values, 0.0)
        if src.sum() <= 0:
            src = np.maximum(start_values, 0.0)
        flows[:] = -RETIREE_RATE * total * dt * src / src.sum()
    return flows


def goal_flows(flows: np.ndarray, goal: np.ndarray, n_goals: int) -> np.ndarray:
    """Steps x goals: per-account flows summed by goal (a retiree's goal-level withdrawal)."""
    out = np.zeros((len(flows), n_goals))
    for a, g in enumerate(goal):
        out[:, g] += flows[:, a]
    return out
