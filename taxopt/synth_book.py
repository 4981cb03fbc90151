"""Seeded direct-indexing books: thousands of stocks, each its own wash group.

`taxopt.synth.household` draws typical households over a fixed fund universe; this
module draws the other end, the book where tax-lot optimization pays most and that is
largest: an index of ``n_stocks`` stocks bought month after month in one or more
taxable accounts (tens of thousands of lots, most stocks with lots at a loss), next to
Roth accounts that hold the bonds and international funds and may buy *any* of the
stocks, so every stock is a possible wash sale across accounts.

Like `taxopt.synth`, it returns a plain ``taxopt.household/1`` dict (as ``json.load``
would), depends on numpy only, and the same arguments give the same book.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

#: The funds beside the stocks: (symbol, class, yield, qualified, wash group).
FUNDS: tuple[tuple[str, str, float, float, str], ...] = (
    ("BND", "us_bonds", 0.038, 0.0, "us_agg"),
    ("AGG", "us_bonds", 0.037, 0.0, "us_agg"),
    ("VGIT", "us_bonds", 0.035, 0.0, "us_treasury_mid"),
    ("VTIP", "us_bonds", 0.030, 0.0, "us_tips"),
    ("VXUS", "intl_equity", 0.031, 0.7, "intl_total"),
    ("IXUS", "intl_equity", 0.030, 0.7, "intl_total_alt"),
    ("VEA", "intl_equity", 0.032, 0.7, "intl_developed"),
    ("VWO", "intl_equity", 0.034, 0.6, "intl_emerging"),
    ("VNQ", "reit", 0.040, 0.1, "us_reit"),
)
TARGETS = {"us_equity": 0.55, "intl_equity": 0.15, "us_bonds": 0.25, "reit": 0.05}


def direct_indexing_book(seed: int = 0, *, n_lots: int = 30_000, n_stocks: int = 1_000,
                         n_taxable: int = 1, n_roth: int = 2, as_of: str = "2026-11-24",
                         household_id: str | None = None, monthly: float = 25_000.0,
                         drawdown_months: int = 3) -> dict[str, Any]:
    """A direct-indexing household in the contract's JSON format.

    Parameters
    ----------
    n_lots
        Lots across the taxable accounts (each stock gets ``n_lots // (n_taxable *
        n_stocks)`` monthly lots per account, the first stocks one more).
    n_stocks
        Stocks of the index (class ``us_equity``, each its own wash group); the
        nine funds of `FUNDS` come on top (``n_stocks + 9`` securities).
    n_taxable, n_roth
        Taxable accounts (the index, bought monthly) and Roth accounts (the funds and
        a little cash; no menu, so they may buy any stock).
    monthly
        Dollars invested in the index each month per taxable account.
    drawdown_months
        The market fell 3 % a month over this many recent months (on top of its drift),
        so that nearly every stock has lots at a loss (0: no fall).

    The household is overweight US equity (about 0.64 against 0.55), so the plan sells
    stocks, harvests the losses and buys funds, which the Roths could also do with
    stocks: the wash-sale choice is open for every stock.
    """
    if n_stocks < 1 or n_taxable < 1 or n_roth < 0:
        raise ValueError("need n_stocks >= 1, n_taxable >= 1, n_roth >= 0")
    if n_lots < n_stocks * n_taxable:
        raise ValueError(f"n_lots ({n_lots}) must be >= n_stocks * n_taxable "
                         f"({n_stocks * n_taxable})")
    rng = np.random.default_rng(seed)
    per = n_lots // (n_stocks * n_taxable)
    extra = n_lots - per * n_stocks * n_taxable
    price, weight, then = _price_paths(rng, n_stocks, per + (1 if extra else 0),
                                       drawdown_months)
    symbols = [f"S{i:04d}" for i in range(n_stocks)]
    securities, fund_price = _securities(rng, symbols, price)
    accounts, lots, index_value = _taxable_accounts(
        rng, dt.date.fromisoformat(as_of), n_taxable, symbols, price, weight, then, per,
        extra, monthly)
    roth_accounts, roth_lots = _roth_accounts(n_roth, index_value, fund_price)
    return {
        "format": "taxopt.household/1",
        "household_id": household_id or f"di-seed{seed}-{n_lots}",
        "as_of": as_of,
        "tax_profile": {"short_term_rate": 0.408, "long_term_rate": 0.238,
                        "realized_ytd": {"short_term": 8_000.0, "long_term": 25_000.0},
                        "loss_carryforward": {"short_term": 0.0, "long_term": 0.0},
                        "ordinary_offset_limit": 3_000.0},
        "securities": securities,
        "goals": [{"goal_id": "retirement", "targets": dict(TARGETS)}],
        "accounts": accounts + roth_accounts,
        "lots": lots + roth_lots,
    }


def _price_paths(rng: np.random.Generator, n_stocks: int, months: int,
                 drawdown_months: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Today's prices, index weights, and each stock's price ``k`` months back.

    Monthly paths: a market factor plus each stock's own noise; today's price is the
    end of the path, the purchase prices are the months before it.
    """
    market = rng.normal(0.006, 0.04, months)
    market[:drawdown_months] -= 0.03                 # a recent fall: most stocks at a loss
    own = rng.normal(0.0, 0.07, (n_stocks, months))
    logp = np.cumsum((market + own)[:, ::-1], axis=1)[:, ::-1]   # log(p_then / p_now)
    price = np.round(np.exp(rng.normal(np.log(80.0), 0.8, n_stocks)), 2).clip(2.0, 2_000.0)
    weight = rng.dirichlet(np.full(n_stocks, 2.0))
    then = price[:, None] * np.exp(logp)                           # month k back: then[:, k]
    return price, weight, then


def _securities(rng: np.random.Generator, symbols: list[str],
                price: np.ndarray) -> tuple[list[dict[str, Any]], np.ndarray]:
    """The stocks (each its own wash group), then the funds of `FUNDS` at drawn prices."""
    securities: list[dict[str, Any]] = [
        {"symbol": s, "price": float(p), "asset_class": "us_equity", "yield": 0.013,
         "fractional": False} for s, p in zip(symbols, price.tolist(), strict=True)]
    fund_price = np.round(rng.uniform(40.0, 110.0, len(FUNDS)), 2)
    for (sym, cls, yld, q, grp), p in zip(FUNDS, fund_price.tolist(), strict=True):
        securities.append({"symbol": sym, "price": p, "asset_class": cls, "yield": yld,
                           "qualified": q, "wash_group": grp})
    return securities, fund_price


def _taxable_accounts(rng: np.random.Generator, day0: dt.date, n_taxable: int,
                      symbols: list[str], price: np.ndarray, weight: np.ndarray,
                      then: np.ndarray, per: int, extra: int, monthly: float
                      ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], float]:
    """The taxable accounts and their monthly lots of every stock; the index's value."""
    lots: list[dict[str, Any]] = []
    accounts: list[dict[str, Any]] = []
    index_value = 0.0
    for a in range(n_taxable):
        aid = f"taxable-{a + 1}"
        accounts.append({"account_id": aid, "goal_id": "retirement", "tax_type": "taxable",
                         "cash": round(float(rng.uniform(2_000, 8_000)), 2),
                         "min_cash": 1_000.0})
        for i in range(len(symbols)):
            n_i = per + (1 if i < extra // n_taxable + (a < extra % n_taxable) else 0)
            for k in range(n_i):
                p_then = float(then[i, k])
                shares = max(1, int(monthly * weight[i] / p_then))
                acquired = _months_back(day0, k + 1, int(rng.integers(0, 28)))
                lots.append({"lot_id": f"{aid}-{symbols[i]}-{k:03d}", "account_id": aid,
                             "symbol": symbols[i], "shares": shares,
                             "cost_basis": round(shares * p_then, 2),
                             "acquired": acquired.isoformat()})
                index_value += shares * float(price[i])
    return accounts, lots, index_value


def _roth_accounts(n_roth: int, index_value: float, fund_price: np.ndarray
                   ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Roths hold the funds, sized so that US equity is about 0.64 of the household."""
    total = index_value / 0.64
    rest = total - index_value
    fund_share = {"us_bonds": 0.25 / 0.36 * 0.8, "intl_equity": 0.15 / 0.36 * 1.1,
                  "reit": 0.05 / 0.36 * 1.2}
    accounts: list[dict[str, Any]] = []
    lots: list[dict[str, Any]] = []
    for r in range(n_roth):
        aid = f"roth-{r + 1}"
        value = rest / max(n_roth, 1)
        accounts.append({"account_id": aid, "goal_id": "retirement", "tax_type": "tax_free",
                         "cash": round(value * 0.02, 2)})
        for j, (sym, cls, *_rest) in enumerate(FUNDS):
            if (j + r) % 2:
                continue
            n_same = sum(1 for k, f in enumerate(FUNDS) if f[1] == cls and not (k + r) % 2)
            dollars = value * 0.98 * fund_share[cls] / max(n_same, 1) / sum(fund_share.values())
            shares = int(dollars / fund_price[j])
            if shares > 0:
                lots.append({"lot_id": f"{aid}-{sym}", "account_id": aid, "symbol": sym,
                             "shares": shares})
    return accounts, lots


def _months_back(day0: dt.date, k: int, day_jitter: int) -> dt.date:
    """A date ``k`` months before ``day0`` (day of month 1-28, so it always exists)."""
    m = day0.year * 12 + (day0.month - 1) - k
    return dt.date(m // 12, m % 12 + 1, 1 + day_jitter)
