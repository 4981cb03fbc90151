"""``report.html``: the morning review of a finished batch, one self-contained page.

It opens with what needs a human (counts by status, then a sortable table of
the households to look at: infeasible with its reasons, stopped at the time
limit, invalid input, wash sales triggered, the largest tax and the largest
turnover), then the money (tax added or saved, against lockstep when the
batch scored it, turnover, losses harvested), then why the plans trade
(location, drift, cash flows, harvesting), the do-not-buy list, and how the
run went. Built from ``results.parquet`` and ``manifest.json`` alone, so it can
be re-made for any finished batch with ``taxopt report OUT_DIR``.

The page is a Jinja2 template (``templates/report.html.j2``, autoescaped; every
value also has its control characters made visible, since ids may be hostile)
with Vega-Lite charts (specs written as JSON). The Vega JavaScript (vl-convert's bundle)
is inlined once, so the page opens offline; charts appear only where a chart
says more than a table (``MIN_FOR_CHARTS`` solved households or more), so a
report of a handful of households has no script but the table sorter.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidInput
from ..files import atomic_write
from ..plan.reasons import REASONS
from .results_row import REASON_GROUPS, reason_column
from .work import SOLVED, STATUSES

MAX_ATTENTION = 500      # rows of the attention table (the rest are in results.parquet)
N_LARGEST = 10           # households listed for the largest tax and the largest turnover,
LARGEST_SHARE = 0.1      # ... and no more than this share of the solved ones
N_SLOWEST = 10
MAX_REASON_KINDS = 20
MIN_FOR_CHARTS = 20      # below this many solved households a table says it all
TAX_FLOOR = 100.0        # dollars: a plan adding less tax is not worth a human's look
#: Results columns the page never shows (the longest text: not read at all).
UNREAD = ("why", "solver")

STATUS_LABELS = {"optimal": "optimal", "feasible": "stopped early (time limit)",
                 "infeasible": "infeasible", "invalid_input": "invalid input",
                 "error": "error"}
# flags in the order a human should look at them
FLAGS = ("error", "invalid input", "infeasible", "time limit", "wash sale", "largest tax",
         "largest turnover")


def write_report(out_dir: str | Path, path: str | Path | None = None) -> Path:
    """Render the report of the batch in ``out_dir``; write it (default ``report.html``)."""
    out_dir = Path(out_dir)
    results_path = out_dir / "results.parquet"
    if not results_path.is_file():
        raise InvalidInput(None, str(out_dir), None,
                           "no results.parquet here; is this the --out folder of a batch?")
    import pyarrow.parquet as pq

    results = pq.ParquetFile(results_path)
    # the columns the page reads, as Arrow (numbers go to numpy, never one object a cell)
    table = results.read(columns=[n for n in results.schema_arrow.names if n not in UNREAD])
    manifest: dict[str, Any] = {}
    mpath = out_dir / "manifest.json"
    if mpath.is_file():
        try:
            manifest = json.loads(mpath.read_text())
        except ValueError:
            manifest = {}
    rejects = None
    if (out_dir / "rejects.parquet").is_file():
        rejects = pq.ParquetFile(out_dir / "rejects.parquet").read(
            columns=["household_id", "table", "field", "problem"]).to_pydict()
    target = Path(path) if path is not None else out_dir / "report.html"
    atomic_write(target, render(table, manifest, rejects).encode())
    return target


def render(rows: Any, manifest: dict[str, Any],
           rejects: dict[str, list[Any]] | None = None) -> str:
    """The page as text, from the results columns (an Arrow table, or a dict of lists),
    the manifest and the rejects table."""
    c = _Columns(rows)
    ctx = _context(c, manifest)
    ctx["orphans"], ctx["orphan_rows"] = _orphan_rows(c, rejects or {})
    return _environment().get_template("report.html.j2").render(**ctx)


def _orphan_rows(c: _Columns, rejects: dict[str, list[Any]]) -> tuple[list[dict[str, Any]],
                                                                       int]:
    """Rejected input rows that belong to no household of the results, by problem.

    (Rows of a household that was rejected are that household's ``invalid_input``.)
    """
    known = set(c.ids)
    kinds: dict[tuple[str, str], dict[str, Any]] = {}
    n = 0
    cols = [rejects.get(k) or [] for k in ("household_id", "table", "field", "problem")]
    for hid, table, field, problem in zip(*cols, strict=False):
        if hid and hid in known:
            continue
        n += 1
        k = kinds.setdefault((str(field or ""), str(problem or "")),
                             {"field": field or "", "problem": problem or "", "rows": 0,
                              "tables": set()})
        k["rows"] += 1
        k["tables"].add(str(table or ""))
    top = sorted(kinds.values(), key=lambda k: (-k["rows"], k["problem"]))[:MAX_REASON_KINDS]
    return [{**k, "tables": ", ".join(sorted(k["tables"]))} for k in top], n


# --------------------------------------------------------------------------- columns


class _Columns:
    """The results columns, kept in Arrow: numbers read out as numpy arrays, text only
    for the columns and rows the page shows; a column an older batch lacks reads as
    empty."""

    def __init__(self, rows: Any):
        import pyarrow as pa

        self.table = rows if isinstance(rows, pa.Table) else pa.table(rows or {})
        self.ids: list[str] = self.text("household_id")
        self.n = len(self.ids)
        self.status = np.array(self.text("status"), dtype=object)
        self.solved = np.isin(self.status, SOLVED) if self.n else np.zeros(0, bool)
        self._num: dict[str, np.ndarray] = {}

    def _column(self, name: str) -> Any:
        import pyarrow as pa

        if name not in self.table.column_names:
            return None
        col = self.table.column(name)
        return None if pa.types.is_null(col.type) else col

    def has(self, name: str) -> bool:
        col = self._column(name)
        return col is not None and col.null_count < len(col)

    def num(self, name: str) -> np.ndarray:
        if name not in self._num:
            import pyarrow as pa

            col = self._column(name)
            self._num[name] = (np.full(self.n, np.nan) if col is None else
                               np.array(col.cast(pa.float64()).to_numpy(), dtype=float))
        return self._num[name]

    def text(self, name: str) -> list[str]:
        """The column as text ('' where empty); one object per distinct value."""
        import pyarrow as pa
        import pyarrow.compute as pc

        col = self._column(name)
        n = self.table.num_rows
        if col is None:
            return [""] * n
        if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            return ["" if v is None else str(v) for v in col.to_pylist()]
        enc = pc.dictionary_encode(col.combine_chunks())
        values = np.array([*("" if v is None else v for v in enc.dictionary.to_pylist()),
                           ""], dtype=object)
        return values[pc.fill_null(enc.indices, -1).to_numpy()].tolist()


# --------------------------------------------------------------------------- context


def _context(c: _Columns, manifest: dict[str, Any]) -> dict[str, Any]:
    counts = {s: int((c.status == s).sum()) for s in STATUSES}
    for s in sorted(set(c.status.tolist()) - set(STATUSES)):
        counts[s] = int((c.status == s).sum())
    lists = _do_not_buy_lists(c)
    attention, flagged = _attention(c, [len(x) if t else None for x, t in
                                        zip(lists, c.text("do_not_buy"), strict=True)])
    charts = _charts(c)
    ctx = {
        "n": c.n,
        "counts": [{"status": s, "label": STATUS_LABELS.get(s, s), "count": k,
                    "share": 100.0 * k / c.n if c.n else 0.0}
                   for s, k in counts.items() if k or s in SOLVED],
        "solved": int(c.solved.sum()),
        "attention": attention,
        "attention_total": flagged,
        "attention_columns": _attention_columns(c),
        "max_attention": MAX_ATTENTION,
        "failure_kinds": _failure_kinds(c),
        "money": _money(c),
        "reasons": _reasons(c),
        "drift": _drift(c),
        "do_not_buy": _do_not_buy(lists),
        "slowest": _slowest(c),
        "run": _run(manifest),
        "charts": charts,
        "vega_js": _vega_bundle() if charts else "",
        "n_largest": _n_largest(int(c.solved.sum())),
        "min_for_charts": MIN_FOR_CHARTS,
    }
    return ctx


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _attention_columns(c: _Columns) -> list[str]:
    cols = ["household", "flags", "tax added", "turnover", "turnover %", "drift after",
            "washed loss", "do-not-buy"]
    if c.has("tax_saved_vs_lockstep"):
        cols.append("saved vs lockstep")
    return [*cols, "why"]


def _attention(c: _Columns, groups: list[int | None]) -> tuple[list[dict[str, Any]], int]:
    """The households a human should look at, most urgent first, and how many there are."""
    if not c.n:
        return [], 0
    est = c.num("est_tax")
    turn, turn_pct = c.num("turnover"), c.num("turnover_pct")
    washed = c.num("wash_disallowed_loss")
    gap = c.num("mip_gap")
    flags: list[list[str]] = [[] for _ in range(c.n)]
    for i, s in enumerate(c.status.tolist()):
        if s == "error":
            flags[i].append("error")
        elif s == "invalid_input":
            flags[i].append("invalid input")
        elif s == "infeasible":
            flags[i].append("infeasible")
        elif s == "feasible":
            flags[i].append("time limit")
        elif s not in SOLVED:           # a status this report does not know: a human looks
            flags[i].append("error")
    for i in np.flatnonzero(c.solved & (np.nan_to_num(washed) > 0.005)):
        flags[i].append("wash sale")
    # the tax the client pays: capital gains plus tax on retirement payouts when known
    paid = c.num("est_tax_total") if c.has("est_tax_total") else est
    dist = np.nan_to_num(c.num("est_tax_distributions"))
    k = _n_largest(int(c.solved.sum()))
    for i in _largest(paid, c.solved & (np.nan_to_num(paid) >= TAX_FLOOR), k):
        flags[i].append("largest tax")
    for i in _largest(turn_pct, c.solved & (np.nan_to_num(turn_pct) > 0), k):
        flags[i].append("largest turnover")
    picked = [i for i in range(c.n) if flags[i]]
    rank = {f: k for k, f in enumerate(FLAGS)}
    picked.sort(key=lambda i: (min(rank[f] for f in flags[i]), c.ids[i]))
    total = len(picked)
    messages = c.text("message")
    drift = c.num("drift_after")
    saved = c.num("tax_saved_vs_lockstep") if c.has("tax_saved_vs_lockstep") else None
    rows = []
    for i in picked[:MAX_ATTENTION]:
        said = [messages[i]] if messages[i] else []
        if "time limit" in flags[i] and np.isfinite(gap[i]):
            said.append(f"gap {100 * gap[i]:.2f} % when the solver stopped")
        if "wash sale" in flags[i]:
            said.append(f"${washed[i]:,.2f} of loss disallowed by the wash-sale rule")
        if "largest tax" in flags[i]:
            said.append(f"the plan adds ${paid[i]:,.2f} of tax this year" + (
                f" (${dist[i]:,.2f} of it on retirement-account payouts)"
                if dist[i] > 0.005 else ""))
        if "largest turnover" in flags[i]:
            said.append(f"the plan trades {turn_pct[i]:,.1f} % of the household's value")
        why = "; ".join(said)
        row = {"id": c.ids[i], "flags": flags[i], "status": str(c.status[i]),
               "est_tax": _finite(est[i]), "turnover": _finite(turn[i]),
               "turnover_pct": _finite(turn_pct[i]), "drift_after": _finite(drift[i]),
               "washed": _finite(washed[i]), "groups": groups[i], "why": why,
               "urgency": min(rank[f] for f in flags[i])}
        if saved is not None:
            row["saved"] = _finite(saved[i])
        rows.append(row)
    return rows, total


def _largest(values: np.ndarray, mask: np.ndarray, k: int = N_LARGEST) -> list[int]:
    idx = np.flatnonzero(mask)
    order = np.lexsort((idx, -values[idx]))   # largest first, ties by position
    return idx[order][:k].tolist()


def _n_largest(solved: int) -> int:
    """How many 'largest' households to flag: a few of a small batch, ten of a large one."""
    return min(N_LARGEST, max(1, math.ceil(LARGEST_SHARE * solved)))


def _failure_kinds(c: _Columns) -> list[dict[str, Any]]:
    """The same failure in many households once, with its count (names stripped)."""
    kinds: dict[str, int] = {}
    messages = c.text("message")
    for i in np.flatnonzero(~c.solved):
        msg = messages[i].replace(f"household {c.ids[i]}: ", "")
        msg = re.sub(r"\[\d+\]", "[…]", msg)
        msg = re.sub(r"\((\w+) [^)]*\)", r"(\1 …)", msg)
        key = f"{STATUS_LABELS.get(c.status[i], c.status[i])}: {msg}"
        kinds[key] = kinds.get(key, 0) + 1
    top = sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_REASON_KINDS]
    return [{"count": k, "reason": r} for r, k in top]


def _money(c: _Columns) -> dict[str, Any]:
    s = c.solved

    def total(name: str) -> float | None:
        if not c.has(name):
            return None
        v = c.num(name)[s]
        return float(np.nansum(v)) + 0.0

    value = total("household_value")
    turnover = total("turnover")
    out = {
        "est_tax": total("est_tax") or 0.0,
        "year_tax_before": total("year_tax_before"),
        "year_tax_after": total("year_tax_after"),
        "realized_short_term": total("realized_short_term"),
        "realized_long_term": total("realized_long_term"),
        "losses_harvested": total("losses_harvested"),
        "wash_disallowed_loss": total("wash_disallowed_loss"),
        "turnover": turnover,
        "value": value,
        "turnover_pct": 100.0 * turnover / value if turnover is not None and value else None,
        "orders": int(np.nansum(c.num("orders")[s])),
        "saved_vs_lockstep": total("tax_saved_vs_lockstep"),
        "lockstep_households": int(np.isfinite(c.num("tax_saved_vs_lockstep")[s]).sum())
        if c.has("tax_saved_vs_lockstep") else 0,
        "lockstep_tax": total("lockstep_est_tax"),
        "distributions_tax": total("est_tax_distributions"),
        "total_tax": total("est_tax_total"),
        "saving_households": int((np.nan_to_num(c.num("est_tax")[s]) < -0.005).sum()),
        "adding_households": int((np.nan_to_num(c.num("est_tax")[s]) > 0.005).sum()),
    }
    return out


def _reasons(c: _Columns) -> dict[str, Any]:
    """Orders and dollars by reason, and by the group the ops team thinks in."""
    s = c.solved
    if not c.has("turnover") or not s.any():
        return {"rows": [], "groups": []}
    rows = []
    total = float(np.nansum(c.num("turnover")[s]))
    for r in REASONS:
        orders = int(np.nansum(c.num(reason_column("orders", r))[s]))
        dollars = float(np.nansum(c.num(reason_column("turnover", r))[s]))
        households = int((np.nan_to_num(c.num(reason_column("orders", r))[s]) > 0).sum())
        rows.append({"reason": r, "group": REASON_GROUPS.get(r, r), "orders": orders,
                     "turnover": dollars, "households": households,
                     "share": 100.0 * dollars / total if total > 0 else 0.0})
    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        g = groups.setdefault(row["group"], {"group": row["group"], "orders": 0,
                                             "turnover": 0.0, "share": 0.0})
        g["orders"] += row["orders"]
        g["turnover"] += row["turnover"]
        g["share"] += row["share"]
    ordered = sorted(groups.values(), key=lambda g: (-g["turnover"], g["group"]))
    return {"rows": rows, "groups": ordered, "total": total}


def _drift(c: _Columns) -> list[dict[str, Any]]:
    qs = (0.5, 0.9, 0.99, 1.0)
    out = []
    for name in ("drift_before", "drift_after"):
        v = c.num(name)[c.solved]
        v = v[np.isfinite(v)]
        if not len(v):
            return []
        out.append({"name": name.replace("_", " "), "mean": float(v.mean()),
                    "quantiles": [float(x) for x in np.quantile(v, qs)]})
    return out


def _do_not_buy_lists(c: _Columns) -> list[list[dict[str, Any]]]:
    """Each household's do-not-buy list, parsed once (unreadable text reads as empty)."""
    seen: dict[str, list[dict[str, Any]]] = {}
    out = []
    for text in c.text("do_not_buy"):
        if text not in seen:
            try:
                items = json.loads(text) if text else []
            except ValueError:
                items = []
            seen[text] = [i for i in items if isinstance(i, dict)] if isinstance(
                items, list) else []
        out.append(seen[text])
    return out


def _do_not_buy(lists: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per wash group: its symbols, how many households must not buy it, and until when."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for items in lists:
        for item in items:
            key = (str(item.get("wash_group", "")), str(item.get("do_not_buy_before", "")))
            g = groups.get(key)
            if g is None:
                g = groups[key] = {"wash_group": key[0], "until": key[1], "symbols": set(),
                                   "households": 0}
            g["symbols"].update(str(s) for s in item.get("symbols") or [])
            g["households"] += 1
    rows = sorted(groups.values(), key=lambda g: (-g["households"], g["wash_group"],
                                                  g["until"]))
    return [{**g, "symbols": ", ".join(sorted(g["symbols"]))} for g in rows]


def _slowest(c: _Columns) -> dict[str, Any]:
    secs = c.num("seconds")
    if not c.n or not np.isfinite(secs).any():
        return {"rows": [], "total": None, "median": None}
    order = _largest(secs, np.isfinite(secs))[:N_SLOWEST]
    orders = c.num("orders")
    return {"rows": [{"id": c.ids[i], "status": str(c.status[i]), "seconds": float(secs[i]),
                      "orders": int(np.nan_to_num(orders[i]))} for i in order],
            "total": float(np.nansum(secs)), "median": float(np.nanmedian(secs))}


def _run(m: dict[str, Any]) -> dict[str, Any]:
    if not m:
        return {}
    eng = m.get("engine") or {}
    return {
        "input_dir": m.get("input_dir"), "started": m.get("started"),
        "finished": m.get("finished"), "seconds": m.get("seconds"),
        "rate": m.get("households_per_second"), "exit_code": m.get("exit_code"),
        "run_id": m.get("run_id"),
        "engine": eng.get("engine"), "workers": eng.get("workers"),
        "chunk_size": eng.get("chunk_size"), "scheduler": eng.get("scheduler"),
        "resume": bool(m.get("resume")), "reused": m.get("households_reused", 0),
        "versions": sorted((m.get("versions") or {}).items()),
        "inputs": [(str(v.get("file")), str(v.get("sha256", ""))[:12])
                   for v in (m.get("inputs") or {}).values() if isinstance(v, dict)],
    }


# --------------------------------------------------------------------------- charts


def _charts(c: _Columns) -> dict[str, dict[str, Any]]:
    """Vega-Lite specs of the charts that say more than a table, by name.

    Written as Vega-Lite JSON directly: Altair made the same dicts (a test checks
    it against Altair's output) but cost 1.5 s of CPU to import, each night.
    """
    s = c.solved
    if int(s.sum()) < MIN_FOR_CHARTS:
        return {}
    out = {}
    est, pct = c.num("est_tax"), c.num("turnover_pct")
    keep = s & np.isfinite(est) & np.isfinite(pct)
    if keep.any():
        idx = np.flatnonzero(keep)
        data = [{"household": c.ids[i], "status": str(c.status[i]),
                 "tax": round(float(est[i]), 2), "turnover_pct": round(float(pct[i]), 2)}
                for i in idx]
        top = float(np.abs(est[idx]).max())
        ticks = [0.0, *(sign * 10.0 ** k for k in range(2, 9) for sign in (-1.0, 1.0)
                        if 10.0 ** k <= max(top, 100.0) * 1.01)]
        out["tax_vs_turnover"] = _spec("tax_vs_turnover", tax_vs_turnover_chart(ticks),
                                       {"households": data},
                         "Each solved household: the tax its plan adds against how much "
                         "of its value it trades. Outliers at the top right are the ones "
                         "to read first.")
    before, after = c.num("drift_before"), c.num("drift_after")
    b, a = before[s & np.isfinite(before)], after[s & np.isfinite(after)]
    if len(b) and len(a):
        grid = np.linspace(0.0, 1.0, 101)
        data = [{"when": when, "drift": round(float(q), 6), "share": round(float(p), 2)}
                for when, v in (("before", b), ("after", a))
                for q, p in zip(np.quantile(v, grid), grid, strict=True)]
        out["drift"] = _spec("drift", drift_chart(), {"drift": data},
                         "Drift before and after, over all solved households: the further "
                         "left the 'after' line, the closer the plans bring the households "
                         "to target.")
    return out


def tax_vs_turnover_chart(ticks: list[float]) -> dict[str, Any]:
    """Each household's tax (symlog dollars, ``ticks`` on the axis) against its turnover."""
    return {
        "data": {"name": "households"},
        "mark": {"type": "circle", "opacity": 0.55, "size": 28},
        "encoding": {
            "color": {"field": "status", "legend": {"orient": "top", "title": "status"},
                      "scale": {"domain": ["optimal", "feasible"],
                                "range": ["#1565c0", "#ef6c00"]},
                      "type": "nominal"},
            "tooltip": [{"field": "household", "type": "nominal"},
                        {"field": "tax", "format": "$,.2f", "type": "quantitative"},
                        {"field": "turnover_pct", "format": ",.1f", "title": "turnover %",
                         "type": "quantitative"},
                        {"field": "status", "type": "nominal"}],
            "x": {"field": "turnover_pct", "title": "turnover (% of household value)",
                  "type": "quantitative"},
            "y": {"axis": {"format": "$,.0f", "values": sorted(ticks)}, "field": "tax",
                  "scale": {"constant": 100, "type": "symlog"},
                  "title": "tax the plan adds ($; below 0 = saved)",
                  "type": "quantitative"}},
        "height": 320, "width": 760}


def drift_chart() -> dict[str, Any]:
    """The share of households at or below each drift, before and after (step lines)."""
    return {
        "data": {"name": "drift"},
        "mark": {"type": "line", "interpolate": "step-after"},
        "encoding": {
            "color": {"field": "when", "legend": {"orient": "top", "title": None},
                      "scale": {"domain": ["before", "after"],
                                "range": ["#ef6c00", "#1565c0"]},
                      "sort": ["before", "after"], "type": "nominal"},
            "x": {"axis": {"format": ".1%"}, "field": "drift",
                  "title": "worst goal's drift (largest gap to target)",
                  "type": "quantitative"},
            "y": {"axis": {"format": ".0%"}, "field": "share",
                  "title": "share of households at or below", "type": "quantitative"}},
        "height": 260, "width": 760}


#: Font sizes of every chart (and Vega-Lite's default view size, as Altair wrote it).
CHART_CONFIG = {"view": {"continuousWidth": 300, "continuousHeight": 300},
                "axis": {"labelFontSize": 12, "titleFontSize": 13},
                "legend": {"labelFontSize": 12, "titleFontSize": 12}}


def _spec(key: str, chart: dict[str, Any], datasets: dict[str, list[dict[str, Any]]],
          caption: str) -> dict[str, Any]:
    import copy

    # no "$schema": a URL, and the page must not look anything up
    spec = {"config": copy.deepcopy(CHART_CONFIG), **chart, "datasets": datasets}
    return {"id": f"chart-{key}", "spec": spec, "caption": caption}


def _vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one script (vl-convert's bundle), for offline use."""
    from importlib import metadata

    from .cache import cached_text

    try:
        version = metadata.version("vl-convert-python")
    except metadata.PackageNotFoundError:
        version = "unknown"

    def make() -> str:
        import vl_convert

        # only "</script" (any case) would end the inline <script> early; "<\/" means "</"
        # in JavaScript strings and regular expressions alike
        return re.sub(r"</(script)", r"<\\/\1", vl_convert.javascript_bundle(),
                      flags=re.IGNORECASE)

    # the same bytes for a given vl-convert, and 2.5 s of CPU to make: made once
    return cached_text("vega-bundle", version, make) if version != "unknown" else make()


# --------------------------------------------------------------------------- template

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(value: Any) -> Any:
    """Every value printed: control characters (ANSI escapes ...) shown as \\xNN text.

    Markup (already escaped, e.g. ``tojson``) passes as it is; JSON escapes them itself.
    """
    if isinstance(value, str):
        if isinstance(value, _MARKUP):
            return value
        return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    return "" if value is None else value


def _dollars(x: float | None, signed: bool = True) -> str:
    if x is None or not np.isfinite(x):
        return "–"
    x = round(float(x), 2) + 0.0
    if x < 0 and signed:
        return f"−${-x:,.2f}"
    return f"${abs(x):,.2f}"


def _number(x: float | None, digits: int = 0) -> str:
    if x is None or not np.isfinite(x):
        return "–"
    return f"{x:,.{digits}f}"


def _percent(x: float | None, digits: int = 1) -> str:
    """A share given in percent (12.5 → '12.5 %')."""
    if x is None or not np.isfinite(x):
        return "–"
    return f"{x:,.{digits}f} %"


def _weight(x: float | None, digits: int = 2) -> str:
    """An absolute weight (0.125 → '12.50 %')."""
    if x is None or not np.isfinite(x):
        return "–"
    return f"{100 * x:,.{digits}f} %"


def _sort_key(x: Any) -> str:
    """The value a table cell sorts by (numbers as numbers, empty last)."""
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return ""
    return repr(float(x)) if isinstance(x, int | float) else str(x)


_ENV: Any = None
_MARKUP: Any = ()   # markupsafe.Markup once the environment is made (isinstance of () is False)


def _environment() -> Any:
    global _ENV, _MARKUP
    if _ENV is None:
        import jinja2
        from markupsafe import Markup

        _MARKUP = Markup

        from .cache import cache_dir

        folder = cache_dir()
        # the compiled template, kept beside the Vega bundle (keyed by the template's source)
        bytecode = (jinja2.FileSystemBytecodeCache(str(folder), "jinja-%s.cache")
                    if folder is not None else None)
        env = jinja2.Environment(
            loader=jinja2.PackageLoader("taxopt.batch", "templates"), bytecode_cache=bytecode,
            autoescape=True, undefined=jinja2.StrictUndefined, finalize=_visible,
            trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
        env.filters.update(dollars=_dollars, number=_number, percent=_percent,
                           weight=_weight, sortkey=_sort_key)
        _ENV = env
    return _ENV
