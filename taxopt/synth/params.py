"""The documented parameters of the generator: one source for the code and for
`DISTRIBUTIONS`, which the README's table is made from."""

from __future__ import annotations

from typing import Any

import numpy as np

from .universe import CLASSES

VALUE_MEDIAN, VALUE_SIGMA, VALUE_CLIP = 600_000.0, 0.9, (20_000.0, 20_000_000.0)
SPLIT_ALPHA, SPLIT_FLOOR = 2.0, 0.1
AGE_RANGE, GLIDE = (25, 80), (1.15, 0.40, 0.90)  # equity = clip(a - age/100, lo, hi)
US_SHARE, REIT_P, REIT_W = 0.7, 0.4, 0.05
DRIFT_SPREAD, MIX_CONCENTRATION = (0.75, 1.25), 400.0
TAXABLE_LOT_SHARE = 0.7
P_TWO_FUNDS, P_MULTI, P_LEGACY = 0.25, 0.2, 0.25
DAYS_RANGE = (31, 3652)
TURNING_LOTS = (1, 3)
GROWTH, VOL = 0.07, 0.25
P_BASIS_NONTAXABLE = 0.5
CASH_MAX = 0.03
P_MIN_CASH, MIN_CASH_STEPS, MIN_CASH_MAX_SHARE = 0.4, (100, 500, 50), 0.25
P_DEPOSIT, P_WITHDRAWAL, FLOW_RANGE = 0.15, 0.10, (0.01, 0.10)
P_BAND, BAND_HI, BAND_MARGIN = 0.3, (0.10, 0.15, 0.20, 0.30), 0.02
P_MENU, MENU_SIZE = 0.6, (3, 5)
P_RESTRICTED = 0.2
RECENT_MAX, RECENT_DAYS, RECENT_GAIN_SD = 2, 30, 0.12
BRACKETS = ((0.22, 0.15), (0.24, 0.15), (0.32, 0.15), (0.35, 0.188), (0.408, 0.238))
BRACKET_P = (0.15, 0.30, 0.25, 0.15, 0.15)
P_NO_STATE, STATE_RANGE = 0.3, (0.03, 0.093)
P_YTD_ST, P_YTD_LT, P_CARRY = 0.3, 0.5, 0.15
P_TOLERANCE, TOL_RANGE = 0.8, (0.03, 0.06)

DISTRIBUTIONS: dict[str, dict[str, Any]] = {
    "securities": {
        "law": "fixed universe of 24 funds",
        "classes": list(CLASSES),
        "note": "munis (tax_exempt) and cash-like T-bill funds are class us_bonds; funds on "
        "the same index share a wash_group; 2 multi-class funds; mutual funds fractional; "
        "AGTHX tradable false",
    },
    "household_value": {
        "law": "lognormal", "median": VALUE_MEDIAN, "sigma": VALUE_SIGMA,
        "clip": list(VALUE_CLIP),
    },
    "account_types": {
        "law": "cycle", "order": ["taxable", "tax_deferred", "tax_free"],
        "note": "first account always taxable, then the cycle repeats",
    },
    "account_split": {
        "law": "floor/n + (1 - floor) * Dirichlet(alpha)", "alpha": SPLIT_ALPHA,
        "floor": SPLIT_FLOOR,
    },
    "targets": {
        "law": "glide path", "age": list(AGE_RANGE),
        "equity": "clip(1.15 - age/100, 0.40, 0.90), 1 % steps", "us_share_of_equity": US_SHARE,
        "reit": {"p": REIT_P, "weight": REIT_W}, "bonds": "remainder (exact thousandths)",
    },
    "drift": {
        "law": "targets + zero-sum perturbation, largest component drift * U(lo, hi)",
        "spread": list(DRIFT_SPREAD), "account_mix": f"Dirichlet({MIX_CONCENTRATION:g} * w)",
    },
    "lots": {
        "taxable_share": TAXABLE_LOT_SHARE, "funds_per_class": {"1": 0.75, "2": P_TWO_FUNDS},
        "p_multi_class_fund": P_MULTI, "p_legacy_fund_in_taxable": P_LEGACY,
        "lot_size": "Gamma(1) shares of the position",
        "acquired_days_ago": {"law": "uniform integer", "range": list(DAYS_RANGE)},
        "turning_long_term_within_10_days": {"taxable_lots": list(TURNING_LOTS),
                                             "note": "at a gain"},
        "cost_basis": "value * exp(-r), r ~ Normal(0.07 * years, 0.25 * sqrt(years))",
        "growth": GROWTH, "volatility": VOL, "loss_share_measured": 0.275,
        "short_term_share_measured": 0.11,
        "shares": "whole >= 1 (non-fractional) or 4 decimals (fractional)",
        "p_basis_in_nontaxable_account": P_BASIS_NONTAXABLE,
    },
    "cash": {"law": "uniform share of account value", "range": [0.0, CASH_MAX]},
    "min_cash": {
        "p_taxable": P_MIN_CASH,
        "values": list(range(MIN_CASH_STEPS[0], MIN_CASH_STEPS[1] + 1, MIN_CASH_STEPS[2])),
        "max_share_of_account": MIN_CASH_MAX_SHARE,
    },
    "cash_flow": {
        "p_deposit": P_DEPOSIT, "p_withdrawal": P_WITHDRAWAL,
        "share_of_account": list(FLOW_RANGE),
        "note": "one account; a withdrawal never exceeds value - min_cash - frozen lots",
    },
    "bands": {
        "p": P_BAND, "class": "us_bonds", "lo": 0.0, "hi": list(BAND_HI),
        "account": "first taxable", "margin": BAND_MARGIN,
        "note": "only when frozen bonds fit and the other accounts can hold the excess bonds",
    },
    "allowed": {
        "p_tax_deferred": P_MENU, "size": list(MENU_SIZE),
        "note": "tradable, non-muni; a single-class fund of every target class",
    },
    "restricted": {"p_household": P_RESTRICTED, "symbols": 1, "note": "never a menu symbol"},
    "recent_trades": {
        "count": "uniform 0..2", "days_ago": [1, RECENT_DAYS],
        "buy": "an existing lot re-dated (small gain)",
        "sell": "taxable, a held fund, realized_gain = value * Normal(0, 0.12)",
    },
    "tax_profile": {
        "federal_pairs": [list(p) for p in BRACKETS], "p": list(BRACKET_P),
        "state": {"p_zero": P_NO_STATE, "range": list(STATE_RANGE)},
        "realized_ytd": {"p_short_term": P_YTD_ST, "p_long_term": P_YTD_LT,
                         "short_term": "Normal(0, 1 % of value)",
                         "long_term": "Normal(0.5 %, 2 %) of value"},
        "loss_carryforward": {"p_each_term": P_CARRY, "law": "U(0, 2 %) of value"},
        "ordinary_offset_limit": 3000.0,
    },
    "drift_tolerance": {
        "p": P_TOLERANCE, "range": list(TOL_RANGE),
        "rule": "written only when the clean-fund witness (module docstring) exists: frozen "
        "short-term-gain lots kept, everything else re-bought in clean funds, whole shares and "
        "min_cash within half the tolerance",
    },
}

BRACKET_CDF = np.cumsum(BRACKET_P).tolist()
