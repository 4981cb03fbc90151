"""What is taxopt worth? Defaults calibrated out of sample, then a held-out backtest.

One command (reduced size, a few minutes on one core)::

    .venv/bin/python benchmarks/value.py

The full run (about two hours on two cores)::

    .venv/bin/python benchmarks/value.py --full --workers 2

It chooses ``tracking_weight``, ``location_weight``, ``carryforward_value``,
``harvest_min_loss_pct`` and the rebalance trigger on training households,
reports the winner and the default on held-out households the calibration never
saw, at matched risk, with 95 % intervals; see ``benchmarks/calibrate_value.py``
for the design. Results go to ``benchmarks/results/value/calibration/``.

The earlier flow (one rebalance side by side, then the classic ten-year
backtest) is still here::

    .venv/bin/python benchmarks/value.py --classic [--households 40] [--years 10]
                                         [--step-months 1] [--workers 2]
                                         [--compare-households 100] [--seed 0]
                                         [--keep-hard-rules] [--out benchmarks/results/value]

1. One rebalance (`taxopt.compare`): the optimizer and every heuristic on
   ``--compare-households`` synthetic households (``taxopt.synth``, 40 lots, 3
   accounts): tax added this year, drift after, turnover, audit violations.
   Written to ``OUT/compare/compare.csv`` and ``compare.png``.
2. The backtest (`taxopt.backtest`): ``--households`` synthetic households over
   ``--years`` years, rebalanced every ``--step-months`` month(s) by ``taxopt``,
   ``taxopt_tax_only`` (location off) and every heuristic, households in
   parallel over ``--workers`` processes. Written to ``OUT/``: the summary
   (``backtest_summary.csv``), details, headline, per-household and tax-by-year
   tables, figures (PNG) and ``backtest.html``. ``--keep-hard-rules`` keeps the
   synthetic households' drift tolerances and location bands (a plan that
   breaks one is a failed step; by default they are dropped).

The default size (40 households, 10 years, monthly: 40 x 120 x 7 = 33,600
rebalances, 9,600 of them by the optimizer's MIP) takes about four minutes on
a 2-core machine; the optimizer's solves are nearly all of it. The
headline numbers are printed and, with the machine and the size, written to
``OUT/measured.md``. This script measures; it never changes the package.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from machine import machine  # noqa: E402  (benchmarks/machine.py)

from taxopt.backtest import (  # noqa: E402
    BacktestConfig,
    detail_rows,
    headline_rows,
    location_row,
    run_backtest,
    summary_rows,
    write_outputs,
)
from taxopt.backtest.report import text_report  # noqa: E402
from taxopt.compare import compare, summarize  # noqa: E402
from taxopt.compare import write_outputs as write_compare  # noqa: E402
from taxopt.synth import households  # noqa: E402

COMPARE_LOTS = 40


def fmt(x: Any, spec: str) -> str:
    if isinstance(x, float) and math.isnan(x):
        return ""
    return format(x, spec) if isinstance(x, float | int) else str(x)


def md_table(rows: list[dict[str, Any]], cols: list[tuple[str, str]]) -> str:
    head = "| " + " | ".join(c for c, _ in cols) + " |"
    sep = "|" + "|".join(":--" if i == 0 else "--:" for i in range(len(cols))) + "|"
    body = ["| " + " | ".join(fmt(r[c], s) for c, s in cols) + " |" for r in rows]
    return "\n".join([head, sep, *body])


def run_compare(n: int, seed: int, out: Path) -> list[dict[str, Any]]:
    rows = compare(households(n, seed, n_lots=COMPARE_LOTS))
    write_compare(rows, out / "compare")
    return summarize(rows)


def classic_main(argv: list[str] | None = None) -> int:
    """The one-rebalance comparison and the classic backtest (``--classic``)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--classic", action="store_true")
    ap.add_argument("--households", type=int, default=40)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--step-months", type=int, default=1)
    ap.add_argument("--n-lots", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--compare-households", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ci", choices=("t", "bootstrap"), default="t")
    ap.add_argument("--keep-hard-rules", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "value")
    args = ap.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    info = machine()
    t0 = time.perf_counter()

    print(f"1) one rebalance: {args.compare_households} households ...", flush=True)
    one = run_compare(args.compare_households, args.seed, out)
    t1 = time.perf_counter()
    print(md_table(one, [("method", ""), ("tax_total", ",.0f"), ("tax_median", ",.2f"),
                         ("drift_median", ".4f"), ("drift_max", ".4f"),
                         ("plans_with_violations", "d"), ("seconds_total", ".2f")]))

    config = BacktestConfig(households=args.households, years=args.years,
                            step_months=args.step_months, seed=args.seed, n_lots=args.n_lots,
                            workers=args.workers, ci=args.ci,
                            keep_tolerance=args.keep_hard_rules,
                            keep_bands=args.keep_hard_rules)
    print(f"\n2) backtest: {args.households} households x {args.years} years, every "
          f"{args.step_months} month(s), {args.workers} workers ...", flush=True)
    result = run_backtest(config, progress=lambda d, n: print(f"   {d}/{n} households",
                                                              flush=True))
    write_outputs(result, out)
    t2 = time.perf_counter()
    print()
    print(text_report(result))

    head = headline_rows(result)
    loc = location_row(result)
    key = [r for r in head if r["method"] == "taxopt"]
    print("\nheadline: taxopt's after-tax return advantage, bps/yr (95 % CI):")
    for r in key:
        print(f"  vs {r['versus']:<22} {r['mean_bps']:+7.1f}  [{r['ci_low']:+7.1f}, "
              f"{r['ci_high']:+7.1f}]  median {r['median_bps']:+6.1f}  "
              f"better in {r['share_better']:.0%}")
    if loc:
        print(f"location's contribution (taxopt vs taxopt_tax_only): {loc['mean_bps']:+.1f} "
              f"bps/yr [{loc['ci_low']:+.1f}, {loc['ci_high']:+.1f}]")

    bps = [("method", ""), ("versus", ""), ("households", "d"), ("mean_bps", "+.1f"),
           ("ci_low", "+.1f"), ("ci_high", "+.1f"), ("median_bps", "+.1f"),
           ("share_better", ".2f")]
    text = [
        "# taxopt value benchmark: measured",
        "",
        f"Command: `python benchmarks/value.py {' '.join(argv or sys.argv[1:])}`".rstrip(),
        "",
        "| machine | |", "|:--|:--|",
        *(f"| {k} | {v} |" for k, v in info.items()),
        f"| load at end | {machine()['load']} |",
        f"| wall time | compare {t1 - t0:.0f} s, backtest {t2 - t1:.0f} s |",
        "",
        f"## 1. One rebalance ({args.compare_households} synthetic households, "
        f"{COMPARE_LOTS} lots, 3 accounts)",
        "",
        md_table(one, [("method", ""), ("households", "d"), ("tax_total", ",.0f"),
                       ("tax_median", ",.2f"), ("drift_median", ".4f"), ("drift_max", ".4f"),
                       ("turnover_total", ",.0f"), ("plans_with_violations", "d"),
                       ("seconds_total", ".2f")]),
        "",
        f"## 2. Backtest ({args.households} households, {args.years} years, every "
        f"{args.step_months} month(s), {args.n_lots} lots, seed {args.seed}, CI {args.ci}"
        f"{', tolerances and bands kept' if args.keep_hard_rules else ''})",
        "",
        md_table(summary_rows(result), [
            ("method", ""), ("after_tax_wealth", ",.0f"), ("taxes_paid", ",.0f"),
            ("mean_drift", ".4f"), ("max_drift", ".4f"), ("turnover", ".3f"),
            ("trading_costs", ",.0f"), ("bps_vs_lockstep", "+.1f"), ("ci_low", "+.1f"),
            ("ci_high", "+.1f")]),
        "",
        md_table(detail_rows(result), [
            ("method", ""), ("failed_steps", "d"), ("steps", "d"),
            ("capital_gains_tax", ",.0f"), ("distribution_tax", ",.0f"),
            ("liquidation_tax", ",.0f"), ("after_tax_risky_share", ".4f"),
            ("median_bps_vs_lockstep", "+.1f"), ("final_lots_mean", ".0f"),
            ("seconds", ".0f")]),
        "",
        "### After-tax return difference, bps/yr",
        "",
        md_table(head, bps),
        "",
    ]
    (out / "measured.md").write_text("\n".join(text))
    print(f"\nwrote {out}/ (backtest_*.csv, *.png, backtest.html, compare/, measured.md)")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if "--classic" in args:
        return classic_main(args)
    from calibrate_value import calibrate_main

    return calibrate_main(args)


if __name__ == "__main__":
    sys.exit(main())
