"""Asset location by after-tax value: where each dollar of growth is taxed.

A dollar of a security grows at a different after-tax rate in each kind of account
(``H`` years; ``ts`` the short-term rate, ``tl`` the long-term rate, ``to`` the
ordinary rate on income that is not investment income, ``short_term_rate -
niit_rate`` unless given):

- tax-free (Roth): never taxed, ``(1 + r)^H``;
- tax-deferred (IRA, 401k): all of it taxed at withdrawal as ordinary income, and
  not as investment income (no 3.8 % NIIT, IRC 1411(c)(5)): ``(1 - to) (1 + r)^H``;
- taxable: distributions taxed every year (qualified at ``tl``, the rest at ``ts``,
  tax-exempt interest at the profile's ``state_rate`` unless the security is
  ``in_state``), reinvested after tax and added to basis; the unrealized gain taxed
  at ``tl`` at the horizon (deferral is what makes equities efficient there).

The model values a dollar held in account ``a`` by its after-tax value *relative
to the same dollar in a tax-deferred account*, ``(1 - to) (1 + r')^H``, discounted
at a common rate, where ``r'`` is the security's own return except for a tax-exempt
one, whose reference is the taxable return of its asset class (its class default,
for a multi-class fund its mix). The reference keeps the term about *where* assets
sit, so it does not push the goal's allocation toward riskier assets (the tracking
penalty and the drift tolerance keep the allocation). The exception ranks the
securities of a class inside every account type: in an IRA a tax-exempt fund is
worth less than a taxable bond fund (its lower yield is the price of an exemption
the IRA wastes), whatever order the input lists them in. In a Roth, growth is worth
``to (1+r)^H`` more; in a taxable account, tax-efficient holdings are worth more
than bonds.

Roth conversions, withdrawal sequencing and contributions would plug in here, as
changes of the account values over the horizon; they are out of scope.
"""

from __future__ import annotations

import numpy as np

from ..domain.household import CASH, TAX_DEFERRED, TAX_FREE, TAXABLE, Household
from .context import ModelContext

# Long-run expected total returns per asset class, used when a security gives no
# `expected_return` (nominal, in the range of published capital-market assumptions,
# e.g. Vanguard and J.P. Morgan long-term assumptions 2024-2026).
DEFAULT_RETURNS = {
    "us_equity": 0.07, "intl_equity": 0.075, "emerging_equity": 0.08, "equity": 0.07,
    "reit": 0.065, "us_bonds": 0.045, "bonds": 0.045, "intl_bonds": 0.04, "muni": 0.035,
    "tips": 0.04, "commodities": 0.05, CASH: 0.035,
}
OTHER_RETURN = 0.05


def class_returns(hh: Household) -> np.ndarray:
    """Each security's return by its asset classes' defaults alone (its mix of classes;
    once per household, read-only)."""
    return hh.cached("class_returns", lambda: _class_returns(hh))


def _class_returns(hh: Household) -> np.ndarray:
    by_class = np.array([DEFAULT_RETURNS.get(c, OTHER_RETURN) for c in hh.classes])
    return hh.securities.exposure @ by_class


def expected_returns(hh: Household) -> np.ndarray:
    """Each security's expected total return: its own, else its classes' defaults (once
    per household, read-only)."""
    return hh.cached("expected_returns", lambda: _expected_returns(hh))


def _expected_returns(hh: Household) -> np.ndarray:
    sec = hh.securities
    implied = class_returns(hh)
    # A tax-exempt (municipal) fund yields less than a taxable one of the same class:
    # that is the price of the exemption, and without it munis would look free.
    implied = np.where(sec.tax_exempt, np.minimum(implied, DEFAULT_RETURNS["muni"]), implied)
    return np.where(np.isnan(sec.expected_return), implied, sec.expected_return)


def after_tax_value(hh: Household, horizon: float, discount: float) -> np.ndarray:
    """Present value (accounts x securities) of a dollar held now, after all taxes.

    Computed once per household and (horizon, discount): the location term and the
    summary's before and after values all use it. Read-only.

    Parameters
    ----------
    horizon
        Years until the money is spent.
    discount
        Rate at which future after-tax dollars are discounted to today.
    """
    return hh.cached(("after_tax_value", horizon, discount),
                     lambda: _after_tax_value(hh, horizon, discount))


def _after_tax_value(hh: Household, horizon: float, discount: float) -> np.ndarray:
    sec, tax = hh.securities, hh.tax
    tl, to = tax.long_term_rate, tax.ordinary
    r = expected_returns(hh)
    y = np.minimum(sec.dist_yield, np.maximum(r, 0.0))
    grow = (1.0 + r) ** horizon
    drag = y * distribution_rate(hh)
    net = r - drag
    wealth = (1.0 + net) ** horizon
    reinvested = y - drag
    # basis grows by the after-tax distributions reinvested every year
    grows = np.abs(net) > 1e-12
    growth_sum = np.where(grows, (wealth - 1.0) / np.where(grows, net, 1.0), horizon)
    basis = 1.0 + reinvested * growth_sum
    taxable = wealth - tl * np.maximum(wealth - basis, 0.0)
    # rows: TAXABLE, DEFERRED, FREE
    by_type = np.concatenate([taxable, (1.0 - to) * grow, grow]).reshape(3, -1)
    assert (TAXABLE, TAX_DEFERRED, TAX_FREE) == (0, 1, 2)
    return by_type[hh.accounts.tax_type] / (1.0 + discount) ** horizon


def distribution_rate(hh: Household) -> np.ndarray:
    """Tax per dollar of each security's distributions in a taxable account: qualified
    dividends at the long-term rate, the rest at the short-term (ordinary plus NIIT)
    rate; tax-exempt interest at the state rate unless the security is in-state."""
    sec, tax = hh.securities, hh.tax
    in_state = sec.in_state if sec.in_state is not None else np.zeros(len(sec), bool)
    taxed = sec.qualified * tax.long_term_rate + (1 - sec.qualified) * tax.short_term_rate
    return np.where(sec.tax_exempt, np.where(in_state, 0.0, tax.state), taxed)


def location_value(hh: Household, horizon: float, discount: float) -> np.ndarray:
    """Extra present value (accounts x securities) of a dollar held in each account,
    against the same dollar in a tax-deferred account (for a tax-exempt security, a
    dollar of its asset class at the taxable return)."""
    value = after_tax_value(hh, horizon, discount)
    r = np.where(hh.securities.tax_exempt, class_returns(hh), expected_returns(hh))
    reference = (1.0 - hh.tax.ordinary) * (1.0 + r) ** horizon
    return value - reference / (1.0 + discount) ** horizon


class LocationTerm:
    """Minus the location value of what each account holds after the trades."""

    name = "location"

    def __init__(self, horizon: float, discount: float, weight: float = 1.0):
        self.horizon, self.discount, self.weight = horizon, discount, weight

    def compile(self, ctx: ModelContext) -> None:
        hh, lay = ctx.hh, ctx.layout
        lv = self.weight * location_value(hh, self.horizon, self.discount)
        per_pos = lv[lay.pos_account, lay.pos_security]
        coef = np.zeros(ctx.program.n)
        coef[ctx.sell.slice] = lv[lay.unit_account, lay.unit_security]
        coef[ctx.buy.slice] = -lv[lay.buy_account, lay.buy_security]
        ctx.program.add_term(self.name, coef, -float(per_pos @ lay.pos_value))


class CashDragTerm:
    """Idle cash above ``min_cash`` forgoes the goal's expected excess return."""

    name = "cash_drag"

    def __init__(self, years: float):
        self.years = years

    def compile(self, ctx: ModelContext) -> None:
        hh = ctx.hh
        by_class = np.array([DEFAULT_RETURNS.get(c, OTHER_RETURN) for c in hh.classes])
        goal_return = hh.goals.target @ by_class
        excess = np.maximum(goal_return - DEFAULT_RETURNS[CASH], 0.0) * self.years
        per_account = excess[hh.accounts.goal]
        coef = np.zeros(ctx.program.n)
        coef[: ctx.cash.T.shape[1]] = ctx.cash.T.rmatvec(per_account)
        const = float(per_account @ (ctx.cash.c - hh.accounts.min_cash))
        ctx.program.add_term(self.name, coef, const)


def cash_value(hh: Household, horizon: float, discount: float) -> np.ndarray:
    """Present after-tax value per account of a dollar of cash (interest taxed as ordinary)."""
    r = DEFAULT_RETURNS[CASH]
    ts, to = hh.tax.short_term_rate, hh.tax.ordinary
    grow = (1.0 + r) ** horizon
    by_type = np.array([(1.0 + r * (1.0 - ts)) ** horizon, (1.0 - to) * grow, grow])
    return by_type[hh.accounts.tax_type] / (1.0 + discount) ** horizon


def account_after_tax_values(hh: Household, holdings: np.ndarray, cash: np.ndarray,
                             horizon: float, discount: float) -> np.ndarray:
    """Each account's present after-tax value: holdings (accounts x securities, dollars)
    and cash, each dollar at the value of where it sits."""
    value = after_tax_value(hh, horizon, discount)
    return (value * holdings).sum(axis=1) + cash_value(hh, horizon, discount) * cash
