"""A household's plan does not depend on whether the thread's HiGHS instance ran a MIP.

HiGHS's MIP run leaves ``primal_feasibility_tolerance`` at the MIP's 1e-6 (the LP
default is 1e-7). Before `reused_highs` reset every option, the thread's instance kept
it: household 24 of the backtest's rich population (a retiree in a 2020-like regime),
at its fifth quarterly rebalance, then sold other lots. In a lever run of
``benchmarks/value.py`` 10 of 48 held-out households ended with other wealth than in
a fresh process, because some earlier household's search had reached HiGHS's MIP.
"""

from __future__ import annotations

import json
import threading

import pytest

import taxopt
from taxopt import synth
from taxopt.adapters import branch, highs_run
from taxopt.backtest import BacktestConfig
from taxopt.backtest.run import specs
from taxopt.backtest.simulate import simulate_household


class _Stop(Exception):
    pass


def _backtest_household(index: int, step: int) -> taxopt.Household:
    """The household the backtest plans at ``step`` (rich population, seed 0, taxopt)."""
    config = BacktestConfig(households=1, years=10, step_months=3, seed=0,
                            methods=("taxopt",), workers=1, population="rich",
                            di_stocks=60, reinvest=True)
    seen: list[taxopt.Household] = []

    def hook(t, hh, *_):
        if t == step:
            seen.append(hh)
            raise _Stop

    with pytest.raises(_Stop):
        simulate_household(specs(config, index)[0], hook)
    return seen[0]


def _output(hh: taxopt.Household) -> str:
    r = taxopt.rebalance(hh)
    return (json.dumps(r.summary(), sort_keys=True, default=str)
            + json.dumps(r.trade_columns(), sort_keys=True, default=str))


def test_a_plan_after_highs_mip_is_the_plan_alone(monkeypatch):
    monkeypatch.setattr(highs_run, "_LOCAL", threading.local())   # a new instance
    b = _backtest_household(24, 4)
    alone = _output(b)
    # Household A: a forced lot order whose search branches (14 nodes); with the node
    # budget at zero it goes to HiGHS's MIP solver on this thread's instance.
    a = taxopt.from_dict(synth.household(11, n_lots=40, n_accounts=2))
    nodes = branch.MAX_NODES
    monkeypatch.setattr(branch, "MAX_NODES", 0)
    first = taxopt.rebalance(a, lot_relief="fifo")
    assert first.solution.info["highs_mip"] == 1.0
    monkeypatch.setattr(branch, "MAX_NODES", nodes)
    assert _output(b) == alone


def test_highs_mip_puts_the_lp_tolerance_back(monkeypatch):
    a = taxopt.from_dict(synth.household(11, n_lots=40, n_accounts=2))
    monkeypatch.setattr(highs_run, "_LOCAL", threading.local())
    monkeypatch.setattr(branch, "MAX_NODES", 0)
    assert taxopt.rebalance(a, lot_relief="fifo").solution.info["highs_mip"] == 1.0
    assert highs_run._LOCAL.h.getOptionValue("primal_feasibility_tolerance")[1] == 1e-7
