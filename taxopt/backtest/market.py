"""Correlated asset-class returns for the backtest (seeded, vectorized).

Each asset class k has an expected annual *total* return ``r_k`` (price plus
distributions), an annual volatility ``sigma_k`` and a correlation matrix ``C``.
A step of ``m`` months draws one vector of class returns for all classes:

- ``lognormal`` (default): log gross returns ``x ~ N(mu, (m/12) S)`` with
  ``S = D C D`` (``D = diag(sigma)``) and ``mu_k = (m/12) ln(1 + r_k) - (m/24) sigma_k^2``,
  so that ``E[exp(x_k)] = (1 + r_k)^(m/12)``; the simple return is ``exp(x) - 1``;
- ``normal``: simple returns ``N((1 + r)^(m/12) - 1, (m/12) S)`` (can fall below -100 %
  in theory; clipped at -99 %).

Both use the Cholesky factor of ``S``.

A security's total return is its exposure-weighted class return. Its
distributions are paid in cash at ``yield * m / 12`` of the price at the start
of the step, so its *price* moves by ``total return - yield * m/12``; holding it
returns exactly its classes' total return, whatever its yield, except a tax-exempt
(municipal) fund: it earns ``MarketParams.exempt_return`` in expectation (3.5 %, the
optimizer's own `DEFAULT_RETURNS["muni"]`), its class path scaled step by step by
``((1 + exempt_return) / (1 + class return)) ** (m / 12)`` (`exempt_factor`), so it
moves with its class and yields the pre-tax return the exemption costs. (Until
2026-12-06 munis earned the taxable bond return: a free lunch that the optimizer,
which prices munis at their lower return, did not expect; see ``docs/value.md``.)

Default parameters (long-run published statistics)
--------------------------------------------------
- expected returns: `taxopt.model.location.DEFAULT_RETURNS` (US equity 7 %,
  international equity 7.5 %, US bonds 4.5 %, REITs 6.5 %), the same numbers the
  optimizer's location term uses, so the optimizer is not handed a market it did
  not expect, nor one built to flatter it;
- volatilities: US equity 16 %, international equity 17 %, US aggregate bonds
  5 %, REITs 20 % (long-run annualized standard deviations of monthly returns,
  1972-2024, in line with Ibbotson/Morningstar SBBI, MSCI EAFE, Bloomberg US
  Aggregate and FTSE Nareit All Equity REITs histories);
- correlations (same sources, long run): US/international equity 0.75, US
  equity/bonds 0.10, US equity/REITs 0.60, international equity/bonds 0.10,
  international equity/REITs 0.50, bonds/REITs 0.20;
- account cash earns nothing (a sweep at zero; the optimizer's cash-drag term
  assumes the same cost);
- trading costs: ``trading_cost_bps`` = 5 bps of each trade's dollar value, one way (a
  half-spread plus any commission), charged to every method alike by the ledger
  (`taxopt.backtest.ledger.Ledger.charge_costs`); single stocks of a direct-indexing sleeve pay
  ``stock_trading_cost_bps`` (None: the same 5 bps; large-cap stocks' quoted half-spreads are
  1-3 bps, so 5 is on the safe side for both). 5 bps is also the optimizer's own default
  estimate (`Options.transaction_cost_bps`), so the optimizer is charged what it expects.
  0 restores the frictionless market of the earlier backtests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..model.location import DEFAULT_RETURNS
from ..synth import CLASSES

_VOL = {"us_equity": 0.16, "intl_equity": 0.17, "us_bonds": 0.05, "reit": 0.20}
_CORR = {
    ("us_equity", "intl_equity"): 0.75,
    ("us_equity", "us_bonds"): 0.10,
    ("us_equity", "reit"): 0.60,
    ("intl_equity", "us_bonds"): 0.10,
    ("intl_equity", "reit"): 0.50,
    ("us_bonds", "reit"): 0.20,
}


def _default_corr() -> tuple[tuple[float, ...], ...]:
    n = len(CLASSES)
    c = np.eye(n)
    for (a, b), rho in _CORR.items():
        i, j = CLASSES.index(a), CLASSES.index(b)
        c[i, j] = c[j, i] = rho
    return tuple(tuple(float(x) for x in row) for row in c)


@dataclass(frozen=True)
class MarketParams:
    """The return model's parameters; defaults from long-run published statistics."""

    classes: tuple[str, ...] = CLASSES
    expected_return: tuple[float, ...] = tuple(DEFAULT_RETURNS[c] for c in CLASSES)
    volatility: tuple[float, ...] = tuple(_VOL[c] for c in CLASSES)
    correlation: tuple[tuple[float, ...], ...] = field(default_factory=_default_corr)
    law: Literal["lognormal", "normal"] = "lognormal"
    cash_rate: float = 0.0
    exempt_return: float | None = DEFAULT_RETURNS["muni"]   # None: the class's return
    trading_cost_bps: float = 5.0            # one way, bps of each trade's value (funds)
    stock_trading_cost_bps: float | None = None   # single stocks; None: trading_cost_bps

    def covariance(self) -> np.ndarray:
        """Annual covariance ``D C D``."""
        d = np.diag(self.volatility)
        return d @ np.array(self.correlation) @ d

    def check(self) -> None:
        n = len(self.classes)
        if len(self.expected_return) != n or len(self.volatility) != n:
            raise ValueError("expected_return and volatility need one entry per class")
        c = np.array(self.correlation)
        if c.shape != (n, n) or not np.allclose(c, c.T) or not np.allclose(np.diag(c), 1.0):
            raise ValueError("correlation must be a symmetric matrix with a unit diagonal")
        np.linalg.cholesky(self.covariance())    # raises when not positive definite
        if self.law not in ("lognormal", "normal"):
            raise ValueError(f"unknown law {self.law!r}")
        if self.exempt_return is not None and not -1.0 < self.exempt_return < 1.0:
            raise ValueError(f"exempt_return must be between -1 and 1, got "
                             f"{self.exempt_return!r}")
        for name in ("trading_cost_bps", "stock_trading_cost_bps"):
            bps = getattr(self, name)
            if bps is not None and not 0.0 <= bps < 10_000.0:
                raise ValueError(f"{name} must be between 0 and 10,000, got {bps!r}")

    def cost_rate(self, single_stock: np.ndarray) -> np.ndarray:
        """Per security: the trading cost per dollar traded (one way)."""
        stock = (self.trading_cost_bps if self.stock_trading_cost_bps is None
                 else self.stock_trading_cost_bps)
        return np.where(np.asarray(single_stock, bool), stock, self.trading_cost_bps) / 1e4


def class_returns(params: MarketParams, steps: int, step_months: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Simple total returns per step and class, shape ``(steps, len(params.classes))``."""
    dt = step_months / 12.0
    r = np.asarray(params.expected_return, float)
    vol = np.asarray(params.volatility, float)
    chol = np.linalg.cholesky(params.covariance() * dt)
    z = rng.standard_normal((steps, len(r))) @ chol.T
    if params.law == "lognormal":
        mu = dt * np.log1p(r) - 0.5 * dt * vol**2
        return np.expm1(mu + z)
    return np.maximum((1.0 + r) ** dt - 1.0 + z, -0.99)


# Drawdown regimes: (months down, months back up, cumulative log shock of US equity).
# Other classes move by their beta to it; volatility is scaled up while the market falls.
# The recovery undoes the shock, so a regime changes the path, not the expected return.
REGIMES: dict[str, tuple[int, int, float]] = {
    "calm": (0, 0, 0.0),
    "gfc": (16, 48, float(np.log(0.50))),     # 2007-09: -50 % over 16 months, 4 years back
    "covid": (1, 5, float(np.log(0.66))),     # 2020: -34 % in a month, back in 5 months
}
SHOCK_BETA = {"us_equity": 1.0, "intl_equity": 1.1, "reit": 1.3, "us_bonds": -0.08}
SHOCK_VOL_SCALE = 1.8


def regime_shock(params: MarketParams, regime: str, steps: int, step_months: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per step and class: an additive log-return shock and a volatility multiplier.

    The drawdown starts in a seeded month between the end of year 1 and three years
    before the end (or as early as it fits); calm: zeros and ones.
    """
    if regime not in REGIMES:
        raise ValueError(f"unknown regime {regime!r} (known: {', '.join(REGIMES)})")
    down, up, shock = REGIMES[regime]
    n = len(params.classes)
    add, scale = np.zeros((steps, n)), np.ones((steps, n))
    if down == 0:
        return add, scale
    months = steps * step_months
    latest = max(months - down - up, 0)
    start = int(rng.integers(min(12, latest), max(min(12, latest), latest - 24) + 1))
    beta = np.array([SHOCK_BETA.get(c, 0.0) for c in params.classes])
    month_shock = np.zeros(months)
    month_shock[start:start + down] = shock / down
    month_shock[start + down:start + down + up] = -shock / up if up else 0.0
    falling = np.zeros(months, bool)
    falling[start:start + down] = True
    per_step = month_shock[: steps * step_months].reshape(steps, step_months).sum(axis=1)
    fall = falling[: steps * step_months].reshape(steps, step_months).any(axis=1)
    add = per_step[:, None] * beta[None, :]
    scale[fall] = np.where(beta != 0, SHOCK_VOL_SCALE, 1.0)
    return add, scale


def class_returns_in(params: MarketParams, steps: int, step_months: int,
                     rng: np.random.Generator, regime: str = "calm") -> np.ndarray:
    """`class_returns` in a regime: the calm draw, then the regime's shock and volatility.

    The same seed gives the same underlying draw whatever the regime, so a household's
    calm and drawdown paths differ only by the drawdown.
    """
    base = class_returns(params, steps, step_months, rng)
    if regime == "calm":
        return base
    add, scale = regime_shock(params, regime, steps, step_months, rng)
    dt = step_months / 12.0
    vol = np.asarray(params.volatility, float)
    mu = dt * np.log1p(np.asarray(params.expected_return)) - 0.5 * dt * vol**2
    x = np.log1p(base) - mu                      # the zero-mean part of the draw
    x = x * scale - 0.5 * dt * vol**2 * (scale**2 - 1.0)
    return np.expm1(mu + x + add)


def idiosyncratic(n_steps: int, n_securities: int, vol: np.ndarray, step_months: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Multiplicative idiosyncratic factors per step and security, mean one:
    ``exp(e - vol^2 dt / 2)``, ``e ~ N(0, vol^2 dt)`` (vol 0: exactly one)."""
    dt = step_months / 12.0
    e = rng.standard_normal((n_steps, n_securities)) * vol * np.sqrt(dt)
    return np.exp(e - 0.5 * vol**2 * dt)


def class_index(params: MarketParams, household_classes: tuple[str, ...]) -> np.ndarray:
    """Column of each of the household's classes (cash excluded: -1) in the market model."""
    out = np.full(len(household_classes), -1, np.int64)
    for i, c in enumerate(household_classes):
        if c == "cash":
            continue
        if c not in params.classes:
            raise ValueError(f"asset class {c!r} has no return model "
                             f"(known: {', '.join(params.classes)})")
        out[i] = params.classes.index(c)
    return out


def security_total_returns(exposure: np.ndarray, cls_ix: np.ndarray, class_ret: np.ndarray,
                           cash_rate: float, step_months: int) -> np.ndarray:
    """Per step and security: exposure-weighted class total returns (steps x securities)."""
    per_class = np.zeros((class_ret.shape[0], len(cls_ix)))
    known = cls_ix >= 0
    per_class[:, known] = class_ret[:, cls_ix[known]]
    per_class[:, ~known] = (1.0 + cash_rate) ** (step_months / 12.0) - 1.0
    return per_class @ exposure.T


def exempt_factor(params: MarketParams, exposure: np.ndarray, cls_ix: np.ndarray,
                  tax_exempt: np.ndarray, step_months: int) -> np.ndarray:
    """Per security: the factor on its gross return each step, one except for a
    tax-exempt fund, ``((1 + exempt_return) / (1 + r_class)) ** (m / 12)`` with
    ``r_class`` its classes' expected return (exposure-weighted): the yield it gives
    up for the exemption. ``exempt_return`` None: ones (munis at their class return)."""
    out = np.ones(len(tax_exempt))
    if params.exempt_return is None or not np.any(tax_exempt):
        return out
    r = np.asarray(params.expected_return, float)
    known = cls_ix >= 0
    by_class = np.full(len(cls_ix), params.cash_rate)
    by_class[known] = r[cls_ix[known]]
    r_class = exposure @ by_class
    gap = ((1.0 + params.exempt_return) / (1.0 + r_class)) ** (step_months / 12.0)
    return np.where(tax_exempt, gap, out)
