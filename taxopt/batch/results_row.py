"""A household's results row (all but its id and seconds), read off its `Result`.

The results table's first columns (status, est_tax, drift, orders, ...) say
whether a household was solved; the columns here say what the plan does and
what a human must act on: turnover, realized gains and losses, the year's tax
before and after, wash-sale disallowances, the do-not-buy list with its date,
how many orders (and dollars) each reason accounts for, and each account's
`why` sentence. Every figure comes from the engine's audited `Result`, the
same figure its summary record gives (tax is never recomputed here), without
making that record; the review columns are appended after the older columns
so that readers of the older table keep working.

Optionally (``lockstep=True``) the same household is also rebalanced by the
``lockstep_fifo`` heuristic and both plans are scored by the same audit, which
gives ``tax_saved_vs_lockstep``: the tax the plan saves against the rule most
desks run today, on the same night and the same data.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..audit import CENT
from ..domain.household import TAXABLE
from ..plan.reasons import REASONS, account_lines
from ..plan.report import wash_restrictions

if TYPE_CHECKING:
    from ..engine import Result

#: Reason groups as the report shows them (a reason not listed here shows as itself).
REASON_GROUPS = {"withdrawal": "cash flows", "withdrawal funding": "cash flows",
                 "deposit": "cash flows", "rebalance": "drift",
                 "location": "location", "harvest": "harvesting",
                 "substitute": "harvesting", "rounding": "rounding"}

def reason_column(prefix: str, reason: str) -> str:
    """The column of a reason's orders or dollars ('withdrawal funding' -> ..._funding)."""
    return f"{prefix}_{reason.replace(' ', '_')}"


#: The columns this module adds, in order, with their Arrow type names.
REVIEW_TYPES: dict[str, str] = {
    "household_value": "float64",
    "turnover": "float64",
    "turnover_pct": "float64",
    "realized_short_term": "float64",
    "realized_long_term": "float64",
    "year_tax_before": "float64",
    "year_tax_after": "float64",
    "losses_harvested": "float64",
    "wash_disallowed_loss": "float64",
    "do_not_buy": "string",
    "mip_gap": "float64",
    **{reason_column("orders", r): "int64" for r in REASONS},
    **{reason_column("turnover", r): "float64" for r in REASONS},
    "why": "string",
    "lockstep_est_tax": "float64",
    "tax_saved_vs_lockstep": "float64",
    "est_tax_distributions": "float64",
    "est_tax_total": "float64",
}
REVIEW_COLUMNS = tuple(REVIEW_TYPES)
#: Each reason with its two columns (orders, dollars).
_REASON_COLUMNS = tuple((r, reason_column("orders", r), reason_column("turnover", r))
                        for r in REASONS)


def _money(x: float) -> float:
    return round(float(x), 2) + 0.0


#: ``json.dumps(x, separators=(",", ":"), ensure_ascii=False)`` without making an encoder
#: per call (two cells a household)
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _json(x: Any) -> str:
    """Compact, deterministic JSON text (key order as built: accounts in input order)."""
    return _ENCODE(x)


def plan_fields(result: Result, lockstep: bool = False) -> dict[str, Any]:
    """A rebalanced household's results columns (any status the engine returns): the
    plan's own (est_tax, drift, orders, solver) and the review columns.

    The figures are those of ``result.summary()`` (same sources, same rounding; a
    test holds them equal), read off the audited result without making the whole
    summary record: a batch needs a few of its fields, not its per-goal weights,
    per-account cash, assumptions or location values (half of its cost).

    Parameters
    ----------
    result
        The engine's result; its orders, audit and order reasons are read, not redone.
    lockstep
        Also score the ``lockstep_fifo`` heuristic on the household (about 2 ms a
        household) and fill ``lockstep_est_tax`` and ``tax_saved_vs_lockstep``.
    """
    hh, a, orders = result.household, result.assessment, result.orders
    status = str(result.status)
    reasons = result.order_reasons
    solver = result.solution.describe() if result.solution is not None else None
    value = float(a.account_value.sum())
    turnover = _money(a.turnover)
    sale = ~orders.is_buy & (hh.accounts.tax_type[orders.account] == TAXABLE)
    counted = a.gain + a.disallowed   # the part of each sale's gain or loss that counts
    harvested = float(-counted[sale & (counted < -CENT)].sum())
    why = account_lines(hh, orders, a, reasons, status)
    row: dict[str, Any] = {
        "status": status,
        "message": result.message,
        "est_tax": _money(a.est_tax),
        # the household's worst goal: the largest absolute gap to a target
        "drift_before": max((round(float(x), 6) for x in a.drift_before), default=None),
        "drift_after": max((round(float(x), 6) for x in a.drift_after), default=None),
        "orders": len(orders),
        "solver": _solver_name(solver),
        "household_value": _money(value),
        "turnover": turnover,
        "turnover_pct": round(100.0 * turnover / value, 4) + 0.0 if value > 0 else None,
        "realized_short_term": _money(a.realized_short),
        "realized_long_term": _money(a.realized_long),
        "year_tax_before": _money(a.year_before.tax),
        "year_tax_after": _money(a.year_after.tax),
        "losses_harvested": _money(harvested),
        "wash_disallowed_loss": _money(a.disallowed.sum()),
        "do_not_buy": _json(wash_restrictions(hh, orders, a)),
        "mip_gap": (solver or {}).get("mip_gap"),
        "why": _json(dict(zip(hh.accounts.account_id, why, strict=True))),
        "est_tax_distributions": _money(a.est_tax_distributions),
        "est_tax_total": _money(a.est_tax + a.est_tax_distributions),
    }
    counts = dict.fromkeys(REASONS, 0)
    for r in reasons.tolist():
        counts[r] = counts.get(r, 0) + 1
    for r, orders_col, turnover_col in _REASON_COLUMNS:
        row[orders_col] = counts[r]
        # the same sum as over the reason's orders (none: 0.0), to the last bit
        row[turnover_col] = _money(a.value[reasons == r].sum()) if counts[r] else 0.0
    if lockstep and result.ok:
        row.update(_against_lockstep(result))
    return row


def _solver_name(desc: dict[str, Any] | None) -> str | None:
    if not desc:
        return None
    name = f"{desc.get('adapter')}/{desc.get('solver')}"
    return f"{name} {desc['version']}" if desc.get("version") else name


def _against_lockstep(result: Result) -> dict[str, Any]:
    """The lockstep heuristic's tax on the same household, by the same audit."""
    from ..audit import assess
    from ..heuristics import HEURISTICS

    try:
        other = assess(result.household, HEURISTICS["lockstep_fifo"](result.household))
    except Exception:   # a baseline that cannot run leaves the columns empty
        return {}
    theirs = _money(other.est_tax)
    return {"lockstep_est_tax": theirs,
            "tax_saved_vs_lockstep": _money(theirs - _money(result.assessment.est_tax))}
