"""``report.html``: one self-contained page about a finished batch.

Inline CSS, charts as inline SVG drawn here (no plotting library, no
network, no script): counts by status, total estimated tax, the distribution
of drift before and after, the slowest households, and every failure with
its reason. Built from ``results.parquet`` and ``manifest.json`` alone, so it
can be re-made for any finished batch with ``taxopt report OUT_DIR``.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidInput
from .sink import atomic_write
from .work import SOLVED, STATUSES

MAX_FAILURES = 1000
N_SLOWEST = 15
_COLORS = {"optimal": "#2e7d32", "feasible": "#9e9d24", "infeasible": "#ef6c00",
           "invalid_input": "#6a1b9a", "error": "#c62828"}

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;
max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:2em;
border-bottom:1px solid #ddd;padding-bottom:.2em}
.meta{color:#666}.cards{display:flex;flex-wrap:wrap;gap:1em;margin:1em 0}
.card{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:9em}
.card b{display:block;font-size:1.5em}
table{border-collapse:collapse;margin:.5em 0}td,th{border-bottom:1px solid #eee;
padding:.25em .7em;text-align:left;vertical-align:top}th{background:#f6f6f6}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.msg{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
.dot{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:.4em}
svg text{font:11px system-ui,sans-serif;fill:#444}
"""


def write_report(out_dir: str | Path, path: str | Path | None = None) -> Path:
    """Render the report of the batch in ``out_dir``; write it (default ``report.html``)."""
    out_dir = Path(out_dir)
    results_path = out_dir / "results.parquet"
    if not results_path.is_file():
        raise InvalidInput(None, str(out_dir), None,
                           "no results.parquet here; is this the --out folder of a batch?")
    import pyarrow.parquet as pq

    rows = pq.read_table(results_path).to_pydict()
    manifest: dict[str, Any] = {}
    mpath = out_dir / "manifest.json"
    if mpath.is_file():
        try:
            manifest = json.loads(mpath.read_text())
        except ValueError:
            manifest = {}
    target = Path(path) if path is not None else out_dir / "report.html"
    atomic_write(target, render(rows, manifest).encode())
    return target


def _f(x: float | None, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "–"
    return f"{x:,.{digits}f}"


def _dollars(x: float) -> str:
    return f"−${-x:,.2f}" if x < 0 else f"${x:,.2f}"


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def render(rows: dict[str, list[Any]], manifest: dict[str, Any]) -> str:
    """The page as text, from the results columns and the manifest."""
    ids = rows.get("household_id", [])
    status = rows.get("status", [])
    n = len(ids)
    counts = {s: 0 for s in STATUSES}
    for s in status:
        counts[s] = counts.get(s, 0) + 1
    solved = np.array([s in SOLVED for s in status], dtype=bool)
    est = _arr(rows.get("est_tax"), n)
    before, after = _arr(rows.get("drift_before"), n), _arr(rows.get("drift_after"), n)
    secs = _arr(rows.get("seconds"), n)
    orders = np.array([o or 0 for o in rows.get("orders", [0] * n)], dtype=float)
    failed = n - int(solved.sum())

    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>taxopt batch report</title><style>{_CSS}</style></head><body>",
             "<h1>taxopt batch report</h1>", _meta(manifest)]
    total_tax = float(np.nansum(est[solved])) if solved.any() else 0.0
    cards = [("households", f"{n:,}"), ("solved", f"{int(solved.sum()):,}"),
             ("failed or infeasible", f"{failed:,}"),
             ("total est. tax", _dollars(total_tax)),
             ("orders", f"{int(orders[solved].sum()):,}")]
    if manifest.get("households_per_second"):
        cards.append(("households / s", _f(manifest["households_per_second"], 1)))
    parts.append("<div class='cards'>" + "".join(
        f"<div class='card'>{_e(k)}<b>{_e(v)}</b></div>" for k, v in cards) + "</div>")

    parts.append("<h2>Households by status</h2>")
    parts.append(_status_bar(counts, n))
    parts.append("<table><tr><th>status</th><th>households</th><th>share</th></tr>" + "".join(
        f"<tr><td><span class='dot' style='background:{_COLORS.get(s, '#888')}'></span>"
        f"{_e(s)}</td><td class='n'>{c:,}</td><td class='n'>{_f(100 * c / n if n else 0, 1)} %"
        f"</td></tr>" for s, c in counts.items() if c or s in ("optimal",)) + "</table>")

    parts.append("<h2>Drift before and after (worst goal of each solved household)</h2>")
    b, a = before[solved & ~np.isnan(before)], after[solved & ~np.isnan(after)]
    if len(b):
        # one chart each, same bins: after the plans most drift sits in the first bin
        top = float(max(b.max(), a.max() if len(a) else 0.0))
        parts.append(_histogram([("before", b, "#ef6c00")], "drift before (absolute weight)",
                                pct=True, span=(0.0, top)))
        parts.append(_histogram([("after", a, "#1565c0")], "drift after (absolute weight)",
                                pct=True, span=(0.0, top)))
        parts.append(_quantiles([("before", b), ("after", a)], pct=True))
    else:
        parts.append("<p>No solved household.</p>")

    parts.append("<h2>Estimated tax of the plans</h2>")
    t = est[solved & ~np.isnan(est)]
    if len(t):
        lo, hi = (float(x) for x in np.quantile(t, (0.01, 0.99)))
        if hi <= lo:
            lo, hi = float(t.min()), float(t.max())
        parts.append(_histogram([("est_tax", np.clip(t, lo, hi), "#6d4c41")],
                                "est. tax ($; the 1 % at each end in the edge bins)",
                                pct=False, span=(lo, hi)))
        parts.append(_quantiles([("est_tax", t)], pct=False))
    else:
        parts.append("<p>No solved household.</p>")

    parts.append(_slowest(ids, status, secs, orders))
    parts.append(_failures(ids, status, rows.get("message", [""] * n)))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _arr(values: list[Any] | None, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, np.nan)
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _meta(m: dict[str, Any]) -> str:
    if not m:
        return "<p class='meta'>No manifest.json found.</p>"
    eng = m.get("engine") or {}
    ver = m.get("versions") or {}
    inputs = m.get("inputs") or {}
    lines = [
        f"input {_e(m.get('input_dir'))}",
        f"started {_e(m.get('started'))}, finished {_e(m.get('finished'))}, "
        f"{_f(m.get('seconds'), 1)} s",
        f"engine {_e(eng.get('engine'))}, {_e(eng.get('workers'))} workers, "
        f"chunks of {_e(eng.get('chunk_size'))}"
        + (f", scheduler {_e(eng['scheduler'])}" if eng.get("scheduler") else "")
        + (f"; resumed, {m.get('households_reused', 0):,} households from the earlier run"
           if m.get("resume") else ""),
        "taxopt " + _e(ver.get("taxopt")) + ", " + ", ".join(
            f"{_e(k)} {_e(v)}" for k, v in ver.items() if k != "taxopt"),
        "tables: " + ", ".join(f"{_e(v.get('file'))} ({_e(str(v.get('sha256', ''))[:12])})"
                               for v in inputs.values()),
    ]
    return "<p class='meta'>" + "<br>".join(lines) + "</p>"


def _status_bar(counts: dict[str, int], n: int) -> str:
    if not n:
        return "<p>No household.</p>"
    w, h, x = 800.0, 26.0, 0.0
    rects = []
    for s, c in counts.items():
        if not c:
            continue
        width = w * c / n
        rects.append(f"<rect x='{x:.2f}' y='0' width='{width:.2f}' height='{h}' "
                     f"fill='{_COLORS.get(s, '#888')}'><title>{_e(s)}: {c:,}</title></rect>")
        x += width
    return (f"<svg width='{w:.0f}' height='{h:.0f}' viewBox='0 0 {w:.0f} {h:.0f}' "
            f"role='img' aria-label='households by status'>{''.join(rects)}</svg>")


def _histogram(series: list[tuple[str, np.ndarray, str]], label: str, pct: bool,
               span: tuple[float, float] | None = None) -> str:
    """Histograms side by side in shared bins (over ``span``, else the data), as an SVG."""
    allv = np.concatenate([v for _, v, _ in series])
    lo, hi = span if span is not None else (float(allv.min()), float(allv.max()))
    if hi <= lo:
        hi = lo + 1e-9
    bins = np.linspace(lo, hi, 31)
    hists = [np.histogram(v, bins=bins)[0] for _, v, _ in series]
    top = max(int(hh.max()) for hh in hists) or 1
    W, H, L, B = 800.0, 180.0, 50.0, 34.0
    pw, ph = W - L - 10, H - B - 10
    bw = pw / (len(bins) - 1)
    out = [f"<svg width='{W:.0f}' height='{H:.0f}' viewBox='0 0 {W:.0f} {H:.0f}' role='img' "
           f"aria-label='{_e(label)}'>"]
    k = len(series)
    for si, ((name, _, color), hist) in enumerate(zip(series, hists, strict=True)):
        for i, c in enumerate(hist):
            if not c:
                continue
            bh = ph * c / top
            x = L + i * bw + si * bw / k
            out.append(f"<rect x='{x:.2f}' y='{10 + ph - bh:.2f}' width='{bw / k - 1:.2f}' "
                       f"height='{bh:.2f}' fill='{color}' opacity='.85'><title>{_e(name)} "
                       f"{_tick(bins[i], pct)}–{_tick(bins[i + 1], pct)}: {int(c):,}"
                       f"</title></rect>")
    out.append(f"<line x1='{L}' y1='{10 + ph}' x2='{L + pw}' y2='{10 + ph}' stroke='#999'/>")
    for i in range(0, len(bins), 5):
        x = L + i * bw
        out.append(f"<text x='{x:.1f}' y='{10 + ph + 14}' text-anchor='middle'>"
                   f"{_tick(bins[i], pct)}</text>")
    out.append(f"<text x='{L - 6}' y='16' text-anchor='end'>{top:,}</text>"
               f"<text x='{L - 6}' y='{10 + ph}' text-anchor='end'>0</text>")
    out.append(f"<text x='{L + pw / 2}' y='{H - 4}' text-anchor='middle'>{_e(label)}</text>")
    for si, (name, _, color) in enumerate(series):
        y = 14 + 16 * si
        out.append(f"<rect x='{L + pw - 90}' y='{y}' width='10' height='10' fill='{color}'/>"
                   f"<text x='{L + pw - 75}' y='{y + 9}'>{_e(name)}</text>")
    out.append("</svg>")
    return "".join(out)


def _tick(x: float, pct: bool) -> str:
    return f"{100 * x:.1f}%" if pct else f"{x:,.0f}"


def _quantiles(series: list[tuple[str, np.ndarray]], pct: bool) -> str:
    qs = (0.5, 0.9, 0.99, 1.0)
    head = "".join(f"<th>{'max' if q == 1 else f'p{round(100 * q)}'}</th>" for q in qs)
    body = []
    for name, v in series:
        vals = np.quantile(v, qs) if len(v) else [np.nan] * len(qs)
        cells = "".join(f"<td class='n'>{_tick(float(x), pct) if pct else _f(float(x))}</td>"
                        for x in vals)
        mean = float(np.mean(v)) * (100 if pct else 1)
        body.append(f"<tr><td>{_e(name)}</td><td class='n'>{_f(mean, 2)}"
                    f"{' %' if pct else ''}</td>{cells}</tr>")
    return f"<table><tr><th></th><th>mean</th>{head}</tr>{''.join(body)}</table>"


def _slowest(ids: list[str], status: list[str], secs: np.ndarray, orders: np.ndarray) -> str:
    out = ["<h2>Slowest households</h2>"]
    if not len(ids) or np.isnan(secs).all():
        out.append("<p>No timings recorded (the batch ran without timings).</p>")
        return "".join(out)
    order = np.argsort(-np.nan_to_num(secs, nan=-1.0), kind="stable")[:N_SLOWEST]
    out.append(f"<p class='meta'>total solve time {_f(float(np.nansum(secs)), 1)} s; median "
               f"{_f(float(np.nanmedian(secs)), 3)} s per household</p>")
    out.append("<table><tr><th>household</th><th>status</th><th>seconds</th><th>orders</th>"
               "</tr>" + "".join(
                   f"<tr><td>{_e(ids[i])}</td><td>{_e(status[i])}</td>"
                   f"<td class='n'>{_f(float(secs[i]), 3)}</td>"
                   f"<td class='n'>{int(orders[i]):,}</td></tr>" for i in order) + "</table>")
    return "".join(out)


def _failures(ids: list[str], status: list[str], messages: list[str]) -> str:
    bad = [i for i, s in enumerate(status) if s not in SOLVED]
    out = [f"<h2>Failures ({len(bad):,})</h2>"]
    if not bad:
        out.append("<p>None: every household was solved.</p>")
        return "".join(out)
    # the same reason in many households: strip the household and record names
    kinds: dict[str, int] = {}
    for i in bad:
        msg = messages[i] or ""
        msg = msg.replace(f"household {ids[i]}: ", "")
        msg = re.sub(r"\[\d+\]", "[…]", msg)
        msg = re.sub(r"\((\w+) [^)]*\)", r"(\1 …)", msg)
        key = f"{status[i]}: {msg}"
        kinds[key] = kinds.get(key, 0) + 1
    top = sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
    out.append("<table><tr><th>households</th><th>reason</th></tr>" + "".join(
        f"<tr><td class='n'>{c:,}</td><td class='msg'>{_e(k)}</td></tr>" for k, c in top)
        + "</table>")
    shown = bad[:MAX_FAILURES]
    out.append("<table><tr><th>household</th><th>status</th><th>reason</th></tr>" + "".join(
        f"<tr><td>{_e(ids[i])}</td><td>{_e(status[i])}</td><td class='msg'>{_e(messages[i])}"
        f"</td></tr>" for i in shown) + "</table>")
    if len(bad) > len(shown):
        out.append(f"<p class='meta'>{len(bad) - len(shown):,} more failures are in "
                   f"results.parquet.</p>")
    return "".join(out)
