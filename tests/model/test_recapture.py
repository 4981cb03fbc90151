"""`recapture_horizon_years` (off by default): the objective counts that a realization's
tax comes back at liquidation; the year's tax (est_tax, max_tax) does not change meaning.

One taxable account must raise a $2,000 withdrawal from EQ @ $100 by selling one of
two 20-share lots (rates 40 % short-term, 20 % long-term, nothing realized yet):
  A: long-term,  basis $1,000 -> gain $1,000: the year's tax 0.20 * 1,000 = $200
  B: short-term, basis $1,600 -> gain   $400: the year's tax 0.40 *   400 = $160
The year's tax alone (recapture_horizon_years None) sells B ($40 less tax). With a
liquidation T years out at 4 %, each dollar realized now is taxed a dollar less then:
r = 0.20 / 1.04 ** T per dollar.
  T = 10: r = 0.20 / 1.480244 = 0.135113; A costs 200 - 1,000 r = $64.89,
          B costs 160 - 400 r = $105.95: A is $41.07 cheaper and is sold.
  T = 30: r = 0.20 / 3.243398 = 0.061664; A $138.34, B $135.33: B is still sold.
(The exact model adds a tie-break of 0.001 x 0.40 per dollar of gain: A $0.40, B $0.16.)
(A flips to cheaper once 600 r > 40, r > 0.0667.)
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import taxopt
from taxopt.adapters import solve_program
from taxopt.audit import violations
from taxopt.errors import InvalidOptions
from taxopt.model import build
from taxopt.options import Options

HH = {
    "format": "taxopt.household/1",
    "household_id": "hh-recapture",
    "as_of": "2026-11-24",
    "tax_profile": {"short_term_rate": 0.40, "long_term_rate": 0.20},
    "securities": [{"symbol": "EQ", "price": 100.0, "asset_class": "equity"}],
    "goals": [{"goal_id": "g", "targets": {"equity": 1.0}}],
    "accounts": [{"account_id": "tx", "goal_id": "g", "tax_type": "taxable", "cash": 0.0,
                  "cash_flow": -2000.0}],
    "lots": [
        {"lot_id": "A", "account_id": "tx", "symbol": "EQ", "shares": 20,
         "cost_basis": 1000.0, "acquired": "2020-01-02"},
        {"lot_id": "B", "account_id": "tx", "symbol": "EQ", "shares": 20,
         "cost_basis": 1600.0, "acquired": "2026-01-05"},
    ],
}
R10 = 0.20 / 1.04 ** 10


def _household(**options):
    raw = copy.deepcopy(HH)
    raw["options"] = options
    return taxopt.from_dict(raw)


def _sold(**options):
    hh = _household(**options)
    result = taxopt.rebalance(hh)
    assert result.status == "optimal", result.message
    assert violations(hh, result.orders) == []
    sold = {r.lot_id: r.shares for r in result.trades().itertuples() if r.side == "sell"}
    return result, sold


def _objective_if_selling(lot: str, **options) -> dict[str, float]:
    """Every objective term, in dollars, with the sales fixed to the whole lot ``lot``."""
    hh = _household(**options)
    model = build(hh)
    prog, lay = model.program, model.context.layout
    sell = prog.vars["sell"]
    lot_ids = np.asarray(hh.lots.lot_id)
    fixed = np.where(lot_ids[lay.unit_lot] == lot, 2000.0, 0.0)
    sell.lb[:] = fixed
    sell.ub[:] = fixed
    return prog.evaluate(solve_program(prog, hh.options).x)


@pytest.mark.parametrize("none", [None, "none", "NULL"])
def test_off_by_default_and_none_sells_the_cheaper_tax_and_adds_no_term(none):
    # Heirs with a step-up in basis, or shares to be donated: no liquidation tax to
    # recapture. B's year's tax 0.40 * 400 = $160 beats A's $200. "none" is how TOML
    # and --set, which have no null, say it.
    assert Options().recapture_horizon_years is None
    assert Options.from_dict({}).recapture_horizon_years is None
    assert Options.from_dict({"recapture_horizon_years": none}).recapture_horizon_years is None
    result, sold = _sold(recapture_horizon_years=none)
    assert sold == {"B": 20.0}
    assert result.summary()["est_tax"] == 160.00
    assert "recapture" not in build(_household(recapture_horizon_years=none)).program.terms
    assert "recapture" not in build(_household()).program.terms
    assert "recapture" in build(_household(recapture_horizon_years=10)).program.terms


@pytest.mark.parametrize("tax_model", ["exact", "lot"])
def test_ten_years_sells_the_long_term_gain_and_reports_the_years_tax(tax_model):
    result, sold = _sold(recapture_horizon_years=10, tax_model=tax_model)
    assert sold == {"A": 20.0}
    assert result.summary()["est_tax"] == 200.00        # the year's tax, not 64.89
    a = _objective_if_selling("A", recapture_horizon_years=10, tax_model=tax_model)
    b = _objective_if_selling("B", recapture_horizon_years=10, tax_model=tax_model)
    assert a["tax"] == pytest.approx(200.0, abs=1e-6)
    assert b["tax"] == pytest.approx(160.0, abs=1e-6)
    assert a["recapture"] == pytest.approx(-135.1128, abs=1e-4)    # -1,000 * R10
    assert b["recapture"] == pytest.approx(-54.0451, abs=1e-4)     # -400 * R10
    assert -1000 * R10 == pytest.approx(-135.1128, abs=1e-4)
    # the whole objective: every other term is the same for either lot (same shares,
    # same price, same cash), so A is cheaper by (200 - 135.11) - (160 - 54.05) = -41.07
    # (-40.83 with the exact model's tie-break, 0.40 - 0.16)
    tiebreak = 0.24 if tax_model == "exact" else 0.0
    assert sum(a.values()) - sum(b.values()) == pytest.approx(-41.0677 + tiebreak, abs=1e-4)


def test_thirty_years_is_too_far_for_the_long_term_gain_to_win():
    _, sold = _sold(recapture_horizon_years=30)
    assert sold == {"B": 20.0}
    a = _objective_if_selling("A", recapture_horizon_years=30)
    b = _objective_if_selling("B", recapture_horizon_years=30)
    # (200 - 61.66) - (160 - 24.67) + 0.24 (tie-break) = +3.24: B stays cheaper
    assert sum(a.values()) - sum(b.values()) == pytest.approx(3.0018 + 0.24, abs=1e-4)


def test_max_tax_still_caps_the_years_tax():
    # A's objective is lower, but any share of A instead of B adds $2 to the year's tax
    # ($10 against $8 a share): a $160 cap on the year's tax leaves B alone. (Had the
    # cap read the objective's tax net of recapture, A would be sold: $64.89.)
    result, sold = _sold(recapture_horizon_years=10, max_tax=160.0)
    assert sold == {"B": 20.0}
    assert result.summary()["est_tax"] == 160.00


def test_a_word_other_than_none_is_refused_naming_the_option():
    with pytest.raises(InvalidOptions) as err:
        _household(recapture_horizon_years="off")
    assert str(err.value) == ("household hh-recapture: options: field "
                              "'recapture_horizon_years': must be a number, got 'off'")


def test_a_negative_horizon_is_refused_naming_the_option():
    with pytest.raises(InvalidOptions) as err:
        _household(recapture_horizon_years=-1)
    assert str(err.value) == ("household hh-recapture: options: field "
                              "'recapture_horizon_years': must be a finite number >= 0, got -1")


def test_the_summary_says_the_recapture_assumption_and_none_says_nothing():
    # r = 0.20 / 1.04 ** 10 = 0.1351 (module docstring); a knob that moves every
    # taxable sale's price in the objective is said, as the protection price is.
    def said(result) -> list[str]:
        return [s for s in result.summary()["assumptions"] if s.startswith("recapture")]

    result, _ = _sold(recapture_horizon_years=10)
    assert said(result) == [
        "recapture_horizon_years 10: proceeds are reinvested and a liquidation 10 years "
        "out taxes back the basis difference, so each dollar of realized gain is credited "
        "0.1351 in the objective (long-term rate 0.2 discounted at 0.04; a loss charged "
        "it); est_tax is the year's tax (null: the year's tax alone)"]
    assert said(_sold()[0]) == []


def test_set_none_on_the_command_line_turns_it_off(tmp_path):
    # `taxopt solve --set recapture_horizon_years=none`: B, at the year's $160 (not A's $200)
    import json

    from click.testing import CliRunner

    from taxopt.cli import cli

    path = tmp_path / "hh.json"
    path.write_text(json.dumps(HH))
    for value, lot, tax in (("none", "B", 160.0), ("null", "B", 160.0), ("10", "A", 200.0)):
        out = tmp_path / f"out-{value}"
        res = CliRunner().invoke(cli, ["solve", str(path), "--out", str(out), "--quiet",
                                       "--set", f"recapture_horizon_years={value}"])
        assert res.exit_code == 0, res.output
        summary = json.loads((out / "summary.json").read_text())
        trades = (out / "trades.csv").read_text().splitlines()
        assert [line.split(",")[7] for line in trades[1:]] == [lot]
        assert summary["est_tax"] == tax
