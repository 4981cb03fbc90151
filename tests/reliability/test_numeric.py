"""Numeric robustness: very small and very large households, prices and share counts.

Each household solves to an audited plan or a clear status, and what is reported
(in memory and in trades.csv as written) is shares x price to the cent.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
import pytest

import taxopt
from taxopt.audit import assess, violations
from taxopt.domain.orders import Orders
from taxopt.output import summary_json, trades_csv

EQ = {"symbol": "EQ", "price": 100.0, "asset_class": "equity"}
BD = {"symbol": "BD", "price": 10.0, "asset_class": "bonds"}
PENNY = {"symbol": "PENNY", "price": 0.01, "asset_class": "equity"}
BIG = {"symbol": "BIG", "price": 500_000.0, "asset_class": "equity"}
FRAC = {"symbol": "FR", "price": 100.0, "asset_class": "equity", "fractional": True}
FRAC_BIG = {"symbol": "FRB", "price": 500_000.0, "asset_class": "equity", "fractional": True}


def _household(securities: list[dict], lots: list[dict], tolerance: float | None = None,
               **options: Any) -> dict[str, Any]:
    """A taxable account ``tx`` and an IRA ``ira``, one goal 60 % equity / 40 % bonds."""
    goal: dict[str, Any] = {"goal_id": "g", "targets": {"equity": 0.6, "bonds": 0.4}}
    if tolerance is not None:
        goal["drift_tolerance"] = tolerance
    return {"format": "taxopt.household/1", "household_id": "hh-num", "as_of": "2026-11-24",
            "tax_profile": {"short_term_rate": 0.4, "long_term_rate": 0.2},
            "securities": securities, "goals": [goal],
            "accounts": [{"account_id": "tx", "goal_id": "g", "tax_type": "taxable",
                          "cash": 0.0},
                         {"account_id": "ira", "goal_id": "g", "tax_type": "tax_deferred",
                          "cash": 0.0}],
            "lots": lots, "options": options}


def _lot(lot_id: str, account: str, symbol: str, shares: float,
         basis: float | None = None) -> dict[str, Any]:
    lot = {"lot_id": lot_id, "account_id": account, "symbol": symbol, "shares": shares}
    if account == "tx":
        lot.update(cost_basis=basis, acquired="2020-01-15")
    return lot


def _written(hh, result) -> pd.DataFrame:
    csv = trades_csv(result.trade_columns()).decode()
    return pd.read_csv(io.StringIO(csv), dtype={"lot_id": str, "term": str},
                       keep_default_na=False)


def _check(raw: dict[str, Any]):
    hh = taxopt.from_dict(raw)
    result = taxopt.rebalance(hh)
    summary_json(result.summary())  # finite, serializable
    if not result.ok:
        assert result.status in ("infeasible", "error")
        assert result.message.strip()
        assert len(result.orders) == 0
        return result
    assert violations(hh, result.orders) == []
    cols = result.trade_columns()
    price = hh.securities.price[result.orders.security]
    assert np.allclose(cols["value"], np.round(result.orders.shares * price, 2), rtol=0,
                       atol=0.005)
    # The file as written: value = shares x price to the cent, and it audits clean.
    frame = _written(hh, result)
    if len(frame):
        assert np.allclose(frame["value"], np.round(frame["shares"] * frame["price"], 2),
                           rtol=0, atol=0.005)
        assert violations(hh, Orders.from_frame(hh, frame)) == []
    # The summary's money adds up from the rows, to the cent.
    s = result.summary()
    a = assess(hh, result.orders)
    for i, aid in enumerate(hh.accounts.account_id):
        mine = result.orders.account == i
        assert s["accounts"][aid]["sold"] == pytest.approx(
            round(float(a.value[mine & ~result.orders.is_buy].sum()), 2), abs=0.006)
    return result


def test_tiny_household_one_thousand_dollars():
    """$800 EQ (basis $700) in taxable + $200 BD in the IRA: sell 2 EQ, buy 20 BD."""
    result = _check(_household([EQ, BD], [_lot("A", "tx", "EQ", 8, 700.0),
                                              _lot("B", "ira", "BD", 20)]))
    assert result.status == "optimal"
    assert result.trade_columns()["value"] == [200.0, 200.0]


def test_huge_household_one_billion_dollars():
    """$1bn: 8M EQ ($800M, half taxable at a gain) and 20M BD; the IRA rebalances."""
    result = _check(_household([EQ, BD], [
        _lot("A", "tx", "EQ", 4_000_000, 300_000_000.0), _lot("C", "ira", "EQ", 4_000_000),
        _lot("B", "ira", "BD", 20_000_000)], tolerance=0.02))
    assert result.status == "optimal"
    a = result.assessment
    assert a.drift_after[0] <= 1e-6
    assert a.est_tax == 0.0
    assert a.turnover == pytest.approx(400_000_000.0)


def test_penny_price():
    """1,000,000 shares at $0.01 ($10,000) against $1,000 of bonds."""
    result = _check(_household([PENNY, BD], [_lot("A", "tx", "PENNY", 1_000_000, 8000.0),
                                                 _lot("B", "ira", "BD", 100)]))
    assert result.status == "optimal"
    sold = [v for v, side in zip(result.trade_columns()["value"], result.trade_columns()["side"],
                                 strict=True) if side == "sell"]
    assert sold and all(round(v, 2) == v for v in sold)


def _trades(result) -> list[tuple[str, str, str, float]]:
    cols = result.trade_columns()
    return list(zip(cols["account_id"], cols["symbol"], cols["side"], cols["shares"],
                    strict=True))


@pytest.mark.parametrize(("tracking_weight", "expected", "tax"), [
    # The LP sells 0.6 share ($300,000). In whole shares: holding costs 0.10 x $600,000
    # of deviation = $60,000; selling one share (gain $166,667 at 20 % = $33,333) and
    # buying $500,000 of bonds leaves $400,000 of deviation ($40,000): $73,333. Hold.
    (0.10, [], 0.0),
    # At 0.30 the same comparison is $180,000 against $120,000 + $33,333: sell one.
    (0.30, [("tx", "BIG", "sell", 1.0), ("tx", "BD", "buy", 50_000.0)], 33_333.33),
])
def test_half_million_dollar_share(tracking_weight, expected, tax):
    """3 whole shares at $500,000 in taxable (basis $1M), $500,000 of bonds in the IRA:
    the whole-share plan is the best one in whole shares, not the LP's 0.6 share rounded
    up (rounding moves a quarter of the household, so the repair MIP decides)."""
    result = _check(_household([BIG, BD], [_lot("A", "tx", "BIG", 3, 1_000_000.0),
                                               _lot("B", "ira", "BD", 50_000)],
                                   tracking_weight=tracking_weight))
    assert result.status == "optimal"
    assert _trades(result) == expected
    assert round(result.assessment.est_tax, 2) == tax


def test_one_million_dollar_shares_are_not_rounded_into_a_dominated_plan():
    """3 shares at $1,000,000 (basis $2.5M, long-term) and $10,000 of bonds in one
    taxable account, 60/40. The LP sells 1.194 shares; rounded up that was 2 shares:
    tax $66,667 and $806,000 (26.8 %) idle in cash, drift 0.268. One share costs
    $33,333 (gain $166,667 at 20 %) and leaves drift 0.064 ($2M of $3.01M in equity
    against a 60 % target): it is better on tax and on drift, so the plan sells one."""
    raw = _household([{"symbol": "BIG", "price": 1_000_000.0, "asset_class": "equity"}, BD],
                     [_lot("A", "tx", "BIG", 3, 2_500_000.0),
                      _lot("B", "tx", "BD", 1_000, 10_000.0)])
    raw["accounts"] = raw["accounts"][:1]
    result = _check(raw)
    assert result.status == "optimal"
    assert _trades(result) == [("tx", "BIG", "sell", 1.0), ("tx", "BD", "buy", 100_000.0)]
    assert round(result.assessment.est_tax, 2) == 33_333.33
    assert result.assessment.drift_after[0] == pytest.approx(0.0645, abs=5e-4)


def test_half_million_dollar_share_with_a_tolerance_it_cannot_meet():
    """Equity moves in $500,000 steps, so 60 % +- 1 % of $2M is out of reach: a clear
    status (whole-share rounding cannot keep the tolerance), no orders."""
    result = _check(_household([BIG, BD], [_lot("A", "tx", "BIG", 3, 1_000_000.0),
                                               _lot("B", "ira", "BD", 50_000)],
                                   tolerance=0.01))
    assert result.status == "infeasible"


def test_half_million_dollar_fractional_share():
    """A fractional fund at $500,000 a share: millionths of a share are 50 cents."""
    result = _check(_household([FRAC_BIG, BD], [_lot("A", "tx", "FRB", 3.5, 1_000_000.0),
                                                    _lot("B", "ira", "BD", 50_000)]))
    assert result.status == "optimal"


def test_ten_thousandth_share_lots():
    """Lots of 0.0001 shares (one cent each) of a fractional fund, a whole-share fund
    holding 10.0001 shares, and a real rebalance around them."""
    lots = [_lot(f"F{i}", "tx", "FR", 0.0001, 0.02) for i in range(5)]
    lots += [_lot("W", "tx", "EQ", 10.0001, 2000.0), _lot("X", "tx", "FR", 50.0001, 4000.0),
             _lot("B", "ira", "BD", 100)]
    result = _check(_household([FRAC, EQ, BD], lots, min_trade_value=0.0))
    assert result.status == "optimal"
    assert len(result.orders) > 0


def test_ten_thousandth_share_lot_closed():
    """A lone lot of 0.0001 shares sold at a loss with nothing else: $0.01 of value."""
    result = _check(_household([FRAC, BD], [_lot("F", "tx", "FR", 0.0001, 0.02),
                                                _lot("B", "ira", "BD", 1)],
                                    min_trade_value=0.0))
    assert result.ok


def test_written_shares_keep_the_lot_precision():
    raw = _household([FRAC, BD], [_lot("F1", "tx", "FR", 0.1234567, 20.0),
                                  _lot("B", "ira", "BD", 1)])
    hh = taxopt.from_dict(raw)
    result = taxopt.rebalance(hh)
    assert result.ok and len(result.orders)
    frame = _written(hh, result)
    assert violations(hh, Orders.from_frame(hh, frame)) == []
    assert (frame["shares"] > 0).all()


# --- at taxopt's input limits: a plan or a clear status, never a solver error ---------------

def _at_limits(case: str) -> dict[str, Any]:
    eq = dict(EQ, expected_return=0.07)
    raw = _household([eq, BD], [_lot("A", "tx", "EQ", 100, 6000.0), _lot("B", "ira", "BD", 500)])
    sec, lots, accounts, tp = raw["securities"], raw["lots"], raw["accounts"], raw["tax_profile"]
    if case == "price at the maximum":
        sec[0]["price"] = 1e9
        lots[0].update(shares=900, cost_basis=1e12)
    elif case == "price at the minimum, shares at the maximum":
        sec[1]["price"] = 1e-6
        lots[1]["shares"] = 1e10
    elif case == "shares at the minimum":
        lots.append(_lot("T", "tx", "EQ", 1e-6, 1e-4))
    elif case == "cash at the maximum":
        accounts[1]["cash"] = 1e12 - 20_000
    elif case == "withdrawal at the maximum":
        accounts[0]["cash_flow"] = -1e12
    elif case == "year's results at the maximum":
        tp.update(realized_ytd={"short_term": 1e12, "long_term": -1e12},
                  loss_carryforward={"short_term": 1e12, "long_term": 1e12},
                  ordinary_offset_limit=1e12)
    elif case.startswith("location horizon 50 years"):
        r = 1.0 if case.endswith("+100 %") else -1.0
        for s in sec:
            s["expected_return"] = r
        raw["options"] = {"location_horizon_years": 50, "discount_rate": 0.0,
                          "location_weight": 1.0, "cash_drag_years": 100,
                          "drag_horizon_years": 100}
    elif case == "every option at its maximum":
        raw["options"] = {"tracking_weight": 1e3, "tracking_te_weight": 1e6,
                          "transaction_cost_bps": 1e4, "location_horizon_years": 50,
                          "discount_rate": 1.0, "carryforward_value": 1.0,
                          "min_trade_value": 1e12, "harvest_min_loss": 1e12,
                          "harvest_min_loss_pct": 1.0, "time_limit": 1e6, "mip_rel_gap": 1.0,
                          "max_tax": 1e12, "max_realized_short_term": 1e12,
                          "protect_long_term_days": 36_600}
    return raw


@pytest.mark.parametrize("case", [
    "price at the maximum", "price at the minimum, shares at the maximum",
    "shares at the minimum", "cash at the maximum", "withdrawal at the maximum",
    "year's results at the maximum", "location horizon 50 years at +100 %",
    "location horizon 50 years at -100 %", "every option at its maximum",
])
def test_households_at_the_input_limits_solve(case):
    """Every magnitude at its limit (taxopt/limits.py) gives an audited plan or a clear
    status; beyond the limits validation refuses (the bad-input catalogue). Before the
    limits, 1e308 prices ended as 'solver error (Empty)' and 1e6-year horizons as an
    OverflowError."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)   # no overflow on the way
        result = _check(_at_limits(case))
    assert result.status in ("optimal", "feasible", "infeasible"), result.message
    if case == "withdrawal at the maximum":
        assert result.status == "infeasible"
    else:
        assert result.ok
