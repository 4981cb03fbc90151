"""What a backtest measured: tables, the headline comparison, figures and an HTML page.

Headline statistic
------------------
For household i, method m and comparator b (a heuristic), with terminal
after-tax liquidation wealth ``W`` after ``Y`` years, the after-tax return
difference is ``d_i = ((W_m,i / W_b,i)^(1/Y) - 1) x 10,000`` basis points per
year. The table gives the mean of ``d`` over the population with a 95 %
confidence interval: Student t (``mean +- t_{0.975, n-1} sd / sqrt(n)``) or a
seeded percentile bootstrap (10,000 resamples); and the median. Because every
method of a household runs through the same market path, the comparison is
paired; the interval still carries the market's randomness (each household
has its own path) and the population's.

Two terminal-wealth lenses (`taxopt.backtest.simulate.LENSES`): the headline's
``liquidation`` wealth taxes every embedded gain at the end, so harvesting keeps
only its deferral value; the ``pre_liquidation`` wealth (columns ``pre_liq_*``)
lets the embedded gains pass untaxed (step-up at death, donation, never sold),
the IRA still at 1 - ordinary rate. The tax-loss-harvesting literature reports
both; the second is the upper one for any method that defers gains.

Summary columns (``backtest_summary.csv``, one row per method)
--------------------------------------------------------------
- ``after_tax_wealth``: mean terminal after-tax liquidation wealth per household ($);
- ``taxes_paid``: mean taxes paid per household over the run (capital gains and
  distributions of every year, the final year's included, the liquidation's not);
- ``mean_drift`` / ``max_drift``: goal-level drift (largest gap of a class weight to
  its target) after each rebalance, mean and worst over households and steps;
- ``turnover``: dollars traded (both sides) per year over the mean pre-tax value,
  averaged over households (1.0 = 100 % a year);
- ``bps_vs_lockstep``, ``ci_low``, ``ci_high``: the headline statistic against
  ``lockstep_fifo`` (empty when it did not run);
- ``pre_liquidation_wealth`` and ``pre_liq_matched_*``: the same in the
  pre-liquidation lens;
- ``trading_costs``: mean trading costs paid per household over the run ($;
  ``MarketParams.trading_cost_bps`` of every trade's value, forced sales included;
  already inside every wealth figure).
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import html
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..files import atomic_write
from ..methods import OPTIMIZER_METHODS
from .market import MarketParams
from .run import BacktestResult
from .simulate import BASELINE

SUMMARY_COLUMNS = ("method", "after_tax_wealth", "taxes_paid", "mean_drift", "max_drift",
                   "turnover", "equity_share", "tracking_error", "bps_vs_lockstep", "ci_low",
                   "ci_high", "matched_bps_vs_lockstep", "matched_ci_low", "matched_ci_high",
                   "pre_liquidation_wealth", "pre_liq_matched_bps_vs_lockstep",
                   "pre_liq_matched_ci_low", "pre_liq_matched_ci_high", "trading_costs")
DETAIL_COLUMNS = ("method", "households", "failed_steps", "steps", "failure_rate",
                  "capital_gains_tax", "distribution_tax", "liquidation_tax", "unpaid",
                  "after_tax_risky_share",
                  "median_bps_vs_lockstep", "final_lots_mean", "seconds", "first_failure")
HEADLINE_COLUMNS = ("method", "versus", "households", "mean_bps", "ci_low", "ci_high",
                    "median_bps", "share_better", "equity_share", "versus_equity_share",
                    "matched_bps", "matched_ci_low", "matched_ci_high", "matched_share_better",
                    "pre_liq_mean_bps", "pre_liq_matched_bps", "pre_liq_matched_ci_low",
                    "pre_liq_matched_ci_high", "pre_liq_matched_share_better")
HOUSEHOLD_COLUMNS = ("household_id", "method", "initial_wealth", "terminal_wealth",
                     "bps_vs_lockstep", "taxes_paid", "liquidation_tax", "mean_drift",
                     "max_drift", "turnover", "failed_steps", "pre_liquidation_wealth",
                     "pre_liq_bps_vs_lockstep", "matched_bps_vs_lockstep",
                     "pre_liq_matched_bps_vs_lockstep", "trading_costs")
BOOTSTRAP_RESAMPLES = 10_000
LEVEL = 0.95


# --- statistics ----------------------------------------------------------------------------
def paired_bps(result: BacktestResult, method: str, versus: str,
               lens: str = "liquidation") -> np.ndarray:
    """Per household: annualized after-tax return difference of ``method`` over ``versus``
    (terminal wealth in ``lens``: ``liquidation`` or ``pre_liquidation``)."""
    out = []
    for h in result.households:
        wm, wb = h.runs[method].terminal_in(lens), h.runs[versus].terminal_in(lens)
        if wm > 0 and wb > 0:
            out.append(((wm / wb) ** (1.0 / h.years) - 1.0) * 1e4)
        else:
            out.append(math.nan)
    return np.array(out)


def matched_paired_bps(result: BacktestResult, method: str, versus: str,
                       lens: str = "liquidation") -> np.ndarray:
    """Per household: the after-tax return difference with ``versus`` scaled to the after-tax
    risky share ``method`` held, step by step, and both cleared of single stocks'
    idiosyncratic luck (`taxopt.backtest.risk.matched_bps`); terminal wealth in ``lens``."""
    from .risk import matched_bps

    out = []
    for h in result.households:
        a, b = h.runs[method], h.runs[versus]
        if len(h.risky_return) != len(a.after_tax_risky):
            out.append(math.nan)
            continue
        out.append(matched_bps(a.terminal_in(lens), b.terminal_in(lens), h.years,
                               a.after_tax_risky,
                               b.after_tax_risky, h.risky_return, h.safe_return,
                               a.stock_luck, b.stock_luck,
                               h.long_term_rate if lens == "liquidation" else 0.0))
    return np.array(out)


def interval(x: np.ndarray, how: str = "t", seed: int = 0,
             level: float = LEVEL) -> tuple[float, float, float]:
    """(mean, low, high) of the mean of ``x`` (NaNs dropped); NaN bounds for n < 2."""
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if len(x) < 2:
        return mean, math.nan, math.nan
    if how == "bootstrap":
        rng = np.random.default_rng(seed)
        means = x[rng.integers(0, len(x), (BOOTSTRAP_RESAMPLES, len(x)))].mean(axis=1)
        lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
        return mean, float(lo), float(hi)
    from scipy.stats import t

    half = float(t.ppf((1 + level) / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return mean, mean - half, mean + half


def _per_household(result: BacktestResult, method: str) -> dict[str, np.ndarray]:
    runs = [h.runs[method] for h in result.households]
    return {
        "terminal": np.array([r.terminal for r in runs]),
        "pre_liquidation": np.array([r.pre_liquidation for r in runs]),
        "taxes": np.array([sum(r.taxes.values()) for r in runs]),
        "cg_taxes": np.array([sum(r.cg_taxes.values()) for r in runs]),
        "risky": np.array([r.after_tax_risky.mean() for r in runs]),
        "te": np.array([math.sqrt(float(np.mean(r.tracking_error ** 2)))
                        if len(r.tracking_error) else math.nan for r in runs]),
        "liquidation": np.array([r.liquidation_tax for r in runs]),
        "drift_mean": np.array([r.drift.mean() for r in runs]),
        "drift_max": np.array([r.drift.max() for r in runs]),
        "turnover": np.array([r.traded / max(r.value.mean(), 1e-9) / h.years
                              for r, h in zip(runs, result.households, strict=True)]),
        "costs": np.array([r.trading_costs for r in runs]),
        "failures": np.array([r.failures for r in runs]),
        "steps": np.array([len(r.drift) for r in runs]),
        "unpaid": np.array([r.unpaid for r in runs]),
        "lots": np.array([r.final_lots for r in runs]),
        "seconds": np.array([r.seconds for r in runs]),
    }


def summary_rows(result: BacktestResult) -> list[dict[str, Any]]:
    """One row per method, the columns of ``backtest_summary.csv``."""
    rows = []
    has_base = BASELINE in result.methods
    for m in result.methods:
        p = _per_household(result, m)
        bps = (interval(paired_bps(result, m, BASELINE), result.config.ci, result.config.seed)
               if has_base else (math.nan,) * 3)
        matched = (interval(matched_paired_bps(result, m, BASELINE), result.config.ci,
                            result.config.seed) if has_base else (math.nan,) * 3)
        pre = (interval(matched_paired_bps(result, m, BASELINE, "pre_liquidation"),
                        result.config.ci, result.config.seed) if has_base else (math.nan,) * 3)
        rows.append({
            "method": m,
            "after_tax_wealth": float(p["terminal"].mean()),
            "taxes_paid": float(p["taxes"].mean()),
            "mean_drift": float(p["drift_mean"].mean()),
            "max_drift": float(p["drift_max"].max()),
            "turnover": float(p["turnover"].mean()),
            "equity_share": float(p["risky"].mean()),
            "tracking_error": float(np.nanmean(p["te"])),
            "bps_vs_lockstep": bps[0], "ci_low": bps[1], "ci_high": bps[2],
            "matched_bps_vs_lockstep": matched[0], "matched_ci_low": matched[1],
            "matched_ci_high": matched[2],
            "pre_liquidation_wealth": float(p["pre_liquidation"].mean()),
            "pre_liq_matched_bps_vs_lockstep": pre[0], "pre_liq_matched_ci_low": pre[1],
            "pre_liq_matched_ci_high": pre[2],
            "trading_costs": float(p["costs"].mean()),
        })
    return rows


def detail_rows(result: BacktestResult) -> list[dict[str, Any]]:
    """Per method: failed steps (rebalances that kept the holdings), the taxes paid split into
    capital gains and distributions (means per household over the run), the liquidation's
    capital-gains tax, unpaid withdrawals and taxes, the after-tax share in equity and REITs
    (IRA dollars at 1 - ordinary rate; mean over steps and households: location raises it),
    lots at the end and solver seconds."""
    rows = []
    for m in result.methods:
        p = _per_household(result, m)
        first = next((msg for h in result.households for msg in h.runs[m].messages), "")
        med = (float(np.nanmedian(paired_bps(result, m, BASELINE)))
               if BASELINE in result.methods else math.nan)
        steps = int(p["steps"].sum())
        rows.append({
            "method": m, "households": len(result.households),
            "failed_steps": int(p["failures"].sum()), "steps": steps,
            "failure_rate": float(p["failures"].sum() / max(steps, 1)),
            "capital_gains_tax": float(p["cg_taxes"].mean()),
            "distribution_tax": float((p["taxes"] - p["cg_taxes"]).mean()),
            "liquidation_tax": float(p["liquidation"].mean()),
            "unpaid": float(p["unpaid"].mean()),
            "after_tax_risky_share": float(p["risky"].mean()),
            "median_bps_vs_lockstep": med,
            "final_lots_mean": float(p["lots"].mean()),
            "seconds": float(p["seconds"].sum()),
            "first_failure": first,
        })
    return rows


def is_optimizer(method: str) -> bool:
    """The optimizer's methods, and variants a benchmark adds under a ``taxopt_`` name."""
    return method in OPTIMIZER_METHODS or method.startswith("taxopt_")


def headline_rows(result: BacktestResult) -> list[dict[str, Any]]:
    """Each optimizer method against every other method that ran (heuristics first)."""
    rows = []
    optimizers = [m for m in result.methods if is_optimizer(m)]
    for m in optimizers:
        others = [b for b in result.methods if not is_optimizer(b)]
        others += [b for b in optimizers if b != m]
        for b in others:
            d = paired_bps(result, m, b)
            mean, lo, hi = interval(d, result.config.ci, result.config.seed)
            fin = d[np.isfinite(d)]
            dm = matched_paired_bps(result, m, b)
            mm, mlo, mhi = interval(dm, result.config.ci, result.config.seed)
            fm = dm[np.isfinite(dm)]
            pm = interval(paired_bps(result, m, b, "pre_liquidation"), result.config.ci,
                          result.config.seed)[0]
            dp = matched_paired_bps(result, m, b, "pre_liquidation")
            pmm, plo, phi = interval(dp, result.config.ci, result.config.seed)
            fp = dp[np.isfinite(dp)]
            rows.append({"method": m, "versus": b, "households": len(fin), "mean_bps": mean,
                         "ci_low": lo, "ci_high": hi,
                         "median_bps": float(np.median(fin)) if len(fin) else math.nan,
                         "share_better": float(np.mean(fin > 0)) if len(fin) else math.nan,
                         "equity_share": float(_per_household(result, m)["risky"].mean()),
                         "versus_equity_share": float(_per_household(result, b)["risky"].mean()),
                         "matched_bps": mm, "matched_ci_low": mlo, "matched_ci_high": mhi,
                         "matched_share_better": float(np.mean(fm > 0)) if len(fm) else math.nan,
                         "pre_liq_mean_bps": pm, "pre_liq_matched_bps": pmm,
                         "pre_liq_matched_ci_low": plo, "pre_liq_matched_ci_high": phi,
                         "pre_liq_matched_share_better": (float(np.mean(fp > 0)) if len(fp)
                                                          else math.nan)})
    return rows


def location_row(result: BacktestResult) -> dict[str, Any] | None:
    """Location's contribution: ``taxopt`` against ``taxopt_tax_only``."""
    for r in headline_rows(result):
        if r["method"] == "taxopt" and r["versus"] == "taxopt_tax_only":
            return r
    return None


def household_rows(result: BacktestResult) -> list[dict[str, Any]]:
    rows = []
    base = BASELINE in result.methods
    for m in result.methods:
        nan = np.full(len(result.households), math.nan)
        bps = paired_bps(result, m, BASELINE) if base else nan
        pre = paired_bps(result, m, BASELINE, "pre_liquidation") if base else nan
        mb = matched_paired_bps(result, m, BASELINE) if base else nan
        mp = matched_paired_bps(result, m, BASELINE, "pre_liquidation") if base else nan
        for h, b, bp, bm, bmp in zip(result.households, bps, pre, mb, mp, strict=True):
            r = h.runs[m]
            rows.append({"household_id": h.household_id, "method": m,
                         "initial_wealth": h.initial_wealth, "terminal_wealth": r.terminal,
                         "bps_vs_lockstep": float(b), "taxes_paid": sum(r.taxes.values()),
                         "liquidation_tax": r.liquidation_tax,
                         "mean_drift": float(r.drift.mean()), "max_drift": float(r.drift.max()),
                         "turnover": r.traded / max(r.value.mean(), 1e-9) / h.years,
                         "failed_steps": r.failures,
                         "pre_liquidation_wealth": r.pre_liquidation,
                         "pre_liq_bps_vs_lockstep": float(bp),
                         "matched_bps_vs_lockstep": float(bm),
                         "pre_liq_matched_bps_vs_lockstep": float(bmp),
                         "trading_costs": r.trading_costs})
    return rows


def taxes_by_year(result: BacktestResult) -> tuple[list[int], dict[str, np.ndarray]]:
    """Calendar years and, per method, the mean tax paid per household in each."""
    years = sorted({y for h in result.households for r in h.runs.values() for y in r.taxes})
    out = {}
    for m in result.methods:
        out[m] = np.array([np.mean([h.runs[m].taxes.get(y, 0.0) for h in result.households])
                           for y in years])
    return years, out


# --- files -------------------------------------------------------------------------------
def _fmt(v: Any) -> Any:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.6g}" if abs(v) < 1 else f"{v:.2f}"
    return v


def write_csv(rows: list[dict[str, Any]], columns: tuple[str, ...], path: Path) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([_fmt(r[c]) for c in columns])
    atomic_write(path, buf.getvalue().encode())
    return path


def write_outputs(result: BacktestResult, out_dir: str | Path,
                  plots: bool = True) -> list[Path]:
    """Write the tables (CSV), the figures (PNG) and ``backtest.html`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [
        write_csv(summary_rows(result), SUMMARY_COLUMNS, out / "backtest_summary.csv"),
        write_csv(detail_rows(result), DETAIL_COLUMNS, out / "backtest_details.csv"),
        write_csv(headline_rows(result), HEADLINE_COLUMNS, out / "backtest_headline.csv"),
        write_csv(household_rows(result), HOUSEHOLD_COLUMNS, out / "backtest_households.csv"),
    ]
    years, tax = taxes_by_year(result)
    written.append(write_csv([{"year": y, **{m: float(tax[m][i]) for m in result.methods}}
                              for i, y in enumerate(years)], ("year", *result.methods),
                             out / "backtest_taxes_by_year.csv"))
    figures: dict[str, bytes] = {}
    if plots:
        figures = make_figures(result)
        for name, png in figures.items():
            p = out / f"{name}.png"
            atomic_write(p, png)
            written.append(p)
    page = out / "backtest.html"
    atomic_write(page, html_page(result, figures).encode())
    written.append(page)
    return written


# --- figures -----------------------------------------------------------------------------
def months_in_year(result: BacktestResult, years: list[int]) -> list[int]:
    """Months (rounded) of each calendar year that the simulation covers; 12: a full year."""
    d = result.households[0].dates
    start, end = d[0].astype("datetime64[D]"), d[-1].astype("datetime64[D]")
    out = []
    for y in years:
        lo = max(np.datetime64(f"{y}-01-01", "D"), start)
        hi = min(np.datetime64(f"{y + 1}-01-01", "D"), end)
        out.append(min(12, max(0, round(int((hi - lo).astype(np.int64)) / 30.44))))
    return out


def _years_axis(result: BacktestResult) -> np.ndarray:
    d = result.households[0].dates
    return (d - d[0]).astype(np.int64) / 365.25


def make_figures(result: BacktestResult) -> dict[str, bytes]:
    """PNG bytes of: wealth paths, drift over time, tax by year, headline (matplotlib Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = _years_axis(result)
    methods = result.methods
    figs: dict[str, bytes] = {}

    def save(fig: Any, name: str) -> None:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        figs[name] = buf.getvalue()

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for m in methods:
        ratio = np.array([h.runs[m].wealth / h.initial_wealth for h in result.households])
        axes[0].plot(x, np.median(ratio, axis=0), label=m, lw=1.6 if m == "taxopt" else 1.0)
        if BASELINE in methods:
            rel = np.array([(h.runs[m].wealth / h.runs[BASELINE].wealth - 1) * 1e4
                            for h in result.households])
            axes[1].plot(x, np.median(rel, axis=0), label=m, lw=1.6 if m == "taxopt" else 1.0)
    axes[0].set(title="After-tax liquidation wealth / start (population median)",
                xlabel="years since the start", ylabel="multiple of the starting wealth")
    axes[1].set(title=f"After-tax wealth vs {BASELINE} (median, bps of wealth)",
                xlabel="years since the start", ylabel="bps of the comparator's wealth")
    axes[1].axhline(0, color="grey", lw=0.6)
    axes[0].legend(fontsize=7)
    save(fig, "wealth_paths")

    fig, ax = plt.subplots(figsize=(8, 4))
    for m in methods:
        drift = np.array([h.runs[m].drift for h in result.households])
        ax.plot(x[:-1], drift.mean(axis=0) * 100, label=m)
    ax.set(title="Goal-level drift after each rebalance (mean over households)",
           xlabel="years since the start", ylabel="largest class gap, percentage points")
    ax.legend(fontsize=7)
    save(fig, "drift")

    years, tax = taxes_by_year(result)
    fig, ax = plt.subplots(figsize=(10, 4))
    width = 0.8 / len(methods)
    for i, m in enumerate(methods):
        ax.bar(np.arange(len(years)) + i * width, tax[m], width, label=m)
    months = months_in_year(result, years)
    ax.set_xticks(np.arange(len(years)) + 0.4 - width / 2,
                  [str(y) if k >= 12 else f"{y}\n({k} mo)" for y, k in zip(years, months,
                                                                          strict=True)])
    ax.set(title="Taxes paid by year (capital gains + distributions, mean per household; "
           "partial years marked)", ylabel="$ per household")
    ax.axhline(0, color="grey", lw=0.6)
    ax.legend(fontsize=7)
    save(fig, "taxes_by_year")

    rows = headline_rows(result)
    if rows:
        fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1))
        labels = [f"{r['method']} vs {r['versus']}" for r in rows]
        mean = np.array([r["mean_bps"] for r in rows])
        lo = np.array([r["ci_low"] for r in rows])
        hi = np.array([r["ci_high"] for r in rows])
        y = np.arange(len(rows))[::-1]
        ax.errorbar(mean, y + 0.15, xerr=[np.nan_to_num(mean - lo), np.nan_to_num(hi - mean)],
                    fmt="o", capsize=3, color="#999999", label="raw")
        mm = np.array([r["matched_bps"] for r in rows])
        mlo = np.array([r["matched_ci_low"] for r in rows])
        mhi = np.array([r["matched_ci_high"] for r in rows])
        ax.errorbar(mm, y, xerr=[np.nan_to_num(mm - mlo), np.nan_to_num(mhi - mm)],
                    fmt="o", capsize=3, color="#35608d", label="at matched risk")
        pm = np.array([r["pre_liq_matched_bps"] for r in rows])
        plo = np.array([r["pre_liq_matched_ci_low"] for r in rows])
        phi = np.array([r["pre_liq_matched_ci_high"] for r in rows])
        ax.errorbar(pm, y - 0.15, xerr=[np.nan_to_num(pm - plo), np.nan_to_num(phi - pm)],
                    fmt="s", capsize=3, color="#2a9d8f",
                    label="matched risk, pre-liquidation (gains never taxed)")
        ax.set_yticks(y, labels, fontsize=8)
        ax.axvline(0, color="grey", lw=0.6)
        ax.legend(fontsize=8)
        ax.set(title="After-tax return difference (mean, 95 % CI)", xlabel="bps a year")
        save(fig, "headline")
    return figs


# --- the page ----------------------------------------------------------------------------
_DOLLARS = {"after_tax_wealth", "taxes_paid", "capital_gains_tax", "distribution_tax",
            "liquidation_tax", "unpaid", "initial_wealth", "terminal_wealth",
            "pre_liquidation_wealth", "trading_costs"}
_PERCENT = {"mean_drift", "max_drift", "failure_rate", "turnover", "equity_share",
            "after_tax_risky_share", "versus_equity_share", "tracking_error", "share_better",
            "matched_share_better", "pre_liq_matched_share_better"}
_HEADERS = {"after_tax_wealth": "after-tax wealth ($)", "taxes_paid": "taxes paid ($)",
            "mean_drift": "mean drift", "max_drift": "worst drift",
            "turnover": "turnover / yr (both sides)", "equity_share": "after-tax equity share",
            "tracking_error": "tracking error (ex ante, /yr)",
            "bps_vs_lockstep": "bps/yr vs lockstep", "ci_low": "95 % CI low",
            "ci_high": "95 % CI high", "matched_bps_vs_lockstep": "matched-risk bps/yr",
            "matched_ci_low": "matched CI low", "matched_ci_high": "matched CI high",
            "mean_bps": "bps/yr", "median_bps": "median bps/yr", "matched_bps":
            "matched-risk bps/yr", "share_better": "households better",
            "matched_share_better": "better at matched risk",
            "versus_equity_share": "versus equity share",
            "pre_liquidation_wealth": "pre-liquidation wealth ($)",
            "pre_liq_matched_bps_vs_lockstep": "pre-liq. matched bps/yr",
            "pre_liq_matched_ci_low": "pre-liq. CI low", "pre_liq_matched_ci_high":
            "pre-liq. CI high", "pre_liq_mean_bps": "pre-liq. bps/yr",
            "pre_liq_matched_bps": "pre-liq. matched bps/yr",
            "pre_liq_matched_share_better": "better pre-liq. (matched)",
            "trading_costs": "trading costs ($)"}


def cell(column: str, v: Any) -> str:
    """A value as the page shows it: dollars with separators, shares in percent, bps signed."""
    if isinstance(v, bool) or not isinstance(v, float | int | np.floating | np.integer):
        return str(v)
    if isinstance(v, float | np.floating) and math.isnan(v):
        return ""
    if column in _DOLLARS:
        return f"{v:,.0f}"
    if column in _PERCENT:
        return f"{v:.1%}" if abs(v) >= 0.01 or v == 0 else f"{v:.2%}"
    if "bps" in column or column.startswith(("ci_", "matched_ci", "pre_liq_matched_ci")):
        return f"{v:+,.1f}"
    if column == "seconds":
        return f"{v:,.1f}"
    if isinstance(v, int | np.integer):
        return f"{v:,d}"
    return f"{v:,.2f}"


def _table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    head = "".join(f"<th>{html.escape(_HEADERS.get(c, c.replace('_', ' ')))}</th>"
                   for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell(c, r[c]))}</td>" for c in columns)
                   + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def verdict(result: BacktestResult) -> str:
    """One sentence: the optimizer against the baseline, raw and at matched risk."""
    rows = [r for r in headline_rows(result) if r["versus"] == BASELINE]
    if not rows:
        return (f"{len(result.households)} households simulated; no optimizer-versus-"
                f"{BASELINE} comparison ran.")
    r = next((x for x in rows if x["method"] == "taxopt"), rows[0])
    c = result.config

    def said(mean: float, lo: float, hi: float) -> str:
        if math.isnan(lo):
            return f"{mean:+.1f} bps a year"
        word = ("more" if lo > 0 else "less" if hi < 0 else
                "no significantly different")
        return (f"{mean:+.1f} bps a year (95 % CI {lo:+.1f} to {hi:+.1f}; {word} "
                "after-tax wealth)")

    matched = said(r["matched_bps"], r["matched_ci_low"], r["matched_ci_high"])
    pre = r["pre_liq_matched_bps"]
    pre_ci = ("" if math.isnan(r["pre_liq_matched_ci_low"]) else
              f" [{r['pre_liq_matched_ci_low']:+.1f}, {r['pre_liq_matched_ci_high']:+.1f}]")
    return (f"Over {c.years} years and {len(result.households)} households, {r['method']} "
            f"against {BASELINE}: {matched} at matched risk after liquidation, "
            f"{r['mean_bps']:+.1f} raw; richer at matched risk in "
            f"{r['matched_share_better']:.0%} of households; {pre:+.1f}{pre_ci} at matched "
            "risk before liquidation (embedded gains never taxed).")


def cost_text(market: MarketParams) -> str:
    """The trading cost the run charged, in words."""
    funds = f"{market.trading_cost_bps:g} bps"
    stock = market.stock_trading_cost_bps
    if stock is None or stock == market.trading_cost_bps:
        return f"a trading cost of {funds} of its value (one way)"
    return (f"a trading cost of {funds} of its value (one way; single stocks "
            f"{stock:g} bps)")


def html_page(result: BacktestResult, figures: dict[str, bytes]) -> str:
    """A self-contained page (figures inlined as data URIs)."""
    c = result.config
    loc = location_row(result)
    img = "".join(f'<h2>{html.escape(name.replace("_", " "))}</h2><img alt="{name}" '
                  f'src="data:image/png;base64,{base64.b64encode(png).decode()}">'
                  for name, png in figures.items())
    loc_html = (_table([loc], HEADLINE_COLUMNS) if loc else
                "<p>taxopt and taxopt_tax_only did not both run.</p>")
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>taxopt backtest</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;margin:1em 0;font-size:13px}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}
td:first-child,th:first-child{{text-align:left}}img{{max-width:100%}}</style></head><body>
<h1>taxopt backtest</h1>
<p><strong>{html.escape(verdict(result))}</strong></p>
<p>{len(result.households)} synthetic households, {c.years} years, a rebalance every
{c.step_months} month(s), seed {c.seed}, {c.n_lots} lots and {c.n_accounts} accounts each;
{result.seconds:.0f} s; written {dt.date.today().isoformat()}. Confidence intervals: {c.ci}
(95 %); population {c.population}. Wealth is after-tax liquidation wealth at the end
(taxable gains taxed, IRA at (1 - ordinary rate), Roth in full); the <em>pre-liquidation</em>
columns leave the embedded gains untaxed (a step-up at death, a donation, never sold), the
IRA still at (1 - ordinary rate). <em>Matched risk</em>: the
comparator's portfolio scaled, step by step on the same market path, to the method's
after-tax equity share (see <code>taxopt.backtest.risk</code>); turnover counts buys plus
sells per year over the mean value; every trade pays {cost_text(c.market)}, from its
account's cash, for every method alike (trading costs: dollars per household over the run,
already inside every wealth figure); drift is the largest goal-level class gap.</p>
<h2>Per method</h2>{_table(summary_rows(result), SUMMARY_COLUMNS)}
<h2>Failed steps and more</h2>{_table(detail_rows(result), DETAIL_COLUMNS)}
<h2>Headline: after-tax return difference (bps/yr)</h2>
{_table(headline_rows(result), HEADLINE_COLUMNS)}
<h2>Location's contribution (taxopt vs taxopt_tax_only)</h2>{loc_html}
{img}
</body></html>
"""


# --- text --------------------------------------------------------------------------------
def _text_table(rows: list[dict[str, Any]], columns: tuple[str, ...],
                formats: dict[str, str]) -> str:
    cells = [[format(r[c], formats[c]) if c in formats and isinstance(r[c], float)
              and not math.isnan(r[c]) else ("" if isinstance(r[c], float) and math.isnan(r[c])
                                             else str(r[c])) for c in columns] for r in rows]
    # max of a list: a table without rows (no optimizer ran, so no headline) has headers only
    width = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                     for i, (c, w) in enumerate(zip(columns, width, strict=True)))
    body = ["  ".join(v.ljust(w) if i == 0 else v.rjust(w)
                      for i, (v, w) in enumerate(zip(row, width, strict=True)))
            for row in cells]
    return "\n".join([line, *body])


def text_report(result: BacktestResult) -> str:
    """The tables a terminal shows: per method, failures, and the headline."""
    c = result.config
    summary = summary_rows(result)
    details = {r["method"]: r for r in detail_rows(result)}
    for r in summary:
        r["failed_steps"] = details[r["method"]]["failed_steps"]
    money = {"after_tax_wealth": ",.0f", "taxes_paid": ",.0f", "mean_drift": ".4f",
             "max_drift": ".4f", "turnover": ".3f", "bps_vs_lockstep": "+.1f",
             "ci_low": "+.1f", "ci_high": "+.1f", "mean_bps": "+.1f", "median_bps": "+.1f",
             "share_better": ".2f", "equity_share": ".3f", "versus_equity_share": ".3f",
             "tracking_error": ".2%", "matched_bps_vs_lockstep": "+.1f",
             "matched_ci_low": "+.1f", "matched_ci_high": "+.1f", "matched_bps": "+.1f",
             "matched_share_better": ".2f", "pre_liquidation_wealth": ",.0f",
             "pre_liq_matched_bps_vs_lockstep": "+.1f", "pre_liq_matched_ci_low": "+.1f",
             "pre_liq_matched_ci_high": "+.1f", "pre_liq_mean_bps": "+.1f",
             "pre_liq_matched_bps": "+.1f", "pre_liq_matched_share_better": ".2f",
             "trading_costs": ",.0f"}
    parts = [
        f"{len(result.households)} households, {c.years} years, every {c.step_months} "
        f"month(s), seed {c.seed}: {result.seconds:.1f} s; every trade pays "
        f"{cost_text(c.market)}",
        "",
        _text_table(summary, (*SUMMARY_COLUMNS, "failed_steps"), money),
        "",
        "after-tax return difference, bps/yr (mean and 95 % CI over households):",
        _text_table(headline_rows(result), HEADLINE_COLUMNS, money),
    ]
    return "\n".join(parts)
