"""The batch report in a real browser (Playwright + Chromium): it loads offline without
console errors, hostile ids stay text, chart axis titles are not clipped, and the
attention table sorts on a click. Skipped when no browser can be launched (CI installs
only from pip; Debian's ``chromium`` package or ``playwright install chromium`` gives one).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from taxopt.batch.report import render

from .test_report import columns, household

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]


def chromium_path() -> str | None:
    """A system Chromium if there is one (else Playwright's own, if it was installed)."""
    for p in (os.environ.get("TAXOPT_CHROMIUM"), "/usr/bin/chromium",
              shutil.which("chromium"), shutil.which("chromium-browser")):
        if p and Path(p).is_file():
            return p
    return None


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    pw = sync_api.sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=chromium_path(), args=ARGS)
    except Exception as err:   # no browser here: not this test's business
        pw.stop()
        pytest.skip(f"no browser can be launched: {str(err).splitlines()[0]}")
    yield b
    b.close()
    pw.stop()


def demo_rows() -> list[dict[str, Any]]:
    """Sixty households: failures, a time-limit hit, a wash sale, hostile ids."""
    rows = [household(f"syn-{i:03d}", est_tax=float((i * 37) % 500 - 250),
                      turnover=1000.0 * i, turnover_pct=float(i % 40),
                      drift_before=0.02 + 0.001 * i, drift_after=0.0005 * (i % 7))
            for i in range(60)]
    rows += [
        household("<script>window.__pwned=1</script>", est_tax=900.0),
        household("<img src=x onerror=window.__pwned=2>", "invalid_input",
                  message="household <img src=x onerror=window.__pwned=2>: lots[0]: bad"),
        household('=HYPERLINK("http://evil.example","x")', turnover_pct=99.0,
                  turnover=99000.0),
        household("\x1b[31mred\x1b[0m", "error", message="internal error: \x1b[31mboom"),
        household("stuck", "infeasible", message="the hard rules cannot all hold: band"),
        household("slow", "feasible", mip_gap=0.02, est_tax=5.0),
        household("washer", wash_disallowed_loss=556.0, est_tax=-40.0),
    ]
    return rows


def open_report(browser, tmp_path: Path, rows: list[dict[str, Any]]):
    path = tmp_path / "report.html"
    path.write_text(render(columns(rows), {}), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("request", lambda r: problems.append(f"request {r.url}")
            if not r.url.startswith("file://") else None)
    page.goto(path.as_uri())
    page.wait_for_selector("#chart-tax_vs_turnover svg .role-axis-title")
    page.wait_for_selector("#chart-drift svg .role-axis-title")
    return page, problems


def column_keys(page, col: int) -> list[str]:
    return page.eval_on_selector_all(
        "#attention-table tbody tr",
        f"rows => rows.map(r => r.cells[{col}].getAttribute('data-v'))")


def test_report_in_a_browser(browser, tmp_path):
    page, problems = open_report(browser, tmp_path, demo_rows())
    assert problems == []                          # no console errors, no network
    assert page.evaluate("window.__pwned") is None    # hostile ids did not run
    ids = column_keys(page, 0)
    assert ids[:4] == ["\\x1b[31mred\\x1b[0m", "<img src=x onerror=window.__pwned=2>",
                       "stuck", "slow"]
    assert page.locator("#attention-table").inner_text().count("=HYPERLINK(") == 1

    # every axis title lies inside its chart's drawing
    for chart in ("#chart-tax_vs_turnover", "#chart-drift"):
        svg = page.locator(f"{chart} svg").first.bounding_box()
        titles = page.locator(f"{chart} svg .role-axis-title text")
        assert titles.count() == 2
        for k in range(titles.count()):
            box = titles.nth(k).bounding_box()
            assert box["x"] >= svg["x"] - 0.5 and box["y"] >= svg["y"] - 0.5
            assert box["x"] + box["width"] <= svg["x"] + svg["width"] + 0.5
            assert box["y"] + box["height"] <= svg["y"] + svg["height"] + 0.5

    # the attention table sorts by tax on a click, then the other way on a second
    head = page.locator("#attention-table thead th", has_text="tax added")
    col = page.eval_on_selector_all("#attention-table thead th",
                                    "ths => ths.map(t => t.innerText.trim())").index(
                                        "tax added")
    before = column_keys(page, col)
    head.locator("button").click()
    assert head.get_attribute("aria-sort") == "ascending"
    keys = column_keys(page, col)
    values = [float(k) for k in keys if k]
    assert values == sorted(float(k) for k in before if k)    # same cells, in order
    assert keys[len(values):] == [""] * (len(keys) - len(values))
    assert values[-1] == 900.0 and len(values) < len(keys)
    head.locator("button").click()
    assert head.get_attribute("aria-sort") == "descending"
    keys = column_keys(page, col)
    assert [float(k) for k in keys if k] == sorted(values, reverse=True)
    assert keys[-1] == ""                              # empty cells stay last
    # and by household id, as text
    page.locator("#attention-table thead th", has_text="household").locator("button").click()
    ids = column_keys(page, 0)
    assert ids == sorted(ids)

    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000
    page.close()


def test_small_report_loads_without_charts(browser, tmp_path):
    path = tmp_path / "small.html"
    path.write_text(render(columns([household("a", est_tax=-5.0),
                                    household("b", "infeasible", message="no")]), {}),
                    encoding="utf-8")
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(path.as_uri())
    page.locator("#attention-table thead th button").first.click()
    assert errors == [] and page.locator("svg").count() == 0
    assert page.evaluate("typeof window.vegaEmbed") == "undefined"
    page.close()
