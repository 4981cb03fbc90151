"""What a reader sees: the page's verdict and number formats, partial years, compare units."""

from __future__ import annotations

import re

from click.testing import CliRunner

from taxopt.backtest import BacktestConfig, run_backtest
from taxopt.backtest.report import cell, html_page, months_in_year, verdict
from taxopt.cli import cli


def test_cells():
    assert cell("after_tax_wealth", 1480632.4) == "1,480,632"
    assert cell("mean_drift", 0.0008) == "0.08%"
    assert cell("equity_share", 0.6451) == "64.5%"
    assert cell("mean_bps", 19.94) == "+19.9"
    assert cell("matched_ci_low", -3.04) == "-3.0"
    assert cell("failed_steps", 1234) == "1,234"
    assert cell("mean_bps", float("nan")) == ""


def test_page_opens_with_a_verdict_and_partial_years_are_counted():
    result = run_backtest(BacktestConfig(households=2, years=1, step_months=6,
                                         methods=("taxopt", "lockstep_fifo")))
    v = verdict(result)
    assert v.startswith("Over 1 years and 2 households, taxopt against lockstep_fifo: ")
    assert "at matched risk after liquidation" in v
    assert v.endswith("at matched risk before liquidation (embedded gains never taxed).")
    page = html_page(result, {})
    first = re.search(r"<h1>.*?</h1>\s*<p><strong>(.*?)</strong>", page, re.S)
    assert first and first.group(1).startswith("Over 1 years")
    # no raw float reprs with many digits in the tables
    assert not re.search(r"<td>-?\d+\.\d{4,}</td>", page)
    # start 2026-11-24, one year: 2026 has about 1 month, 2027 about 11
    assert months_in_year(result, [2026, 2027]) == [1, 11]


def test_compare_states_its_units():
    r = CliRunner().invoke(cli, ["compare", "scenarios/taxable_only.json",
                                 "--method", "taxopt"])
    assert r.exit_code == 0, r.output
    assert "percentage points" in r.output and "buys plus sells" in r.output
    assert "turnover $" in r.output
