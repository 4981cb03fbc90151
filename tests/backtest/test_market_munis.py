"""Tax-exempt funds earn their own (lower) expected return in the backtest's market, the
return the optimizer's location value prices them at, not the taxable bond return."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from taxopt.backtest import BacktestConfig, MarketParams
from taxopt.backtest.market import exempt_factor
from taxopt.backtest.run import specs
from taxopt.backtest.simulate import build_path
from taxopt.model.location import DEFAULT_RETURNS, expected_returns


def _path(market: MarketParams, index: int = 0):
    cfg = BacktestConfig(households=index + 1, years=2, step_months=3, population="rich",
                         di_stocks=0, reinvest=True, market=market)
    return build_path(specs(cfg)[index])


def _muni_and_bond(hh) -> tuple[int, int]:
    sec = hh.securities
    bonds = np.asarray(hh.classes)[np.argmax(sec.exposure, axis=1)] == "us_bonds"
    single = sec.exposure.max(axis=1) == 1.0
    muni = np.flatnonzero(sec.tax_exempt & bonds & single)
    bond = np.flatnonzero(~sec.tax_exempt & bonds & single)
    assert len(muni) and len(bond), "the synthetic household lists a muni and a bond fund"
    return int(muni[0]), int(bond[0])


def test_a_muni_earns_the_muni_return_step_by_step_on_its_class_path():
    path = _path(MarketParams())
    m, b = _muni_and_bond(path.household)
    gross = 1.0 + path.security_returns
    # quarterly: (1.035 / 1.045) ** 0.25 = 0.997598..., every step, whatever the draw
    ratio = gross[:, m] / gross[:, b]
    assert ratio == pytest.approx(np.full(len(ratio), (1.035 / 1.045) ** 0.25), abs=1e-12)
    # the optimizer prices the same fund at the same 3.5 %
    assert expected_returns(path.household)[m] == pytest.approx(DEFAULT_RETURNS["muni"])


def test_exempt_return_none_is_the_old_market_byte_for_byte():
    old = _path(MarketParams(exempt_return=None))
    m, b = _muni_and_bond(old.household)
    assert np.array_equal(old.security_returns[:, m], old.security_returns[:, b])
    new = _path(MarketParams())
    taxable = ~new.household.securities.tax_exempt
    assert np.array_equal(new.security_returns[:, taxable], old.security_returns[:, taxable])


def test_exempt_factor_is_one_for_taxable_securities_and_checks_its_range():
    p = MarketParams()
    exposure = np.eye(2)
    f = exempt_factor(p, exposure, np.array([p.classes.index("us_bonds")] * 2),
                      np.array([True, False]), 12)
    assert f.tolist() == pytest.approx([1.035 / 1.045, 1.0])
    with pytest.raises(ValueError, match="exempt_return must be between -1 and 1"):
        dataclasses.replace(p, exempt_return=-1.5).check()
