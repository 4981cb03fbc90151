"""Properties of the engine over generated households (hypothesis + `taxopt.synth`).

Each test draws a seed and a lot count for `taxopt.synth.household` and mutates a
few options (tracking_weight, tax_model, min_trade_value), then checks what must
hold for *every* household, recomputing everything from the orders with the
independent audit (`taxopt.audit`), never from the optimizer's numbers.

Two properties are weaker than first stated, on purpose (see the docstrings):
doing nothing when it is allowed costs no tax *unless the plan buys something
worth it* (the objective-based form), and scaling every dollar by k keeps the
objective and which accounts buy and sell (and the lots sold and est_tax unless the
rounding repair, a MIP stopped at a 0.1 % gap, ran), not every symbol, because
interchangeable funds tie exactly and the solver's choice among equal vertices is
not scale-invariant.

A plan refused by the audit for buying and selling one position is a known bug of
the rounding repair, since fixed; `_known_bug` is where a newly pinned bug would go.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import taxopt
from taxopt import synth
from taxopt.audit import assess, violations
from taxopt.domain.orders import Orders
from taxopt.options import Options
from taxopt.output import summary_json, trades_csv
from taxopt.plan.reasons import REASONS

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

SEEDS = st.integers(0, 2**32 - 1)
N_LOTS = st.integers(5, 80)
OPTIONS = st.fixed_dictionaries({
    "tracking_weight": st.one_of(st.sampled_from([0.0, 0.01, 0.1, 1.0, 10.0]),
                                 st.floats(0.0, 10.0, allow_nan=False)),
    "tax_model": st.sampled_from(["exact", "lot"]),
    "min_trade_value": st.one_of(st.sampled_from([0.0, 1.0, 10.0, 500.0]),
                                 st.floats(0.0, 1000.0, allow_nan=False)),
})

# Objective terms other than tax, tracking and trading cost (asset location, tax drag,
# cash drag), turned off where the nothing-to-do property needs an objective it can
# recompute on its own; only the knobs this version of Options has.
_KNOBS = {f.name for f in dataclasses.fields(Options)}
QUIET = {k: 0.0 for k in ("drag_horizon_years", "location_horizon_years", "cash_drag_years")
         if k in _KNOBS}


def _household(seed: int, n_lots: int, **kw: Any):
    return taxopt.from_dict(synth.household(seed, n_lots=n_lots, **kw))


def _known_bug(result) -> bool:
    """No known engine bug is set aside any more (the repair's buy-and-sell churn is
    fixed); kept as the one place to name one if a new bug is pinned."""
    return False


def _stopped_by_the_clock(result) -> bool:
    """A repair stopped by its wall-clock limit: its plan depends on the machine's load,
    not on the input, so properties that compare two solves set it aside."""
    return "limit of the repair reached" in result.message


def _check_result(hh, result, min_trade_value: float | None = None) -> None:
    """An audited plan, or a clear status with no orders; never half of each.

    With ``min_trade_value``, no order is smaller unless it closes its lot or the
    account's whole position (a regression: dust buys once slipped through the repair).
    """
    if result.ok:
        orders = result.orders
        assert violations(hh, orders) == []
        if min_trade_value is not None:
            _no_dust(hh, orders, min_trade_value)
        a = assess(hh, orders)
        assert abs(a.est_tax - result.assessment.est_tax) <= 1e-6
        cols = result.trade_columns()
        value = np.round(orders.shares * hh.securities.price[orders.security], 2)
        assert np.allclose(cols["value"], value, rtol=0, atol=0.005)
        assert set(cols["reason"]) <= set(REASONS)
        assert all(acc["why"] for acc in result.summary()["accounts"].values())
    else:
        assert result.status in ("infeasible", "error")
        assert result.message.strip()
        assert len(result.orders) == 0


def _no_dust(hh, orders: Orders, min_trade_value: float) -> None:
    lots, sec = hh.lots, hh.securities
    price = sec.price[orders.security]
    value = orders.shares * price
    sale = ~orders.is_buy
    lot_shares = np.where(orders.lot >= 0, lots.shares[np.maximum(orders.lot, 0)]
                          if len(lots) else 0.0, -1.0)
    held = np.zeros((len(hh.accounts), len(sec)))
    np.add.at(held, (lots.account, lots.security), lots.shares)
    sold = np.zeros_like(held)
    np.add.at(sold, (orders.account[sale], orders.security[sale]), orders.shares[sale])
    closes = sale & ((np.abs(orders.shares - lot_shares) <= 1e-9)
                     | (np.abs(sold[orders.account, orders.security]
                               - held[orders.account, orders.security]) <= 1e-9))
    small = value < min_trade_value - price * 1e-6 - 0.005
    assert not (small & ~closes).any(), value[small & ~closes]


@SETTINGS
@given(seed=SEEDS, n_lots=N_LOTS, options=OPTIONS)
def test_plan_is_audited_or_status_is_clear(seed, n_lots, options):
    """Never an exception; an audited plan without dust, or a clear status. The
    generator's households are feasible by construction (with whole shares and the
    default min_trade_value), so up to $10 of min_trade_value they must solve."""
    hh = _household(seed, n_lots)
    result = taxopt.rebalance(hh, **options)  # never raises
    _check_result(hh, result, options["min_trade_value"])
    if options["min_trade_value"] <= 10.0 and not _known_bug(result):
        assert result.ok, result.message


# -- doing nothing ------------------------------------------------------------------------

def _idle_household(seed: int, n_lots: int, drift: float):
    """A generated household where doing nothing is a legal plan.

    No cash flows, ``min_cash`` at most the cash held; a band or a drift tolerance that
    the current holdings break is dropped (the rest of the household is unchanged).
    """
    raw = synth.household(seed, n_lots=n_lots, drift=drift)
    for acc in raw["accounts"]:
        acc["cash_flow"] = 0.0
        acc["min_cash"] = min(acc.get("min_cash", 0.0), acc["cash"])
    broken = violations(taxopt.from_dict(raw), Orders.empty())
    if any(" band " in v for v in broken):
        for acc in raw["accounts"]:
            acc.pop("bands", None)
    if any(v.startswith("goal ") for v in broken):
        for goal in raw["goals"]:
            goal.pop("drift_tolerance", None)
    return taxopt.from_dict(raw)


def _dollar_objective(hh, orders: Orders, opts: Options) -> float:
    """Tax + tracking + trading cost of a plan, from its orders alone (in dollars).

    Tax: the year's added tax with full netting (``exact``) or each lot at its own
    rate (``lot``), as the model counts it; tracking: ``tracking_weight`` times the
    goals' L1 dollar gap to target after trades; cost: bps of turnover.
    """
    a = assess(hh, orders)
    tax = a.est_tax if opts.tax_model == "exact" else float(a.row_tax.sum())
    goal_class = np.zeros((len(hh.goals), len(hh.classes)))
    np.add.at(goal_class, hh.accounts.goal, a.class_after)
    gap = goal_class - hh.goals.target * goal_class.sum(axis=1, keepdims=True)
    return (tax + opts.tracking_weight * float(np.abs(gap).sum())
            + opts.transaction_cost_bps / 1e4 * a.turnover)


def _rounding_slack(hh, orders: Orders, opts: Options) -> float:
    """What whole-share rounding may add: one share (a millionth for fractional funds)
    per order, at the tracking penalty both ways, the trading cost and the top tax rate."""
    sec = hh.securities
    unit = np.where(sec.fractional[orders.security], 1e-6, 1.0) * sec.price[orders.security]
    rate = max(hh.tax.short_term_rate, hh.tax.long_term_rate)
    return float(unit.sum()) * (2 * opts.tracking_weight + opts.transaction_cost_bps / 1e4
                                + rate) + 0.01


@SETTINGS
@given(seed=SEEDS, n_lots=N_LOTS, options=OPTIONS, drift=st.sampled_from([0.0, 0.02, 0.08]))
def test_no_tax_when_nothing_needs_doing_unless_the_plan_is_worth_it(seed, n_lots, options,
                                                                     drift):
    """Doing nothing is legal (drift within tolerance, cash >= min_cash, no withdrawal).

    First form: the plan's est_tax <= 0.01 (doing nothing costs no tax). It fails, and
    legitimately so, when the plan pays tax to cut drift (the tracking penalty counts
    every dollar off target, not only beyond the tolerance) or tax drag / location
    value. So: with the drag and location terms off, a plan that adds tax must be worth
    it: its own tax + tracking + cost, recomputed from the orders, is no more than doing
    nothing's (within what whole-share rounding may add).
    """
    hh = _idle_household(seed, n_lots, drift)
    assume(violations(hh, Orders.empty()) == [])
    opts = hh.options.replace(**options, **QUIET)
    result = taxopt.rebalance(hh, opts)
    _check_result(hh, result, opts.min_trade_value)
    assume(not _known_bug(result))
    assert result.ok, result.message  # doing nothing is feasible, so the plan must be
    if result.assessment.est_tax <= 0.01:
        return
    plan = _dollar_objective(hh, result.orders, opts)
    nothing = _dollar_objective(hh, Orders.empty(), opts)
    assert plan <= nothing + _rounding_slack(hh, result.orders, opts), (plan, nothing)


# -- scale invariance ---------------------------------------------------------------------

def _scaled(raw: dict[str, Any], k: float) -> dict[str, Any]:
    """Every dollar amount times k: prices, cost bases, cash, cash flows, min_cash, the
    year's results, carryforwards, the offset limit and recent realized gains."""
    raw = copy.deepcopy(raw)
    for s in raw["securities"]:
        s["price"] *= k
    for lot in raw["lots"]:
        if lot.get("cost_basis") is not None:
            lot["cost_basis"] *= k
    for acc in raw["accounts"]:
        for f in ("cash", "cash_flow", "min_cash"):
            if f in acc:
                acc[f] *= k
    tp = raw["tax_profile"]
    for part in ("realized_ytd", "loss_carryforward"):
        for term in tp.get(part, {}):
            tp[part][term] *= k
    tp["ordinary_offset_limit"] = tp.get("ordinary_offset_limit", 3000.0) * k
    for t in raw.get("recent_trades", []):
        if t.get("realized_gain") is not None:
            t["realized_gain"] *= k
    return raw


def _bought_symbols(result) -> set:
    cols = result.trade_columns()
    return {(a, sym) for a, sym, side in zip(cols["account_id"], cols["symbol"], cols["side"],
                                             strict=True) if side == "buy"}


def _decisions(result) -> tuple[set, set]:
    cols = result.trade_columns()
    sides = set(zip(cols["account_id"], cols["side"], strict=True))
    lots = {(a, lot) for a, lot in zip(cols["account_id"], cols["lot_id"], strict=True) if lot}
    return sides, lots


@SETTINGS
@given(seed=SEEDS, n_lots=N_LOTS, options=OPTIONS, k=st.sampled_from([2.0, 4.0, 0.5]))
def test_scaling_every_dollar_scales_the_plan(seed, n_lots, options, k):
    """Prices, cost bases and cash (and every other dollar input) times k: the same plan.

    The program is exactly the same up to the factor k (powers of two keep the floats
    exact), so the status, the objective, which accounts buy and sell and, unless the
    rounding repair (a MIP stopped at a 0.1 % gap) ran, the taxable lots sold and
    est_tax are the same (x k); both plans pass the audit. Which *symbol* is bought can
    differ: funds that are interchangeable for the model (e.g. VEA and VXUS in a Roth,
    or a balanced fund against its parts) tie exactly, and the solver's pick among tied
    vertices depends on the numbers (about 4 % of draws; see the issue-8 report).
    """
    raw = synth.household(seed, n_lots=n_lots)
    mtv = options["min_trade_value"]
    one = taxopt.rebalance(taxopt.from_dict(raw), **options)
    big = taxopt.rebalance(taxopt.from_dict(_scaled(raw, k)),
                           **{**options, "min_trade_value": mtv * k})
    assume(not _known_bug(one) and not _known_bug(big))
    assume(not _stopped_by_the_clock(one) and not _stopped_by_the_clock(big))
    assert one.status == big.status, (one.message, big.message)
    if not one.ok:
        return
    terms1, terms_k = one.summary()["objective"], big.summary()["objective"]
    o1, ok_ = sum(terms1.values()), sum(terms_k.values())
    assert abs(ok_ - k * o1) <= 0.05 * k + 1e-5 * abs(k * o1)   # the same optimum
    sides1, lots1 = _decisions(one)
    sides_k, lots_k = _decisions(big)
    # Tied funds (see above) can differ in price, so whole-share rounding may leave one
    # of them unbought: an account then buys in one plan and not in the other.
    assume(_bought_symbols(one) == _bought_symbols(big) or sides1 == sides_k)
    assert sides1 == sides_k
    _check_result(one.household, one, mtv)
    _check_result(big.household, big, mtv * k)
    if "repair" not in one.timings and "repair" not in big.timings:
        # The rounding repair re-solves in shares as a MIP stopped at a 0.1 % gap (of an
        # objective with large constants) or 5 s: a legal plan close to the solve's, not
        # a scale-exact one (measured: lots and est_tax differ in ~1 % of repaired draws,
        # e.g. by $17 of $400). Without it the plan is the solve's, rounded.
        assert lots1 == lots_k
        t1, tk = one.assessment.est_tax, big.assessment.est_tax
        assert abs(tk - k * t1) <= 0.01 * k + 1e-6 * abs(k * t1)


@SETTINGS
@given(seed=SEEDS, n_lots=N_LOTS, options=OPTIONS)
def test_output_is_byte_identical_across_runs(seed, n_lots, options):
    hh = _household(seed, n_lots)
    runs = [taxopt.rebalance(hh, **options) for _ in range(2)]
    csv = [trades_csv(r.trade_columns()) for r in runs]
    summary = [summary_json(r.summary()) for r in runs]
    assert csv[0] == csv[1]
    assert summary[0] == summary[1]
    assert csv[0].decode().splitlines()[0].endswith(
        ",est_tax,wash_disallowed,reason,wash_kind,replacement_lot_id,replacement_basis,"
        "replacement_acquired")
