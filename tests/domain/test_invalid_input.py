"""The catalogue of bad input: each case asserts the exact one-line message users see.

A message names the household, the record and the field at fault, then the problem:
``household <id>: <record>: field '<field>': <problem>``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

import taxopt.domain.load as load
from taxopt.cli import cli
from taxopt.domain import from_dict, from_file, from_json
from taxopt.errors import InvalidInput, InvalidOptions
from taxopt.options import Options

from ..conftest import base_household

HH = "household hh-test"
# Every knob of Options, sorted (the list grows as knobs are added; the message lists them all).
KNOWN_OPTIONS = ", ".join(sorted(f.name for f in fields(Options)))


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation that sets raw[a][0][b]... given 'a.0.b'."""
    *head, last = [int(p) if p.isdigit() else p for p in path.split(".")]

    def mutate(raw: dict[str, Any]) -> None:
        node: Any = raw
        for key in head:
            node = node[key]
        node[last] = value
    return mutate


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    *head, last = [int(p) if p.isdigit() else p for p in path.split(".")]

    def mutate(raw: dict[str, Any]) -> None:
        node: Any = raw
        for key in head:
            node = node[key]
        del node[last]
    return mutate


def _exposures(exposures: dict[str, float], keep_class: bool = False):
    def mutate(raw: dict[str, Any]) -> None:
        bd = raw["securities"][2]
        if not keep_class:
            del bd["asset_class"]
        bd["exposures"] = exposures
    return mutate


def _recent(**trade: Any):
    def mutate(raw: dict[str, Any]) -> None:
        raw["recent_trades"] = [{"account_id": "tx", "symbol": "EQ", "side": "buy",
                                 "shares": 1, "date": "2026-11-01", **trade}]
    return mutate


def _extra_goal(raw: dict[str, Any]) -> None:
    raw["goals"].append({"goal_id": "college", "targets": {"equity": 1.0}})


CASES = [
    # --- missing required fields --------------------------------------------------------
    ("missing price", _drop("securities.0.price"),
     f"{HH}: securities[0] (symbol EQ): field 'price': required field is missing"),
    ("missing as_of", _drop("as_of"),
     f"{HH}: household: field 'as_of': required field is missing"),
    ("missing tax rate", _drop("tax_profile.short_term_rate"),
     f"{HH}: tax_profile: field 'short_term_rate': required field is missing"),
    ("missing account tax_type", _drop("accounts.1.tax_type"),
     f"{HH}: accounts[1] (account_id ira): field 'tax_type': required field is missing"),
    ("missing household_id", _drop("household_id"),
     "input: household: field 'household_id': required field is missing"),
    ("missing format", _drop("format"),
     f"{HH}: household: field 'format': required field is missing"),
    # --- unknown fields -------------------------------------------------------------------
    ("unknown top-level field", _set("notes", "x"),
     f"{HH}: household: field 'notes': unknown field"),
    ("unknown lot field", _set("lots.0.basis", 6000.0),
     f"{HH}: lots[0] (lot_id A): field 'basis': unknown field"),
    ("unknown tax_profile field", _set("tax_profile.city_rate", 0.05),
     f"{HH}: tax_profile: field 'city_rate': unknown field"),
    # --- wrong types ------------------------------------------------------------------------
    ("string price", _set("securities.0.price", "100"),
     f"{HH}: securities[0] (symbol EQ): field 'price': Input should be a valid number, "
     "got '100'"),
    ("string shares", _set("lots.1.shares", "20"),
     f"{HH}: lots[1] (lot_id B): field 'shares': Input should be a valid number, got '20'"),
    ("bool price", _set("securities.0.price", True),
     f"{HH}: securities[0] (symbol EQ): field 'price': Input should be a valid number, "
     "got True"),
    ("string realized_ytd", _set("tax_profile.realized_ytd", {"short_term": "1000"}),
     f"{HH}: tax_profile: field 'realized_ytd.short_term': Input should be a valid number, "
     "got '1000'"),
    ("rate given in percent", _set("tax_profile.short_term_rate", 40),
     f"{HH}: tax_profile: field 'short_term_rate': Input should be less than or equal to 1, "
     "got 40"),
    ("unknown tax_type", _set("accounts.0.tax_type", "roth"),
     f"{HH}: accounts[0] (account_id tx): field 'tax_type': Input should be 'taxable', "
     "'tax_deferred' or 'tax_free', got 'roth'"),
    ("bad date", _set("lots.0.acquired", "15/01/2020"),
     f"{HH}: lots[0] (lot_id A): field 'acquired': expected an ISO date YYYY-MM-DD, "
     "got '15/01/2020'"),
    ("NaN price from Python", _set("securities.0.price", float("nan")),
     f"{HH}: securities[0] (symbol EQ): field 'price': Input should be a finite number, "
     "got nan"),
    # --- ranges -------------------------------------------------------------------------------
    ("zero price", _set("securities.0.price", 0),
     f"{HH}: securities[0] (symbol EQ): field 'price': Input should be greater than 0, got 0"),
    ("negative price", _set("securities.2.price", -10.0),
     f"{HH}: securities[2] (symbol BD): field 'price': Input should be greater than 0, "
     "got -10.0"),
    ("negative shares", _set("lots.0.shares", -100),
     f"{HH}: lots[0] (lot_id A): field 'shares': Input should be greater than 0, got -100"),
    ("negative basis", _set("lots.1.cost_basis", -2400.0),
     f"{HH}: lots[1] (lot_id B): field 'cost_basis': Input should be greater than or equal "
     "to 0, got -2400.0"),
    ("negative cash", _set("accounts.0.cash", -1.0),
     f"{HH}: accounts[0] (account_id tx): field 'cash': Input should be greater than or equal "
     "to 0, got -1.0"),
    ("future acquired", _set("lots.1.acquired", "2026-11-25"),
     f"{HH}: lots[1] (lot_id B): field 'acquired': 2026-11-25 is after as_of 2026-11-24"),
    ("future recent trade", _recent(date="2026-11-25"),
     f"{HH}: recent_trades[0]: field 'date': 2026-11-25 is after as_of 2026-11-24"),
    # --- identity and references --------------------------------------------------------------
    ("duplicate lot_id", _set("lots.2.lot_id", "A"),
     f"{HH}: lots[2] (lot_id A): field 'lot_id': duplicate lot_id; it is already used by "
     "lots[0]"),
    ("duplicate symbol", _set("securities.1.symbol", "EQ"),
     f"{HH}: securities[1] (symbol EQ): field 'symbol': duplicate symbol; it is already used "
     "by securities[0]"),
    ("duplicate account_id", _set("accounts.1.account_id", "tx"),
     f"{HH}: accounts[1] (account_id tx): field 'account_id': duplicate account_id; it is "
     "already used by accounts[0]"),
    ("lot in unknown account", _set("lots.0.account_id", "joint"),
     f"{HH}: lots[0] (lot_id A): field 'account_id': unknown account 'joint'"),
    ("lot of unknown symbol", _set("lots.0.symbol", "VTI"),
     f"{HH}: lots[0] (lot_id A): field 'symbol': unknown symbol 'VTI'"),
    ("account of unknown goal", _set("accounts.1.goal_id", "college"),
     f"{HH}: accounts[1] (account_id ira): field 'goal_id': unknown goal 'college'"),
    ("recent trade of unknown symbol", _recent(symbol="VTI"),
     f"{HH}: recent_trades[0]: field 'symbol': unknown symbol 'VTI'"),
    # --- goals, bands, menus ------------------------------------------------------------------
    ("targets not summing to 1", _set("goals.0.targets", {"equity": 0.6, "bonds": 0.3}),
     f"{HH}: goals[0] (goal_id g): field 'targets': targets must sum to 1, they sum to 0.9"),
    ("target class no security has",
     _set("goals.0.targets", {"equity": 0.5, "bonds": 0.4, "gold": 0.1}),
     f"{HH}: goals[0] (goal_id g): field 'targets.gold': asset class 'gold' is not the class "
     "of any security"),
    ("band lo > hi", _set("accounts.0.bands", {"bonds": [0.5, 0.1]}),
     f"{HH}: accounts[0] (account_id tx): field 'bands.bonds': band for 'bonds' has lo 0.5 > "
     "hi 0.1"),
    ("band on unknown class", _set("accounts.0.bands", {"gold": [0.0, 0.1]}),
     f"{HH}: accounts[0] (account_id tx): field 'bands.gold': asset class 'gold' is not the "
     "class of any security"),
    ("goal with no account", _extra_goal,
     f"{HH}: goals[1] (goal_id college): field 'goal_id': no account belongs to this goal"),
    ("allowed names unknown symbol", _set("accounts.1.allowed", ["BD", "VTI"]),
     f"{HH}: accounts[1] (account_id ira): field 'allowed': unknown symbol 'VTI'"),
    ("restricted names unknown symbol", _set("accounts.0.restricted", ["VTI"]),
     f"{HH}: accounts[0] (account_id tx): field 'restricted': unknown symbol 'VTI'"),
    # --- options and format --------------------------------------------------------------------
    ("unknown option", _set("options", {"tracking_wieght": 0.2}),
     f"{HH}: options: field 'tracking_wieght': unknown option; known options are "
     f"{KNOWN_OPTIONS}"),
    ("option out of range", _set("options", {"tracking_weight": -1}),
     f"{HH}: options: field 'tracking_weight': must be a finite number >= 0, got -1"),
    ("wrong format string", _set("format", "taxopt.household/2"),
     f"{HH}: household: field 'format': expected 'taxopt.household/1', got "
     "'taxopt.household/2'"),
    # --- lots in taxable accounts --------------------------------------------------------------
    ("taxable lot without cost_basis", _drop("lots.0.cost_basis"),
     f"{HH}: lots[0] (lot_id A): field 'cost_basis': required for a lot in a taxable account"),
    ("taxable lot without acquired", _drop("lots.1.acquired"),
     f"{HH}: lots[1] (lot_id B): field 'acquired': required for a lot in a taxable account"),
    # --- securities: one class source -----------------------------------------------------------
    ("exposures not summing to 1", _exposures({"bonds": 0.5, "equity": 0.4}),
     f"{HH}: securities[2] (symbol BD): field 'exposures': 'exposures' must sum to 1, they "
     "sum to 0.9"),
    ("empty exposures", _exposures({}),
     f"{HH}: securities[2] (symbol BD): field 'exposures': 'exposures' is empty"),
    ("both asset_class and exposures", _exposures({"bonds": 1.0}, keep_class=True),
     f"{HH}: securities[2] (symbol BD): field 'exposures': give exactly one of 'asset_class' "
     "or 'exposures', not both"),
    ("neither asset_class nor exposures", _drop("securities.2.asset_class"),
     f"{HH}: securities[2] (symbol BD): field 'asset_class': give exactly one of "
     "'asset_class' or 'exposures'; neither is given"),
    # --- recent trades -----------------------------------------------------------------------
    ("recent sell without realized_gain", _recent(side="sell"),
     f"{HH}: recent_trades[0]: field 'realized_gain': a sell must carry 'realized_gain' "
     "(negative for a loss)"),
    # --- dates: ISO YYYY-MM-DD strings (or real dates), nothing else ------------------------
    ("acquired '0' (was 1970-01-01)", _set("lots.0.acquired", "0"),
     f"{HH}: lots[0] (lot_id A): field 'acquired': expected an ISO date YYYY-MM-DD, "
     "got '0'"),
    ("acquired YYYYMMDD", _set("lots.1.acquired", "20260601"),
     f"{HH}: lots[1] (lot_id B): field 'acquired': expected an ISO date YYYY-MM-DD (for "
     "20260601 write 2026-06-01), got '20260601'"),
    ("acquired YYYYMMDD as a number", _set("lots.1.acquired", 20260601),
     f"{HH}: lots[1] (lot_id B): field 'acquired': expected an ISO date YYYY-MM-DD (for "
     "20260601 write 2026-06-01), got 20260601"),
    ("as_of in Unix seconds", _set("as_of", 1_764_000_000),
     f"{HH}: household: field 'as_of': expected an ISO date YYYY-MM-DD in quotes, not a "
     "number, got 1764000000"),
    ("as_of with a time of day", _set("as_of", "2026-11-24T00:00:00"),
     f"{HH}: household: field 'as_of': expected an ISO date YYYY-MM-DD, got "
     "'2026-11-24T00:00:00'"),
    ("as_of a datetime with a time", _set("as_of", dt.datetime(2026, 11, 24, 9, 30)),
     f"{HH}: household: field 'as_of': expected an ISO date YYYY-MM-DD, not a date with a "
     "time of day, got datetime.datetime(2026, 11, 24, 9, 30)"),
    ("a day February does not have", _set("lots.0.acquired", "2026-02-30"),
     f"{HH}: lots[0] (lot_id A): field 'acquired': not a calendar date (day is out of range "
     "for month), got '2026-02-30'"),
    ("recent trade date in Unix seconds", _recent(date=1_763_000_000),
     f"{HH}: recent_trades[0]: field 'date': expected an ISO date YYYY-MM-DD in quotes, not a "
     "number, got 1763000000"),
    # --- NaN and infinity from Python (JSON text is covered below) ---------------------------
    ("infinite shares", _set("lots.0.shares", float("inf")),
     f"{HH}: lots[0] (lot_id A): field 'shares': Input should be a finite number, got inf"),
    ("NaN cost_basis", _set("lots.1.cost_basis", float("nan")),
     f"{HH}: lots[1] (lot_id B): field 'cost_basis': Input should be a finite number, "
     "got nan"),
    ("-inf cash_flow", _set("accounts.0.cash_flow", float("-inf")),
     f"{HH}: accounts[0] (account_id tx): field 'cash_flow': Input should be a finite "
     "number, got -inf"),
    ("NaN realized_ytd", _set("tax_profile.realized_ytd", {"long_term": float("nan")}),
     f"{HH}: tax_profile: field 'realized_ytd.long_term': Input should be a finite number, "
     "got nan"),
    ("NaN recent realized_gain", _recent(side="sell", realized_gain=float("nan")),
     f"{HH}: recent_trades[0]: field 'realized_gain': Input should be a finite number, "
     "got nan"),
    ("NaN option", _set("options", {"discount_rate": float("nan")}),
     f"{HH}: options: field 'discount_rate': must be a number, got nan"),
    # --- magnitudes: taxopt's limits (taxopt/limits.py), stated in the message -----------------
    ("price 1e308", _set("securities.0.price", 1e308),
     f"{HH}: securities[0] (symbol EQ): field 'price': exceeds taxopt's limit of "
     "1,000,000,000 for prices, got 1e+308"),
    ("price 1e-300", _set("securities.0.price", 1e-300),
     f"{HH}: securities[0] (symbol EQ): field 'price': is below taxopt's limit of 1e-06 for "
     "prices, got 1e-300"),
    ("shares 1e308", _set("lots.0.shares", 1e308),
     f"{HH}: lots[0] (lot_id A): field 'shares': exceeds taxopt's limit of 10,000,000,000 "
     "for share counts, got 1e+308"),
    ("shares 1e-15", _set("lots.0.shares", 1e-15),
     f"{HH}: lots[0] (lot_id A): field 'shares': is below taxopt's limit of 1e-06 for share "
     "counts, got 1e-15"),
    ("recent trade shares 1e308", _recent(shares=1e308),
     f"{HH}: recent_trades[0]: field 'shares': exceeds taxopt's limit of 10,000,000,000 for "
     "share counts, got 1e+308"),
    ("cost_basis 1e13", _set("lots.0.cost_basis", 1e13),
     f"{HH}: lots[0] (lot_id A): field 'cost_basis': exceeds taxopt's limit of "
     "1,000,000,000,000 for money, got 10000000000000.0"),
    ("cash 1e308", _set("accounts.0.cash", 1e308),
     f"{HH}: accounts[0] (account_id tx): field 'cash': exceeds taxopt's limit of "
     "1,000,000,000,000 for money, got 1e+308"),
    ("cash_flow -1e13", _set("accounts.0.cash_flow", -1e13),
     f"{HH}: accounts[0] (account_id tx): field 'cash_flow': is below taxopt's limit of "
     "-1,000,000,000,000 for money, got -10000000000000.0"),
    ("min_cash 1e13", _set("accounts.0.min_cash", 1e13),
     f"{HH}: accounts[0] (account_id tx): field 'min_cash': exceeds taxopt's limit of "
     "1,000,000,000,000 for money, got 10000000000000.0"),
    ("carryforward 1e308", _set("tax_profile.loss_carryforward", {"short_term": 1e308}),
     f"{HH}: tax_profile: field 'loss_carryforward.short_term': exceeds taxopt's limit of "
     "1,000,000,000,000 for money, got 1e+308"),
    ("ordinary_offset_limit 1e13", _set("tax_profile.ordinary_offset_limit", 1e13),
     f"{HH}: tax_profile: field 'ordinary_offset_limit': exceeds taxopt's limit of "
     "1,000,000,000,000 for money, got 10000000000000.0"),
    ("recent realized_gain -1e13", _recent(side="sell", realized_gain=-1e13),
     f"{HH}: recent_trades[0]: field 'realized_gain': is below taxopt's limit of "
     "-1,000,000,000,000 for money, got -10000000000000.0"),
    ("a lot worth more than the money limit",
     lambda raw: (_set("lots.0.shares", 1e10)(raw), _set("securities.0.price", 100.01)(raw)),
     f"{HH}: lots[0] (lot_id A): field 'shares': the lot is worth 1,000,100,000,000 dollars "
     "at its price, over taxopt's limit of 1,000,000,000,000 for money"),
    ("a household worth more than the money limit",
     lambda raw: [a.update(cash=6e11) for a in raw["accounts"]],
     f"{HH}: household: field 'lots': holdings and cash are worth 1,200,000,017,000 dollars, "
     "over taxopt's limit of 1,000,000,000,000 for money"),
    ("location_horizon_years 1e6 (was OverflowError)",
     _set("options", {"location_horizon_years": 1e6}),
     f"{HH}: options: field 'location_horizon_years': exceeds taxopt's limit of 50, got "
     "1000000.0"),
    ("discount_rate 1e308 (was OverflowError)", _set("options", {"discount_rate": 1e308}),
     f"{HH}: options: field 'discount_rate': exceeds taxopt's limit of 1, got 1e+308"),
    ("time_limit 0", _set("options", {"time_limit": 0}),
     f"{HH}: options: field 'time_limit': must be a finite number > 0, got 0"),
    ("time_limit -1", _set("options", {"time_limit": -1}),
     f"{HH}: options: field 'time_limit': must be a finite number > 0, got -1"),
    ("time_limit 1e308", _set("options", {"time_limit": 1e308}),
     f"{HH}: options: field 'time_limit': exceeds taxopt's limit of 1,000,000, got 1e+308"),
    ("max_tax 1e13", _set("options", {"max_tax": 1e13}),
     f"{HH}: options: field 'max_tax': exceeds taxopt's limit of 1,000,000,000,000 for "
     "money, got 10000000000000.0"),
    ("protect_long_term_days 10**6", _set("options", {"protect_long_term_days": 10**6}),
     f"{HH}: options: field 'protect_long_term_days': must be a whole number of days from 0 "
     "to 36,600, got 1000000"),
    ("an option given a huge list", _set("options", {"tracking_weight": [0.1] * 10**6}),
     f"{HH}: options: field 'tracking_weight': must be a number, got a list"),
    # --- ids: printable, not padded, at most 256 characters ------------------------------------
    ("newline in a lot_id", _set("lots.0.lot_id", "A\nerror: forged"),
     f"{HH}: lots[0] (lot_id A\\nerror: forged): field 'lot_id': contains a control "
     "character (U+000A) at position 1; ids must be printable, got 'A\\nerror: forged'"),
    ("ANSI escape in household_id", _set("household_id", "hh\x1b[31mred"),
     "household hh\\x1b[31mred: household: field 'household_id': contains a control "
     "character (U+001B) at position 2; ids must be printable, got 'hh\\x1b[31mred'"),
    ("OSC hyperlink in a symbol", _set("securities.1.symbol", "EQ2\x1b]8;;http://x\x07"),
     f"{HH}: securities[1] (symbol EQ2\\x1b]8;;http://x\\x07): field 'symbol': contains a "
     "control character (U+001B) at position 3; ids must be printable, got "
     "'EQ2\\x1b]8;;http://x\\x07'"),
    ("C1 control in a goal_id", _set("goals.0.goal_id", "g\x9b2J"),
     f"{HH}: goals[0] (goal_id g\\x9b2J): field 'goal_id': contains a control character "
     "(U+009B) at position 1; ids must be printable, got 'g\\x9b2J'"),
    ("right-to-left override in an asset class", _set("securities.0.asset_class", "eq\u202euity"),
     f"{HH}: securities[0] (symbol EQ): field 'asset_class': contains a control character "
     "(U+202E RIGHT-TO-LEFT OVERRIDE) at position 2; ids must be printable, got "
     "'eq\\u202euity'"),
    ("tab in an account_id", _set("accounts.0.account_id", "t\tx"),
     f"{HH}: accounts[0] (account_id t\\tx): field 'account_id': contains a control "
     "character (U+0009) at position 1; ids must be printable, got 't\\tx'"),
    ("trailing space in an account_id", _set("accounts.1.account_id", "ira "),
     f"{HH}: accounts[1] (account_id ira ): field 'account_id': has leading or trailing "
     "whitespace, got 'ira '"),
    ("leading space in a lot's account", _set("lots.2.account_id", " ira"),
     f"{HH}: lots[2] (lot_id C): field 'account_id': has leading or trailing whitespace, "
     "got ' ira'"),
    ("no-break space around a symbol", _set("lots.1.symbol", "EQ\u00a0"),
     f"{HH}: lots[1] (lot_id B): field 'symbol': has leading or trailing whitespace, "
     "got 'EQ\\xa0'"),
    ("control character in a target class", _set("goals.0.targets",
                                                  {"equity": 0.6, "bonds\r": 0.4}),
     f"{HH}: goals[0] (goal_id g): field 'targets.bonds\\r': contains a control character "
     "(U+000D) at position 5; ids must be printable, got 'bonds\\r'"),
    ("padded symbol in an account's menu", _set("accounts.1.allowed", ["BD "]),
     f"{HH}: accounts[1] (account_id ira): field 'allowed': has leading or trailing "
     "whitespace, got 'BD '"),
    ("id longer than 256 characters", _set("lots.0.lot_id", "L" * 300),
     f"{HH}: lots[0] (lot_id {'L' * 80}... (300 characters)): field 'lot_id': String should "
     "have at most 256 characters"),
]


@pytest.mark.parametrize(("mutate", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_household_names_household_record_field(raw, mutate, expected):
    mutate(raw)
    with pytest.raises(InvalidInput) as info:
        from_dict(raw)
    assert info.value.line() == expected
    assert str(info.value) == expected
    assert "\n" not in expected


def test_unknown_option_is_invalid_options(raw):
    raw["options"] = {"tracking_wieght": 0.2}
    with pytest.raises(InvalidOptions) as info:
        from_dict(raw)
    assert (info.value.household, info.value.record, info.value.field) == (
        "hh-test", "options", "tracking_wieght")


def test_ira_lot_needs_no_basis_or_date(raw):
    # Lot C in the IRA has neither cost_basis nor acquired: valid; basis is NaN, date NaT.
    hh = from_dict(raw)
    assert hh.lots.lot_id == ("A", "B", "C")
    assert hh.lots.basis[2] != hh.lots.basis[2]
    assert str(hh.lots.acquired[2]) == "NaT"
    # An IRA lot moved to the taxable account is refused for the same missing basis.
    raw["lots"][2]["account_id"] = "tx"
    with pytest.raises(InvalidInput, match=r"lots\[2\] \(lot_id C\): field 'cost_basis'"):
        from_dict(raw)


def test_not_an_object():
    with pytest.raises(InvalidInput) as info:
        from_dict([1, 2])
    assert info.value.line() == "input: household: expected a JSON object, got a list"


# --- JSON text and files -----------------------------------------------------------------------

NAN_CASES = [
    ('"price": 100.0', '"price": NaN',
     f"{HH}: securities[0] (symbol EQ): field 'price': NaN is not a number (JSON has no NaN "
     "or Infinity)"),
    ('"price": 10.0', '"price": Infinity',
     f"{HH}: securities[2] (symbol BD): field 'price': Infinity is not a number (JSON has no "
     "NaN or Infinity)"),
    ('"cost_basis": 2400.0', '"cost_basis": -Infinity',
     f"{HH}: lots[1] (lot_id B): field 'cost_basis': -Infinity is not a number (JSON has no "
     "NaN or Infinity)"),
    ('"long_term_rate": 0.2', '"long_term_rate": NaN',
     f"{HH}: tax_profile: field 'long_term_rate': NaN is not a number (JSON has no NaN or "
     "Infinity)"),
    ('"options": {}', '"options": {"tracking_weight": Infinity}',
     f"{HH}: options: field 'tracking_weight': Infinity is not a number (JSON has no NaN or "
     "Infinity)"),
]


def _text() -> str:
    return json.dumps(base_household())


@pytest.mark.parametrize(("old", "new", "expected"), NAN_CASES, ids=lambda v: str(v)[:24])
def test_nan_and_infinity_in_json_text_and_files(tmp_path, old, new, expected):
    text = _text()
    assert old in text
    text = text.replace(old, new, 1)
    with pytest.raises(InvalidInput) as info:
        from_json(text)
    assert info.value.line() == expected
    path = tmp_path / "bad.json"
    path.write_text(text)
    for arg in (path, str(path)):
        with pytest.raises(InvalidInput) as info:
            from_json(arg)
        assert info.value.line() == expected


def test_json_text_that_is_not_json():
    with pytest.raises(InvalidInput) as info:
        from_json('{"format": "taxopt.household/1",}')
    assert info.value.line() == ("input: JSON text: not valid JSON: Expecting property name "
                                 "enclosed in double quotes (line 1, column 33)")


@pytest.mark.parametrize(("content", "problem"), [
    ("", "the file is empty"),
    (" \n\t\n", "the file is empty"),
    ("hello", "not valid JSON: Expecting value (line 1, column 1)"),
    ('{"format": "taxopt.household/1",\n "as_of": }',
     "not valid JSON: Expecting value (line 2, column 11)"),
    ("[1, 2]", "expected a household (a JSON object), got a list"),
    ("null", "expected a household (a JSON object), got null (or an empty document)"),
], ids=["empty", "blank", "not-json", "broken-json", "list", "null"])
def test_bad_files(tmp_path, content, problem):
    path = tmp_path / "hh.json"
    path.write_text(content)
    with pytest.raises(InvalidInput) as info:
        from_file(path)
    assert info.value.line() == f"input: {path}: {problem}"


def test_missing_file(tmp_path):
    path = tmp_path / "nope.json"
    with pytest.raises(InvalidInput) as info:
        from_file(path)
    assert info.value.line() == f"input: {path}: no such file"


def test_yaml_scenario_is_accepted(tmp_path):
    path = tmp_path / "hh.yaml"
    path.write_text(yaml.safe_dump(base_household()))
    hh = from_file(path)
    assert hh.household_id == "hh-test"
    assert hh.lots.lot_id == ("A", "B", "C")
    price = dict(zip(hh.securities.symbol, hh.securities.price.tolist(), strict=True))
    assert price == {"EQ": 100.0, "EQ2": 50.0, "BD": 10.0}
    assert str(hh.as_of) == "2026-11-24"
    # from_json goes by extension too; .yml works as well.
    yml = tmp_path / "hh.yml"
    yml.write_text(path.read_text())
    assert from_json(str(yml)).household_id == "hh-test"


def test_bad_yaml(tmp_path):
    path = tmp_path / "hh.yaml"
    path.write_text("household_id: hh-test\nsecurities: [1, 2\nas_of: x\n")
    with pytest.raises(InvalidInput) as info:
        from_file(path)
    assert info.value.line() == f"input: {path}: not valid YAML at line 3"
    path.write_text("# nothing but a comment\n")
    with pytest.raises(InvalidInput) as info:
        from_file(path)
    assert info.value.line() == (f"input: {path}: expected a household (a JSON object), "
                                 "got null (or an empty document)")


def test_yaml_errors_name_the_field(tmp_path):
    raw = base_household()
    raw["lots"][0]["shares"] = -1
    path = tmp_path / "hh.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(InvalidInput) as info:
        from_file(path)
    assert info.value.line() == (f"{HH}: lots[0] (lot_id A): field 'shares': Input should be "
                                 "greater than 0, got -1")


def test_file_over_the_size_limit(tmp_path, monkeypatch):
    path = tmp_path / "hh.json"
    text = _text()
    path.write_text(text)
    size = len(text.encode())
    monkeypatch.setattr(load, "MAX_FILE_BYTES", size - 1)
    with pytest.raises(InvalidInput) as info:
        from_file(path)
    assert info.value.line() == (f"input: {path}: the file is {size:,} bytes, over the limit "
                                 f"of {size - 1:,} bytes; use the table format for batches")
    monkeypatch.setattr(load, "MAX_FILE_BYTES", size)   # at the limit: fine
    assert from_file(path).household_id == "hh-test"


# --- hostile files: alias bombs, huge values, size limits ---------------------------------------

def _billion_laughs(levels: int = 9) -> str:
    """The classic alias bomb: each level lists the previous one ten times (10**9 values at
    nine levels) in about 1.2 KB."""
    lines = ["format: taxopt.household/1", "household_id: hh-bomb",
             'laughs0: &laughs0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", '
             '"lol"]']
    for i in range(1, levels + 1):
        lines.append(f"laughs{i}: &laughs{i} [" + ", ".join([f"*laughs{i - 1}"] * 10) + "]")
    lines.append(f"as_of: *laughs{levels}")
    return "\n".join(lines) + "\n"


BOMB_PROBLEM = ("YAML aliases (*name) would add more than 10,000 values to the document; "
                "write the values out instead")


def test_yaml_alias_bomb_is_refused_fast(tmp_path):
    """Was: 7-16 s and a 580 MB one-line error for 1.2 KB of YAML."""
    import time

    path = tmp_path / "bomb.yaml"
    path.write_text(_billion_laughs())
    assert 1000 < path.stat().st_size < 1300
    t0 = time.perf_counter()
    with pytest.raises(InvalidInput) as info:
        from_file(path)
    assert time.perf_counter() - t0 < 0.5
    assert info.value.line() == f"input: {path}: {BOMB_PROBLEM}"


def test_yaml_alias_that_contains_itself(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("format: taxopt.household/1\nas_of: &a [1, *a]\n")
    with pytest.raises(InvalidInput) as info:
        from_file(path)
    assert info.value.line() == f"input: {path}: {BOMB_PROBLEM}"


def test_yaml_small_aliases_are_fine(tmp_path):
    """Anchors for repeated values (a goal's targets reused) are ordinary YAML."""
    raw = base_household()
    text = yaml.safe_dump(raw, sort_keys=False).replace(
        "as_of: '2026-11-24'", "as_of: &day '2026-11-24'")
    text = text.replace("acquired: '2020-01-15'", "acquired: *day", 1)
    path = tmp_path / "hh.yaml"
    path.write_text(text)
    hh = from_file(path)
    assert str(hh.lots.acquired[0]) == "2026-11-24"


def test_yaml_over_its_size_limit(tmp_path, monkeypatch):
    path = tmp_path / "hh.yaml"
    path.write_text(yaml.safe_dump(base_household()))
    size = path.stat().st_size
    monkeypatch.setattr(load, "MAX_YAML_BYTES", size - 1)
    with pytest.raises(InvalidInput) as info:
        from_file(path)
    assert info.value.line() == (f"input: {path}: the file is {size:,} bytes, over the limit "
                                 f"of {size - 1:,} bytes for YAML; use the table format for "
                                 "batches")


def test_json_text_over_the_size_limit(monkeypatch):
    text = _text()
    monkeypatch.setattr(load, "MAX_FILE_BYTES", len(text) - 1)
    with pytest.raises(InvalidInput) as info:
        from_json(text)
    assert info.value.line() == (f"input: JSON text: the text is {len(text):,} characters, "
                                 f"over the limit of {len(text) - 1:,}; use the table format "
                                 "for batches")


@pytest.mark.parametrize(("mutate", "expected"), [
    (_set("securities.0.price", "9" * 1_000_000),
     f"{HH}: securities[0] (symbol EQ): field 'price': Input should be a valid number"),
    (_set("as_of", ["2026-11-24"] * 1_000_000),
     f"{HH}: household: field 'as_of': expected an ISO date YYYY-MM-DD"),
    (_set("x" * 1_000_000, 1),
     f"{HH}: household: field '{'x' * 80}... (1,000,000 characters)': unknown field"),
    (_set("household_id", "h" * 1_000_000),
     f"household {'h' * 80}... (1,000,000 characters): household: field 'household_id': "
     "String should have at most 256 characters"),
], ids=["huge-string-price", "huge-list-date", "huge-field-name", "huge-household-id"])
def test_huge_values_are_never_echoed(raw, mutate, expected):
    """Echoed values are at most 80 characters (40 for a bad value), and no repr of a
    huge value is built on the error path."""
    mutate(raw)
    with pytest.raises(InvalidInput) as info:
        from_dict(raw)
    assert info.value.line() == expected
    assert len(info.value.line()) < 300


def test_cli_yaml_bomb_one_line_exit_2(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(_billion_laughs())
    res = CliRunner().invoke(cli, ["validate", str(path)])
    _check_one_error_line(res, f"error: input: {path}: {BOMB_PROBLEM}")


def test_cli_control_characters_never_reach_the_terminal(tmp_path):
    raw = base_household()
    raw["household_id"] = "hh\x1b]0;pwned\x07\nerror: all good"
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(raw))
    res = CliRunner().invoke(cli, ["validate", str(path)])
    _check_one_error_line(
        res, "error: household hh\\x1b]0;pwned\\x07\\nerror: all good: household: field "
        "'household_id': contains a control character (U+001B) at position 2; ids must be "
        "printable, got 'hh\\x1b]0;pwned\\x07\\nerror: all good'")
    assert "\x1b" not in res.output



def _bad_file(tmp_path: Path) -> Path:
    raw = base_household()
    raw["lots"][1]["cost_basis"] = -2400.0
    path = tmp_path / "BAD.json"
    path.write_text(json.dumps(raw))
    return path


BAD_LINE = (f"error: {HH}: lots[1] (lot_id B): field 'cost_basis': Input should be greater "
            "than or equal to 0, got -2400.0")


def _check_one_error_line(res, expected: str) -> None:
    assert res.exit_code == 2, res.output
    assert res.stdout == ""
    assert res.stderr.splitlines() == [expected]
    assert "Traceback" not in res.output


def test_cli_validate_bad_file(tmp_path):
    res = CliRunner().invoke(cli, ["validate", str(_bad_file(tmp_path))])
    _check_one_error_line(res, BAD_LINE)


def test_cli_validate_good_file(tmp_path):
    path = tmp_path / "ok.json"
    path.write_text(_text())
    res = CliRunner().invoke(cli, ["validate", str(path)])
    assert res.exit_code == 0, res.output
    # The first line says it is valid; the next ones name the defaults it relies on.
    lines = res.stdout.splitlines()
    assert lines[0] == "hh-test: valid (2 accounts, 3 lots, 3 securities)"
    assert all(line.startswith("  assumes: ") for line in lines[1:])


@pytest.mark.parametrize("existing", [False, True], ids=["new-dir", "existing-dir"])
def test_cli_solve_bad_file_writes_nothing(tmp_path, existing):
    out = tmp_path / "out"
    if existing:
        out.mkdir()
    res = CliRunner().invoke(cli, ["solve", str(_bad_file(tmp_path)), "--out", str(out)])
    _check_one_error_line(res, BAD_LINE)
    if existing:
        assert list(out.iterdir()) == []
    else:
        assert not out.exists()


def test_cli_solve_nan_file(tmp_path):
    path = tmp_path / "BAD.json"
    path.write_text(_text().replace('"price": 100.0', '"price": NaN', 1))
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["solve", str(path), "--out", str(out)])
    _check_one_error_line(res, f"error: {NAN_CASES[0][2]}")
    assert not out.exists()


def test_errors_survive_pickling():
    import pickle

    from taxopt.errors import InvalidInput, InvalidOptions, ProgramInfeasible

    for err in (InvalidInput("hh", "lots[0] (lot_id L)", "shares", "must be > 0"),
                InvalidOptions("hh", "options", "foo", "unknown option"),
                ProgramInfeasible("hh", ["band cannot hold"])):
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err) and str(back) == str(err)


@pytest.mark.parametrize(("prices", "expected"), [
    ({"EQ": 1e308}, f"{HH}: securities[EQ]: field 'price': must be from 1e-06 to "
                    "1,000,000,000 (taxopt's limits for prices), got 1e+308"),
    ({"BD": 1e-300}, f"{HH}: securities[BD]: field 'price': must be from 1e-06 to "
                     "1,000,000,000 (taxopt's limits for prices), got 1e-300"),
    ({"EQ": 1e9}, f"{HH}: household: field 'prices': at these prices the household's "
                  "holdings are worth more than taxopt's limit of 1,000,000,000,000 for "
                  "money"),
], ids=["huge", "tiny", "household-too-rich"])
def test_new_prices_keep_the_limits(raw, prices, expected):
    """`Household.with_prices` (a market move between two solves) keeps the input limits;
    EQ at $1e9 is fine for 120 shares, not for 1,020."""
    if "holdings" in expected:
        raw["lots"][0]["shares"] = 1000
    hh = from_dict(raw)
    with pytest.raises(InvalidInput) as info:
        hh.with_prices(prices)
    assert info.value.line() == expected
    if "holdings" not in expected:
        moved = hh.with_prices({"EQ": 1e9}).securities
        assert moved.price[moved.symbol.index("EQ")] == 1e9


def test_a_huge_format_value_is_not_echoed(raw):
    raw["format"] = ["taxopt.household/1"] * 1_000_000
    with pytest.raises(InvalidInput) as info:
        from_dict(raw)
    assert info.value.line() == (f"{HH}: household: field 'format': expected "
                                 "'taxopt.household/1', got a list")
