"""Writers: trades.csv and summary.json, atomically (temporary name, then rename).

A run that fails half-way leaves the previous files or none, never a half file.
Output is byte-identical for the same input: fixed column order, fixed float
formatting, sorted keys where order is not meaningful.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .plan.report import TRADE_COLUMNS


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file so that readers see the old content or the new, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_umask())   # mkstemp makes 0600; output is for the team
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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
        writer.writerow([format_number(v) if isinstance(v, float) else v
                         for v in (columns[c][i] for c in names)])
    return buf.getvalue().encode()


def summary_json(summary: dict[str, Any]) -> bytes:
    """The summary as stable, indented JSON."""
    return (json.dumps(summary, indent=2, allow_nan=False) + "\n").encode()


def write_solve_output(out_dir: Path, columns: dict[str, list[Any]],
                       summary: dict[str, Any]) -> list[Path]:
    """Write trades.csv and summary.json for one household; both or neither are new."""
    out_dir = Path(out_dir)
    trades, summ = trades_csv(columns), summary_json(summary)
    paths = [out_dir / "trades.csv", out_dir / "summary.json"]
    atomic_write_bytes(paths[0], trades)
    atomic_write_bytes(paths[1], summ)
    return paths
