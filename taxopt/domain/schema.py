"""The contract's JSON household, as pydantic records: types, ranges and unknown fields.

Only record-local rules live here; rules that relate records (a lot's account
exists, targets name held classes) are checked in `household.py`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    SkipValidation,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .. import limits
from ..errors import char_name, unprintable_at

FORMAT = "taxopt.household/1"


def _within(lo: float | None, hi: float, what: str) -> AfterValidator:
    """Taxopt's limit on a magnitude (see `taxopt.limits`), stated in the message."""
    def check(value: float) -> float:
        if value > hi:
            raise ValueError(f"exceeds taxopt's limit of {limits.shown(hi)} for {what}")
        if lo is not None and value < lo:
            raise ValueError(f"is below taxopt's limit of {limits.shown(lo)} for {what}")
        return value
    return AfterValidator(check)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DATE_FORMAT = "expected an ISO date YYYY-MM-DD"


def iso_date(value: Any) -> dt.date:
    """A date given as an ISO ``YYYY-MM-DD`` string or a real date, and nothing else:
    no Unix seconds, no ``"0"``, no ``YYYYMMDD``, no time of day."""
    if isinstance(value, dt.datetime):
        if value.time() != dt.time() or value.tzinfo is not None:
            raise ValueError(f"{DATE_FORMAT}, not a date with a time of day")
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError as err:
            raise ValueError(f"not a calendar date ({err})") from None
    text = value if isinstance(value, str) else str(value) if type(value) is int else ""
    if len(text) == 8 and text.isdigit():
        raise ValueError(f"{DATE_FORMAT} (for {text} write {text[:4]}-{text[4:6]}-{text[6:]})")
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"{DATE_FORMAT} in quotes, not a number")
    raise ValueError(DATE_FORMAT)


def _printable_id(value: str) -> str:
    """Ids reach terminals, logs and CSV files: no control characters, no padding."""
    at = -1 if value.isprintable() else unprintable_at(value)   # isprintable: C speed
    if at >= 0:
        raise ValueError(f"contains a control character ({char_name(value[at])}) at "
                         f"position {at}; ids must be printable")
    if value != value.strip():
        raise ValueError("has leading or trailing whitespace")
    return value


_MONEY, _SHARES = limits.MONEY_MAX, (limits.SHARES_MIN, limits.SHARES_MAX)
Id = Annotated[str, Field(min_length=1, max_length=limits.ID_MAX),
               AfterValidator(_printable_id)]
Money = Annotated[float, Field(allow_inf_nan=False), _within(-_MONEY, _MONEY, "money")]
NonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False), _within(None, _MONEY, "money")]
Price = Annotated[float, Field(gt=0, allow_inf_nan=False),
                  _within(limits.PRICE_MIN, limits.PRICE_MAX, "prices")]
Shares = Annotated[float, Field(gt=0, allow_inf_nan=False), _within(*_SHARES, "share counts")]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Date = Annotated[dt.date, PlainValidator(iso_date)]


def _within_output_dates(value: dt.date) -> dt.date:
    """An as_of whose derived dates (the do-not-buy date) the outputs can still write."""
    if value > limits.AS_OF_MAX:
        raise ValueError(f"is after taxopt's latest as_of {limits.AS_OF_MAX.isoformat()} "
                         "(the do-not-buy date, 31 days on, must be a date YYYY-MM-DD)")
    return value


AsOf = Annotated[dt.date, PlainValidator(iso_date), AfterValidator(_within_output_dates)]

FIELD_ERROR = "taxopt_field"


def field_error(field: str, problem: str) -> PydanticCustomError:
    """A rule broken inside a record, naming the field at fault (below the error's location).

    Model validators fail at the record's location; this carries the field so that the
    one-line message can name it (see `load._to_invalid_input`). The problem text stays
    readable on its own for callers that show only the message.
    """
    return PydanticCustomError(FIELD_ERROR, "{problem}", {"field": field, "problem": problem})


class _Record(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class TermPair(_Record):
    short_term: Money = 0.0
    long_term: Money = 0.0


class CarryPair(_Record):
    short_term: NonNeg = 0.0
    long_term: NonNeg = 0.0


Bracket = Annotated[tuple[NonNeg, Fraction], Field(strict=False)]


class TaxProfile(_Record):
    short_term_rate: Fraction
    long_term_rate: Fraction
    realized_ytd: TermPair = TermPair()
    loss_carryforward: CarryPair = CarryPair()
    ordinary_offset_limit: NonNeg = 3000.0
    # Version 1.1 (goal-level cash flows): distributions from retirement accounts.
    niit_rate: Fraction = 0.0
    ordinary_rate: Fraction | None = None
    early_withdrawal_penalty: Fraction = 0.10
    ordinary_brackets: list[Bracket] | None = None
    ordinary_income: NonNeg = 0.0
    state_rate: Fraction | None = None

    @field_validator("ordinary_brackets")
    @classmethod
    def _convex_brackets(cls, brackets: list[Bracket] | None) -> list[Bracket] | None:
        for (lo0, r0), (lo1, r1) in zip(brackets or [], (brackets or [])[1:], strict=False):
            if lo1 <= lo0:
                raise ValueError(f"thresholds must increase, {lo1:g} follows {lo0:g}")
            if r1 < r0:
                raise ValueError(f"rates must not decrease, {r1:g} follows {r0:g}")
        if brackets is not None and not brackets:
            raise ValueError("'ordinary_brackets' is empty")
        return brackets


class Security(_Record):
    symbol: Id
    price: Price
    asset_class: Id | None = None
    exposures: dict[Id, Fraction] | None = None
    wash_group: Id | None = None
    yield_: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False, alias="yield")] = 0.0
    qualified: Fraction = 1.0
    tax_exempt: bool = False
    expected_return: Annotated[float, Field(ge=-1, le=1, allow_inf_nan=False)] | None = None
    fractional: bool = False
    tradable: bool = True
    in_state: bool = False   # contract 1.1 (section 5)

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_class_source(self) -> Security:
        if self.asset_class is None and self.exposures is None:
            raise field_error("asset_class", "give exactly one of 'asset_class' or 'exposures'; "
                                             "neither is given")
        if self.asset_class is not None and self.exposures is not None:
            raise field_error("exposures", "give exactly one of 'asset_class' or 'exposures', "
                                           "not both")
        if self.exposures is not None:
            if not self.exposures:
                raise field_error("exposures", "'exposures' is empty")
            total = sum(self.exposures.values())
            if abs(total - 1.0) > 1e-6:
                raise field_error("exposures",
                                  f"'exposures' must sum to 1, they sum to {total:.6g}")
        return self


class Goal(_Record):
    goal_id: Id
    targets: dict[Id, Fraction]
    drift_tolerance: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] | None = None
    cash_flow: Money = 0.0

    @field_validator("targets")
    @classmethod
    def _sum_to_one(cls, targets: dict[str, float]) -> dict[str, float]:
        if not targets:
            raise ValueError("'targets' is empty")
        total = sum(targets.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"targets must sum to 1, they sum to {total:.6g}")
        return targets


Band = Annotated[tuple[Fraction, Fraction], Field(strict=False)]


class Account(_Record):
    account_id: Id
    goal_id: Id
    tax_type: Literal["taxable", "tax_deferred", "tax_free"]
    cash: NonNeg
    cash_flow: Money = 0.0
    min_cash: NonNeg = 0.0
    bands: dict[Id, Band] | None = None
    restricted: list[Id] | None = None
    allowed: list[Id] | None = None
    # Version 1.1 (goal-level cash flows): limits on this account's share of the goal's flow.
    max_withdrawal: NonNeg | None = None
    max_deposit: NonNeg | None = None
    min_withdrawal: NonNeg = 0.0
    penalty_applies: bool = False

    @model_validator(mode="after")
    def _flow_limits(self) -> Account:
        if self.tax_type != "tax_deferred":
            if self.min_withdrawal > 0:
                raise field_error("min_withdrawal", "a required distribution is paid from a "
                                                    "tax_deferred account only")
            if self.penalty_applies:
                raise field_error("penalty_applies", "applies to tax_deferred accounts only")
        if self.max_withdrawal is not None and self.min_withdrawal > self.max_withdrawal:
            raise field_error("min_withdrawal", f"{self.min_withdrawal:g} is over "
                                                f"max_withdrawal {self.max_withdrawal:g}")
        return self

    @field_validator("bands")
    @classmethod
    def _lo_le_hi(cls, bands: dict[str, Band] | None) -> dict[str, Band] | None:
        for cls_name, (lo, hi) in (bands or {}).items():
            if lo > hi:
                raise field_error(cls_name, f"band for '{cls_name}' has lo {lo} > hi {hi}")
        return bands


class Lot(_Record):
    lot_id: Id
    account_id: Id
    symbol: Id
    shares: Shares
    cost_basis: NonNeg | None = None
    acquired: Date | None = None


class RecentTrade(_Record):
    account_id: Id
    symbol: Id
    side: Literal["buy", "sell"]
    shares: Shares
    date: Date
    realized_gain: Money | None = None

    @model_validator(mode="after")
    def _sell_has_gain(self) -> RecentTrade:
        if self.side == "sell" and self.realized_gain is None:
            raise field_error("realized_gain",
                              "a sell must carry 'realized_gain' (negative for a loss)")
        return self


class HouseholdRecord(_Record):
    format: Literal["taxopt.household/1"]
    household_id: Id
    as_of: AsOf
    tax_profile: TaxProfile
    securities: Annotated[list[Security], Field(min_length=1)]
    goals: Annotated[list[Goal], Field(min_length=1)]
    accounts: Annotated[list[Account], Field(min_length=1)]
    lots: list[Lot] = []
    recent_trades: list[RecentTrade] = []
    options: dict[str, Any] = {}


class KnownSecuritiesRecord(HouseholdRecord):
    """A household whose ``securities`` are `Security` records validated before (a
    table seen again): the other fields are validated as in `HouseholdRecord`, and the
    records are taken as they are instead of being checked once more."""

    securities: SkipValidation[list[Security]]
