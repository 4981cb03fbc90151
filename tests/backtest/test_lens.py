"""Both terminal-wealth lenses, computed by hand on two made-up households."""

from __future__ import annotations

import math

import numpy as np
import pytest

from taxopt.backtest import BacktestConfig, BacktestResult, HouseholdRun, MethodRun
from taxopt.backtest.report import (
    headline_rows,
    matched_paired_bps,
    paired_bps,
    summary_rows,
)
from taxopt.backtest.simulate import build_path, simulate_method
from tests.backtest.test_run import spec

METHODS = ("taxopt", "lockstep_fifo")


def run(method: str, wealth: float, liquidation_tax: float, share: float) -> MethodRun:
    """A two-step path (one a year) ending at ``wealth`` after a liquidation tax."""
    return MethodRun(method, np.array([1e6, 1e6, wealth]), np.full(2, 1e6), np.zeros(2),
                     np.zeros(2), 0.0, {}, {}, liquidation_tax, 0, [], 0.0, 0.0, 0,
                     np.full(2, share), np.zeros(2), np.zeros(2),
                     wealth + liquidation_tax)


def result(taxopt_share: float = 0.6) -> BacktestResult:
    out = []
    # household 1: taxopt ends at 1,100,000 after 30,000 of liquidation tax (deferred gains),
    # lockstep at 1,080,000 after 10,000; household 2: 1,050,000 / 5,000 against 1,040,000 /
    # 15,000 (taxopt has less embedded gain there)
    for hid, (wt, lt, wb, lb) in {"h1": (1.10e6, 30e3, 1.08e6, 10e3),
                                  "h2": (1.05e6, 5e3, 1.04e6, 15e3)}.items():
        h = HouseholdRun(hid, 1e6, 2.0, np.array(["2026-01-01", "2027-01-01", "2028-01-01"],
                                                  "datetime64[D]"))
        h.runs = {"taxopt": run("taxopt", wt, lt, taxopt_share),
                  "lockstep_fifo": run("lockstep_fifo", wb, lb, 0.6)}
        h.risky_return, h.safe_return = np.array([0.20, -0.10]), np.array([0.02, 0.03])
        out.append(h)
    return BacktestResult(BacktestConfig(households=2, years=2, methods=METHODS), out, 0.0)


# liquidation:     h1 (1.10 / 1.08)^0.5 - 1 = 92.1678 bps; h2 (1.05 / 1.04)^0.5 - 1 = 47.9619
# pre-liquidation: h1 (1.13 / 1.09)^0.5 - 1 = 181.8331; h2 (1.055 / 1.055)^0.5 - 1 = 0
LIQ = [92.1678, 47.9619]
PRE = [181.8331, 0.0]


def test_both_lenses_by_hand():
    r = result()
    assert paired_bps(r, "taxopt", "lockstep_fifo") == pytest.approx(LIQ, abs=1e-3)
    assert paired_bps(r, "taxopt", "lockstep_fifo", "pre_liquidation") == pytest.approx(
        PRE, abs=1e-3)
    # same risky share (60 %): matching changes nothing
    assert matched_paired_bps(r, "taxopt", "lockstep_fifo", "pre_liquidation") == (
        pytest.approx(PRE, abs=1e-3))
    with pytest.raises(ValueError, match="unknown wealth lens 'gross'"):
        paired_bps(r, "taxopt", "lockstep_fifo", "gross")


def test_matched_pre_liquidation_by_hand():
    # taxopt holds 50 % risky, lockstep 60 %: lockstep scaled to 50 % has
    # M = (1.02 + 0.5 x 0.18)(1.03 - 0.5 x 0.13) / ((1.02 + 0.6 x 0.18)(1.03 - 0.6 x 0.13))
    #   = 1.110 x 0.965 / (1.128 x 0.952) = 1.071150 / 1.073856 = 0.99748011
    m = 1.071150 / 1.073856
    r = result(taxopt_share=0.5)
    pre = matched_paired_bps(r, "taxopt", "lockstep_fifo", "pre_liquidation")
    # h1 ((1.13 / (1.09 x 0.99748011))^0.5 - 1) = 194.5 bps; h2 (1 / 0.99748011)^0.5 - 1
    # = 12.6234 bps
    assert pre == pytest.approx([((1.13 / (1.09 * m)) ** 0.5 - 1) * 1e4, 12.6234], abs=1e-3)
    assert pre[0] == pytest.approx(194.69, abs=0.01)
    head = next(x for x in headline_rows(r) if x["versus"] == "lockstep_fifo")
    assert head["pre_liq_matched_bps"] == pytest.approx((pre[0] + pre[1]) / 2)
    assert head["pre_liq_mean_bps"] == pytest.approx(sum(PRE) / 2, abs=1e-3)
    assert head["pre_liq_matched_share_better"] == 1.0
    row = summary_rows(r)[0]
    assert row["pre_liquidation_wealth"] == pytest.approx((1.13e6 + 1.055e6) / 2)
    assert row["after_tax_wealth"] == pytest.approx((1.10e6 + 1.05e6) / 2)
    assert row["pre_liq_matched_bps_vs_lockstep"] == pytest.approx(head["pre_liq_matched_bps"])
    # t interval over two households: mean +- 12.706 x sd / sqrt(2)
    half = 12.7062 * np.std(pre, ddof=1) / math.sqrt(2)
    assert row["pre_liq_matched_ci_low"] == pytest.approx(pre.mean() - half, rel=1e-4)


def test_simulation_keeps_wealth_before_the_liquidation_tax():
    p = build_path(spec(seed=5, step_months=3))
    r = simulate_method(p.household, "lockstep_fifo", p.dates, p.security_returns,
                        p.dist_fraction, p.flows)
    assert r.liquidation_tax != 0.0
    assert r.terminal_in("pre_liquidation") == pytest.approx(r.terminal + r.liquidation_tax,
                                                             abs=1e-6)
