"""One household's books under one method: lots, cash, recent trades and the tax year.

The ledger holds the state that changes from step to step as numpy arrays and
builds, for each rebalance, an immutable `Household` from it (the household's
static parts - securities, goals, accounts - are reused, only prices, cash,
cash flows, lots, recent trades, the tax profile and the date are replaced).
`to_raw` writes the same state in the contract's JSON shape; a test checks that
`from_dict(to_raw())` and `household()` agree, so the fast path stays honest.

Conventions
-----------
- Sales relieve exactly the lots the orders name (taxable accounts always
  name them). An unnamed sale (a non-taxable account) relieves the position's
  lots pro rata.
- A purchase in a taxable account opens a new lot acquired that day at cost
  ``shares x price``. Outside taxable accounts basis and dates do not matter:
  each position is one lot (basis and date unknown), and a purchase adds to it.
- Cash per account is the audit's ``cash_after`` (cash + cash flow - net buys).
- Realized gains by term are the audit's (a loss the wash-sale rule disallows
  counts as zero), added to the year so far; the tax profile's
  ``realized_ytd`` carries them so the optimizer sees them.
- A disallowed loss is added to the basis of the replacement shares bought in
  the last 30 days in taxable accounts (pro rata to their value); the part
  replaced in an IRA or Roth is lost for good (Rev. Rul. 2008-5). The
  replacement lot keeps its own acquisition date (the holding-period tack-on
  is not modelled: conservative, as it can only make a later sale short-term).
- Recent trades keep the last 30 days of orders (buys and sells, a taxable
  sell with its realized gain) for the wash-sale rule across steps.
- Distributions are paid in cash to the account that holds the security; in
  taxable accounts the year's qualified part is taxed at the long-term rate,
  the rest at the ordinary (short-term) rate, tax-exempt funds at the profile's
  ``state_rate`` unless ``in_state`` (the location model's rule,
  `taxopt.model.location.distribution_rate`).
- A goal-level withdrawal (``goal_flow`` of `household`) is split by the plan;
  what a traditional IRA pays out is taxed as the audit says
  (`Assessment.est_tax_distributions`: ordinary rate or brackets, penalty),
  added to the year's tax bill. The dollar leaves the IRA, so it is taxed once:
  the IRA balance left is still valued at ``1 - ordinary rate`` at liquidation.
- `settle` raises cash the simple way when no rebalance does it (the year's
  tax, or a withdrawal in a step whose rebalance failed): cash above
  ``min_cash`` first, then a pro-rata sale of every lot of the account (whole
  shares rounded up), then cash below ``min_cash``; what still lacks is
  recorded as ``unpaid`` (a liability subtracted from wealth).
- Trading costs (`charge_costs`): every booked trade, a method's plan or a forced sale of
  `settle`, pays ``cost_rate`` (per security, per dollar, one way) of its dollar value
  from the account where it trades, after the plan's trades and cash are booked: from
  its cash above ``min_cash``; what that cannot pay is ``owed`` by the account and paid
  from its cash above ``min_cash`` as soon as there is some (`pay_owed`, before each
  rebalance: the step's distributions usually cover it). Plans leave little cash above
  the floor, so a cost is often owed for one step: wealth falls by the full cost at once
  (owed dollars are subtracted from it), the owed dollars earn the account's return
  until paid (one step's return on 5 bps: negligible), and no account is pushed below
  ``min_cash`` or zero. The alternatives distort more: a negative balance or cash below
  the floor must be raised by the next plan, which a heuristic that invests only cash
  above its floor does not do (every later rebalance would fail); withdrawing the owed
  dollars as the next step's cash flow forces sales of whole shares for cents, which
  makes the optimizer's rounding infeasible; recording them as ``unpaid`` keeps them
  invested for good. Costs are not tax-deductible here: in reality a
  commission or half-spread raises a purchase's basis and lowers a sale's proceeds, so
  it is worth its tax rate times itself; leaving that out overstates every method's
  cost by at most that share, most for the method that trades most in taxable
  accounts (conservative against a method that trades more). Reinvested
  distributions (`reinvest`) are neither charged nor counted as traded: a dividend
  reinvestment plan buys at net asset value, without commission.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from ..audit import Assessment, assess
from ..domain.funding import with_goal_flows
from ..domain.household import (
    TAX_DEFERRED,
    TAX_FREE,
    TAX_TYPES,
    TAXABLE,
    Household,
    Lots,
    RecentTrades,
    TaxProfile,
)
from ..domain.orders import Orders
from ..model.location import distribution_rate
from ..tax.distributions import distribution_tax
from ..tax.holding import is_long_term
from ..tax.netting import NettedYear, net_year
from ..tax.wash import WASH_WINDOW_DAYS

SHARE_EPS = 1e-9
NAT = np.datetime64("NaT", "D")


class Ledger:
    """The mutable books of one household under one method."""

    def __init__(self, hh: Household, cost_rate: float | np.ndarray = 0.0):
        """``cost_rate``: the trading cost per dollar traded, one way (per security, or
        one number for all); 0 charges nothing."""
        self.base = hh
        acc, lots, sec = hh.accounts, hh.lots, hh.securities
        self.n_acc, self.n_sec = len(acc), len(sec)
        self.tax_type = acc.tax_type.copy()
        self.taxable = self.tax_type == TAXABLE
        self.price = sec.price.astype(float).copy()
        self.cash = acc.cash.astype(float).copy()
        self.min_cash = acc.min_cash.astype(float).copy()
        self.ts, self.tl = hh.tax.short_term_rate, hh.tax.long_term_rate
        self.limit = hh.tax.offset_limit
        self.ytd_short, self.ytd_long = hh.tax.ytd_short, hh.tax.ytd_long
        self.carry_short, self.carry_long = hh.tax.carry_short, hh.tax.carry_long
        self.dist_qualified = 0.0     # taxable distributions of the year, qualified part
        self.dist_ordinary = 0.0      # taxable distributions of the year, ordinary part
        self.dist_state = 0.0         # the year's state tax on out-of-state munis' interest
        self.payout_tax = 0.0         # the year's tax and penalties on IRA payouts
        self.state_rate = np.where(sec.tax_exempt, distribution_rate(hh), 0.0)
        self.unpaid = 0.0             # withdrawals and taxes that could not be paid
        self.traded = 0.0             # dollars traded so far (both sides)
        self.cost_rate = np.broadcast_to(np.asarray(cost_rate, float), (self.n_sec,)).copy()
        self.costs = 0.0              # trading costs charged so far (dollars)
        self.owed = np.zeros(self.n_acc)  # costs the cash could not pay yet (`pay_owed`)

        # lots: taxable ones as given; elsewhere one lot per position
        t = self.taxable[lots.account]
        a, s = lots.account[~t], lots.security[~t]
        pos = np.zeros((self.n_acc, self.n_sec))
        np.add.at(pos, (a, s), lots.shares[~t])
        pa, ps = np.nonzero(pos > 0)
        self.account = np.concatenate([lots.account[t], pa]).astype(np.int64)
        self.security = np.concatenate([lots.security[t], ps]).astype(np.int64)
        self.shares = np.concatenate([lots.shares[t], pos[pa, ps]]).astype(float)
        self.basis = np.concatenate([lots.basis[t], np.full(len(pa), np.nan)])
        self.acquired = np.concatenate([lots.acquired[t], np.full(len(pa), NAT)]).astype(
            "datetime64[D]")
        self.uid = np.arange(len(self.shares), dtype=np.int64)
        self.next_uid = len(self.shares)

        r = hh.recent
        self.r_account, self.r_security = r.account.copy(), r.security.copy()
        self.r_buy, self.r_shares = r.is_buy.copy(), r.shares.copy()
        self.r_date, self.r_gain = r.date.copy(), r.realized_gain.copy()
        # a recent sale's term (the contract's recent trades do not say: short assumed)
        self.r_long = np.zeros(len(r.account), bool)
        # a recent loss sale's shares not yet replaced, and its loss per share
        loss = ~r.is_buy & (r.realized_gain < 0)
        self.r_open = np.where(loss, r.shares, 0.0)
        self.r_lps = np.where(loss, -r.realized_gain / np.maximum(r.shares, 1e-12), 0.0)
        self.reinvested = 0.0          # distributions reinvested (dividend reinvestment)
        self.washed_after = 0.0        # losses disallowed by a later reinvestment

    # --- views -------------------------------------------------------------------------
    def profile(self) -> TaxProfile:
        return replace(self.base.tax, ytd_short=self.ytd_short, ytd_long=self.ytd_long,
                       carry_short=self.carry_short, carry_long=self.carry_long)

    def holdings(self) -> np.ndarray:
        """Dollars per (account, security)."""
        out = np.zeros((self.n_acc, self.n_sec))
        np.add.at(out, (self.account, self.security), self.shares * self.price[self.security])
        return out

    def account_values(self) -> np.ndarray:
        """Holdings plus cash, per account."""
        return np.bincount(self.account, weights=self.shares * self.price[self.security],
                           minlength=self.n_acc) + self.cash

    def drift(self) -> float:
        """Largest goal-level gap of any class weight (cash included) to its target."""
        hh = self.base
        cls = self.holdings() @ hh.securities.exposure
        cls[:, hh.cash_class] += self.cash
        goal = np.zeros((len(hh.goals), cls.shape[1]))
        np.add.at(goal, hh.accounts.goal, cls)
        total = goal.sum(axis=1, keepdims=True)
        w = np.divide(goal, total, out=np.zeros_like(goal), where=total > 0)
        return float(np.abs(w - hh.goals.target).max())

    def goal_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """Goals x classes weights (cash included) and each goal's value."""
        hh = self.base
        cls = self.holdings() @ hh.securities.exposure
        cls[:, hh.cash_class] += self.cash
        goal = np.zeros((len(hh.goals), cls.shape[1]))
        np.add.at(goal, hh.accounts.goal, cls)
        total = goal.sum(axis=1)
        w = np.divide(goal, total[:, None], out=np.zeros_like(goal), where=total[:, None] > 0)
        return w, total

    def ira_keep(self) -> float:
        """What a tax-deferred dollar is worth after tax: ``1 - ordinary rate`` (the flat
        rate of an IRA payout, `TaxProfile.ordinary`: the short-term rate less the NIIT,
        which an IRA payout does not pay, unless stated). One number for wealth and for
        the risky share."""
        return 1.0 - self.base.tax.ordinary

    def after_tax_risky_share(self) -> float:
        """Share of the after-tax value (IRA dollars at 1 - ordinary rate, liquidation tax
        of taxable gains ignored) held in classes other than bonds and cash."""
        hh = self.base
        cls = self.holdings() @ hh.securities.exposure
        cls[:, hh.cash_class] += self.cash
        factor = np.where(self.tax_type == TAX_DEFERRED, self.ira_keep(), 1.0)
        after = factor @ cls
        safe = np.array([c == "cash" or "bond" in c for c in hh.classes])
        total = after.sum()
        return float(after[~safe].sum() / total) if total > 0 else 0.0

    def unrealized(self, as_of: np.datetime64) -> tuple[float, float]:
        """Unrealized (short-term, long-term) gains of the taxable lots on ``as_of``."""
        t = self.taxable[self.account]
        gain = self.shares[t] * self.price[self.security[t]] - self.basis[t]
        lt = is_long_term(self.acquired[t], as_of)
        return float(gain[~lt].sum()), float(gain[lt].sum())

    def distribution_tax(self) -> float:
        """The year's tax so far on distributions: funds' (taxable accounts) and IRA payouts'."""
        return (self.dist_qualified * self.tl + self.dist_ordinary * self.ts + self.dist_state
                + self.payout_tax)

    def after_tax_wealth(self, as_of: np.datetime64) -> float:
        """What the household keeps if it liquidates everything on ``as_of``.

        Taxable accounts: value less the year's capital-gains tax with every
        lot sold (Schedule D netting with the year so far and the carryforward;
        a lot's gain short-term at the ordinary rate, long-term at the long-term
        rate) and less the year's distribution tax (IRA payouts included).
        Tax-deferred: value x (1 - ordinary rate), the flat rate of an IRA payout
        (`TaxProfile.ordinary`; the short-term rate when the profile has no NIIT).
        Tax-free: value. Unpaid amounts and trading costs still owed are subtracted; a
        loss carryforward left over is worth nothing.
        """
        value = self.account_values()
        st, lt = self.unrealized(as_of)
        cg = net_year(self.profile(), st, lt).tax
        return float(value[self.tax_type == TAXABLE].sum() - cg - self.distribution_tax()
                     + self.ira_keep() * value[self.tax_type == TAX_DEFERRED].sum()
                     + value[self.tax_type == TAX_FREE].sum() - self.unpaid
                     - float(self.owed.sum()))

    def pre_liquidation_wealth(self, as_of: np.datetime64) -> float:
        """What the household keeps if its embedded gains are never taxed on ``as_of``.

        The second lens of the tax-loss-harvesting literature: the taxable lots pass
        at market value (a step-up in basis at death, a donation, a position never
        sold), so an unrealized gain costs nothing and an unrealized loss is worth
        nothing. Everything else is as in `after_tax_wealth`: the year's realized
        gains and distributions are still taxed (Schedule D netting with the
        carryforward), the IRA is worth ``1 - ordinary rate``, the Roth its value,
        unpaid amounts are subtracted, a carryforward left over is worth nothing.
        """
        value = self.account_values()
        cg = net_year(self.profile()).tax
        return float(value[self.tax_type == TAXABLE].sum() - cg - self.distribution_tax()
                     + self.ira_keep() * value[self.tax_type == TAX_DEFERRED].sum()
                     + value[self.tax_type == TAX_FREE].sum() - self.unpaid
                     - float(self.owed.sum()))

    # --- the household the methods see -------------------------------------------------
    def recent_mask(self, as_of: np.datetime64) -> np.ndarray:
        age = (as_of - self.r_date).astype(np.int64)
        return (age >= 0) & (age <= WASH_WINDOW_DAYS)

    def household(self, as_of: np.datetime64, cash_flow: np.ndarray | None = None,
                  goal_flow: np.ndarray | None = None) -> Household:
        """The household on ``as_of`` at the ledger's state (``cash_flow`` per account,
        ``goal_flow`` per goal: this step's goal-level flows, the plan splits them)."""
        base = self.base
        flow = np.zeros(self.n_acc) if cash_flow is None else np.asarray(cash_flow, float)
        m = self.recent_mask(as_of)
        hh = replace(
            base,
            as_of=np.datetime64(as_of, "D"),
            tax=self.profile(),
            securities=replace(base.securities, price=self.price.copy()),
            accounts=replace(base.accounts, cash=self.cash.copy(), cash_flow=flow.copy()),
            lots=Lots(tuple(f"L{u}" for u in self.uid.tolist()), self.account.copy(),
                      self.security.copy(), self.shares.copy(), self.basis.copy(),
                      self.acquired.copy()),
            recent=RecentTrades(self.r_account[m], self.r_security[m], self.r_buy[m],
                                self.r_shares[m], self.r_date[m], self.r_gain[m]),
        )
        return hh if goal_flow is None else with_goal_flows(hh, goal_flow)

    def to_raw(self, as_of: np.datetime64, cash_flow: np.ndarray | None = None,
               raw: dict[str, Any] | None = None) -> dict[str, Any]:
        """The same household in the contract's JSON shape (``raw``: the static parts)."""
        hh = self.household(as_of, cash_flow)
        out = dict(raw or {})
        out["as_of"] = str(hh.as_of)
        out["tax_profile"] = {
            "short_term_rate": self.ts, "long_term_rate": self.tl,
            "realized_ytd": {"short_term": self.ytd_short, "long_term": self.ytd_long},
            "loss_carryforward": {"short_term": self.carry_short, "long_term": self.carry_long},
            "ordinary_offset_limit": self.limit}
        base = self.base.tax
        for key in ("niit_rate", "ordinary_rate", "state_rate"):
            if getattr(base, key):
                out["tax_profile"][key] = getattr(base, key)
        prices = dict(zip(hh.securities.symbol, self.price.tolist(), strict=True))
        out["securities"] = [dict(s, price=prices[s["symbol"]]) for s in out["securities"]]
        out["accounts"] = [dict(a, cash=float(c), cash_flow=float(f)) for a, c, f in
                           zip(out["accounts"], hh.accounts.cash, hh.accounts.cash_flow,
                               strict=True)]
        aid, sym = hh.accounts.account_id, hh.securities.symbol
        lots = []
        for i in range(len(hh.lots)):
            lot: dict[str, Any] = {"lot_id": hh.lots.lot_id[i],
                                   "account_id": aid[hh.lots.account[i]],
                                   "symbol": sym[hh.lots.security[i]],
                                   "shares": float(hh.lots.shares[i])}
            if not math.isnan(hh.lots.basis[i]):
                lot["cost_basis"] = float(hh.lots.basis[i])
            if not np.isnat(hh.lots.acquired[i]):
                lot["acquired"] = str(hh.lots.acquired[i])
            lots.append(lot)
        out["lots"] = lots
        r = hh.recent
        out["recent_trades"] = [
            {"account_id": aid[r.account[i]], "symbol": sym[r.security[i]],
             "side": "buy" if r.is_buy[i] else "sell", "shares": float(r.shares[i]),
             "date": str(r.date[i]),
             **({} if r.is_buy[i] else {"realized_gain": float(r.realized_gain[i])})}
            for i in range(len(r.account))]
        return out

    # --- market ------------------------------------------------------------------------
    def move(self, total_return: np.ndarray, dist_fraction: np.ndarray,
             as_of: np.datetime64 | None = None,
             reinvest: bool | np.ndarray = False) -> None:
        """One step of the market: pay distributions, then move prices.

        ``total_return`` per security over the step; ``dist_fraction`` per
        security: the distribution per dollar of start-of-step price (``yield x
        months / 12``). The price moves by ``total_return - dist_fraction``.
        With ``reinvest`` (True, or a mask per security) the distributions buy the same
        security on ``as_of`` at the new price (dividend reinvestment, see `reinvest`);
        they are taxed the same.
        """
        sec = self.base.securities
        paid = self.shares * self.price[self.security] * dist_fraction[self.security]
        self.cash += np.bincount(self.account, weights=paid, minlength=self.n_acc)
        taxed = self.taxable[self.account] & ~sec.tax_exempt[self.security]
        q = sec.qualified[self.security]
        self.dist_qualified += float(np.sum(paid[taxed] * q[taxed]))
        self.dist_ordinary += float(np.sum(paid[taxed] * (1.0 - q[taxed])))
        in_taxable = self.taxable[self.account]
        self.dist_state += float(np.sum(paid[in_taxable]
                                        * self.state_rate[self.security[in_taxable]]))
        self.price = np.maximum(self.price * (1.0 + total_return - dist_fraction), 1e-6)
        mask = np.broadcast_to(np.asarray(reinvest, bool), (self.n_sec,))
        if mask.any() and as_of is not None:
            amount = np.zeros((self.n_acc, self.n_sec))
            np.add.at(amount, (self.account, self.security), paid * mask[self.security])
            self.reinvest(np.datetime64(as_of, "D"), amount)

    def reinvest(self, date: np.datetime64, amount: np.ndarray) -> None:
        """Buy ``amount`` (accounts x securities, dollars) of each security on ``date``.

        The purchases are wash-sale purchases like any other, both ways: they are
        recorded as recent buys, so a loss sale of the group in the next 30 days is
        (partly) disallowed by the audit; and a loss sale of the group in the 30 days
        *before* is disallowed here, share for share (another symbol of the group counts
        by value at today's prices), oldest sale first; the loss of the replaced shares is
        added back to the year and, when the purchase is in a taxable account, to the new
        lot's basis (in an IRA or Roth it is lost). A sale from last year's closed books is
        added back to this year (an approximation: the loss was used last year).
        """
        acc, sec = np.nonzero(amount > 0.005)
        if not len(acc):
            return
        dollars = amount[acc, sec]
        shares = dollars / self.price[sec]
        self.cash -= np.bincount(acc, weights=dollars, minlength=self.n_acc)
        self.reinvested += float(dollars.sum())
        first_new = len(self.shares)
        self._open(date, acc, sec, shares)
        group = self.base.securities.wash_group
        age = (date - self.r_date).astype(np.int64)
        open_sale = (~self.r_buy & (self.r_open > 0) & (age >= 0) & (age <= WASH_WINDOW_DAYS))
        for i in range(len(acc)) if open_sale.any() else ():
            left = dollars[i]           # replacement value still to match, today's prices
            for j in np.flatnonzero(open_sale & (group[self.r_security] == group[sec[i]])):
                matched = min(left / self.price[self.r_security[j]], self.r_open[j])
                if matched <= 0:
                    continue
                washed = matched * self.r_lps[j]
                self.r_open[j] -= matched
                left -= matched * self.price[self.r_security[j]]
                self.r_gain[j] += washed
                self.washed_after += washed
                if self.r_long[j]:
                    self.ytd_long += washed
                else:
                    self.ytd_short += washed
                if self.taxable[acc[i]]:
                    lot = np.flatnonzero((self.account[first_new:] == acc[i])
                                         & (self.security[first_new:] == sec[i]))
                    if len(lot):
                        self.basis[first_new + lot[0]] += washed
                if left <= 1e-9:
                    break
        self._record(date, acc, sec, np.ones(len(acc), bool), shares, np.zeros(len(acc)),
                     np.zeros(len(acc), bool))

    # --- trades ------------------------------------------------------------------------
    def apply(self, hh: Household, orders: Orders, a: Assessment) -> None:
        """Book an audited plan of ``hh`` (built by `household` from this ledger)."""
        date = hh.as_of
        n = len(self.shares)
        sale = ~orders.is_buy
        named = sale & (orders.lot >= 0)
        relief = np.bincount(orders.lot[named], weights=orders.shares[named],
                             minlength=n).astype(float)
        unnamed = sale & (orders.lot < 0)
        if unnamed.any():
            sold = np.zeros((self.n_acc, self.n_sec))
            np.add.at(sold, (orders.account[unnamed], orders.security[unnamed]),
                      orders.shares[unnamed])
            left = self.shares - relief
            held = np.zeros_like(sold)
            np.add.at(held, (self.account, self.security), left)
            frac = np.divide(sold, held, out=np.zeros_like(sold), where=held > 0)
            relief += left * np.minimum(frac[self.account, self.security], 1.0)
        left = self.shares - relief
        left[np.abs(left) <= SHARE_EPS * np.maximum(1.0, relief)] = 0.0
        # basis is the lot's total cost: what stays keeps its cost per share
        self.basis = self.basis * np.divide(left, self.shares, out=np.zeros(n),
                                            where=self.shares > 0)
        self.shares = left
        if np.any(self.shares < -1e-7):
            raise RuntimeError(f"{hh.household_id}: a plan sells more than a lot holds")

        self.ytd_short += a.realized_short
        self.ytd_long += a.realized_long
        self.payout_tax += a.est_tax_distributions
        if np.any(a.disallowed > 0):
            self._add_disallowed(hh, orders, a)

        buy = orders.is_buy
        self._open(date, orders.account[buy], orders.security[buy], orders.shares[buy])
        keep = self.shares > 0
        if not keep.all():
            self.account, self.security = self.account[keep], self.security[keep]
            self.shares, self.basis = self.shares[keep], self.basis[keep]
            self.acquired, self.uid = self.acquired[keep], self.uid[keep]

        # cash may end a rounding hair below zero (the audit allows half a cent)
        self.cash = np.maximum(a.cash_after.astype(float), 0.0)
        self.traded += float(a.turnover)
        self.charge_costs(orders.account, orders.security, a.value)

        # recent trades: keep the window, add this plan's orders
        # a sale's gain is recorded net of what the wash-sale rule already disallowed; its
        # shares whose loss is still allowed stay open to a later replacement
        taxed_sale = sale & self.taxable[orders.account]
        gain = np.where(taxed_sale, a.gain + a.disallowed, 0.0)
        loss = taxed_sale & (a.gain < 0)
        lps = np.where(loss, -a.gain / np.maximum(orders.shares, 1e-12), 0.0)
        allowed = np.clip(np.divide(gain, a.gain, out=np.zeros(len(gain)), where=loss), 0, 1)
        self._record(date, orders.account, orders.security, orders.is_buy, orders.shares, gain,
                     sale & a.long_term, np.where(loss, orders.shares * allowed, 0.0), lps)

    def charge_costs(self, account: np.ndarray, security: np.ndarray,
                     value: np.ndarray) -> float:
        """Charge the trading cost of trades worth ``value`` dollars each (in ``account``,
        of ``security``) to the accounts' cash; returns the dollars charged.

        An account pays from its cash above ``min_cash``; the rest is ``owed``, paid when
        the account has cash again (`pay_owed`; see the module's conventions).
        """
        if not self.cost_rate.any() or not len(value):
            return 0.0
        cost = np.bincount(account, weights=np.abs(value) * self.cost_rate[security],
                           minlength=self.n_acc)
        paid = np.minimum(cost, np.maximum(self.cash - self.min_cash, 0.0))
        self.cash = self.cash - paid
        self.owed = self.owed + (cost - paid)
        self.costs += float(cost.sum())
        return float(cost.sum())

    def pay_owed(self) -> None:
        """Pay the trading costs owed from each account's cash above ``min_cash``, as far
        as it goes (the rest stays owed)."""
        if not self.owed.any():
            return
        paid = np.minimum(self.owed, np.maximum(self.cash - self.min_cash, 0.0))
        self.cash = self.cash - paid
        self.owed = self.owed - paid

    def _record(self, date: np.datetime64, account: np.ndarray, security: np.ndarray,
                is_buy: np.ndarray, shares: np.ndarray, gain: np.ndarray,
                long_term: np.ndarray, open_shares: np.ndarray | None = None,
                loss_per_share: np.ndarray | None = None) -> None:
        """Keep the last 30 days of trades and add these."""
        m = self.recent_mask(date)
        n = len(account)
        self.r_open = np.concatenate([self.r_open[m], np.zeros(n) if open_shares is None
                                      else open_shares])
        self.r_lps = np.concatenate([self.r_lps[m], np.zeros(n) if loss_per_share is None
                                     else loss_per_share])
        self.r_account = np.concatenate([self.r_account[m], account])
        self.r_security = np.concatenate([self.r_security[m], security])
        self.r_buy = np.concatenate([self.r_buy[m], is_buy])
        self.r_shares = np.concatenate([self.r_shares[m], shares])
        self.r_date = np.concatenate([self.r_date[m], np.full(n, date)])
        self.r_gain = np.concatenate([self.r_gain[m], gain])
        self.r_long = np.concatenate([self.r_long[m], long_term])

    def _open(self, date: np.datetime64, acc: np.ndarray, sec: np.ndarray,
              sh: np.ndarray) -> None:
        """Book purchases: a new lot each in taxable accounts (cost = value today),
        added to the position's single lot elsewhere."""
        tb = self.taxable[acc]
        k = int(tb.sum())
        if k:
            a, s, n = acc[tb], sec[tb], sh[tb]
            self.account = np.concatenate([self.account, a])
            self.security = np.concatenate([self.security, s])
            self.shares = np.concatenate([self.shares, n])
            self.basis = np.concatenate([self.basis, n * self.price[s]])
            self.acquired = np.concatenate([self.acquired, np.full(k, date)])
            self.uid = np.concatenate([self.uid, self.next_uid + np.arange(k)])
            self.next_uid += k
        for i in np.flatnonzero(~tb):
            ai, si = acc[i], sec[i]
            mine = np.flatnonzero((self.account == ai) & (self.security == si))
            if len(mine):
                self.shares[mine[0]] += sh[i]
            else:
                self.account = np.append(self.account, ai)
                self.security = np.append(self.security, si)
                self.shares = np.append(self.shares, sh[i])
                self.basis = np.append(self.basis, np.nan)
                self.acquired = np.append(self.acquired, NAT)
                self.uid = np.append(self.uid, self.next_uid)
                self.next_uid += 1

    def _add_disallowed(self, hh: Household, orders: Orders, a: Assessment) -> None:
        """Disallowed losses go into the basis of recent taxable replacement lots."""
        group = hh.securities.wash_group
        r = hh.recent
        win = r.is_buy & ((hh.as_of - r.date).astype(np.int64) <= WASH_WINDOW_DAYS)
        lot_group = group[self.security]
        # lots bought in the window (only taxable lots carry dates)
        recent_lot = (~np.isnat(self.acquired)
                      & ((hh.as_of - self.acquired).astype(np.int64) <= WASH_WINDOW_DAYS)
                      & (self.shares > 0))
        sold_now = np.zeros(len(self.shares), bool)
        sold_now[orders.lot[~orders.is_buy & (orders.lot >= 0)]] = True
        recent_lot &= ~sold_now          # a lot sold in this plan replaces nothing
        for g in np.unique(group[orders.security[a.disallowed > 0]]):
            amount = float(a.disallowed[group[orders.security] == g].sum())
            buys = win & (group[r.security] == g)
            total = float(np.sum(r.shares[buys] * self.price[r.security[buys]]))
            taxable_part = float(np.sum((r.shares * self.price[r.security])[
                buys & self.taxable[r.account]]))
            lots = np.flatnonzero(recent_lot & (lot_group == g) & self.taxable[self.account])
            value = self.shares[lots] * self.price[self.security[lots]]
            if total <= 0 or taxable_part <= 0 or value.sum() <= 0:
                continue          # replaced only in IRAs/Roths: the loss is lost
            share = min(taxable_part, float(value.sum())) / total
            self.basis[lots] += amount * min(share, 1.0) * value / value.sum()

    # --- simple cash raising -----------------------------------------------------------
    def settle(self, as_of: np.datetime64, flow: np.ndarray,
               goal_flow: np.ndarray | None = None) -> float:
        """Apply cash flows without a rebalance; sell pro rata where cash is short.

        Returns the dollars traded. A goal-level flow is split pro rata among the goal's
        accounts first (`taxopt.heuristics.sourcing`), its IRA payouts taxed.
        Withdrawals (negative ``flow``) come from cash above ``min_cash``, then a
        pro-rata sale of every lot of the account (whole shares rounded up), then
        cash below ``min_cash``; what still lacks goes to ``unpaid``. Deposits land in cash.
        """
        flow = np.asarray(flow, float)
        if goal_flow is not None and np.any(goal_flow != 0):
            from ..heuristics.sourcing import source_flows

            hh = self.household(as_of, flow, goal_flow)
            out, into = source_flows(hh, "proportional")
            self.payout_tax += float(distribution_tax(hh, out).sum())
            flow = flow - out + into
        spare = np.maximum(self.cash - self.min_cash, 0.0)
        need = np.where(flow < 0, np.maximum(-flow - spare, 0.0), 0.0)   # to raise by selling
        if not np.any(need > 0.005):
            self.cash = self.cash + flow
            return 0.0
        hh = self.household(as_of, flow)
        orders = self._pro_rata_sales(hh, need)
        a = assess(hh, orders)
        self.apply(hh, orders, a)            # clamps cash at zero
        self.unpaid += float(np.maximum(-a.cash_after, 0.0).sum())
        return float(a.turnover)

    def _pro_rata_sales(self, hh: Household, need: np.ndarray) -> Orders:
        value = self.shares * self.price[self.security]
        held = np.bincount(self.account, weights=value, minlength=self.n_acc)
        frac = np.minimum(np.divide(need, held, out=np.zeros(self.n_acc), where=held > 0), 1.0)
        take = self.shares * frac[self.account]
        whole = ~hh.securities.fractional[self.security]
        take = np.where(whole, np.minimum(np.ceil(take - 1e-9), self.shares), take)
        lot = np.arange(len(self.shares))
        return Orders.make(self.account, self.security, np.zeros(len(lot), bool), take, lot, hh)

    # --- the tax year ------------------------------------------------------------------
    def close_year(self) -> tuple[NettedYear, float]:
        """Net the year (Schedule D) and reset it; returns (netted year, distribution tax).

        The loss left after the year carries forward (by term) into the next
        year's tax profile.
        """
        ny = net_year(self.profile())
        dist = self.distribution_tax()
        self.carry_short, self.carry_long = ny.carryforward_short, ny.carryforward_long
        self.ytd_short = self.ytd_long = 0.0
        self.dist_qualified = self.dist_ordinary = self.dist_state = self.payout_tax = 0.0
        return ny, dist

    def tax_flows(self, amount: float) -> np.ndarray:
        """A tax bill (or credit, when negative) as cash flows of the taxable accounts,
        pro rata to their value (the first taxable account when all are empty).

        A bill is paid only from what the taxable accounts hold above ``min_cash``; the
        rest is recorded ``unpaid`` (a liability subtracted from wealth), so an account
        drained by withdrawals is not pushed below ``min_cash``, which no later plan could
        restore (every later rebalance would fail).
        """
        flow = np.zeros(self.n_acc)
        if amount == 0 or not self.taxable.any():
            if amount > 0:
                self.unpaid += amount
            return flow
        v = np.maximum(self.account_values(), 0.0) * self.taxable
        w = v / v.sum() if v.sum() > 0 else (np.arange(self.n_acc) == np.argmax(self.taxable))
        if amount <= 0:
            return -amount * w
        room = float(np.sum(np.maximum(v - self.min_cash, 0.0) * self.taxable))
        paid = min(amount, room)
        self.unpaid += amount - paid
        return -paid * w


__all__ = ["TAX_TYPES", "Ledger"]
