"""Risk matching on a two-asset world computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from taxopt.backtest.risk import (
    exposure_multiplier,
    matched_bps,
    sleeve_returns,
    tracking_error,
)

# Two yearly steps. Stock +20 % then -10 %, bond +2 % then +3 %.
STOCK = np.array([0.20, -0.10])
BOND = np.array([0.02, 0.03])


def test_two_funds_by_hand():
    # A holds 60 % stock: 1.02 + 0.6 x 0.18 = 1.128, then 1.03 - 0.6 x 0.13 = 0.952.
    # B holds 50 % stock: 1.02 + 0.5 x 0.18 = 1.110, then 1.03 - 0.5 x 0.13 = 0.965.
    wa, wb = 1.128 * 0.952, 1.110 * 0.965          # 1.073856 and 1.071150
    sa, sb = np.full(2, 0.6), np.full(2, 0.5)
    # raw: ((1.073856 / 1.071150) ** 0.5 - 1) x 1e4 = 12.62 bps a year, all of it risk
    raw = ((wa / wb) ** 0.5 - 1) * 1e4
    assert raw == pytest.approx(12.6234, abs=1e-3)
    # B scaled to A's 60 %: M = (1.128 / 1.110) x (0.952 / 0.965) = 1.0025262
    assert exposure_multiplier(sa, sb, STOCK, BOND) == pytest.approx(1.073856 / 1.071150,
                                                                     rel=1e-12)
    assert matched_bps(wa, wb, 2.0, sa, sb, STOCK, BOND) == pytest.approx(0.0, abs=1e-9)
    # A also keeps $0.01 more per starting dollar of tax: that alone survives the matching,
    # ((1.083856 / 1.073856) ** 0.5 - 1) x 1e4 = 46.4532 bps a year
    assert matched_bps(wa + 0.01, wb, 2.0, sa, sb, STOCK, BOND) == pytest.approx(46.4532,
                                                                                 abs=1e-3)
    # the other way round: B against A scaled down to 50 % is -12.62 before, 0 after
    assert matched_bps(wb, wa, 2.0, sb, sa, STOCK, BOND) == pytest.approx(0.0, abs=1e-9)


def test_shares_that_change_over_time():
    # A 60 % then 40 %, B 50 % both years. M = (1.128 / 1.110) x ((1.03 - 0.4 x 0.13) / 0.965)
    # = 1.0162162 x 1.0134715 = 1.0299062; A's wealth 1.128 x 0.978 = 1.103184.
    sa, sb = np.array([0.6, 0.4]), np.array([0.5, 0.5])
    wa, wb = 1.128 * 0.978, 1.110 * 0.965
    assert exposure_multiplier(sa, sb, STOCK, BOND) == pytest.approx(1.0299062, abs=1e-7)
    assert matched_bps(wa, wb, 2.0, sa, sb, STOCK, BOND) == pytest.approx(0.0, abs=1e-9)


def test_sleeves_follow_the_target():
    # classes: stock, bond, cash (cash 0 %); target 55 / 40 / 5: risky sleeve = the stock,
    # safe sleeve = 40/45 bond + 5/45 cash: 0.02 x 8/9 = 1.7778 %, 0.03 x 8/9 = 2.6667 %
    ret = np.column_stack([STOCK, BOND, np.zeros(2)])
    r, s = sleeve_returns(ret, np.array([0.55, 0.40, 0.05]), np.array([True, False, False]))
    assert r == pytest.approx(STOCK)
    assert s == pytest.approx([0.02 * 8 / 9, 0.03 * 8 / 9])


def test_tracking_error_by_hand():
    # 60/40 against 50/50, vols 16 % and 5 %, correlation 0.1:
    # 0.1^2 x 0.0256 + 0.1^2 x 0.0025 - 2 x 0.01 x 0.1 x 0.16 x 0.05 = 0.000265 -> 1.6279 %
    cov = np.array([[0.0256, 0.1 * 0.16 * 0.05], [0.1 * 0.16 * 0.05, 0.0025]])
    te = tracking_error(np.array([[0.6, 0.4]]), np.array([[0.5, 0.5]]), cov, np.array([1.0]))
    assert te == pytest.approx(0.0162788, abs=1e-7)
    # two goals, the second on target, weighted by value 1:3: sqrt(0.000265 / 4)
    te2 = tracking_error(np.array([[0.6, 0.4], [0.5, 0.5]]), np.array([[0.5, 0.5]] * 2), cov,
                         np.array([1.0, 3.0]))
    assert te2 == pytest.approx(0.0162788 / 2, abs=1e-7)


def test_stock_luck_is_divided_out():
    # A's stocks beat their class by 5 % in step 1 on 40 % of its value: luck 2 %; B no luck.
    # Same risky share: A's 2 % extra wealth is luck, and the matched difference is zero.
    sa = sb = np.full(2, 0.5)
    wb = 1.110 * 0.965
    wa = wb * 1.02
    assert matched_bps(wa, wb, 2.0, sa, sb, STOCK, BOND) == pytest.approx(
        (1.02 ** 0.5 - 1) * 1e4)
    assert matched_bps(wa, wb, 2.0, sa, sb, STOCK, BOND, np.array([0.02, 0.0]),
                       np.zeros(2)) == pytest.approx(0.0, abs=1e-9)


def test_luck_is_divided_out_after_tax():
    # A's stocks earned 2 % of its value by their own returns; at liquidation that gain is
    # taxed at 20 %, so it added 2 % x 0.8 = 1.6 % to A's after-tax wealth. Dividing by the
    # pre-tax 1.02 would call A's pure luck a loss: ((1.016 / 1.02)^0.5 - 1) x 1e4 = -19.627
    from taxopt.backtest.risk import luck_multiplier

    sa = sb = np.full(2, 0.5)
    wb = 1.110 * 0.965
    wa = wb * 1.016
    luck = np.array([0.02, 0.0])
    assert luck_multiplier(luck, 0.2) == pytest.approx(1.016)
    assert matched_bps(wa, wb, 2.0, sa, sb, STOCK, BOND, luck, np.zeros(2),
                       0.2) == pytest.approx(0.0, abs=1e-9)
    assert matched_bps(wa, wb, 2.0, sa, sb, STOCK, BOND, luck,
                       np.zeros(2)) == pytest.approx(-19.627, abs=1e-3)
    # two steps of luck compound before the tax: 1.1 x 0.95 = 1.045 -> 1 + 0.045 x 0.8
    assert luck_multiplier(np.array([0.10, -0.05]), 0.2) == pytest.approx(1.036)
