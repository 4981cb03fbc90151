"""The backtest's configuration and driver: households in, per-household paths out.

Households are simulated independently (each with its own seeded market path),
in this process or in a pool of worker processes; results come back in
household order, so a run is deterministic whatever the number of workers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInput
from ..methods import all_methods, require_known
from .market import MarketParams
from .population import traits
from .simulate import BASELINE, HouseholdRun, SimSpec, simulate_household, trigger_band


@dataclass(frozen=True)
class BacktestConfig:
    """What to simulate. Defaults: 50 households, ten years, monthly steps.

    Parameters
    ----------
    households
        Number of synthetic households (``taxopt.synth.households(n, seed)``).
    years
        Length of the simulation in years.
    step_months
        Months between rebalances (1: monthly; 3: quarterly, for quick runs).
    seed
        Seeds the households and, per household, its market path.
    methods
        Methods to run (default: all): ``taxopt``, ``taxopt_tax_only`` and the heuristics.
    n_lots, n_accounts
        Size of each synthetic household (small keeps the run fast).
    flow_scale
        The synthetic household's ``cash_flow`` (a deposit or withdrawal of 1-10 %
        of one account) times this is its yearly flow, spread evenly over the steps.
    keep_tolerance, keep_bands
        Keep the synthetic households' drift tolerances / location bands as hard
        rules (by default they are dropped: a heuristic that does not meet them
        would fail every step and stop trading).
    workers
        Worker processes (1: in this process).
    ci
        ``"t"`` (Student t over households) or ``"bootstrap"`` (percentile, seeded).
    market
        The return model (`MarketParams`).
    population
        ``"classic"``: the synthetic households as they are, calm markets, their one-time
        cash flow as a yearly flow. ``"rich"``: savers and retirees with monthly flows,
        direct-indexing sleeves and drawdown regimes (`taxopt.backtest.population`).
    di_stocks
        Stocks in a direct-indexing sleeve (rich population).
    reinvest
        Reinvest distributions in the security that paid them (wash-sale purchases).
    options
        Optimizer knobs applied to every optimizer method, as ``(name, value)`` pairs.
    trigger
        The optimizer methods' rebalance trigger: ``always`` or ``drift:<x>`` (tax-only
        plans while the drift is within ``x``; see `taxopt.backtest.simulate.planner`).
    common_return
        An experiment: every security that is not tax-exempt states this expected return
        (``expected_return``), so the optimizer's location value (and the rule-of-thumb
        locator's growth) sees no risk premium; the market itself is unchanged. None: the
        class defaults.
    """

    households: int = 50
    years: int = 10
    step_months: int = 1
    seed: int = 0
    methods: tuple[str, ...] = field(default_factory=all_methods)
    n_lots: int = 40
    n_accounts: int = 3
    flow_scale: float = 1.0
    keep_tolerance: bool = False
    keep_bands: bool = False
    workers: int = 1
    ci: str = "t"
    market: MarketParams = field(default_factory=MarketParams)
    population: str = "classic"
    di_stocks: int = 200
    reinvest: bool = False
    options: tuple[tuple[str, Any], ...] = ()
    trigger: str = "always"
    common_return: float | None = None

    def check(self) -> None:
        def bad(name: str, why: str) -> InvalidInput:
            return InvalidInput(None, "backtest", name, why)

        if self.households < 1:
            raise bad("households", "must be >= 1")
        if self.years < 1:
            raise bad("years", "must be >= 1")
        if self.step_months < 1 or self.step_months > 12 or 12 % self.step_months:
            raise bad("step_months", "must divide 12 (1, 2, 3, 4, 6 or 12)")
        if self.n_lots < self.n_accounts or self.n_accounts < 1:
            raise bad("n_lots", "need n_accounts >= 1 and n_lots >= n_accounts")
        if self.workers < 1:
            raise bad("workers", "must be >= 1")
        if self.population not in ("classic", "rich"):
            raise bad("population", "must be 'classic' or 'rich'")
        if self.di_stocks < 0:
            raise bad("di_stocks", "must be >= 0")
        if self.options:
            from ..options import Options

            Options.from_dict(dict(self.options))
        try:
            trigger_band(self.trigger)
        except ValueError as err:
            raise bad("trigger", str(err)) from None
        if self.ci not in ("t", "bootstrap"):
            raise bad("ci", "must be 't' or 'bootstrap'")
        if not self.methods:
            raise bad("methods", "name at least one method")
        try:
            require_known(self.methods)
        except InvalidInput as err:
            raise bad("methods", err.problem) from None
        try:
            self.market.check()
        except ValueError as err:
            raise bad("market", str(err)) from None


@dataclass
class BacktestResult:
    """All households' runs, in household order."""

    config: BacktestConfig
    households: list[HouseholdRun]
    seconds: float

    @property
    def methods(self) -> tuple[str, ...]:
        return self.config.methods

    @property
    def baseline(self) -> str:
        return BASELINE


def specs(config: BacktestConfig, first: int = 0) -> list[SimSpec]:
    """One spec per household (``first``: the index of the first, for held-out seeds)."""
    from ..synth import households

    raws = list(households(first + config.households, config.seed, n_lots=config.n_lots,
                           n_accounts=config.n_accounts))[first:]
    rich = config.population == "rich"
    return [SimSpec(i, raw, config.years, config.step_months, config.seed, config.methods,
                    config.market, config.flow_scale, config.keep_tolerance, config.keep_bands,
                    traits(config.seed, i) if rich else None, config.di_stocks if rich else 0,
                    config.reinvest, config.options, config.trigger, config.common_return)
            for i, raw in enumerate(raws, start=first)]


def run_backtest(config: BacktestConfig,
                 progress: Callable[[int, int], Any] | None = None) -> BacktestResult:
    """Simulate every household under every method.

    ``progress(done, total)`` is called after each household.
    """
    config.check()
    work = specs(config)
    t0 = time.perf_counter()
    out: list[HouseholdRun] = []
    if config.workers == 1 or len(work) == 1:
        for s in work:
            out.append(simulate_household(s))
            if progress:
                progress(len(out), len(work))
    else:
        from concurrent.futures import ProcessPoolExecutor

        from ..workers import init_worker, process_context

        with ProcessPoolExecutor(max_workers=config.workers, mp_context=process_context(),
                                 initializer=init_worker, initargs=(os.getpid(),)) as pool:
            for run in pool.map(simulate_household, work):
                out.append(run)
                if progress:
                    progress(len(out), len(work))
    return BacktestResult(config, out, time.perf_counter() - t0)
