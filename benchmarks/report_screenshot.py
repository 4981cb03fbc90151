"""The batch report, looked at: a demo night through the real pipeline, screenshots, timings.

1. Builds a batch folder of synthetic households (``--households``, default 60) with
   what a morning review must catch: a household rejected as invalid input, an
   infeasible one (an IRA whose menu has no bond fund but whose band asks for 60 %
   bonds), and ids that try to be HTML, a spreadsheet formula and a terminal escape;
   runs ``run_batch`` on it (which writes ``report.html``).
2. Opens the report in headless Chromium (Playwright), checks it loads without console
   errors or network requests, sorts the attention table by tax, and keeps screenshots
   in ``benchmarks/results/report/`` (the top of the page, the whole page).
3. Times the report at 10,000 households (the demo's results rows repeated under new
   ids), in Python and in the browser, and the cost of the optional lockstep comparison
   per household; writes ``benchmarks/results/report/latest.md``.

    python benchmarks/report_screenshot.py [--households 60] [--big 10000]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "report"
HOSTILE = ["<script>alert('id')</script>", '=HYPERLINK("http://evil.example","click")',
           "\x1b[31mred-household\x1b[0m"]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]


def demo_tables(n: int, folder: Path) -> Path:
    """The demo night's tables: synthetic households plus the cases a human must see."""
    sys.path.insert(0, str(ROOT))
    from taxopt import synth
    from tests.batch.conftest import write_tables

    hhs = list(synth.households(n, seed=11, n_lots=30))
    for h, hid in zip(hhs, HOSTILE, strict=False):
        h["household_id"] = hid
    # infeasible: the IRA may buy equity only, yet its band asks for 60 % bonds
    ira = next(a for a in hhs[3]["accounts"] if a["tax_type"] == "tax_deferred")
    ira["allowed"] = ["IVV", "VXUS"]
    ira["bands"] = {"us_bonds": [0.6, 1.0]}
    rows = synth.to_tables(hhs)
    # invalid input: a lot of an unknown symbol
    bad = next(r for r in rows["lots"] if r["household_id"] == hhs[4]["household_id"])
    bad["symbol"] = "ZZZZ"
    return write_tables(rows, folder, "parquet")


def browser():
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    exe = next((p for p in (os.environ.get("TAXOPT_CHROMIUM"), "/usr/bin/chromium",
                            shutil.which("chromium")) if p and Path(p).is_file()), None)
    return pw, pw.chromium.launch(executable_path=exe, args=ARGS)


def look(b: Any, html: Path, shots: bool) -> dict[str, Any]:
    """Open the page, wait for its charts, sort by tax; screenshots when asked."""
    page = b.new_page(viewport={"width": 1400, "height": 1000})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("request", lambda r: problems.append(f"request {r.url}")
            if not r.url.startswith("file://") else None)
    t0 = time.perf_counter()
    page.goto(html.as_uri())
    charts = page.locator("div.chart").count()
    for k in range(charts):
        page.locator("div.chart").nth(k).locator("svg .role-axis-title").first.wait_for()
    load = time.perf_counter() - t0
    if shots:
        OUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUT / "report-top.png"))
        page.screenshot(path=str(OUT / "report.png"), full_page=True)
    head = page.locator("#attention-table thead th", has_text="tax added")
    t1 = time.perf_counter()
    head.locator("button").click()
    head.locator("button").click()      # largest tax first
    sort = (time.perf_counter() - t1) / 2
    if shots:
        page.locator("#attention").screenshot(path=str(OUT / "attention-sorted-by-tax.png"))
    page.close()
    return {"load_s": load, "sort_s": sort, "charts": charts, "problems": problems}


def big_results(src: Path, n: int, folder: Path) -> Path:
    """The demo's results rows repeated under new ids up to ``n`` households."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pq.read_table(src / "results.parquet")
    reps = -(-n // t.num_rows)
    big = pa.concat_tables([t] * reps).slice(0, n)
    ids = pa.array([f"hh-{i:06d}" for i in range(n)])
    big = big.set_column(0, "household_id", ids)
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(big, folder / "results.parquet")
    shutil.copy(src / "manifest.json", folder / "manifest.json")
    return folder


def lockstep_cost(n: int = 200) -> tuple[float, float]:
    from taxopt import synth
    from taxopt.batch.work import solve_chunk

    items = [(h["household_id"], h, None) for h in synth.households(n, seed=5, n_lots=30)]
    solve_chunk(items[:5])
    best = {False: float("inf"), True: float("inf")}
    for _ in range(3):            # interleaved, best of 3: the machine is shared
        for flag in (False, True):
            t = time.perf_counter()
            solve_chunk(items, timings=False, lockstep=flag)
            best[flag] = min(best[flag], 1000 * (time.perf_counter() - t) / n)
    return best[False], best[True]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=60)
    ap.add_argument("--big", type=int, default=10_000)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from taxopt.batch import run_batch
    from taxopt.batch.report import write_report

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        inp = demo_tables(args.households, tmp / "in")
        out = tmp / "out"
        t = time.perf_counter()
        outcome = run_batch(inp, out, workers=2, progress=None)
        batch_s = time.perf_counter() - t
        t = time.perf_counter()
        write_report(out, tmp / "again.html")
        small_s = time.perf_counter() - t
        small_kb = (out / "report.html").stat().st_size / 1024

        big = big_results(out, args.big, tmp / "big")
        times = []
        for _ in range(3):
            t = time.perf_counter()
            write_report(big)
            times.append(time.perf_counter() - t)
        big_kb = (big / "report.html").stat().st_size / 1024

        pw, b = browser()
        try:
            seen_small = look(b, out / "report.html", shots=True)
            seen_big = look(b, big / "report.html", shots=False)
        finally:
            b.close()
            pw.stop()
    plain, with_lockstep = lockstep_cost()
    counts = ", ".join(f"{k} {v}" for k, v in outcome.counts.items() if v)

    lines = [
        "# The batch report: screenshots and timings",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} at the end.",
        "",
        f"Demo night: {outcome.total} households ({counts}), batch {batch_s:.1f} s with 2 "
        "workers.",
        "",
        "| report | households | HTML | Python render | browser load (charts drawn) "
        "| sort click | charts | console errors / requests |",
        "|:--|--:|--:|--:|--:|--:|--:|:--|",
        f"| demo | {outcome.total:,} | {small_kb:,.0f} KB | {small_s:.2f} s (made again) | "
        f"{seen_small['load_s']:.2f} s | "
        f"{1000 * seen_small['sort_s']:.0f} ms | {seen_small['charts']} | "
        f"{len(seen_small['problems'])} |",
        f"| repeated rows | {args.big:,} | {big_kb:,.0f} KB | {min(times):.2f} s (best of 3) | "
        f"{seen_big['load_s']:.2f} s | {1000 * seen_big['sort_s']:.0f} ms | "
        f"{seen_big['charts']} | {len(seen_big['problems'])} |",
        "",
        f"Lockstep comparison (`solve_chunk(..., lockstep=True)`), 200 households of 30 lots, "
        "best of 3 interleaved: "
        f"{plain:.2f} ms a household without, {with_lockstep:.2f} ms with "
        f"(+{100 * (with_lockstep / plain - 1):.0f} %).",
        "",
        "Screenshots of the demo night, 1400 px wide: `report-top.png` (what the ops team "
        "sees first), `report.png` (the whole page), `attention-sorted-by-tax.png` (the "
        "attention table after two clicks on 'tax added').",
    ]
    if seen_small["problems"] or seen_big["problems"]:
        lines += ["", "Problems seen in the browser:", *(f"- {p}" for p in
                                                         seen_small["problems"]
                                                         + seen_big["problems"])]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "latest.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
