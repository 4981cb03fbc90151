"""The adviser's tax-versus-drift frontier of one household.

The plans along ``tracking_weight``, from 0 ("tax only": the household's hard
rules, such as its drift tolerance, still hold) to a weight large enough to
bring every goal back to target, each decoded and audited by the normal
pipeline (`taxopt.engine.finish`). A point's tax and drift are the audit's
numbers, not the solver's: ``tax`` is what the plan adds to the year's
capital-gains tax with full netting, ``drift`` the largest goal-level gap of
any asset class to its target after the trades (in percentage points), and
``off_target`` the share of the goals' value that sits in the wrong class
(half the L1 gap).

Speed: the model is built once. Only the tracking term's cost coefficients
change from point to point, so one HiGHS instance is loaded once and each point
changes those costs in place and re-solves from the previous optimal basis (a
warm start); points run from the largest weight down. With
``tracking="quadratic"`` the tracking variance weight does not enter the linear
costs, so each point is built and solved afresh (correct, slower).

Why monotone: for a parametric objective ``f(x) + w g(x)`` the optimum's ``g``
never rises and its ``f`` never falls as ``w`` grows. Here ``g`` is the
dollars off target and ``f`` the rest of the objective (tax, trading cost,
location value, cash drag), so "less drift never costs less" holds exactly for
the model's numbers; the audited tax and drift of the rounded plans follow it
up to rounding (whole shares, dust orders), which `check_monotone` tolerates.

>>> import taxopt
>>> from taxopt.frontier import frontier
>>> f = frontier(taxopt.load("scenarios/taxable_only.json"), points=5)
>>> len(f.points), f.points[0].weight
(5, 0.0)
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .domain.household import Household
from .domain.status import Status
from .files import atomic_write
from .options import Options

# Largest weight on the default grid: $5 of objective per dollar off target pays up to
# $10 of tax per dollar traded back to target, i.e. "back to target whatever it costs".
MAX_WEIGHT = 5.0
MIN_WEIGHT = 1e-3
COLUMNS = ("weight", "is_default", "status", "tax", "drift_pct", "off_target_pct",
           "turnover", "orders", "objective_other", "off_target_dollars", "audit_ok",
           "violations")
# Rounding slack of the monotonicity check: whole shares and orders below
# min_trade_value move a plan by a few dollars of tax and a few hundredths of a point.
TAX_SLACK = 1.0
DRIFT_SLACK_PCT = 0.1


@dataclass(frozen=True)
class FrontierPoint:
    """One audited plan on the frontier."""

    weight: float
    is_default: bool
    status: Status
    tax: float                   # audited: tax the plan adds this year (netted), $
    drift_pct: float             # audited: largest goal-level class gap after, percentage points
    off_target_pct: float        # audited: share of the goals' value in the wrong class, %
    turnover: float              # audited: dollars traded (both sides)
    orders: int
    objective_other: float       # the model's objective without the tracking term, $
    off_target_dollars: float    # the model's dollars off target (L1 over classes / 2)
    audit_ok: bool
    violations: str = ""
    result: Any = field(default=None, repr=False, compare=False)   # the engine's Result

    def row(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in COLUMNS}


@dataclass
class Frontier:
    """The points, in increasing weight, and how long they took."""

    household_id: str
    default_weight: float
    points: list[FrontierPoint]
    seconds: float
    warm_solves: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def default(self) -> FrontierPoint:
        return next(p for p in self.points if p.is_default)


def weight_grid(points: int, default: float, max_weight: float = MAX_WEIGHT) -> np.ndarray:
    """0, then ``points - 1`` geometric steps up to ``max_weight``, the default on the grid.

    The default replaces the grid point nearest to it (in log scale), so it is one
    of the ``points`` plans and not an extra one.
    """
    if points < 2:
        raise ValueError("a frontier needs at least 2 points")
    w = np.concatenate([[0.0], np.geomspace(MIN_WEIGHT, max_weight, points - 1)])
    if default > 0:
        j = 1 + int(np.argmin(np.abs(np.log(w[1:]) - math.log(default))))
        w[j] = default
    elif default == 0:
        pass
    return np.unique(w)


def frontier(household: Household, options: Options | None = None, points: int = 20,
             weights: Sequence[float] | None = None) -> Frontier:
    """The audited plans of ``household`` along ``tracking_weight``.

    ``weights`` replaces the default grid (`weight_grid`); the option's own
    ``tracking_weight`` is always one of the points (the default, marked).
    """
    opts = options or household.options
    grid = (np.unique(np.append(np.asarray(weights, float), opts.tracking_weight))
            if weights is not None else weight_grid(points, opts.tracking_weight))
    if np.any(grid < 0) or not np.all(np.isfinite(grid)):
        raise ValueError("tracking weights must be finite and >= 0")
    t0 = time.perf_counter()
    if opts.tracking == "l1" and opts.adapter == "highs":
        pts, warm, timings = _warm_points(household, opts, grid)
    else:
        pts, warm, timings = _cold_points(household, opts, grid), 0, {}
    return Frontier(household.household_id, opts.tracking_weight, pts,
                    time.perf_counter() - t0, warm, timings)


def _warm_points(hh: Household, opts: Options,
                 grid: np.ndarray) -> tuple[list[FrontierPoint], int, dict[str, float]]:
    """One model, one HiGHS instance: costs changed in place, warm re-solves, high to low."""
    from .adapters.highs import HighsSession
    from .engine import finish
    from .model.builder import build

    timings = {"build": 0.0, "solve": 0.0, "decode_audit": 0.0}
    t = time.perf_counter()
    model = build(hh, opts)
    prog = model.program
    cols = prog.vars["dev"].slice
    session = HighsSession(opts)
    timings["build"] = time.perf_counter() - t
    out: dict[float, FrontierPoint] = {}
    for w in sorted(grid.tolist(), reverse=True):
        t = time.perf_counter()
        coef = np.zeros(prog.n)
        coef[cols] = w
        prog.terms["tracking"] = (coef, 0.0)   # the program the repair re-solves, too
        sol = session.solve(prog)
        timings["solve"] += time.perf_counter() - t
        t = time.perf_counter()
        o = opts.replace(tracking_weight=float(w))
        out[w] = _point(finish(_at_weight(model, o), sol, o, {}), w, opts.tracking_weight,
                        sol)
        timings["decode_audit"] += time.perf_counter() - t
    return [out[w] for w in sorted(out)], session.warm_solves, timings


def _at_weight(model: Any, opts: Options) -> Any:
    """A view of ``model`` at this point: its options and a program whose terms are
    this point's (variables and rows are shared, nothing large is copied), so each
    point's result explains itself after the next point changes the weight."""
    from dataclasses import replace

    ctx = model.context
    return replace(model, options=opts,
                   context=replace(ctx, program=ctx.program.without()))


def _cold_points(hh: Household, opts: Options, grid: np.ndarray) -> list[FrontierPoint]:
    from .engine import rebalance

    pts = []
    for w in grid.tolist():
        r = rebalance(hh, opts.replace(tracking_weight=float(w)))
        pts.append(_point(r, w, opts.tracking_weight, r.solution))
    return pts


def _point(result: Any, w: float, default: float, sol: Any) -> FrontierPoint:
    """The audited numbers of one plan (``result``: an engine `Result`)."""
    hh, a = result.household, result.assessment
    goal_value = np.zeros(len(hh.goals))
    np.add.at(goal_value, hh.accounts.goal, a.account_value)
    gap = np.abs(a.weights_after - hh.goals.target).sum(axis=1) / 2.0
    total = float(goal_value.sum())
    off = float((gap * goal_value).sum() / total) if total > 0 else 0.0
    other = off_dollars = math.nan
    if sol is not None and sol.status.has_solution and result.model is not None:
        terms = result.model.program.evaluate(sol.x)
        track = terms.pop("tracking", 0.0)
        other = float(sum(terms.values()))
        off_dollars = track / w / 2.0 if w > 0 else math.nan
    return FrontierPoint(float(w), bool(w == default), result.status, float(a.est_tax),
                         float(a.drift_after.max()) * 100 if len(a.drift_after) else 0.0,
                         off * 100, float(a.turnover), len(result.orders), other,
                         off_dollars, result.ok and not result.violations,
                         "; ".join(result.violations), result)


def check_monotone(f: Frontier, tax: bool = True, tax_slack: float = TAX_SLACK,
                   drift_slack_pct: float = DRIFT_SLACK_PCT) -> list[str]:
    """Where less drift costs less along the frontier (empty: monotone).

    With weights rising: the model's dollars off target never rise and its cost
    without tracking never falls (exact, to a cent per million); the audited
    off-target share never rises beyond ``drift_slack_pct`` points; with ``tax``,
    the audited tax never falls by more than ``tax_slack`` dollars. The last holds
    when tax is the model's only other cost; with location, cash drag or trading
    cost on, a plan may pay tax for location value and then legitimately spend less
    tax at a higher weight, so pass ``tax=False`` there.
    """
    out = []
    pts = [p for p in f.points if p.status.has_solution]
    if len(pts) < len(f.points):
        out.append(f"{len(f.points) - len(pts)} point(s) without a plan")
    for a, b in itertools.pairwise(pts):
        at = f"weight {a.weight:g} -> {b.weight:g}"
        if tax and b.tax < a.tax - tax_slack:
            out.append(f"{at}: tax falls from {a.tax:.2f} to {b.tax:.2f}")
        if b.off_target_pct > a.off_target_pct + drift_slack_pct:
            out.append(f"{at}: off target rises from {a.off_target_pct:.3f} % to "
                       f"{b.off_target_pct:.3f} %")
        cent = 0.01 + 1e-6 * abs(a.objective_other)
        if b.objective_other < a.objective_other - cent:
            out.append(f"{at}: the model's cost falls from {a.objective_other:.2f} to "
                       f"{b.objective_other:.2f}")
        if (a.weight > 0 and b.off_target_dollars
                > a.off_target_dollars + 0.01 + 1e-6 * abs(a.off_target_dollars)):
            out.append(f"{at}: the model's dollars off target rise from "
                       f"{a.off_target_dollars:.2f} to {b.off_target_dollars:.2f}")
    return out


# --- files ------------------------------------------------------------------------------
def _cell(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.6g}" if v == 0 or abs(v) < 1e-3 else f"{v:.6f}"
    return str(v)


def write_csv(f: Frontier, path: Path) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for p in f.points:
        w.writerow([_cell(v) for v in p.row().values()])
    atomic_write(path, buf.getvalue().encode())
    return path


def plot_png(f: Frontier) -> bytes:
    """Tax added this year against drift after, one dot per plan, the default marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [p for p in f.points if p.status.has_solution]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    x = [p.drift_pct for p in ok]
    y = [p.tax for p in ok]
    ax.plot(x, y, "-o", ms=4, lw=1, color="#35608d", label="plan at a tracking weight")
    d = [p for p in ok if p.is_default]
    if d:
        ax.plot([d[0].drift_pct], [d[0].tax], "*", ms=16, color="#d1495b",
                label=f"default (tracking_weight {d[0].weight:g})")
    for p in (ok[0], ok[-1]) if ok else ():
        ax.annotate(f"w={p.weight:g}", (p.drift_pct, p.tax), textcoords="offset points",
                    xytext=(5, 5), fontsize=8)
    ax.set(title=f"{f.household_id}: tax against drift ({len(ok)} audited plans)",
           xlabel="largest goal-level drift after the trades (percentage points)",
           ylabel="tax added this year ($, netted)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def write_outputs(f: Frontier, out_dir: str | Path, plot: bool = True) -> list[Path]:
    """``frontier.csv`` and (with ``plot``) ``frontier.png`` in ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [write_csv(f, out / "frontier.csv")]
    if plot:
        p = out / "frontier.png"
        atomic_write(p, plot_png(f))
        written.append(p)
    return written
