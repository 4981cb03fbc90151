"""Fixtures of the embedding API tests: one typical household, loaded once."""

from __future__ import annotations

from pathlib import Path

import pytest

import taxopt

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "three_account_location.json"


@pytest.fixture(scope="session")
def hh() -> taxopt.Household:
    return taxopt.load(SCENARIO)


@pytest.fixture(scope="session")
def engine_result(hh: taxopt.Household) -> taxopt.Result:
    return taxopt.rebalance(hh)
