"""The plan as the contract's outputs: the trade table and the summary record."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..audit import Assessment
from ..domain.household import TAX_TYPES, TAXABLE, Household
from ..domain.orders import Orders
from ..options import Options
from ..tax.wash import WASH_WINDOW_DAYS, open_recent_loss_until
from .assumptions import plan_assumptions
from .funding import FUNDING_REASON, flow_rows, funding_table
from .reasons import account_lines, order_reasons

# `reason` and the wash columns come after the contract 1.0 columns: the contract adds
# columns only at the end, so a reader of the older table still finds every column
TRADE_COLUMNS = ("household_id", "account_id", "symbol", "side", "shares", "price", "value",
                 "lot_id", "term", "realized_gain", "est_tax", "wash_disallowed", "reason",
                 "wash_kind", "replacement_lot_id", "replacement_basis", "replacement_acquired")


def wash_columns(hh: Household, orders: Orders, a: Assessment) -> dict[str, list[Any]]:
    """What happens to each washed loss (contract 1.1: `wash_kind` and the replacement).

    ``deferred``: the first replacement purchase is in a taxable account; the
    disallowed loss matched to each replacement is added to its basis (IRC 1091(d))
    and its holding period includes the sold lot's (IRC 1223(3)):
    ``replacement_acquired`` is its purchase
    date moved back by the days the sold lot was held. ``lost``: the replacement is
    in a tax-deferred or tax-free account; the loss is gone for good (Rev. Rul.
    2008-5). A replacement lot's basis is its cost plus every loss this plan defers
    into it.
    """
    n = len(orders)
    kind = [""] * n
    lot_id = [""] * n
    basis: list[float | None] = [None] * n
    acquired = [""] * n
    m, rep = a.wash, a.replacements
    if m is None or rep is None or not len(rep):
        return {"wash_kind": kind, "replacement_lot_id": lot_id, "replacement_basis": basis,
                "replacement_acquired": acquired}
    washed = np.flatnonzero((a.disallowed > 0.005) & (m.replacement >= 0))
    r = m.replacement
    taxable = hh.accounts.tax_type[rep.account] == TAXABLE
    # each replacement lot gains the loss matched to it, not the whole loss of a sale
    # that several replacements cover
    deferred_into = m.disallowed_into if m.disallowed_into is not None else np.zeros(len(rep))
    lots = hh.lots
    for i in washed:
        j = int(r[i])
        if not taxable[j]:
            kind[i] = "lost"
            continue
        kind[i] = "deferred"
        held = hh.as_of - lots.acquired[orders.lot[i]]
        acquired[i] = str(rep.date[j] - held)
        if rep.lot[j] >= 0:
            lot_id[i] = lots.lot_id[rep.lot[j]]
            basis[i] = round(float(lots.basis[rep.lot[j]] + deferred_into[j]), 2) + 0.0
    return {"wash_kind": kind, "replacement_lot_id": lot_id, "replacement_basis": basis,
            "replacement_acquired": acquired}


def trade_columns(hh: Household, orders: Orders, a: Assessment,
                  reasons: np.ndarray | None = None) -> dict[str, list[Any]]:
    """The trade list as columns (contract order; ``wash_disallowed``, ``reason`` appended)."""
    n = len(orders)
    named = (orders.lot >= 0) & ~orders.is_buy & (hh.accounts.tax_type[orders.account]
                                                   == TAXABLE)
    # the text columns from Python lists and ints (a batch makes them for every household:
    # indexing a tuple by a numpy integer, or a numpy text array, costs several times more)
    account_id, symbol, lot_id = hh.accounts.account_id, hh.securities.symbol, hh.lots.lot_id
    named_l, long_l = named.tolist(), np.asarray(a.long_term, dtype=bool).tolist()
    cols = {
        "household_id": [hh.household_id] * n,
        "account_id": [account_id[i] for i in orders.account.tolist()],
        "symbol": [symbol[i] for i in orders.security.tolist()],
        "side": ["buy" if b else "sell" for b in orders.is_buy.tolist()],
        "shares": orders.shares.tolist(),
        "price": hh.securities.price[orders.security].tolist(),
        "value": np.round(a.value, 2).tolist(),
        "lot_id": [lot_id[li] if ok else "" for li, ok in zip(orders.lot.tolist(), named_l,
                                                                strict=True)],
        "term": [("long" if lt else "short") if ok else ""
                 for ok, lt in zip(named_l, long_l, strict=True)],
        "realized_gain": np.round(a.gain, 2).tolist(),
        "est_tax": np.round(a.row_tax, 2).tolist(),
        "wash_disallowed": np.round(a.disallowed, 2).tolist(),
        "reason": (order_reasons(hh, orders, a) if reasons is None else reasons).tolist(),
        **wash_columns(hh, orders, a),
    }
    _add_flow_rows(cols, hh, orders)
    return cols


def _add_flow_rows(cols: dict[str, list[Any]], hh: Household, orders: Orders) -> None:
    """Goal-level flows as ``withdraw`` / ``deposit`` rows after the orders (contract 1.1):
    no symbol, shares, price, lot or term; ``value`` the amount, ``est_tax`` the tax and
    penalty on a payout."""
    nan = float("nan")
    for i, side, amount, tax in flow_rows(hh, orders.withdraw, orders.deposit):
        row = {"household_id": hh.household_id, "account_id": hh.accounts.account_id[i],
               "symbol": "", "side": side, "shares": nan, "price": nan,
               "value": round(amount, 2) + 0.0, "lot_id": "", "term": "",
               "realized_gain": 0.0, "est_tax": round(tax, 2) + 0.0, "wash_disallowed": 0.0,
               "reason": FUNDING_REASON if side == "withdraw" else "deposit",
               "wash_kind": "", "replacement_lot_id": "", "replacement_basis": None,
               "replacement_acquired": ""}
        for name, column in cols.items():
            column.append(row[name])


def _money(x: float) -> float:
    return round(float(x), 2) + 0.0


def _weights(hh: Household, w: np.ndarray) -> dict[str, float]:
    return {c: round(float(v), 6) + 0.0 for c, v in zip(hh.classes, w, strict=True)}


def _year(y) -> dict[str, float]:
    """Schedule D by term: net results, tax, and losses carried to next year."""
    return {"net_short_term": _money(y.net_short), "net_long_term": _money(y.net_long),
            "tax": _money(y.tax), "carryforward_short_term": _money(y.carryforward_short),
            "carryforward_long_term": _money(y.carryforward_long)}


def wash_restrictions(hh: Household, orders: Orders, a: Assessment) -> list[dict[str, Any]]:
    """The do-not-buy list: each wash group sold at a loss (in this plan, or in the last
    30 days and not yet replaced), its symbols, and the first day they may be bought
    again without washing the loss."""
    sec = hh.securities
    names = sec.wash_group_names
    loss_sale = ~orders.is_buy & (a.gain < 0)
    until = open_recent_loss_until(hh).copy()
    today = hh.as_of + np.timedelta64(WASH_WINDOW_DAYS + 1, "D")
    until[sec.wash_group[orders.security[loss_sale]]] = today   # the latest day there is
    groups = sorted((names[g], str(until[g])) for g in np.flatnonzero(~np.isnat(until)))
    if not groups:
        return []
    group_of = [names[g] for g in sec.wash_group.tolist()]
    return [{"wash_group": g, "symbols": sorted(s for s, gs in zip(sec.symbol, group_of,
                                                                    strict=True) if gs == g),
             "do_not_buy_before": day} for g, day in groups]


def summary_record(hh: Household, orders: Orders, a: Assessment, status: str,
                   message: str,
                   reasons: np.ndarray | None = None,
                   options: Options | None = None) -> dict[str, Any]:
    """The summary: tax with full netting, realized results, drift before and after, and
    the defaults that changed a number (``assumptions``)."""
    goals = {}
    for g, gid in enumerate(hh.goals.goal_id):
        tol = hh.goals.tolerance[g]
        goals[gid] = {
            "targets": _weights(hh, hh.goals.target[g]),
            "drift_tolerance": None if np.isnan(tol) else float(tol),
            "weights_before": _weights(hh, a.weights_before[g]),
            "weights_after": _weights(hh, a.weights_after[g]),
            "drift_before": round(float(a.drift_before[g]), 6),
            "drift_after": round(float(a.drift_after[g]), 6),
        }
    accounts = {}
    why = account_lines(hh, orders, a,
                        order_reasons(hh, orders, a) if reasons is None else reasons, status)
    for i, aid in enumerate(hh.accounts.account_id):
        mine = orders.account == i
        accounts[aid] = {
            "tax_type": TAX_TYPES[hh.accounts.tax_type[i]],
            "value_after": _money(a.account_value[i]),
            "cash_before": _money(a.cash_before[i]),
            "cash_after": _money(a.cash_after[i]),
            "bought": _money(a.value[mine & orders.is_buy].sum()),
            "sold": _money(a.value[mine & ~orders.is_buy].sum()),
            "orders": int(mine.sum()),
            "why": why[i],
        }
    wash = wash_restrictions(hh, orders, a)
    rec = {
        "household_id": hh.household_id,
        "status": status,
        "message": message,
        "est_tax": _money(a.est_tax),
        "est_tax_distributions": _money(a.est_tax_distributions),
        "est_tax_total": _money(a.est_tax + a.est_tax_distributions),
        "realized_short_term": _money(a.realized_short),
        "realized_long_term": _money(a.realized_long),
        "wash_disallowed_loss": _money(a.disallowed.sum()),
        "year_tax_before": _money(a.year_before.tax),
        "year_tax_after": _money(a.year_after.tax),
        "year": {"before": _year(a.year_before), "after": _year(a.year_after)},
        "orders": len(orders),
        "turnover": _money(a.turnover),
        "goals": goals,
        "accounts": accounts,
        "wash_sale_restrictions": wash,
        "assumptions": plan_assumptions(
            hh, options, a.year_after.carryforward_short + a.year_after.carryforward_long,
            a.year_before.carryforward_short + a.year_before.carryforward_long),
    }
    if orders.withdraw is not None:
        sale_tax = np.bincount(orders.account, weights=a.row_tax, minlength=len(hh.accounts))
        rec["funding"] = funding_table(hh, orders.withdraw, orders.deposit, sale_tax)
    return rec
