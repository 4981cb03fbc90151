"""Shared fixtures: a small hand-built household that tests tweak field by field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.json"))


def base_household() -> dict[str, Any]:
    """Two accounts, one goal, round numbers so every expected value is computable by hand.

    taxable: 120 EQ @ $100 in lots A (long-term gain) and B (short-term loss);
    IRA: 500 BD @ $10. The lots below carry their gains in comments.
    """
    return {
        "format": "taxopt.household/1",
        "household_id": "hh-test",
        "as_of": "2026-11-24",
        "tax_profile": {"short_term_rate": 0.40, "long_term_rate": 0.20},
        "securities": [
            {"symbol": "EQ", "price": 100.0, "asset_class": "equity"},
            {"symbol": "EQ2", "price": 50.0, "asset_class": "equity", "wash_group": "eq2"},
            {"symbol": "BD", "price": 10.0, "asset_class": "bonds"},
        ],
        "goals": [{"goal_id": "g", "targets": {"equity": 0.6, "bonds": 0.4}}],
        "accounts": [
            {"account_id": "tx", "goal_id": "g", "tax_type": "taxable", "cash": 0.0},
            {"account_id": "ira", "goal_id": "g", "tax_type": "tax_deferred", "cash": 0.0},
        ],
        "lots": [
            # long-term gain: 100 sh, basis $6,000, value $10,000, gain $4,000
            {"lot_id": "A", "account_id": "tx", "symbol": "EQ", "shares": 100,
             "cost_basis": 6000.0, "acquired": "2020-01-15"},
            # short-term loss: 20 sh, basis $2,400, value $2,000, loss $400
            {"lot_id": "B", "account_id": "tx", "symbol": "EQ", "shares": 20,
             "cost_basis": 2400.0, "acquired": "2026-06-01"},
            {"lot_id": "C", "account_id": "ira", "symbol": "BD", "shares": 500},
        ],
        "options": {},
    }


@pytest.fixture
def raw() -> dict[str, Any]:
    return copy.deepcopy(base_household())
