"""The typical household, this checkout against another, in alternating processes.

    .venv/bin/python benchmarks/typical_ab.py --other /path/to/other/checkout [--rounds 8]

This VM's speed swings by 15-50 % from one minute to the next (another tenant on the
host), so two `run.py` runs minutes apart cannot say whether a change made the typical
household faster. Here each round starts one process per checkout, A then B, pinned to
the same CPU; each process validates and rebalances the same seeded households (150 lots,
3 accounts) ``--repeats`` times after a warm-up and reports its median per stage. The
ratio A/B is taken round by round, so a drift of the machine's speed moves both sides of
a ratio alike. Prints each round, then the medians over rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# One process's measurement: validate (from_dict) and the rest (rebalance), milliseconds.
_CHILD = r"""
import json, statistics, sys, time
from taxopt.domain import from_dict
from taxopt.engine import rebalance
from taxopt.synth import household
n, seeds, repeats = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
raws = [household(s, n_lots=n, n_accounts=3) for s in range(1, 1 + seeds)]
for raw in raws:
    rebalance(from_dict(raw))
validate, total = [], []
for _ in range(repeats):
    for raw in raws:
        t0 = time.perf_counter()
        hh = from_dict(raw)
        t1 = time.perf_counter()
        rebalance(hh)
        t2 = time.perf_counter()
        validate.append(t1 - t0)
        total.append(t2 - t0)
print(json.dumps({"validate": statistics.median(validate) * 1e3,
                  "total": statistics.median(total) * 1e3}))
"""


def measure(root: Path, args: argparse.Namespace) -> dict[str, float]:
    """One child process on ``root``'s code: its medians in milliseconds."""
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-c", _CHILD, str(args.lots), str(args.households), str(args.repeats)]
    if args.cpu >= 0 and hasattr(os, "sched_setaffinity"):
        cmd = ["taskset", "-c", str(args.cpu), *cmd]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True, cwd=root)
    return json.loads(out.stdout.strip().splitlines()[-1])


def commit(root: Path) -> str:
    """The checkout's commit, for the table."""
    out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True)
    return out.stdout.strip() or "?"


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--other", type=Path, required=True, help="the checkout to compare with (B)")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--lots", type=int, default=150)
    ap.add_argument("--households", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=11)
    ap.add_argument("--cpu", type=int, default=1, help="CPU to pin both sides to (-1: none)")
    args = ap.parse_args()
    a_root, b_root = ROOT, args.other.resolve()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.2f}; {args.lots} lots, 3 accounts, "
          f"{args.households} households x {args.repeats} runs per process, pinned to CPU "
          f"{args.cpu}")
    print(f"A = {a_root} ({commit(a_root)}), B = {b_root} ({commit(b_root)})")
    print(f"{'round':>5}  {'A total':>8}  {'B total':>8}  {'A/B':>6}  "
          f"{'A validate':>10}  {'B validate':>10}")
    rows = []
    for i in range(args.rounds):
        a, b = measure(a_root, args), measure(b_root, args)
        rows.append((a, b, a["total"] / b["total"]))
        print(f"{i + 1:>5}  {a['total']:>8.2f}  {b['total']:>8.2f}  {rows[-1][2]:>6.3f}  "
              f"{a['validate']:>10.2f}  {b['validate']:>10.2f}")
    med = statistics.median
    print(f"median  {med(r[0]['total'] for r in rows):>7.2f}  "
          f"{med(r[1]['total'] for r in rows):>8.2f}  {med(r[2] for r in rows):>6.3f}  "
          f"{med(r[0]['validate'] for r in rows):>10.2f}  "
          f"{med(r[1]['validate'] for r in rows):>10.2f}   (ms; load now "
          f"{os.getloadavg()[0]:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
