"""Writers: trades.csv and summary.json, atomically (temporary name, then rename).

A write that fails half-way leaves the previous files or none, never a half file,
and never a new trades.csv beside an old summary.json; the solve command then
removes the previous ones too (`remove_solve_outputs`), as after any failed run. Text cells that a
spreadsheet would run as a formula get a leading single quote (`csv_text`).
Output is byte-identical for the same input: fixed column order, fixed float
formatting, sorted keys where order is not meaningful.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path
from typing import Any

from .files import write_temp
from .plan.report import TRADE_COLUMNS

# control characters, line and paragraph separators, and bidirectional overrides
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` for a terminal: each control character written as its escape (``\\x1b``).

    Ids and messages come from input files; raw, a newline could forge an
    ``error:`` line and an escape sequence could rewrite the screen.
    """
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


#: First characters that make a spreadsheet read a cell as a formula (or split it).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_text(text: str) -> str:
    """A text cell safe to open in a spreadsheet: ``'`` before a formula-like start.

    Only text cells pass here; numbers are written as numbers (``-12.5`` stays
    a number), so escaping never changes a numeric column.
    """
    return "'" + text if text.startswith(FORMULA_START) else text


def format_number(x: float) -> str:
    """A float without noise: integers as integers, others with up to 10 decimals
    (enough for any lot's shares: a lot of 0.1234567 shares must read back as held)."""
    if x != x:
        return ""
    text = f"{x:.10f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def trades_csv(columns: dict[str, list[Any]]) -> bytes:
    """The contract's trade table as CSV text (columns in contract order)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    names = [c for c in TRADE_COLUMNS if c in columns]
    writer.writerow(names)
    n = len(columns[names[0]]) if names else 0
    for i in range(n):
        writer.writerow([format_number(v) if isinstance(v, float)
                         else csv_text(v) if isinstance(v, str) else v
                         for v in (columns[c][i] for c in names)])
    return buf.getvalue().encode()


def summary_json(summary: dict[str, Any]) -> bytes:
    """The summary as stable, indented JSON."""
    return (json.dumps(summary, indent=2, allow_nan=False) + "\n").encode()


#: The files `taxopt solve` writes into its --out folder (nothing else there is taxopt's).
SOLVE_OUTPUTS = ("trades.csv", "summary.json")


def write_solve_output(out_dir: Path, columns: dict[str, list[Any]],
                       summary: dict[str, Any]) -> list[Path]:
    """Write trades.csv and summary.json for one household; both or neither are new.

    Both files are written in full under temporary names first; then trades.csv
    is renamed in (its old version kept as a hard link) and summary.json after
    it. If anything fails before the second rename, the old trades.csv is put
    back (or the new one removed when there was none).
    """
    out_dir = Path(out_dir)
    data = [trades_csv(columns), summary_json(summary)]
    paths = [out_dir / name for name in SOLVE_OUTPUTS]
    out_dir.mkdir(parents=True, exist_ok=True)
    temps: list[Path] = []
    backup: Path | None = None
    try:
        for path, blob in zip(paths, data, strict=True):
            temps.append(write_temp(path, blob))
        if paths[0].is_file() and not paths[0].is_symlink():
            backup = paths[0].with_name(f".{paths[0].name}.{os.getpid()}.old")
            backup.unlink(missing_ok=True)
            os.link(paths[0], backup)
        os.replace(temps[0], paths[0])
        try:
            os.replace(temps[1], paths[1])
        except BaseException:
            if backup is not None:
                os.replace(backup, paths[0])
                backup = None
            else:
                paths[0].unlink(missing_ok=True)
            raise
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        if backup is not None:
            backup.unlink(missing_ok=True)
    return paths


def remove_solve_outputs(out_dir: Path) -> None:
    """Remove a folder's trades.csv and summary.json: what a failed ``taxopt solve`` does,
    so that no earlier run's trades stay where a script could act on them as this run's.

    Only the names taxopt writes are touched. trades.csv goes first: a removal cut short
    may leave an old summary without its trades, never old trades without the removal
    having been tried. A file that cannot be removed is left (the caller reports the
    run's failure either way).
    """
    for name in SOLVE_OUTPUTS:
        try:
            (Path(out_dir) / name).unlink(missing_ok=True)
        except OSError:
            pass     # the exit code and message already say the run failed
