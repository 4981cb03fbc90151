"""Every heuristic's orders pass the audit on every bundled scenario, except the
violations its rule cannot avoid, which are listed here exactly (kind, where, class)."""

from __future__ import annotations

import re

import pytest

import taxopt
from taxopt.audit import violations
from taxopt.heuristics import HEURISTICS

from ..conftest import SCENARIOS

BAND = re.compile(r"^account (\S+): (\S+) is .* outside its band")
TOL = re.compile(r"^goal (\S+): (\S+) weight .* from target")

# What each heuristic genuinely cannot satisfy, and why:
# - cash_flow_only makes no sale but for a withdrawal, so a drifted household
#   without new money stays outside its tolerance (and a broken band stays broken).
# - lockstep keeps each account at the goal's mix, squeezed into its bands: on
#   three_account_location the taxable us_bonds band [0, 0.15] (target 25 %) leaves
#   the goal short of bonds, and lockstep never moves the shortfall to the IRA/Roth.
# - threshold_5_25 trades nothing on three_account_location: no class is outside
#   5 points / 25 % (intl is 4 points and 20 % under), but the tolerance is 3 %;
#   the taxable band was already broken before any trade.
# - rule_of_thumb_locator on plan_401k_menu harvests the taxable BND loss (losses
#   first), which blocks VBTIX, the 401k's only bond fund (same wash group): the
#   401k falls back to VTIVX (a target-date fund, 18 % bonds), which cannot lift
#   its bonds to the band floor of 30 % nor the goal's bonds to target (and so
#   does proportional_sourcing, which trades as the locator).
EXPECTED: dict[tuple[str, str], list[tuple[str, str, str]]] = {
    ("direct_indexing_500", "cash_flow_only"): [("tolerance", "retirement", "us_equity")],
    ("loss_harvest_wash_trap", "cash_flow_only"): [("tolerance", "growth", "us_equity")],
    ("multi_asset_fund", "cash_flow_only"): [("tolerance", "retirement", "intl_equity"),
                                             ("tolerance", "retirement", "us_equity")],
    ("plan_401k_menu", "rule_of_thumb_locator"): [("band", "acme-401k", "us_bonds"),
                                                  ("tolerance", "retirement", "intl_equity"),
                                                  ("tolerance", "retirement", "us_bonds"),
                                                  ("tolerance", "retirement", "us_equity")],
    ("plan_401k_menu", "proportional_sourcing"): [("band", "acme-401k", "us_bonds"),
                                                  ("tolerance", "retirement", "intl_equity"),
                                                  ("tolerance", "retirement", "us_bonds"),
                                                  ("tolerance", "retirement", "us_equity")],
    ("plan_401k_menu", "cash_flow_only"): [("band", "acme-401k", "us_bonds"),
                                           ("tolerance", "retirement", "intl_equity"),
                                           ("tolerance", "retirement", "us_bonds"),
                                           ("tolerance", "retirement", "us_equity")],
    ("tax_wash_matching", "cash_flow_only"): [("tolerance", "retirement", "intl_equity"),
                                              ("tolerance", "retirement", "us_equity")],
    ("taxable_only", "cash_flow_only"): [("tolerance", "growth-60-40", "us_bonds"),
                                         ("tolerance", "growth-60-40", "us_equity")],
    ("three_account_location", "lockstep_fifo"): [("tolerance", "retirement", "us_bonds"),
                                                  ("tolerance", "retirement", "us_equity")],
    ("three_account_location", "lockstep_hifo"): [("tolerance", "retirement", "us_bonds"),
                                                  ("tolerance", "retirement", "us_equity")],
    ("three_account_location", "threshold_5_25"): [("band", "joint-brokerage", "us_bonds"),
                                                   ("tolerance", "retirement", "intl_equity")],
    ("three_account_location", "cash_flow_only"): [("band", "joint-brokerage", "us_bonds"),
                                                   ("tolerance", "retirement", "intl_equity")],
}


def kinds(messages: list[str]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for m in messages:
        if (g := BAND.match(m)):
            out.append(("band", g[1], g[2]))
        elif (g := TOL.match(m)):
            out.append(("tolerance", g[1], g[2]))
        else:
            out.append(("hard rule", m))
    return out


FEASIBLE = [p for p in SCENARIOS if p.stem != "infeasible"]


@pytest.fixture(scope="module", params=FEASIBLE, ids=lambda p: p.stem)
def household(request):
    return taxopt.load(request.param)


@pytest.mark.parametrize("method", list(HEURISTICS))
def test_heuristic_orders_pass_the_audit(household, method):
    orders = HEURISTICS[method](household)
    got = kinds(violations(household, orders))
    assert got == EXPECTED.get((household.household_id, method), [])


def test_registry_names():
    assert list(HEURISTICS) == ["lockstep_fifo", "lockstep_hifo", "threshold_5_25",
                                "rule_of_thumb_locator", "cash_flow_only",
                                "proportional_sourcing"]


@pytest.mark.parametrize("method", list(HEURISTICS))
def test_heuristics_are_deterministic(method):
    hh = taxopt.load(FEASIBLE[0])
    a, b = HEURISTICS[method](hh), HEURISTICS[method](hh)
    for field in ("account", "security", "is_buy", "shares", "lot"):
        assert getattr(a, field).tolist() == getattr(b, field).tolist()
