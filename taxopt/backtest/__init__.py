"""Multi-period backtest: how much after-tax wealth each rebalancing method leaves.

A population of synthetic households (`taxopt.synth`) lives through ten years
(by default) of seeded, correlated asset-class returns, with distributions,
deposits or withdrawals, and a rebalance every month by each method:

- ``taxopt``: the optimizer with default options;
- ``taxopt_tax_only``: the optimizer with ``location_horizon_years=0`` (tax-aware
  trading without the asset-location value);
- every heuristic of `taxopt.heuristics.HEURISTICS`.

Every method of a household sees the same start, market path and flows; only
its trades differ. The books (lots, cash, recent trades, the tax year) are kept
per method by `Ledger`; at the end the household is liquidated and its
after-tax wealth compared.

>>> from taxopt.backtest import BacktestConfig, run_backtest, summary_rows
>>> result = run_backtest(BacktestConfig(households=2, years=1, step_months=3,
...                                      methods=("taxopt", "lockstep_fifo")))
>>> [r["method"] for r in summary_rows(result)]
['taxopt', 'lockstep_fifo']

Model and parameters
--------------------
Market (`MarketParams`, see `taxopt.backtest.market`): monthly lognormal
class total returns through the Cholesky factor of the annual covariance;
expected returns from `taxopt.model.location.DEFAULT_RETURNS` (US equity 7 %,
international 7.5 %, US bonds 4.5 %, REITs 6.5 %), volatilities 16 / 17 / 5 /
20 %, correlations US-intl 0.75, equity-bonds 0.10, US equity-REIT 0.60,
intl-REIT 0.50, bonds-REIT 0.20. Each household has its own seeded path. A
security returns its exposure-weighted class return (a tax-exempt fund its own lower
return, ``MarketParams.exempt_return``: 3.5 % on the bonds' path); it pays ``yield / 12``
of its price in cash each month and its price moves by the rest.

Households (`BacktestConfig`): ``taxopt.synth.households(n, seed, n_lots=40,
n_accounts=3)`` (one taxable, one tax-deferred, one tax-free account). The
synthetic one-time ``cash_flow`` (15 % of households deposit, 10 % withdraw,
1-10 % of one account) becomes a *yearly* flow spread evenly over the steps.
Drift tolerances and location bands are dropped by default (see
`BacktestConfig`). Account cash earns nothing.

Taxes: realized gains by term accumulate in the tax profile's
``realized_ytd`` (the optimizer sees them); at each year end the year's
capital-gains tax is `taxopt.tax.netting.net_year` (carryforwards in, the new
carryforward fed into the next year), plus distributions in taxable accounts
(qualified at the long-term rate, the rest ordinary, tax-exempt none). The bill
is paid in the first step of the next year from the taxable accounts' cash
above ``min_cash``, then by a pro-rata sale of every lot (realized in the new
year), then from cash below ``min_cash`` (`Ledger.settle`); a net capital loss's
ordinary-income offset comes back as cash.

Failures: a rebalance that fails (optimizer status not optimal or feasible, a
heuristic's plan with audit violations, or an exception) keeps the holdings for
that step; the step's flow is settled like a tax bill; the table counts them.

End: after-tax liquidation wealth, every taxable lot sold with the year's
realized gains and carryforwards (Schedule D netting: short-term gains at the
ordinary rate, long-term at the long-term rate), IRA balances x (1 - ordinary
rate), Roth in full.

Trading costs: every trade of every method, forced sales included, pays
``MarketParams.trading_cost_bps`` (default 5 bps, one way: half-spread plus
commission; ``stock_trading_cost_bps`` for single stocks, by default the same) of
its dollar value, from its account's cash above ``min_cash`` after the step's trades
are booked; what that cash cannot pay is owed (subtracted from wealth) and paid from
the account's next cash, usually the next step's distributions (`Ledger.charge_costs`).
Costs are not tax-deductible in this model (conservative: in reality they raise basis
and lower proceeds). Reinvested distributions are not charged. The tables report each
method's ``trading_costs`` in dollars beside its turnover; 0 restores the frictionless
backtest exactly. IRA dollars count at 1 - ordinary rate in the wealth and in the
after-tax risky share alike (`Ledger.ira_keep`).

Risk (`taxopt.backtest.risk`): every method's after-tax equity share and
tracking error are reported, and methods are compared at matched risk (the
comparator scaled to the method's after-tax equity share on the same path,
single stocks' idiosyncratic luck divided out). ``population="rich"``
(`taxopt.backtest.population`) adds savers and retirees with monthly flows,
direct-indexing sleeves, drawdown regimes and reinvested distributions.
"""

from __future__ import annotations

from ..methods import OPTIMIZER_METHODS, all_methods, check_methods
from .ledger import Ledger
from .market import MarketParams, class_returns
from .population import Traits, traits
from .report import (
    DETAIL_COLUMNS,
    HEADLINE_COLUMNS,
    SUMMARY_COLUMNS,
    detail_rows,
    headline_rows,
    interval,
    location_row,
    matched_paired_bps,
    paired_bps,
    summary_rows,
    write_outputs,
)
from .run import BacktestConfig, BacktestResult, run_backtest
from .simulate import (
    BASELINE,
    HouseholdRun,
    MethodRun,
    SimSpec,
    simulate_household,
)

__all__ = [
    "BASELINE",
    "DETAIL_COLUMNS",
    "HEADLINE_COLUMNS",
    "OPTIMIZER_METHODS",
    "SUMMARY_COLUMNS",
    "BacktestConfig",
    "BacktestResult",
    "HouseholdRun",
    "Ledger",
    "MarketParams",
    "MethodRun",
    "SimSpec",
    "Traits",
    "all_methods",
    "check_methods",
    "class_returns",
    "detail_rows",
    "headline_rows",
    "interval",
    "location_row",
    "matched_paired_bps",
    "paired_bps",
    "run_backtest",
    "simulate_household",
    "summary_rows",
    "traits",
    "write_outputs",
]
