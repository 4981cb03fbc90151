"""Option keywords of the embedding API are refused by name, as in a scenario file.

A misspelt knob passed to `taxopt.rebalance` or `Household.with_options` must say
which option is unknown (`InvalidOptions`, exit code 2 in the CLI), not end on the
dataclass's bare TypeError.
"""

from __future__ import annotations

import pytest

import taxopt

KNOWN = ("adapter, carryforward_value, cash_drag_years, discount_rate, drag_horizon_years, "
         "harvest_min_loss, harvest_min_loss_pct, location_horizon_years, location_weight, "
         "lot_relief, max_realized_long_term, max_realized_short_term, max_tax, "
         "min_trade_value, mip_rel_gap, no_short_term_gains, protect_long_term_days, "
         "recapture_horizon_years, solver, tax_model, time_limit, tracking, "
         "tracking_te_weight, tracking_weight, transaction_cost_bps")


def _household() -> taxopt.Household:
    return taxopt.from_dict({
        "format": "taxopt.household/1", "household_id": "kw", "as_of": "2026-11-24",
        "tax_profile": {"short_term_rate": 0.40, "long_term_rate": 0.20},
        "securities": [{"symbol": "AAA", "price": 100.0, "asset_class": "us_equity"}],
        "goals": [{"goal_id": "g", "targets": {"us_equity": 1.0}}],
        "accounts": [{"account_id": "tx", "goal_id": "g", "tax_type": "taxable",
                      "cash": 100.0}],
        "lots": [],
    })


def test_rebalance_names_an_unknown_keyword():
    with pytest.raises(taxopt.InvalidOptions) as err:
        taxopt.rebalance(_household(), bad_kw=1)
    assert str(err.value) == ("household kw: options: field 'bad_kw': unknown option; "
                              f"known options are {KNOWN}")


def test_with_options_names_an_unknown_keyword_and_the_household():
    with pytest.raises(taxopt.InvalidOptions) as err:
        _household().with_options(tracking_wieght=0.2)
    assert str(err.value) == ("household kw: options: field 'tracking_wieght': unknown "
                              f"option; known options are {KNOWN}")


def test_a_keyword_out_of_range_names_the_household():
    with pytest.raises(taxopt.InvalidOptions) as err:
        taxopt.rebalance(_household(), time_limit=-1)
    assert str(err.value) == ("household kw: options: field 'time_limit': must be a "
                              "finite number > 0, got -1")


def test_a_scenario_s_unknown_option_reads_the_same():
    raw_error = None
    try:
        taxopt.Options.from_dict({"bad_kw": 1}, "kw")
    except taxopt.InvalidOptions as err:
        raw_error = str(err)
    assert raw_error == ("household kw: options: field 'bad_kw': unknown option; "
                         f"known options are {KNOWN}")
