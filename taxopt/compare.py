"""The optimizer and the baseline heuristics on the same households, side by side.

Every method's orders are scored by the same independent audit
(`taxopt.audit.assess` and `taxopt.audit.violations`), never by the method's own
numbers: ``tax`` is what the plan adds to the year's capital-gains tax with full
netting, ``drift_after`` the largest absolute gap to target over the goals.

Units (`UNITS`): ``tax`` in dollars; ``drift_after`` as a weight in the CSV
(0.05 = 5 percentage points), shown in percentage points in the table and the
plot; ``turnover`` in dollars traded counting both sides (buys plus sells: a
$1,000 switch from one fund to another is $2,000 of turnover); ``seconds`` of
wall time per plan.

>>> import taxopt
>>> from taxopt.compare import compare
>>> rows = compare([taxopt.load("scenarios/taxable_only.json")], ["taxopt", "lockstep_fifo"])
>>> [r["method"] for r in rows]
['taxopt', 'lockstep_fifo']
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .audit import violations
from .domain.household import Household
from .errors import InvalidInput
from .files import atomic_write
from .methods import OPTIMIZER, all_methods, check_methods, run_method

COLUMNS = ("household_id", "method", "tax", "drift_after", "turnover", "orders", "violations",
           "seconds", "status", "tax_distributions")
SUMMARY_COLUMNS = ("method", "households", "tax_total", "tax_median", "drift_median",
                   "drift_max", "turnover_total", "violations", "plans_with_violations",
                   "seconds_total", "tax_distributions_total")
SCENARIO_SUFFIXES = (".json", ".yaml", ".yml")
UNITS = ("tax: dollars the plan adds to this year's tax (full netting; negative = saved); "
         "drift: largest gap of an asset-class weight to its goal target after the trades, "
         "in percentage points (CSV: as a weight, 0.05 = 5 points); turnover: dollars "
         "traded, buys plus sells (a $1,000 switch counts $2,000)")


def load_households(source: str | Path) -> list[Household]:
    """One scenario file, or every ``*.json``/``*.yaml``/``*.yml`` in a folder (sorted)."""
    from .domain.load import from_file

    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.iterdir()
                       if p.is_file() and p.suffix.lower() in SCENARIO_SUFFIXES)
        if not files:
            raise InvalidInput(None, str(path), None,
                               "the folder holds no *.json, *.yaml or *.yml scenario")
        return [from_file(p) for p in files]
    return [from_file(path)]


def _as_household(item: Any) -> Household:
    if isinstance(item, Household):
        return item
    if isinstance(item, dict):
        from .domain.load import from_dict

        return from_dict(item)
    if isinstance(item, str | Path):
        from .domain.load import from_file

        return from_file(Path(item))
    raise TypeError(f"expected a Household, a dict or a path, got {type(item).__name__}")


def run_row(hh: Household, method: str) -> dict[str, Any]:
    """One method on one household: the audited row of the comparison."""
    t0 = time.perf_counter()
    out = run_method(hh, method)
    seconds = time.perf_counter() - t0
    a = out.assessment
    broken = violations(hh, out.orders, a)
    return {
        "household_id": hh.household_id,
        "method": method,
        "tax": float(a.est_tax),
        "drift_after": float(a.drift_after.max()) if len(a.drift_after) else 0.0,
        "turnover": float(a.turnover),
        "orders": len(out.orders),
        "violations": len(broken),
        "seconds": seconds,
        "status": out.status,
        # tax and penalties on retirement-account payouts of goal-level flows
        "tax_distributions": float(a.est_tax_distributions),
    }


__all__ = ["COLUMNS", "OPTIMIZER", "SUMMARY_COLUMNS", "UNITS", "all_methods", "check_methods",
           "compare", "csv_text", "format_row", "load_households", "plot", "run_row",
           "summarize", "write_csv", "write_outputs"]


def compare(households: Iterable[Household | dict | str | Path],
            methods: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Run the optimizer (``"taxopt"``) and the heuristics on every household.

    Parameters
    ----------
    households
        Households (or contract dicts, or scenario paths).
    methods
        Names of `taxopt.methods.all_methods` (the optimizer methods, then the
        heuristics); all when None.

    Returns
    -------
    One row per (household, method), households in the order given and methods
    in the order asked, with the columns of `COLUMNS`: ``tax`` (full netting,
    dollars), ``drift_after`` (max over goals), ``turnover`` (dollars traded),
    ``orders``, ``violations`` (count of broken hard rules), ``seconds`` and
    ``status`` (the optimizer's; a heuristic's plan is ``feasible``, or ``error``
    when it breaks a hard rule).
    """
    chosen = check_methods(methods)
    rows = []
    for item in households:
        hh = _as_household(item)
        rows.extend(run_row(hh, m) for m in chosen)
    return rows


def summarize(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per method (in first-seen order): totals and medians over its households."""
    methods = list(dict.fromkeys(r["method"] for r in rows))
    out = []
    for m in methods:
        mine = [r for r in rows if r["method"] == m]
        tax = np.array([r["tax"] for r in mine])
        drift = np.array([r["drift_after"] for r in mine])
        out.append({
            "method": m,
            "households": len(mine),
            "tax_total": float(tax.sum()),
            "tax_median": float(np.median(tax)),
            "drift_median": float(np.median(drift)),
            "drift_max": float(drift.max()),
            "turnover_total": float(sum(r["turnover"] for r in mine)),
            "violations": int(sum(r["violations"] for r in mine)),
            "plans_with_violations": int(sum(r["violations"] > 0 for r in mine)),
            "seconds_total": float(sum(r["seconds"] for r in mine)),
            "tax_distributions_total": float(sum(r.get("tax_distributions", 0.0)
                                                 for r in mine)),
        })
    return out


def _fmt(x: float, digits: int) -> str:
    s = f"{x:.{digits}f}"
    return s[1:] if s.startswith("-") and float(s) == 0 else s


def format_row(row: dict[str, Any]) -> list[str]:
    """A row as the CSV writes it: money to the cent, weights to 1e-6, seconds to 1e-4."""
    return [str(row["household_id"]), str(row["method"]), _fmt(row["tax"], 2),
            _fmt(row["drift_after"], 6), _fmt(row["turnover"], 2), str(int(row["orders"])),
            str(int(row["violations"])), _fmt(row["seconds"], 4), str(row["status"]),
            _fmt(row.get("tax_distributions", 0.0), 2)]


def csv_text(rows: Sequence[dict[str, Any]]) -> str:
    """The comparison as CSV text (header, then rows in the given order, ``\\n`` endings)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow(format_row(r))
    return buf.getvalue()


def write_csv(rows: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Write ``compare.csv`` (or any path) with deterministic formatting."""
    path = Path(path)
    atomic_write(path, csv_text(rows).encode("utf-8"))
    return path


def plot(rows: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Scatter of tax against drift after, one colour and marker per method (PNG).

    matplotlib is imported here (it is an optional dependency: ``taxopt[plots]``)
    and drawn on an Agg canvas, without pyplot or any global backend switch.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(8.0, 5.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    markers = "o^sDvP*Xh<>"
    for i, m in enumerate(dict.fromkeys(r["method"] for r in rows)):
        mine = [r for r in rows if r["method"] == m]
        ax.scatter([100 * r["drift_after"] for r in mine], [r["tax"] for r in mine],
                   label=m, marker=markers[i % len(markers)], s=42, alpha=0.8)
    ax.axhline(0.0, color="0.6", linewidth=0.8)
    ax.set_xlabel("drift after the trades (largest gap of a class to target, "
                  "percentage points)")
    ax.set_ylabel("tax added this year ($, full netting)")
    n = len({r["household_id"] for r in rows})
    ax.set_title(f"taxopt vs heuristics: tax against drift ({n} households)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    atomic_write(path, buf.getvalue())
    return path


def write_outputs(rows: Sequence[dict[str, Any]], out_dir: str | Path) -> tuple[list[Path],
                                                                                 list[str]]:
    """Write ``compare.csv`` and ``compare.png`` into ``out_dir``.

    Returns the files written and warnings (the plot is skipped, with a warning,
    when matplotlib is not installed).
    """
    out = Path(out_dir)
    written = [write_csv(rows, out / "compare.csv")]
    warnings = []
    try:
        written.append(plot(rows, out / "compare.png"))
    except ImportError:
        warnings.append("matplotlib is not installed (pip install 'taxopt[plots]'): "
                        "compare.png not written")
    return written, warnings
