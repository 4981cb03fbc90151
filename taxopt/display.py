"""Human-readable terminal output (rich tables); used by the CLI only."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .engine import Result


def print_result(result: Result, out_dir: Path | None = None) -> None:
    """Print the trade list and the summary as tables."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    cols = result.trade_columns()
    hh = result.household
    table = Table(title=f"{hh.household_id}: {len(result.orders)} orders", title_justify="left")
    for name in ("account_id", "symbol", "side", "shares", "price", "value", "lot_id", "term",
                 "realized_gain", "est_tax"):
        table.add_column(name, justify="right" if name in (
            "shares", "price", "value", "realized_gain", "est_tax") else "left")
    for i in range(len(result.orders)):
        table.add_row(*[_fmt(cols[n][i]) for n in (
            "account_id", "symbol", "side", "shares", "price", "value", "lot_id", "term",
            "realized_gain", "est_tax")])
    if len(result.orders):
        console.print(table)
    s = result.summary()
    console.print(f"[bold]status[/bold] {s['status']}" + (f": {s['message']}" if s["message"]
                                                          else ""))
    console.print(f"est. tax added this year ${s['est_tax']:,.2f}  (realized short-term "
                  f"${s['realized_short_term']:,.2f}, long-term ${s['realized_long_term']:,.2f}"
                  f"; turnover ${s['turnover']:,.2f})")
    for gid, g in s["goals"].items():
        drift = Table(title=f"goal {gid}: drift {g['drift_before']:.2%} -> {g['drift_after']:.2%}"
                      + (f" (tolerance {g['drift_tolerance']:.2%})" if g["drift_tolerance"]
                         else ""), title_justify="left")
        for name in ("class", "target", "before", "after"):
            drift.add_column(name, justify="left" if name == "class" else "right")
        for cls, t in g["targets"].items():
            drift.add_row(cls, f"{t:.2%}", f"{g['weights_before'][cls]:.2%}",
                          f"{g['weights_after'][cls]:.2%}")
        console.print(drift)
    for w in s["wash_sale_restrictions"]:
        console.print(f"wash sale: do not buy {', '.join(w['symbols'])} before "
                      f"{w['do_not_buy_before']}")
    for reason in result.reasons:
        console.print(f"[red]infeasible[/red]: {reason}")
    if out_dir is not None:
        console.print(f"wrote {out_dir / 'trades.csv'} and {out_dir / 'summary.json'}")


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v - round(v)) > 1e-9 or abs(v) >= 1000 else f"{v:g}"
    return str(v)
