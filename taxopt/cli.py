"""The command line: argument parsing, exit codes and printing only; no math here.

Exit codes (contract sections 4 and 5): 0 solved; 1 infeasible or failed;
2 bad arguments or invalid input (for ``batch``: nothing valid to solve);
3 an output or infrastructure failure (unwritable output, another batch
holding ``--out``, an unreachable cluster), worth retrying; 130 interrupted.
Every failure is one line on stderr; no traceback unless ``--debug``.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import Any

import click

from .errors import InvalidInput, TaxoptError
from .interrupts import ignore_interrupts, interrupts_once, raise_interrupt

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_INFRASTRUCTURE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def failure(err: BaseException) -> tuple[str, int]:
    """The one-line message and the exit code of an error that ends a command."""
    from .batch.failures import InfrastructureFailure

    if isinstance(err, InvalidInput):
        return err.line(), EXIT_INVALID
    if isinstance(err, KeyboardInterrupt):
        return "interrupted", EXIT_INTERRUPTED
    if isinstance(err, InfrastructureFailure):
        return str(err), EXIT_INFRASTRUCTURE
    if isinstance(err, OSError):
        where = f"{err.filename}: " if err.filename else ""
        return f"{where}{err.strerror or err}", EXIT_INFRASTRUCTURE
    if isinstance(err, TaxoptError):
        return str(err), EXIT_FAILED
    return (f"internal error: {type(err).__name__}: {err} (run with --debug for the "
            "traceback)", EXIT_FAILED)


class _Cli(click.Group):
    """Turns every error into one line and its exit code, unless --debug."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except (Exception, KeyboardInterrupt) as err:
            if ctx.meta.get("taxopt.debug"):
                raise
            from .output import printable

            message, code = failure(err)
            if ctx.invoked_subcommand == "batch":
                # the batch's messages are log records (JSON lines off a terminal),
                # even one from before its logging was set up
                import logging

                from .batch.logs import emit

                emit(logging.WARNING if code == EXIT_INTERRUPTED else logging.ERROR,
                     message, exit_code=code)
            else:
                click.echo(f"error: {printable(message)}" if code != EXIT_INTERRUPTED
                           else "interrupted", err=True)
            ctx.exit(code)


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
    try:
        _solve(scenario, out_dir, adapter, settings, timings, quiet)
    except SystemExit:
        raise          # the run's own outputs are written: solved, infeasible or failed
    except (Exception, KeyboardInterrupt):
        # a failed run has no outputs of its own: leave none of an earlier run's to be
        # taken for them (only the names taxopt writes; nothing else in the folder)
        from .output import remove_solve_outputs

        remove_solve_outputs(out_dir)
        raise


def _solve(scenario: Path, out_dir: Path, adapter: str | None, settings: tuple[str, ...],
           timings: bool, quiet: bool) -> None:
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
              help="Run only this method (repeatable): taxopt, taxopt_tax_only or a heuristic.")
def compare_cmd(source: Path, out_dir: Path | None, methods: tuple[str, ...]) -> None:
    """Compare the optimizer with the baseline heuristics on one scenario or a folder."""
    from rich.console import Console
    from rich.table import Table

    from .compare import (
        UNITS,
        check_methods,
        compare,
        load_households,
        summarize,
        write_outputs,
    )

    chosen = check_methods(methods)
    households = load_households(source)
    rows = compare(households, chosen)
    table = Table(title=f"{len(households)} household(s): totals and medians per method",
                  title_justify="left")
    for name in ("method", "households", "tax total $", "tax median $", "drift median",
                 "drift max", "turnover $", "violations", "seconds", "payout tax $"):
        table.add_column(name, justify="left" if name == "method" else "right", no_wrap=True)
    for s in summarize(rows):
        table.add_row(s["method"], str(s["households"]), f"{s['tax_total']:,.2f}",
                      f"{s['tax_median']:,.2f}", f"{s['drift_median']:.4%}",
                      f"{s['drift_max']:.4%}", f"{s['turnover_total']:,.0f}",
                      f"{s['violations']} in {s['plans_with_violations']}",
                      f"{s['seconds_total']:.2f}", f"{s['tax_distributions_total']:,.2f}")
    # a pipe or a file gets the whole table, not one folded to 80 columns
    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(table)
    console.print(f"units: {UNITS}", style="dim")
    if out_dir is not None:
        written, warnings = write_outputs(rows, out_dir)
        for w in warnings:
            click.echo(f"warning: {w}", err=True)
        console.print("wrote " + " and ".join(str(p) for p in written))
    sys.exit(EXIT_OK)


@cli.command("batch")
@click.argument("input_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path),
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
              help="Keep the households an interrupted run into --out already finished "
              "(discarded, with a warning, if the inputs or options changed since).")
@click.option("--csv", "csv_out", is_flag=True, help="Also write trades.csv and results.csv.")
@click.option("--chunk-size", type=click.IntRange(min=1), default=None,
              help="Households per unit of work (default: 50 to 500).")
@click.option("--no-timings", is_flag=True,
              help="Leave results.seconds empty, for byte-identical reruns.")
@click.option("--quiet", is_flag=True, help="No progress, no summary; errors only.")
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="TOML file whose [options] table sets every household's "
              "option defaults.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="An option default for every household (repeatable; over --config, under "
              "a household's rows in table options).")
@click.option("--compare-lockstep", is_flag=True,
              help="Also score the lockstep FIFO heuristic on each household: fills "
              "tax_saved_vs_lockstep (about 2 ms more a household).")
def batch_cmd(input_dir: Path, out_dir: Path, workers: int | None, engine: str,
              scheduler: str | None, time_limit: float | None, resume: bool, csv_out: bool,
              chunk_size: int | None, no_timings: bool, quiet: bool, config: Path | None,
              settings: tuple[str, ...], compare_lockstep: bool) -> None:
    """Rebalance every household of a folder of tables (CSV or Parquet).

    Exit code 0 when every household is solved, 1 when some failed, are
    infeasible or a row was rejected (see results.parquet and rejects.parquet),
    2 for bad arguments, malformed tables or when every household is rejected,
    3 when the output folder, the disk or the cluster fails (another batch
    writing into --out, an unreachable scheduler, workers lost beyond retries;
    worth retrying), 130 when interrupted (Ctrl-C or SIGTERM; --resume
    finishes the run). Messages go to stderr through logging: JSON lines when
    stderr is not a terminal, one line each on a terminal.
    """
    import datetime as dt
    import logging

    from .batch.logs import attach, detach, new_run_id, run_context

    ctx = click.get_current_context()
    # logging first: a bad --config or --set, or an early Ctrl-C, is a log record too
    handler = attach(level=logging.WARNING if quiet else logging.INFO)
    log = logging.getLogger("taxopt.batch")
    run_id = new_run_id(dt.datetime.now(dt.UTC))
    try:
        # Ctrl-C and SIGTERM: the first interrupts, later ones are ignored to the exit
        with run_context(run_id), interrupts_once():
            try:
                from .batch.run import run_batch
                from .batch.settings import batch_defaults

                defaults = batch_defaults(config, settings)
                outcome = run_batch(input_dir, out_dir, workers=workers, engine=engine,
                                    scheduler=scheduler, time_limit=time_limit,
                                    resume=resume, csv=csv_out,
                                    progress=None if quiet else "auto",
                                    chunk_size=chunk_size, timings=not no_timings,
                                    run_id=run_id, options=defaults,
                                    compare_lockstep=compare_lockstep)
            except KeyboardInterrupt:
                if ctx.meta.get("taxopt.debug"):
                    raise
                log.warning(_interrupted_message(out_dir),
                            extra={"exit_code": EXIT_INTERRUPTED})
                sys.exit(EXIT_INTERRUPTED)
            except Exception as err:
                if ctx.meta.get("taxopt.debug"):
                    raise
                message, code = failure(err)
                log.error(message, extra={"exit_code": code})
                sys.exit(code)
    finally:
        detach(handler)
    # the outputs are published and the exit code decided: an interrupt from here to the
    # interpreter's exit must not turn it into click's "Aborted!" (1) or a death by signal
    ignore_interrupts()
    if not quiet:
        if outcome.finished_before:
            click.echo(f"{outcome.out_dir}: the batch already finished (run "
                       f"{outcome.run_id}); nothing to resume")
            sys.exit(outcome.exit_code)
        counts = ", ".join(f"{n} {s}" for s, n in outcome.counts.items() if n)
        click.echo(f"{outcome.total} households: {counts or 'none'} "
                   f"({outcome.seconds:.1f} s)")
        if outcome.rejected_rows:
            click.echo(f"{outcome.rejected_rows} rows rejected without a household "
                       "(see rejects.parquet)")
        if outcome.reused:
            click.echo(f"{outcome.reused} of them finished by the interrupted run")
        click.echo(f"wrote {', '.join(p.name for p in outcome.files)} in {outcome.out_dir}")
    sys.exit(outcome.exit_code)


def _interrupted_message(out_dir: Path) -> str:
    """What an interrupted batch leaves: finished chunks to resume from, or nothing yet."""
    parts = out_dir / ".parts"
    try:
        kept = any(parts.glob("*.results.parquet"))
    except OSError:
        kept = False
    if not kept:
        return "interrupted before any chunk finished; run the same command again"
    return (f"interrupted: finished chunks are kept in {parts}; run the same command with "
            "--resume to finish")


@cli.command("convert")
@click.argument("scenarios", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Folder for the batch tables.")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv",
              show_default=True, help="Table file format.")
def convert_cmd(scenarios: tuple[Path, ...], out_dir: Path, fmt: str) -> None:
    """Turn scenario files (JSON or YAML) into a batch folder of tables, options included.

    Each scenario is validated first (exit code 2 naming the file, record and
    field); household ids must be unique.
    """
    from .batch.convert import convert

    written = convert(list(scenarios), out_dir, fmt)
    click.echo(f"{len(scenarios)} households: wrote {', '.join(p.name for p in written)} "
               f"in {out_dir}")


@cli.command("extract")
@click.argument("tables_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--household", "household_id", required=True, metavar="ID",
              help="The household to write out.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Scenario file to write (default: standard output).")
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="The batch's TOML config file, to fold its options in.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="The batch's --set options, to fold them in (repeatable).")
def extract_cmd(tables_dir: Path, household_id: str, out_file: Path | None,
                config: Path | None, settings: tuple[str, ...]) -> None:
    """Write one household of a batch folder as a scenario, to replay with `taxopt solve`.

    Give the night's --config and --set to get the options the batch used.
    """
    from .batch.convert import extract, scenario_text
    from .batch.settings import batch_defaults

    text = scenario_text(extract(tables_dir, household_id, batch_defaults(config, settings)))
    if out_file is None:
        click.echo(text, nl=False)
        return
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(text, encoding="utf-8")
    click.echo(f"wrote {out_file}", err=True)


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
@click.option("--population", type=click.Choice(["classic", "rich"]), default="classic",
              show_default=True, help="rich: savers and retirees with monthly flows, "
              "direct-indexing sleeves, drawdown regimes, reinvested distributions.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Override an optimizer option for the optimizer methods (repeatable).")
@click.option("--trading-cost-bps", type=click.FloatRange(min=0.0, max=10_000.0,
                                                          max_open=True),
              default=None, help="Trading cost of every method's trades, one way, in bps of "
              "their value (default: the market's, 5; 0: none).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def backtest_cmd(households: int, years: int, seed: int, out_dir: Path | None,
                 methods: tuple[str, ...], step_months: str, n_lots: int, workers: int, ci: str,
                 keep_hard_rules: bool, no_plots: bool, population: str,
                 settings: tuple[str, ...], trading_cost_bps: float | None, quiet: bool) -> None:
    """Simulate households over years of markets under every method; compare after-tax wealth.

    Exit code 0 when the run completes (failed rebalances are counted in the
    table, not errors), 2 for bad arguments.
    """
    from .backtest import BacktestConfig, MarketParams, check_methods, run_backtest, write_outputs
    from .backtest.report import text_report

    config = BacktestConfig(households=households, years=years, seed=seed,
                            methods=check_methods(methods), step_months=int(step_months),
                            n_lots=n_lots, workers=workers, ci=ci,
                            keep_tolerance=keep_hard_rules, keep_bands=keep_hard_rules,
                            population=population, reinvest=population == "rich",
                            options=tuple(_parse_options(settings).items()),
                            market=MarketParams() if trading_cost_bps is None else
                            MarketParams(trading_cost_bps=trading_cost_bps))
    config.check()
    if quiet or not sys.stderr.isatty():
        result = run_backtest(config)
    else:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        with Progress("[progress.description]{task.description}", BarColumn(),
                      MofNCompleteColumn(), TimeRemainingColumn(), transient=True,
                      console=Console(stderr=True)) as bar:
            task = bar.add_task(f"{households} households x {years} years", total=households)
            result = run_backtest(config, progress=lambda done, n: bar.update(task,
                                                                               completed=done))
    click.echo(text_report(result))
    if out_dir is not None:
        written = write_outputs(result, out_dir, plots=not no_plots)
        click.echo(f"wrote {', '.join(p.name for p in written)} in {out_dir}")
    sys.exit(EXIT_OK)


@cli.command("frontier")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Folder for frontier.csv and frontier.png.")
@click.option("--points", type=click.IntRange(min=2, max=200), default=20, show_default=True,
              help="Plans along tracking_weight, from 0 (tax only) to 5 (back to target).")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Override an option, e.g. --set location_weight=0.3 (repeatable).")
@click.option("--no-plot", is_flag=True, help="Write the table only.")
def frontier_cmd(scenario: Path, out_dir: Path, points: int, settings: tuple[str, ...],
                 no_plot: bool) -> None:
    """Tax against drift for one household: audited plans along tracking_weight.

    Writes OUT/frontier.csv (one row per plan) and OUT/frontier.png (the default
    weight marked). Exit code 0 when every plan solved, 1 otherwise, 2 for bad input.
    """
    from .domain import from_file
    from .frontier import frontier, write_outputs
    from .options import Options

    hh = from_file(scenario)
    changes = _parse_options(settings)
    opts = (Options.from_dict({**hh.options.as_dict(), **changes}, hh.household_id)
            if changes else hh.options)
    f = frontier(hh, opts, points=points)
    written = write_outputs(f, out_dir, plot=not no_plot)
    click.echo(f"{hh.household_id}: {len(f.points)} plans in {f.seconds:.2f} s "
               f"({f.warm_solves} warm re-solves)")
    click.echo(f"{'weight':>8}  {'tax $':>12}  {'drift %':>8}  {'off target %':>12}  "
               f"{'traded $':>12}  audit")
    for p in f.points:
        mark = "  <- default" if p.is_default else ""
        audit = "ok" if p.audit_ok else p.status
        click.echo(f"{p.weight:8.4g}  {p.tax:12,.2f}  {p.drift_pct:8.3f}  "
                   f"{p.off_target_pct:12.3f}  {p.turnover:12,.0f}  {audit}{mark}")
    click.echo(f"wrote {', '.join(p.name for p in written)} in {out_dir}")
    sys.exit(EXIT_OK if all(p.audit_ok for p in f.points) else EXIT_FAILED)


def main() -> None:
    """Console entry point."""
    # SIGTERM is an interrupt (exit 130, one line) from the start, not only once a
    # command has imported its libraries (a second or so for the batch)
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, raise_interrupt)
    cli(prog_name="taxopt")


if __name__ == "__main__":
    main()
