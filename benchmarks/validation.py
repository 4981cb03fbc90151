"""Validation benchmark: lots checked as columns against one pydantic record per lot.

Both ways run in the same process on the same `taxopt.synth` books, interleaved, so
the ratio holds on a noisy machine. "records" is the household validated the way
taxopt did before the columns (the whole `HouseholdRecord`, lots included, through
pydantic; then the same cross-record checks); "columns" is `taxopt.from_dict` today.

    python benchmarks/validation.py                       # 150, 30,000 and 100,000 lots
    python benchmarks/validation.py --sizes 30000 --repeats 21
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import time
from typing import Any

from taxopt import synth
from taxopt.domain import from_dict
from taxopt.domain.household import build_household
from taxopt.domain.lots import _from_records
from taxopt.domain.schema import HouseholdRecord


def by_records(raw: dict[str, Any]) -> Any:
    """The household through one pydantic record per lot (the old way)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        rec = HouseholdRecord.model_validate(raw)
    finally:
        if paused:
            gc.enable()
    return build_household(rec, _from_records(rec.lots))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="150,30000,100000")
    ap.add_argument("--repeats", type=int, default=0, help="default: 101 / 15 / 7 by size")
    args = ap.parse_args()
    print(f"# validation: {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, Python "
          f"{platform.python_version()}")
    print("| lots | accounts | records (ms) | columns (ms) | speed-up |")
    print("|--:|--:|--:|--:|--:|")
    for n in (int(s) for s in args.sizes.split(",")):
        accounts = 6 if n >= 100_000 else 3
        raw = synth.household(1, n_lots=n, n_accounts=accounts)
        reps = args.repeats or (101 if n < 1000 else 15 if n < 100_000 else 7)
        times: dict[str, list[float]] = {"records": [], "columns": []}
        for _ in range(reps):
            for name, fn in (("records", by_records), ("columns", from_dict)):
                t0 = time.perf_counter()
                fn(raw)
                times[name].append(time.perf_counter() - t0)
        rec, col = (statistics.median(times[k]) * 1e3 for k in ("records", "columns"))
        print(f"| {n:,} | {accounts} | {rec:.2f} | {col:.2f} | {rec / col:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
