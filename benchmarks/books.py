"""Direct-indexing books for the adapter benchmark: rows for `run.py`'s table.

Each book comes from `taxopt.synth_book.direct_indexing_book` (1,000 stocks, each its
own wash group, plus nine funds; monthly lots in the taxable accounts; two Roth accounts
that may buy any stock). Measured like the synth rows (validate + rebalance, medians),
highs only: cvxpy hands the MIP to HiGHS's own branch and bound, which took minutes
here. The default and ``tax_model="lot"`` runs of a book are interleaved, so their ratio
holds on a noisy machine.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from taxopt.options import Options
from taxopt.synth_book import direct_indexing_book

NAN = float("nan")


def book(n_lots: int) -> tuple[str, dict[str, Any]]:
    """The benchmark's book of ``n_lots`` lots: one taxable account up to 30,000 lots,
    then one more taxable account per 25,000 lots."""
    n_taxable = 1 if n_lots <= 30_000 else -(-n_lots // 25_000)
    raw = direct_indexing_book(1, n_lots=n_lots, n_stocks=1_000, n_taxable=n_taxable)
    label = f"DI book, {n_taxable} taxable"
    return label, raw


def stages_note(result: Any) -> str:
    """Binaries left after each stage of the search (`taxopt.adapters.branch`)."""
    sol = result.solution
    if sol is None or "binaries" not in sol.info:
        return ""
    i = sol.info
    return (f"wash binaries {i['binaries']:.0f} → two-sided {i.get('two_sided', NAN):.0f} → "
            f"fractional at root {i['fractional_at_root']:.0f} → left after rounding and "
            f"bounds {i['left_to_branch']:.0f} ({i['nodes']:.0f} nodes"
            + (", HiGHS MIP" if i.get("highs_mip") else "") + ")")


def measure_books(sizes: list[int], repeats: int, limit_cases: list[tuple[int, float]],
                  row_type: Any, one_run: Any, describe: Any, log: Any) -> list[Any]:
    """Rows: every book at default options and with ``tax_model="lot"``, then the
    time-limit cases (a book with a limit below what it needs)."""
    rows: list[Any] = []
    for n in sizes:
        label, raw = book(n)
        models = ("exact", "lot")
        case = {tm: row_type(n, tm, "highs", 1, case=label) for tm in models}
        opts = {tm: Options().replace(tax_model=tm) for tm in models}
        samples = {tm: {k: [] for k in ("total", "cpu", "highs", "validate", "build", "solve",
                                        "decode", "repair", "audit")} for tm in models}
        t0 = time.perf_counter()
        log(f"{label}: {n:,} lots, default and tax_model=lot, {repeats} runs each")
        for tm in models:                      # warm-up
            _, _, res = one_run(raw, opts[tm])
            describe(case[tm], res)
            case[tm].note = stages_note(res) if res.ok else case[tm].note
        for _ in range(repeats):
            for tm in models:
                st, total, res = one_run(raw, opts[tm])
                s = samples[tm]
                s["total"].append(total)
                s["cpu"].append(st["cpu"])
                s["highs"].append(res.solution.solver_seconds if res.solution else NAN)
                for k in ("validate", "build", "solve", "decode", "repair", "audit"):
                    s[k].append(st.get(k, 0.0))
                if not res.ok:
                    describe(case[tm], res)
        for tm in models:
            r, s = case[tm], samples[tm]
            r.repeats, r.samples = repeats, s
            r.stage_ms = {k: statistics.median(s[k]) * 1e3 for k in
                          ("validate", "build", "solve", "decode", "repair", "audit")}
            r.total_ms = statistics.median(s["total"]) * 1e3
            r.cpu_ms = statistics.median(s["cpu"]) * 1e3
            r.min_ms = min(s["total"]) * 1e3
            r.highs_ms = statistics.median(s["highs"]) * 1e3
        pairs = [e / lo for e, lo in zip(samples["exact"]["total"], samples["lot"]["total"],
                                         strict=True)]
        case["exact"].over_lot = statistics.median(pairs)
        rows.extend(case.values())
        log(f"    default {case['exact'].total_ms:.0f} ms, lot {case['lot'].total_ms:.0f} ms "
            f"({time.perf_counter() - t0:.1f} s)")
    for n, limit in limit_cases:
        label, raw = book(n)
        r = row_type(n, "exact", "highs", 1, case=f"{label}, time_limit={limit:g} s")
        r.limit = limit
        opts = Options().replace(time_limit=limit)
        log(f"{r.case}: {n:,} lots, {repeats} runs")
        one_run(raw, opts)
        totals, cpus, gaps = [], [], []
        for _ in range(repeats):
            st, total, res = one_run(raw, opts)
            totals.append(total)
            cpus.append(st["cpu"])
            describe(r, res)
            gaps.append(res.solution.mip_gap if res.solution is not None else None)
            r.audited = res.ok and not res.violations
            r.message = res.message
            # the limit covers build and solve; validation is before it, not part of it
            r.samples.setdefault("in_limit", []).append(total - st["validate"])
        r.repeats = repeats
        r.samples.update(total=totals, cpu=cpus)
        r.total_ms = statistics.median(totals) * 1e3
        r.cpu_ms = statistics.median(cpus) * 1e3
        r.min_ms = min(totals) * 1e3
        r.gaps = gaps
        in_limit = statistics.median(r.samples["in_limit"])
        r.limit_ratio = in_limit / limit
        gap_text = ", ".join("unknown" if g is None else f"{g:.4%}" for g in gaps)
        r.note = (f"rebalance (build to audit) {in_limit:.3f} s = {r.limit_ratio:.2f}× the "
                  f"limit; gaps {gap_text}; {r.message[:110]}")
        rows.append(r)
        log(f"    {r.status}: {r.note}")
    return rows
