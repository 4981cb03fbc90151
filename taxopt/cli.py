"""The command line: argument parsing, exit codes and printing only; no math here.

Exit codes (contract section 4): 0 solved; 1 infeasible or failed; 2 bad
arguments or invalid input. No traceback unless ``--debug``.
"""

from __future__ import annotations

import sys
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

    hh = from_file(scenario)
    click.echo(f"{hh.household_id}: valid ({len(hh.accounts)} accounts, {len(hh.lots)} lots, "
               f"{len(hh.securities)} securities)")


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
    from .errors import InvalidOptions
    from .output import write_solve_output

    hh = from_file(scenario)
    changes = _parse_options(settings)
    if adapter:
        changes["adapter"] = adapter
    try:
        opts = hh.options.replace(**changes) if changes else hh.options
    except TypeError as err:
        raise InvalidOptions(hh.household_id, "--set", None, str(err)) from None
    result = rebalance(hh, opts)
    write_solve_output(out_dir, result.trade_columns(), result.summary(timings=timings))
    if not quiet:
        from .display import print_result

        print_result(result, out_dir)
    sys.exit(EXIT_OK if result.ok else EXIT_FAILED)


def main() -> None:
    """Console entry point."""
    cli(prog_name="taxopt")


if __name__ == "__main__":
    main()
