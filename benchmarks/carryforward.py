"""Does valuing carried losses earn more after tax? A paired ten-year backtest.

One command::

    .venv/bin/python benchmarks/carryforward.py [--households 30] [--years 10]
                                                [--step-months 3] [--out FILE]

The optimizer at its defaults (``carryforward_value`` = the present value of a
carried loss, see `taxopt.model.taxes.default_carryforward_value`) against the same
optimizer with ``carryforward_value=0`` (the former default), on the same synthetic
households and market paths (`taxopt.backtest`). The headline is the annualized
after-tax wealth difference in basis points per year, mean over households with a
95 % t interval, plus taxes paid. Runs in this process (the extra method is
registered here, so worker processes would not see it).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=30)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--step-months", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    from taxopt.backtest import report, run, simulate

    simulate.OPTIMIZER_METHODS["taxopt_carry0"] = {"carryforward_value": 0.0}
    config = run.BacktestConfig(households=args.households, years=args.years,
                                step_months=args.step_months, seed=args.seed,
                                methods=("taxopt", "taxopt_carry0"), workers=1)
    t0 = time.perf_counter()
    result = run.run_backtest(config)
    bps = report.interval(report.paired_bps(result, "taxopt", "taxopt_carry0"))
    rows = {m: report._per_household(result, m) for m in config.methods}
    lines = [
        f"households {args.households}, {args.years} years, rebalanced every "
        f"{args.step_months} month(s), seed {args.seed}; {time.perf_counter() - t0:.0f} s",
        "",
        "| method | after-tax wealth (mean) | taxes paid (mean) | turnover/yr |",
        "| --- | ---: | ---: | ---: |",
        *(f"| {m} | {p['terminal'].mean():,.0f} | {p['taxes'].mean():,.0f} | "
          f"{p['turnover'].mean():.3f} |" for m, p in rows.items()),
        "",
        f"taxopt (present-value default) vs carryforward_value=0: {bps[0]:+.2f} bps/year "
        f"(95 % CI {bps[1]:+.2f} to {bps[2]:+.2f})",
    ]
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
