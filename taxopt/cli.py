"""The command line: argument parsing, exit codes and printing only; no math here.

Exit codes (contract section 4): 0 solved; 1 infeasible or failed; 2 bad
arguments or invalid input. No traceback unless ``--debug``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from .errors import InvalidInput

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


class _Cli(click.Group):
    """Turns taxopt's own errors into one line and exit code 2, unless --debug."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InvalidInput as err:
            if ctx.meta.get("taxopt.debug"):
                raise
            click.echo(f"error: {err.line()}", err=True)
            ctx.exit(EXIT_INVALID)


def _parse_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    import json

    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--set")
        key, value = pair.split("=", 1)
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show Python tracebacks.")
@click.version_option(package_name="taxopt")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """taxopt: tax-smart rebalancing of a household's accounts."""
    ctx.meta["taxopt.debug"] = debug


@cli.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
def validate(scenario: Path) -> None:
    """Check a scenario file against the contract without solving it."""
    from .domain import from_file
    from .plan.assumptions import input_assumptions

    hh = from_file(scenario)
    click.echo(f"{hh.household_id}: valid ({len(hh.accounts)} accounts, {len(hh.lots)} lots, "
               f"{len(hh.securities)} securities)")
    for sentence in input_assumptions(hh):
        click.echo(f"  assumes: {sentence}")


@cli.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Folder for trades.csv and summary.json.")
@click.option("--adapter", type=click.Choice(["highs", "cvxpy"]), default=None,
              help="Solver adapter (default: the scenario's option, else highs).")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Override an option, e.g. --set tracking_weight=0.2 (repeatable).")
@click.option("--timings", is_flag=True, help="Add stage timings to summary.json.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
def solve(scenario: Path, out_dir: Path, adapter: str | None, settings: tuple[str, ...],
          timings: bool, quiet: bool) -> None:
    """Rebalance one household and write OUT/trades.csv and OUT/summary.json."""
    from .domain import from_file
    from .engine import rebalance
    from .options import Options
    from .output import write_solve_output

    started = time.perf_counter()
    hh = from_file(scenario)
    validated = time.perf_counter() - started
    changes = _parse_options(settings)
    if adapter:
        changes["adapter"] = adapter
    opts = (Options.from_dict({**hh.options.as_dict(), **changes}, hh.household_id)
            if changes else hh.options)
    result = rebalance(hh, opts)
    result.timings = {"validate": validated, **result.timings}
    write_solve_output(out_dir, result.trade_columns(), result.summary(timings=timings))
    if not quiet:
        from .display import print_result

        print_result(result, out_dir)
    sys.exit(EXIT_OK if result.ok else EXIT_FAILED)


@cli.command("compare")
@click.argument("source", metavar="SCENARIO_OR_DIR", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Folder for compare.csv and compare.png.")
@click.option("--method", "methods", multiple=True, metavar="NAME",
              help="Run only this method (repeatable): taxopt or a heuristic's name.")
def compare_cmd(source: Path, out_dir: Path | None, methods: tuple[str, ...]) -> None:
    """Compare the optimizer with the baseline heuristics on one scenario or a folder."""
    from rich.console import Console
    from rich.table import Table

    from .compare import check_methods, compare, load_households, summarize, write_outputs

    chosen = check_methods(methods)
    households = load_households(source)
    rows = compare(households, chosen)
    table = Table(title=f"{len(households)} household(s): totals and medians per method",
                  title_justify="left")
    for name in ("method", "households", "tax total", "tax median", "drift median",
                 "drift max", "turnover", "violations", "seconds"):
        table.add_column(name, justify="left" if name == "method" else "right", no_wrap=True)
    for s in summarize(rows):
        table.add_row(s["method"], str(s["households"]), f"{s['tax_total']:,.2f}",
                      f"{s['tax_median']:,.2f}", f"{s['drift_median']:.4%}",
                      f"{s['drift_max']:.4%}", f"{s['turnover_total']:,.0f}",
                      f"{s['violations']} in {s['plans_with_violations']}",
                      f"{s['seconds_total']:.2f}")
    # a pipe or a file gets the whole table, not one folded to 80 columns
    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(table)
    if out_dir is not None:
        written, warnings = write_outputs(rows, out_dir)
        for w in warnings:
            click.echo(f"warning: {w}", err=True)
        console.print("wrote " + " and ".join(str(p) for p in written))
    sys.exit(EXIT_OK)


@cli.command("batch")
@click.argument("input_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Folder for trades.parquet, results.parquet, manifest.json "
              "and report.html.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: the cores).")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local",
              show_default=True, help="A local process pool or a Dask cluster.")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="Dask scheduler address (--engine dask; default: a local cluster).")
@click.option("--time-limit", type=float, default=None, metavar="SECONDS",
              help="Solver time limit per household.")
@click.option("--resume", is_flag=True,
              help="Keep the households an interrupted run into --out already finished.")
@click.option("--csv", "csv_out", is_flag=True, help="Also write trades.csv and results.csv.")
@click.option("--chunk-size", type=click.IntRange(min=1), default=None,
              help="Households per unit of work (default: 50 to 500).")
@click.option("--no-timings", is_flag=True,
              help="Leave results.seconds empty, for byte-identical reruns.")
@click.option("--quiet", is_flag=True, help="No progress, no summary; errors only.")
def batch_cmd(input_dir: Path, out_dir: Path, workers: int | None, engine: str,
              scheduler: str | None, time_limit: float | None, resume: bool, csv_out: bool,
              chunk_size: int | None, no_timings: bool, quiet: bool) -> None:
    """Rebalance every household of a folder of tables (CSV or Parquet).

    Exit code 0 when every household is solved, 1 when some failed or are
    infeasible (see results.parquet), 2 for bad arguments or malformed tables,
    130 when interrupted (Ctrl-C or SIGTERM; --resume finishes the run).
    """
    from .batch.run import BatchAborted, run_batch, sigterm_as_interrupt

    try:
        with sigterm_as_interrupt():
            outcome = run_batch(input_dir, out_dir, workers=workers, engine=engine,
                                scheduler=scheduler, time_limit=time_limit, resume=resume,
                                csv=csv_out, progress=None if quiet else "auto",
                                chunk_size=chunk_size, timings=not no_timings)
    except BatchAborted as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(EXIT_FAILED)
    except KeyboardInterrupt:
        click.echo(f"interrupted: finished chunks are kept in {out_dir / '.parts'}; run the "
                   "same command with --resume to finish", err=True)
        sys.exit(130)
    if not quiet:
        counts = ", ".join(f"{n} {s}" for s, n in outcome.counts.items() if n)
        click.echo(f"{outcome.total} households: {counts or 'none'} "
                   f"({outcome.seconds:.1f} s)")
        if outcome.reused:
            click.echo(f"{outcome.reused} of them finished by the interrupted run")
        click.echo(f"wrote {', '.join(p.name for p in outcome.files)} in {outcome.out_dir}")
    sys.exit(outcome.exit_code)


@cli.command("report")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the page (default: OUT_DIR/report.html).")
def report_cmd(out_dir: Path, output: Path | None) -> None:
    """Write the HTML report of a finished batch (OUT_DIR/report.html)."""
    from .batch.report import write_report

    click.echo(str(write_report(out_dir, output)))


@cli.command("backtest")
@click.option("--households", type=click.IntRange(min=1), default=50, show_default=True,
              help="Synthetic households to simulate.")
@click.option("--years", type=click.IntRange(min=1), default=10, show_default=True,
              help="Years to simulate.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the households and of their market paths.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Folder for backtest_summary.csv, figures and backtest.html.")
@click.option("--methods", multiple=True, metavar="NAMES",
              help="Methods to run (repeatable or comma-separated; default: all).")
@click.option("--step-months", type=click.Choice(["1", "2", "3", "4", "6", "12"]), default="1",
              show_default=True, help="Months between rebalances.")
@click.option("--n-lots", type=click.IntRange(min=3), default=40, show_default=True,
              help="Tax lots per synthetic household at the start.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes (households run in parallel).")
@click.option("--ci", type=click.Choice(["t", "bootstrap"]), default="t", show_default=True,
              help="Confidence interval over households.")
@click.option("--keep-hard-rules", is_flag=True,
              help="Keep the households' drift tolerances and bands (a plan that breaks one "
              "is a failed step).")
@click.option("--no-plots", is_flag=True, help="With --out: tables and page, no figures.")
def backtest_cmd(households: int, years: int, seed: int, out_dir: Path | None,
                 methods: tuple[str, ...], step_months: str, n_lots: int, workers: int, ci: str,
                 keep_hard_rules: bool, no_plots: bool) -> None:
    """Simulate households over years of markets under every method; compare after-tax wealth.

    Exit code 0 when the run completes (failed rebalances are counted in the
    table, not errors), 2 for bad arguments.
    """
    from .backtest import BacktestConfig, check_methods, run_backtest, write_outputs
    from .backtest.report import text_report

    config = BacktestConfig(households=households, years=years, seed=seed,
                            methods=check_methods(methods), step_months=int(step_months),
                            n_lots=n_lots, workers=workers, ci=ci,
                            keep_tolerance=keep_hard_rules, keep_bands=keep_hard_rules)
    result = run_backtest(config)
    click.echo(text_report(result))
    if out_dir is not None:
        written = write_outputs(result, out_dir, plots=not no_plots)
        click.echo(f"wrote {', '.join(p.name for p in written)} in {out_dir}")
    sys.exit(EXIT_OK)


def main() -> None:
    """Console entry point."""
    cli(prog_name="taxopt")


if __name__ == "__main__":
    main()
