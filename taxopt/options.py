"""The optimizer's knobs: one typed, immutable record with documented defaults.

Unknown keys are an error (the contract says so): a misspelt knob silently
ignored is a wrong plan nobody notices.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any, Literal

from .errors import InvalidOptions, printable
from .limits import DAYS_MAX, MONEY_MAX, OPTION_MAX, shown

Adapter = Literal["highs", "cvxpy"]


#: Options whose zero means nothing (a solve with no time): they must be above 0.
POSITIVE = frozenset({"time_limit"})

#: Options whose None means something (no cap, the computed value, off). TOML has no
#: null and a command line is text, so there the word ``none`` (or ``null``) says it.
NULLABLE = frozenset({"carryforward_value", "recapture_horizon_years",
                      "max_realized_short_term", "max_realized_long_term", "max_tax"})
NONE_WORDS = frozenset({"none", "null"})


@dataclass(frozen=True, slots=True)
class Options:
    """Weights, limits and solver settings of one rebalance.

    Parameters
    ----------
    tracking_weight
        Dollars of objective per dollar of goal-level deviation from target,
        summed over asset classes (L1). Fixing a $1 misallocation moves two
        classes by $1 each, so a trade is worth ``2 * tracking_weight`` per dollar
        of drift it removes: with 0.10 the optimizer pays up to 20 cents of tax
        per dollar traded to restore the target, and no more.
    tracking
        ``"l1"``: the L1 penalty above (an LP). ``"quadratic"``: ex-ante tracking-error
        variance of the goal from an asset-class covariance (a QP); integer choices
        (wash sales, netting pieces) are made first with the L1 penalty standing in.
    tracking_te_weight
        With ``tracking="quadratic"``: dollars of objective per dollar of goal value
        per unit of tracking-error variance (100: a 1 % tracking error on $1m costs $10,000).
    transaction_cost_bps
        Estimated cost of trading (spread, fees) in basis points of value traded;
        it keeps the plan from churning.
    location_horizon_years
        Horizon of the asset-location value: each dollar is valued by what it is
        worth after all taxes in the account that holds it, this many years out
        (see `taxopt.model.location`); 0 turns asset location off (tax-only).
    location_weight
        The share of the location value the optimizer acts on today. Location can
        also be reached later, for free, through deposits, withdrawals and
        rebalancing trades, and the expected returns behind it are uncertain; so a
        plan pays tax now only for the part of the benefit it is confident of.
    discount_rate
        Rate at which the location value's future dollars are discounted to today.
    cash_drag_years
        Years of the goal's expected excess return over cash charged per dollar of
        idle cash above ``min_cash``; 0 turns it off.
    drag_horizon_years
        The simple drag model: yearly tax on the distributions of taxable holdings,
        over this many years. Used only when location is off
        (``location_horizon_years=0``), because the location value already counts it;
        a tax-only plan still knows that bonds cost tax in a taxable account.
    min_trade_value
        Orders smaller than this many dollars are not emitted (no dust), unless
        they close a whole lot or position.
    tax_model
        ``"exact"``: the year's tax with full Schedule D netting (realized_ytd,
        carryforwards, the ordinary-income offset), two binaries;
        ``"lot"``: each lot's gain at its own short- or long-term rate (a pure LP,
        fastest; it overvalues losses beyond what the year can use).
    carryforward_value
        Dollars of objective credited per dollar of net loss carried to later
        years; 0 values it at nothing. None (the default): its present value, the
        household's long-term rate discounted at ``discount_rate`` over the
        expected years until it is used (`taxopt.model.taxes.CARRYFORWARD_YEARS`).
    recapture_horizon_years
        None (the default): a realized gain costs the year's tax and a harvested loss
        saves it. A number ``T``: the objective also counts that the proceeds of a sale
        in a taxable account are reinvested, so the replacement's basis is higher
        (lower) by the realized gain (loss) and the difference is taxed back at the
        long-term rate at a liquidation ``T`` years out, discounted at
        ``discount_rate``: each dollar of net realized gain is credited
        ``long_term_rate / (1 + discount_rate) ** T`` (and each dollar of loss charged
        it), so realizing costs the deferral's time value plus the rate gap rather than
        the whole year's tax. Off by default because it did not pay once the backtest
        charged trading costs (`docs/value.md`), and because it is only right for
        shares that will be sold with the gain taxed (not for heirs' step-up in basis
        or a donation). ``"none"`` spells None where there is no null (TOML,
        ``--set``). Only the objective changes; ``est_tax`` and ``max_tax`` are still
        the year's tax.
    max_realized_short_term, max_realized_long_term
        Caps on the plan's net realized short- / long-term gains (dollars); None: no cap.
    max_tax
        Cap on the plan's estimated added tax for the year (dollars); None: no cap.
    no_short_term_gains
        Never sell a lot at a short-term gain.
    harvest_min_loss, harvest_min_loss_pct
        A loss counts as worth harvesting only if it is at least this many dollars
        and this fraction of the lot's value; smaller losses are valued at zero, so
        their lots are sold only when the rebalance needs them.
    protect_long_term_days
        Lots at a short-term gain that turn long-term within this many days carry a
        price: selling one now is charged what waiting would save, the rate gap
        ``short_term_rate - long_term_rate`` on its gain, discounted over the days
        left at ``discount_rate``. Such a lot is avoided when another is cheaper and
        still sold when it is the cheapest (or only) way; 0 turns the price off.
    lot_relief
        ``"optimal"`` (specific identification chosen by the optimizer) or a forced
        custodian method: ``"fifo"``, ``"hifo"``, ``"min_tax"``; the summary reports
        the tax difference against optimal relief.
    adapter
        ``"highs"`` (direct, fast) or ``"cvxpy"`` (any cvxpy solver).
    solver
        The cvxpy solver name when ``adapter="cvxpy"``.
    time_limit
        Seconds the solver may spend on one household.
    mip_rel_gap
        Relative optimality gap at which a mixed-integer solve may stop.
    """

    tracking_weight: float = 0.10
    tracking: Literal["l1", "quadratic"] = "l1"
    tracking_te_weight: float = 100.0
    transaction_cost_bps: float = 5.0
    location_horizon_years: float = 10.0
    location_weight: float = 0.5
    discount_rate: float = 0.04
    cash_drag_years: float = 1.0
    drag_horizon_years: float = 5.0
    min_trade_value: float = 10.0
    tax_model: Literal["exact", "lot"] = "exact"
    carryforward_value: float | None = None
    recapture_horizon_years: float | None = None
    max_realized_short_term: float | None = None
    max_realized_long_term: float | None = None
    max_tax: float | None = None
    no_short_term_gains: bool = False
    harvest_min_loss: float = 0.0
    harvest_min_loss_pct: float = 0.0
    protect_long_term_days: int = 30
    lot_relief: Literal["optimal", "fifo", "hifo", "min_tax"] = "optimal"
    adapter: Adapter = "highs"
    solver: str = "HIGHS"
    time_limit: float = 30.0
    mip_rel_gap: float = 1e-6

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None, household: str | None = None) -> Options:
        """Build options from the scenario's ``options`` object, refusing unknown keys."""
        if not raw and cls is Options:
            return _DEFAULT          # the defaults (checked once; options are immutable)
        raw = dict(raw or {})
        cls._refuse_unknown(raw, household)
        opts = cls(**with_none_spelled_out(raw))
        opts.check(household)
        return opts

    @classmethod
    def _refuse_unknown(cls, raw: dict[str, Any], household: str | None) -> None:
        """Raise `InvalidOptions` naming the first unknown key (in sorted order), so a
        misspelt knob is never silently ignored nor a bare TypeError."""
        known = {f.name for f in fields(cls)}
        for key in sorted(raw):
            if key not in known:
                known_list = ", ".join(sorted(known))
                raise InvalidOptions(household, "options", key,
                                     f"unknown option; known options are {known_list}")

    def replace(self, household: str | None = None, /, **changes: Any) -> Options:
        """A copy with some knobs changed (validated; ``household`` names it in errors)."""
        self._refuse_unknown(changes, household)
        opts = dataclasses.replace(self, **changes)
        opts.check(household)
        return opts

    def check(self, household: str | None) -> None:
        """Raise `InvalidOptions` for a value out of its range."""
        def bad(name: str, why: str) -> InvalidOptions:
            return InvalidOptions(household, "options", name, why)

        for name in ("tracking_weight", "transaction_cost_bps", "drag_horizon_years",
                     "location_horizon_years", "discount_rate", "cash_drag_years",
                     "location_weight",
                     "min_trade_value", "time_limit", "mip_rel_gap", "carryforward_value",
                     "harvest_min_loss", "harvest_min_loss_pct", "tracking_te_weight",
                     "recapture_horizon_years"):
            value = getattr(self, name)
            if value is None and name in NULLABLE:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
                raise bad(name, f"must be a number, got {_echo(value)}")
            if name in POSITIVE and not 0 < value < float("inf"):
                raise bad(name, f"must be a finite number > 0, got {_echo(value)}")
            if value < 0 or value == float("inf"):
                raise bad(name, f"must be a finite number >= 0, got {_echo(value)}")
            if value > OPTION_MAX[name]:
                raise bad(name, f"exceeds taxopt's limit of {shown(OPTION_MAX[name])}, got "
                                f"{_echo(value)}")
        for name in ("max_realized_short_term", "max_realized_long_term", "max_tax"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, int | float)
                                      or value != value or abs(value) == float("inf")):
                raise bad(name, f"must be a finite number or null, got {_echo(value)}")
            if value is not None and abs(value) > MONEY_MAX:
                raise bad(name, f"exceeds taxopt's limit of {shown(MONEY_MAX)} for money, "
                                f"got {_echo(value)}")
        if not isinstance(self.no_short_term_gains, bool):
            raise bad("no_short_term_gains", f"must be true or false, got "
                      f"{_echo(self.no_short_term_gains)}")
        if (isinstance(self.protect_long_term_days, bool)
                or not isinstance(self.protect_long_term_days, int)
                or not 0 <= self.protect_long_term_days <= DAYS_MAX):
            raise bad("protect_long_term_days", f"must be a whole number of days from 0 to "
                      f"{shown(DAYS_MAX)}, got {_echo(self.protect_long_term_days)}")
        if self.lot_relief not in ("optimal", "fifo", "hifo", "min_tax"):
            raise bad("lot_relief", "must be 'optimal', 'fifo', 'hifo' or 'min_tax', got "
                      f"{_echo(self.lot_relief)}")
        if self.tracking not in ("l1", "quadratic"):
            raise bad("tracking", f"must be 'l1' or 'quadratic', got {_echo(self.tracking)}")
        if self.tax_model not in ("exact", "lot"):
            raise bad("tax_model", f"must be 'exact' or 'lot', got {_echo(self.tax_model)}")
        if self.adapter not in ("highs", "cvxpy"):
            raise bad("adapter", f"must be 'highs' or 'cvxpy', got {_echo(self.adapter)}")
        if not isinstance(self.solver, str):
            raise bad("solver", f"must be a cvxpy solver name, got {_echo(self.solver)}")

    def as_dict(self) -> dict[str, Any]:
        """The knobs as plain values, for manifests and summaries."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


_DEFAULT = Options()
_DEFAULT.check(None)


def with_none_spelled_out(raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` with the word ``none`` (or ``null``, any case) of a `NULLABLE` option read as
    None, so every way of giving options means one thing (and fingerprints alike)."""
    return {k: None if (k in NULLABLE and isinstance(v, str) and v.lower() in NONE_WORDS)
            else v for k, v in raw.items()}


def _echo(value: Any) -> str:
    """A bad option value for a message: a short repr of a scalar, else its kind (never
    the repr of a huge structure)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return "an integer too large to show"
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(printable(value, 40))
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    return f"a {type(value).__name__}"
