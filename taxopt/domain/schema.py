"""The contract's JSON household, as pydantic records: types, ranges and unknown fields.

Only record-local rules live here; rules that relate records (a lot's account
exists, targets name held classes) are checked in `household.py`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

FORMAT = "taxopt.household/1"

Money = Annotated[float, Field(allow_inf_nan=False)]
NonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Date = Annotated[dt.date, Field(strict=False)]

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


class TaxProfile(_Record):
    short_term_rate: Fraction
    long_term_rate: Fraction
    realized_ytd: TermPair = TermPair()
    loss_carryforward: CarryPair = CarryPair()
    ordinary_offset_limit: NonNeg = 3000.0
    # contract 1.1 (section 5)
    niit_rate: Fraction = 0.0
    ordinary_rate: Fraction | None = None
    state_rate: Fraction | None = None


class Security(_Record):
    symbol: Annotated[str, Field(min_length=1)]
    price: Positive
    asset_class: Annotated[str, Field(min_length=1)] | None = None
    exposures: dict[str, Fraction] | None = None
    wash_group: Annotated[str, Field(min_length=1)] | None = None
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
    goal_id: Annotated[str, Field(min_length=1)]
    targets: dict[str, Fraction]
    drift_tolerance: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] | None = None

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
    account_id: Annotated[str, Field(min_length=1)]
    goal_id: str
    tax_type: Literal["taxable", "tax_deferred", "tax_free"]
    cash: NonNeg
    cash_flow: Money = 0.0
    min_cash: NonNeg = 0.0
    bands: dict[str, Band] | None = None
    restricted: list[str] | None = None
    allowed: list[str] | None = None

    @field_validator("bands")
    @classmethod
    def _lo_le_hi(cls, bands: dict[str, Band] | None) -> dict[str, Band] | None:
        for cls_name, (lo, hi) in (bands or {}).items():
            if lo > hi:
                raise field_error(cls_name, f"band for '{cls_name}' has lo {lo} > hi {hi}")
        return bands


class Lot(_Record):
    lot_id: Annotated[str, Field(min_length=1)]
    account_id: str
    symbol: str
    shares: Positive
    cost_basis: NonNeg | None = None
    acquired: Date | None = None


class RecentTrade(_Record):
    account_id: str
    symbol: str
    side: Literal["buy", "sell"]
    shares: Positive
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
    household_id: Annotated[str, Field(min_length=1)]
    as_of: Date
    tax_profile: TaxProfile
    securities: Annotated[list[Security], Field(min_length=1)]
    goals: Annotated[list[Goal], Field(min_length=1)]
    accounts: Annotated[list[Account], Field(min_length=1)]
    lots: list[Lot] = []
    recent_trades: list[RecentTrade] = []
    options: dict[str, Any] = {}
