"""Defaults that move tax, said out loud: the summary's ``assumptions`` list.

Each sentence names a default the input did not state and that changed a number
(a tax rate used, a value the optimizer acted on). `input_assumptions` needs only
the household and the options (``taxopt validate`` prints it);
`plan_assumptions` adds what depends on the plan (a loss carried forward).
"""

from __future__ import annotations

import numpy as np

from ..domain.household import TAX_DEFERRED, TAX_FREE, TAXABLE, Household
from ..options import Options
from ..tax.holding import lot_days_to_long_term
from ..tax.wash import MATCH_HORIZON_DAYS, ignored_old_trades, implicit_purchase_lots

MAX_NAMES = 5


def _names(symbols: list[str]) -> str:
    """Up to five names, then how many more."""
    shown = ", ".join(symbols[:MAX_NAMES])
    more = len(symbols) - MAX_NAMES
    return shown + (f" and {more} more" if more > 0 else "")


def input_assumptions(hh: Household, options: Options | None = None) -> list[str]:
    """Sentences for the defaults of this household and its options that change a number."""
    opts = options or hh.options
    sec, acc, tax = hh.securities, hh.accounts, hh.tax
    out: list[str] = []
    location = opts.location_horizon_years > 0
    drag = location or opts.drag_horizon_years > 0
    taxable_acc = np.flatnonzero(acc.tax_type == TAXABLE)
    in_taxable = np.zeros(len(sec), bool)
    if len(taxable_acc):
        in_taxable = acc.buyable[taxable_acc].any(axis=0)
        held = hh.lots.security[acc.tax_type[hh.lots.account] == TAXABLE]
        in_taxable[held] = True
    given = sec.qualified_given if sec.qualified_given is not None else np.ones(len(sec), bool)
    guessed = (sec.dist_yield > 0) & ~sec.tax_exempt & ~given & in_taxable
    if drag and guessed.any():
        names = _names([sec.symbol[i] for i in np.flatnonzero(guessed)])
        out.append("qualified assumed 1 (the whole yield taxed at the long-term rate as "
                   f"qualified dividends) for {names}; give 'qualified' (0 for bond "
                   "interest)")
    if location:
        no_return = np.flatnonzero(np.isnan(sec.expected_return))
        if len(no_return):
            out.append("expected returns taken from asset-class defaults for "
                       f"{_names([sec.symbol[i] for i in no_return])} (location value)")
        sheltered = bool(((acc.tax_type == TAX_DEFERRED) | (acc.tax_type == TAX_FREE)).any())
        if sheltered and tax.ordinary_rate is None:
            out.append(f"ordinary_rate taken as short_term_rate - niit_rate = "
                       f"{tax.ordinary:.4g} (retirement-account distributions, location "
                       "value)")
    in_state = sec.in_state if sec.in_state is not None else np.zeros(len(sec), bool)
    out_of_state = sec.tax_exempt & ~in_state & (sec.dist_yield > 0) & in_taxable
    if drag and tax.state_rate is None and out_of_state.any():
        out.append("state_rate assumed 0: interest of out-of-state tax-exempt "
                   f"{_names([sec.symbol[i] for i in np.flatnonzero(out_of_state)])} is "
                   "taken as free of state tax")
    if opts.protect_long_term_days > 0 and len(hh.lots):
        lots = hh.lots
        taxable_lot = acc.tax_type[lots.account] == TAXABLE
        gain = lots.shares * sec.price[lots.security] - lots.basis > 0
        days = lot_days_to_long_term(hh)
        soon = taxable_lot & gain & (days > 0) & (days <= opts.protect_long_term_days)
        if soon.any():
            out.append(f"protect_long_term_days {opts.protect_long_term_days}: "
                       f"{int(soon.sum())} lot(s) at a gain that turn long-term within "
                       f"{opts.protect_long_term_days} days are charged the rate gap "
                       f"({tax.short_term_rate - tax.long_term_rate:.4g} of the gain, "
                       "discounted) if sold now")
    recapture = _recapture(hh, opts)
    if recapture:
        out.append(recapture)
    out.extend(_wash_inputs(hh))
    return out


def _wash_inputs(hh: Household) -> list[str]:
    """What the wash-sale matching took that recent_trades did not say: lots acquired
    recently with no buy listed (taken as bought then), and trades too old to use."""
    out: list[str] = []
    implicit = implicit_purchase_lots(hh)
    if len(implicit):
        names = _names([hh.lots.lot_id[i] for i in implicit])
        out.append(f"lot(s) {names} acquired in the last {MATCH_HORIZON_DAYS} days with no "
                   "buy in recent_trades are taken as bought on their acquired date "
                   "(wash-sale replacement shares)")
    old = ignored_old_trades(hh)
    if old:
        out.append(f"{old} recent trade(s) older than {MATCH_HORIZON_DAYS} days ignored by "
                   "the wash-sale matching")
    return out


def _recapture(hh: Household, opts: Options) -> str | None:
    """The recapture credit, when a taxable lot's sale would realize something it prices.

    It moves every such sale's price in the objective (not the reported tax), so it is
    said whether or not the plan sells: it may be why a long-term loss was left alone.
    """
    from ..model.taxes import recapture_rate

    years = opts.recapture_horizon_years
    if years is None or not len(hh.lots):
        return None
    lots, sec = hh.lots, hh.securities
    taxable_lot = hh.accounts.tax_type[lots.account] == TAXABLE
    if not (taxable_lot & (lots.shares * sec.price[lots.security] != lots.basis)).any():
        return None
    tax = hh.tax
    return (f"recapture_horizon_years {years:g}: proceeds are reinvested and a liquidation "
            f"{years:g} years out taxes back the basis difference, so each dollar of "
            f"realized gain is credited {recapture_rate(tax, opts.discount_rate, years):.4f} "
            f"in the objective (long-term rate {tax.long_term_rate:.4g} discounted at "
            f"{opts.discount_rate:.4g}; a loss charged it); est_tax is the year's tax "
            "(null: the year's tax alone)")


def plan_assumptions(hh: Household, options: Options | None, carry_after: float,
                     carry_before: float) -> list[str]:
    """`input_assumptions` plus what the plan's outcome makes relevant."""
    from ..model.taxes import CARRYFORWARD_YEARS, default_carryforward_value

    opts = options or hh.options
    out = input_assumptions(hh, opts)
    if (opts.tax_model == "exact" and opts.carryforward_value is None
            and max(carry_after, carry_before) > 0):
        value = default_carryforward_value(hh.tax, opts.discount_rate)
        out.append(f"losses carried forward valued at {value:.4f} a dollar (carryforward_value "
                   f"default: long-term rate {hh.tax.long_term_rate:.4g} discounted "
                   f"{CARRYFORWARD_YEARS:g} years at {opts.discount_rate:.4g})")
    return out
