"""Human-readable terminal output (rich tables); used by the CLI only."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .engine import Result


def print_result(result: Result, out_dir: Path | None = None) -> None:
    """Print the trade list and the summary as tables."""
    import sys

    from rich.console import Console
    from rich.table import Table

    from .output import printable

    # ids and messages come from the input: never markup, never a raw control character
    console = Console(width=None if sys.stdout.isatty() else 132, markup=False,
                      highlight=False, emoji=False)
    cols = result.trade_columns()
    hh = result.household
    table = Table(title=f"{printable(hh.household_id)}: {len(result.orders)} orders",
                  title_justify="left")
    headers = {"account_id": "account", "symbol": "symbol", "side": "side", "shares": "shares",
               "price": "price", "value": "value", "lot_id": "lot", "term": "term",
               "realized_gain": "gain", "est_tax": "est. tax"}
    for name, header in headers.items():
        table.add_column(header, no_wrap=True, justify="right" if name in (
            "shares", "price", "value", "realized_gain", "est_tax") else "left")
    n_rows = len(cols["side"])      # the orders, then goal-level withdraw / deposit rows
    for i in range(n_rows):
        table.add_row(*["" if cols[n][i] != cols[n][i] else
                        _shares(cols[n][i]) if n == "shares" else _fmt(cols[n][i])
                        for n in headers])
    if n_rows:
        console.print(table)
    s = result.summary()
    console.print(f"status {s['status']}" + (f": {printable(s['message'])}" if s["message"]
                                              else ""))
    console.print(f"est. tax added this year {_usd(s['est_tax'])}  (realized short-term "
                  f"{_usd(s['realized_short_term'])}, long-term "
                  f"{_usd(s['realized_long_term'])}; turnover {_usd(s['turnover'])})")
    if s.get("funding"):
        console.print(f"tax on retirement-account payouts {_usd(s['est_tax_distributions'])}; "
                      f"total {_usd(s['est_tax_total'])}")
        for f in s["funding"]:
            moved = (f"paid out {_usd(f['withdraw'])}" if f["withdraw"] else
                     f"took in {_usd(f['deposit'])}")
            console.print(f"  {f['account_id']} ({f['tax_type']}): {moved}; tax of its sales "
                          f"{_usd(f['sale_tax'])}, on its payout {_usd(f['distribution_tax'])}")
    # a result without a plan (infeasible, failed) has no "after": the weights it would
    # show are today's holdings less the cash flows, which no plan produces
    planned = result.ok
    for gid, g in s["goals"].items():
        after = f" -> {g['drift_after']:.2%}" if planned else " now (no plan)"
        console.print(f"goal {printable(gid)}: drift {g['drift_before']:.2%}{after}"
                      + (f" (tolerance {g['drift_tolerance']:.2%})" if g["drift_tolerance"]
                         else ""))
        drift = Table()
        for name in ("class", "target", "before", "after")[:4 if planned else 3]:
            drift.add_column(name, justify="left" if name == "class" else "right")
        for cls, t in g["targets"].items():
            cells = [printable(cls), f"{t:.2%}", f"{g['weights_before'][cls]:.2%}"]
            drift.add_row(*cells, *([f"{g['weights_after'][cls]:.2%}"] if planned else []))
        console.print(drift)
    if "location" in s and planned:
        loc = s["location"]
        console.print(f"asset location: after-tax value of the household "
                      f"{loc['after_tax_value_before']:,.0f} -> {loc['after_tax_value_after']:,.0f}"
                      f" ({loc['added']:+,.0f}, present value over {loc['horizon_years']:g} "
                      "years)")
    for w in s["wash_sale_restrictions"]:
        console.print(f"wash sale: do not buy {printable(', '.join(w['symbols']))} before "
                      f"{w['do_not_buy_before']}")
    for reason in result.reasons:
        console.print(f"infeasible: {printable(reason)}")
    if out_dir is not None:
        console.print(f"wrote {out_dir / 'trades.csv'} and {out_dir / 'summary.json'}")


def _fmt(v: object) -> str:
    """Money with cents; text as it is, control characters escaped."""
    from .output import printable

    return (f"{v:,.2f}" if isinstance(v, float | int) and not isinstance(v, bool)
            else printable(str(v)))


def _usd(v: float) -> str:
    return f"-${-v:,.2f}" if v < 0 else f"${v:,.2f}"


def _shares(v: float) -> str:
    """Whole shares without decimals, fractional ones with up to six."""
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.6f}".rstrip("0")
