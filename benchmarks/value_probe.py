"""A small, fast, deterministic probe of what taxopt is worth, for bisecting.

Runs the rich population (savers and retirees, direct-indexing sleeves of 60 stocks,
regimes, reinvested distributions) for a few methods and prints, per method, the mean
turnover, taxes paid, after-tax equity share, after-tax wealth and trading costs paid
(where the checkout charges them), and for each
optimizer method its mean matched-risk bps a year over lockstep FIFO (liquidation
lens). It uses only what the backtest exposed on 2026-12-06 13:00 already
(`run_backtest`, `summary_rows`, `matched_paired_bps`), so it runs unchanged against
older checkouts::

    git worktree add --detach /tmp/bis-SHA SHA
    PYTHONPATH=/tmp/bis-SHA python benchmarks/value_probe.py --households 16 --years 10

16 households, 10 years, quarterly: about 20 s on an idle core (three methods).
``--dump FILE`` writes the per-household matched bps (JSON) for paired comparisons.
Since 2026-12-07 the backtest charges trading costs (5 bps a trade by default); to compare
with an older checkout, which charges none, pass ``--trading-cost-bps 0`` to the newer one.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=16)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--step-months", type=int, default=3)
    ap.add_argument("--first", type=int, default=0, help="index of the first household")
    ap.add_argument("--methods", default="taxopt,taxopt_tax_only,lockstep_fifo")
    ap.add_argument("--options", default="{}", help='optimizer knobs as JSON, e.g. '
                    '\'{"carryforward_value": 0.0}\'')
    ap.add_argument("--dump", default=None, help="write per-household matched bps here")
    ap.add_argument("--trading-cost-bps", type=float, default=None,
                    help="trading cost of every trade, one way, bps of its value (default: "
                    "the backtest's, MarketParams.trading_cost_bps; 0: none; a checkout "
                    "older than 2026-12-07 charges none and rejects the flag)")
    a = ap.parse_args(argv)

    import taxopt
    from taxopt.backtest import BacktestConfig, run_backtest, summary_rows
    from taxopt.backtest.report import matched_paired_bps

    methods = tuple(a.methods.split(","))
    kw = dict(households=a.households, years=a.years, step_months=a.step_months, seed=0,
              methods=methods, population="rich", di_stocks=60, reinvest=True)
    options = tuple(json.loads(a.options).items())
    if options:
        kw["options"] = options
    if a.trading_cost_bps is not None:
        from taxopt.backtest import MarketParams

        kw["market"] = MarketParams(trading_cost_bps=a.trading_cost_bps)
    cfg = BacktestConfig(**kw)
    t0 = time.perf_counter()
    if a.first:
        from taxopt.backtest.run import BacktestResult, specs
        from taxopt.backtest.simulate import simulate_household

        res = BacktestResult(cfg, [simulate_household(s) for s in specs(cfg, a.first)], 0.0)
    else:
        res = run_backtest(cfg)
    out: dict = {"package": os.path.dirname(taxopt.__file__),
                 "seconds": round(time.perf_counter() - t0, 1)}
    per = {}
    for row in summary_rows(res):
        m = row["method"]
        d = {k: row.get(k) for k in ("turnover", "taxes_paid", "equity_share",
                                     "after_tax_wealth", "trading_costs")
             if k in row}
        if m != "lockstep_fifo" and "lockstep_fifo" in methods:
            per[m] = [float(x) for x in matched_paired_bps(res, m, "lockstep_fifo")]
            d["matched_bps"] = float(np.nanmean(per[m]))
        out[m] = {k: round(v, 4) if isinstance(v, float) else v for k, v in d.items()}
    if a.dump:
        with open(a.dump, "w") as f:
            json.dump(per, f)
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
