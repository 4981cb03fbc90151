"""The batch report: what needs a human first, money and reasons, escaping, charts."""

from __future__ import annotations

import json
import re
from typing import Any

import pyarrow.parquet as pq
import pytest

from taxopt.batch.report import MIN_FOR_CHARTS, N_LARGEST, render, write_report
from taxopt.batch.results_row import REVIEW_COLUMNS, reason_column
from taxopt.batch.work import RESULT_COLUMNS
from taxopt.plan.reasons import REASONS

HOSTILE = ["<script>alert(1)</script>", '=HYPERLINK("http://evil.example","x")',
           "\x1b[31mred\x1b[0m"]


def household(hid: str, status: str = "optimal", **values: Any) -> dict[str, Any]:
    """One results row: a solved household with round numbers unless told otherwise."""
    solved = status in ("optimal", "feasible")
    row: dict[str, Any] = dict.fromkeys(RESULT_COLUMNS)
    row.update(household_id=hid, status=status, message="", orders=0)
    if solved:
        row.update(est_tax=0.0, drift_before=0.05, drift_after=0.001, household_value=100000.0,
                   turnover=0.0, turnover_pct=0.0, realized_short_term=0.0,
                   realized_long_term=0.0, year_tax_before=0.0, year_tax_after=0.0,
                   losses_harvested=0.0, wash_disallowed_loss=0.0, do_not_buy="[]",
                   mip_gap=0.0, why="{}", seconds=0.01, solver="highs/HiGHS")
        row.update({reason_column("orders", r): 0 for r in REASONS})
        row.update({reason_column("turnover", r): 0.0 for r in REASONS})
    row.update(values)
    return row


def columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {c: [r[c] for r in rows] for c in RESULT_COLUMNS}


def attention_ids(page: str) -> list[str]:
    body = page.split('id="attention-table"', 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<td class="id" data-v="([^"]*)">', body)


def section(page: str, name: str) -> str:
    return page.split(f'<section id="{name}">', 1)[1].split("</section>", 1)[0]


def test_attention_lists_what_needs_a_human_most_urgent_first():
    rows = [household(f"ok-{i:02d}") for i in range(5)]
    rows += [
        household("zz-error", "error", message="household zz-error: internal error: boom"),
        household("bad", "invalid_input",
                  message="household bad: lots[4] (lot_id L5): field 'symbol': unknown"),
        household("stuck", "infeasible", message="the hard rules cannot all hold: band"),
        household("slow", "feasible", mip_gap=0.0123, message="solver stopped early: time"),
        household("washer", wash_disallowed_loss=556.0,
                  do_not_buy=json.dumps([{"wash_group": "BND", "symbols": ["BND"],
                                          "do_not_buy_before": "2026-12-25"}])),
        household("taxed", est_tax=1234.5),
        household("cheap-tax", est_tax=12.0),            # under the $100 floor: not listed
        household("churner", turnover=150000.0, turnover_pct=150.0),
    ]
    page = render(columns(rows), {})
    assert attention_ids(page) == ["zz-error", "bad", "stuck", "slow", "washer", "taxed",
                                   "churner"]
    att = section(page, "attention")
    assert "Needs attention (7)" in att
    # an invalid household has no figures: dashes, not zeros
    bad = att.split('data-v="bad">', 1)[1].split("</tr>", 1)[0]
    assert re.findall(r'<td class="n" data-v="">([^<]*)</td>', bad) == ["–"] * 6
    assert "gap 1.23 % when the solver stopped" in att
    assert "$556.00 of loss disallowed by the wash-sale rule" in att
    assert "the plan adds $1,234.50 of tax this year" in att
    assert "the plan trades 150.0 % of the household&#39;s value" in att
    assert "Failures (3) by reason" in att
    # counts by status come first, before the attention table
    assert page.index('id="status"') < page.index('id="attention"') < page.index('id="money"')
    status = section(page, "status")
    assert re.search(r"optimal<b>9</b>", status) and re.search(r"infeasible<b>1</b>", status)
    assert "stopped early (time limit)<b>1</b>" in status


def test_an_unknown_status_still_needs_a_human():
    page = render(columns([household("a"), household("b", "lost", message="gone")]), {})
    assert attention_ids(page) == ["b"]
    assert "lost<b>1</b>" in section(page, "status")


def test_input_rows_of_no_household_are_counted():
    problem = "'\\x1b[31mx' holds a control character; no household has this id"
    rejects = {"household_id": ["", "", "", "bad"],
               "table": ["lots", "lots", "accounts", "lots"],
               "record": ["row 1", "row 2", "row 3", "lots[0]"],
               "field": ["household_id"] * 3 + ["symbol"],
               "problem": [problem] * 3 + ["unknown symbol 'Z'"]}
    rows = [household("a"), household("bad", "invalid_input", message="household bad: x")]
    page = render(columns(rows), {}, rejects)
    assert "input rows of no household<b>3</b>" in section(page, "status")
    att = section(page, "attention")
    assert "Input rows of no household (3)" in att
    assert ('<td class="n">3</td><td>accounts, lots</td><td>household_id</td>'
            '<td class="msg">&#39;\\x1b[31mx&#39; holds a control character') in att
    assert "unknown symbol" not in att.split("Input rows of no household", 1)[1]
    assert "input rows of no household" not in render(columns(rows), {})


def test_largest_tax_and_turnover_are_capped():
    rows = [household(f"h{i:03d}", est_tax=100.0 + i, turnover_pct=float(i),
                      turnover=1000.0 * i) for i in range(200)]
    ids = attention_ids(render(columns(rows), {}))
    # the N largest of each, a household in both listed once
    assert set(ids) == {f"h{i:03d}" for i in range(200 - N_LARGEST, 200)}
    assert len(ids) == N_LARGEST
    # a small batch: the top tenth only (30 households: 3), not nearly everyone
    ids = attention_ids(render(columns(rows[:30]), {}))
    assert ids == ["h027", "h028", "h029"]


def test_nothing_to_do_says_so():
    page = render(columns([household("a"), household("b")]), {})
    assert "Needs attention (0)" in page
    assert "Nothing: every household was solved to optimality" in page


def test_negative_total_tax_is_labelled_a_saving():
    page = render(columns([household("a", est_tax=-300.0), household("b", est_tax=100.0)]), {})
    money = section(page, "money")
    assert "tax saved this year by the plans<b>$200.00</b>" in money
    assert "1 plans save tax, 1 add some" in money
    page = render(columns([household("a", est_tax=300.0), household("b", est_tax=-100.0)]), {})
    assert "tax added this year by the plans<b>$200.00</b>" in section(page, "money")


def test_money_totals_and_lockstep_column():
    rows = [household("a", year_tax_before=1000.0, year_tax_after=800.0, est_tax=-200.0,
                      turnover=5000.0, turnover_pct=5.0, losses_harvested=500.0,
                      lockstep_est_tax=300.0, tax_saved_vs_lockstep=500.0),
            household("b", year_tax_before=0.0, year_tax_after=50.0, est_tax=50.0,
                      turnover=15000.0, turnover_pct=15.0, wash_disallowed_loss=20.0,
                      lockstep_est_tax=40.0, tax_saved_vs_lockstep=-10.0),
            household("c", "infeasible", message="no")]
    money = section(render(columns(rows), {}), "money")
    assert "saved against lockstep<b>$490.00</b>" in money         # 500 - 10
    assert "turnover<b>$20,000.00</b>" in money
    assert "10.0 % of the households' value" in money           # 20,000 / 200,000
    assert "losses harvested<b>$500.00</b>" in money
    assert "wash-sale disallowed<b>$20.00</b>" in money
    assert re.search(r"before the plans</td><td class=\"n\">\$1,000.00<", money)
    assert re.search(r"after the plans</td><td class=\"n\">\$850.00<", money)
    page = render(columns(rows), {})
    assert "saved vs lockstep" in section(page, "attention")
    # without the comparison the report says it was not made
    plain = render(columns([household("a")]), {})
    assert "No lockstep comparison in this batch" in plain
    assert "saved vs lockstep" not in plain


def test_payout_tax_counts_in_the_largest_tax():
    rows = [household("gains", est_tax=500.0, est_tax_total=500.0, est_tax_distributions=0.0),
            household("payout", est_tax=-100.0, est_tax_total=2900.0,
                      est_tax_distributions=3000.0)]
    page = render(columns(rows), {})
    # one of two households is flagged: the one whose payouts make it the dearer
    assert attention_ids(page) == ["payout"]
    assert ("the plan adds $2,900.00 of tax this year ($3,000.00 of it on "
            "retirement-account payouts)") in page
    money = section(page, "money")
    assert "capital-gains tax added this year by the plans<b>$400.00</b>" in money
    assert re.search(r"payouts</td><td class=\"n\">\$3,000.00<", money)
    assert re.search(r"and payouts\)</td><td class=\"n\">\$3,400.00<", money)


def test_reasons_grouped_as_the_ops_team_reads_them():
    rows = [household("a", turnover=10000.0, orders=4, orders_location=2,
                      turnover_location=6000.0, orders_rebalance=1, turnover_rebalance=1000.0,
                      orders_withdrawal=1, turnover_withdrawal=3000.0),
            household("b", turnover=10000.0, orders=2, orders_harvest=1,
                      turnover_harvest=5000.0, orders_substitute=1,
                      turnover_substitute=5000.0)]
    reasons = section(render(columns(rows), {}), "reasons")
    table = reasons.split("<details>", 1)[0]
    found = re.findall(r"<tr><td>([a-z ]+)</td><td class=\"n\">(\d+)</td><td class=\"n\">"
                       r"([$\d,.]+)</td><td class=\"n\">([\d.]+) %</td></tr>", table)
    assert found == [("harvesting", "2", "$10,000.00", "50.0"),
                     ("location", "2", "$6,000.00", "30.0"),
                     ("cash flows", "1", "$3,000.00", "15.0"),
                     ("drift", "1", "$1,000.00", "5.0"),
                     ("rounding", "0", "$0.00", "0.0")]


def test_do_not_buy_list_by_wash_group():
    def dnb(*groups: str) -> str:
        return json.dumps([{"wash_group": g, "symbols": [g.upper(), g.upper() + "X"],
                            "do_not_buy_before": "2026-12-25"} for g in groups])

    rows = [household("a", do_not_buy=dnb("vti", "bnd")), household("b", do_not_buy=dnb("bnd")),
            household("c")]
    page = render(columns(rows), {})
    got = re.findall(r'<tr><td class="id">(\w+)</td><td class="id">([\w, ]+)</td>'
                     r'<td class="n">(\d+)</td><td>([\d-]+)</td></tr>', section(page,
                                                                            "do-not-buy"))
    assert got == [("bnd", "BND, BNDX", "2", "2026-12-25"),
                   ("vti", "VTI, VTIX", "1", "2026-12-25")]


def test_hostile_ids_and_messages_are_inert_text():
    rows = [household(HOSTILE[0], est_tax=5000.0),
            household(HOSTILE[1], "invalid_input",
                      message=f"household {HOSTILE[1]}: lots[0]: field 'x': {HOSTILE[0]}"),
            household(HOSTILE[2], "error", message="household \x1b[31mred\x1b[0m: \x07bell"),
            *[household(f"filler-{i:02d}", turnover_pct=1.0) for i in range(MIN_FOR_CHARTS)]]
    page = render(columns(rows), {"input_dir": "<img src=x onerror=alert(1)>"})
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "=HYPERLINK(&#34;http://evil.example&#34;,&#34;x&#34;)" in page
    assert "<a " not in page                                   # nothing becomes a link
    assert "\x1b" not in page and "\x07" not in page
    assert "\\x1b[31mred\\x1b[0m" in page and "\\x07bell" in page
    # in the chart data too: JSON inside <script> with < > & escaped
    data = page.split("var charts = ", 1)[1].split(";\n", 1)[0]
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in data
    assert "</script" not in data


def test_charts_only_for_enough_households_and_offline():
    few = render(columns([household(f"h{i}") for i in range(MIN_FOR_CHARTS - 1)]), {})
    assert "vegaEmbed" not in few and len(few) < 60_000
    many = render(columns([household(f"h{i:03d}", est_tax=float(i - 50),
                                     turnover_pct=float(i)) for i in range(100)]), {})
    assert many.count('<div class="chart" id="chart-') == 2
    assert "window.vegaEmbed" in many                         # the bundle is inline
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=|https?://cdn", many)
    specs = json.loads(many.split("var charts = ", 1)[1].split(";\n", 1)[0])
    scatter = next(s for s in specs if s["id"] == "chart-tax_vs_turnover")
    assert len(scatter["spec"]["datasets"]["households"]) == 100
    assert "$schema" not in scatter["spec"]
    enc = scatter["spec"]["encoding"]
    assert enc["x"]["title"] == "turnover (% of household value)"
    assert enc["y"]["scale"]["type"] == "symlog"


def test_same_page_twice_and_from_older_results():
    rows = columns([household("a", est_tax=-5.0), household("b", "infeasible", message="x")])
    assert render(rows, {}) == render(rows, {})
    old = {c: v for c, v in rows.items() if c not in REVIEW_COLUMNS}
    page = render(old, {})
    assert "Needs attention (1)" in page and "No solved household with reason columns" in page


def test_write_report_from_a_batch_folder(small_batch, tmp_path):
    target = write_report(small_batch["out"], tmp_path / "r.html")
    page = target.read_text()
    res = pq.read_table(small_batch["out"] / "results.parquet").to_pydict()
    assert f"{len(res['household_id'])} households" in page
    assert "exit code 0" in page
    total = sum(res["est_tax"])
    label = "saved" if total < 0 else "added"
    assert f"tax {label} this year by the plans<b>${abs(total):,.2f}</b>" in page


def test_missing_folder_is_invalid_input(tmp_path):
    from taxopt.errors import InvalidInput

    with pytest.raises(InvalidInput, match=r"no results\.parquet here"):
        write_report(tmp_path)
