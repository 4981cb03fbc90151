"""The whole-share repair, this checkout against another: CPU time, objective, trades.

    .venv/bin/python benchmarks/repair.py [--before REF] [--seeds 3000] [--golden 300]

The repair (`taxopt.decode.rounding.round_trades`, a small MIP in shares) runs only for
the few households whose directly rounded plan fails the audit, so this first scans
synth households (150 lots, seeds 1..``--seeds``, each with two option mixes like the
property tests': defaults, and a seeded draw of tracking_weight, tax_model and a
min_trade_value of 10-1000) for the ones whose solve runs it. Each such household is
then solved by both checkouts (``--before``: a git ref, exported to a temporary folder,
or a checkout's path), each in its own process, ``--repeats`` times; the table gives the
repair's CPU time (median of the repeats: the machine is shared, wall clock is not a
measure), its MIP objective, the plan's audit and status, and the ratio after/before.
Households that do not run the repair must give byte-identical trades (the golden check
on seeds 1..``--golden``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOTS = 150
REPRO = (11363058, 5, {"tracking_weight": 3.53125, "tax_model": "exact",
                       "min_trade_value": 500.0})
"""The 5-lot household whose repair once hit the 5 s limit at load 6."""


def option_mixes(seed: int) -> list[dict]:
    """The option mixes a seed is solved with: defaults, and one seeded draw."""
    import random

    rng = random.Random(seed)
    weight = rng.choice([0.0, 0.01, 0.1, 1.0, 10.0, round(rng.uniform(0.0, 10.0), 5)])
    trade = rng.choice([10.0, 500.0, round(rng.uniform(10.0, 1000.0), 2)])
    return [{}, {"tracking_weight": weight, "tax_model": rng.choice(["exact", "lot"]),
                 "min_trade_value": trade}]


def cases(seeds: int) -> list[tuple[int, int, dict]]:
    """Every (seed, lots, options) the scan solves."""
    return [(s, LOTS, opts) for s in range(1, seeds + 1) for opts in option_mixes(s)]


# -- one checkout's process ---------------------------------------------------------------

def _child(argv: list[str]) -> None:
    """Solve the cases given on stdin (JSON) with the checkout on PYTHONPATH; one JSON
    line per case: repair CPU seconds (per repeat), repair MIP objective, status, audit,
    a digest of the trades."""
    import taxopt
    from taxopt import synth
    from taxopt.audit import violations
    from taxopt.decode import rounding
    from taxopt.output import trades_csv

    repeats = int(argv[0])
    spent: list[float] = []
    objective: list[float] = []
    solve_stage = rounding._solve_stage
    round_trades = rounding.round_trades

    def timed_round_trades(*a, **k):
        t0 = time.process_time()
        try:
            return round_trades(*a, **k)
        finally:
            spent.append(time.process_time() - t0)

    def stage(*a, **k):
        sol = solve_stage(*a, **k)
        if sol.status.has_solution:
            objective.append(float(sol.objective))
        return sol

    rounding.round_trades = timed_round_trades       # quick_round's call, by global name
    taxopt.decode.round_trades = timed_round_trades  # decode's own import of it
    rounding._solve_stage = stage
    for line in sys.stdin:
        seed, lots, opts = json.loads(line)
        hh = taxopt.from_dict(synth.household(seed, n_lots=lots))
        times: list[float] = []
        for _ in range(repeats):
            spent.clear()
            objective.clear()
            res = taxopt.rebalance(hh, **opts)
            if not spent:           # no repair: once is enough for the golden digest
                times = []
                break
            times.append(sum(spent))
        digest = hashlib.sha256(trades_csv(res.trade_columns())).hexdigest()[:16]
        row = {"case": [seed, lots, opts], "repair": times, "stages": len(spent),
               "objective": objective[-1] if objective else None,
               "status": str(res.status.value), "message": res.message,
               "audit": violations(hh, res.orders) if res.ok else None,
               "digest": digest, "repair_wall": res.timings.get("repair")}
        print(json.dumps(row), flush=True)


# -- the driver ---------------------------------------------------------------------------

def checkout(ref: str, into: Path) -> Path:
    """A checkout's path as given, or a git ref of this repository exported to ``into``."""
    if Path(ref).is_dir():
        return Path(ref).resolve()
    data = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "taxopt"],
                          check=True, capture_output=True).stdout
    with tempfile.TemporaryFile() as f:
        f.write(data)
        f.seek(0)
        with tarfile.open(fileobj=f) as tar:
            tar.extractall(into, filter="data")
    return into


def run(root: Path, todo: list, repeats: int) -> list[dict]:
    """The child on ``root``'s code over ``todo``."""
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, __file__, "--child", str(repeats)], env=env,
                         input="".join(json.dumps(c) + "\n" for c in todo), text=True,
                         capture_output=True, check=True, cwd=root)
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * (len(values) - 1) + 0.5))]


def _label(case) -> str:
    seed, lots, opts = case
    short = {"tracking_weight": "tw", "tax_model": "tax", "min_trade_value": "min"}
    return f"{seed}/{lots} " + (" ".join(f"{short[k]}={v}" for k, v in opts.items())
                                or "defaults")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2:])
        return 0
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--before", default=None,
                    help="git ref or checkout path to compare (default: where this branch "
                         "left main, so that only this branch's changes are measured)")
    ap.add_argument("--seeds", type=int, default=3000, help="scan seeds 1..N at 150 lots")
    ap.add_argument("--golden", type=int, default=300, help="golden check on seeds 1..N")
    ap.add_argument("--repeats", type=int, default=1,
                    help="repair CPU time: median of this many solves per household")
    args = ap.parse_args()
    if args.before is None:
        args.before = subprocess.run(["git", "-C", str(ROOT), "merge-base", "main", "HEAD"],
                                     check=True, capture_output=True,
                                     text=True).stdout.strip()
    from machine import machine

    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, load {info['load']}; "
          f"after {info['taxopt']}, before {args.before}")
    with tempfile.TemporaryDirectory() as tmp:
        before = checkout(args.before, Path(tmp))
        scanned = run(ROOT, [list(c) for c in cases(args.seeds)], 1)
        repaired = [r["case"] for r in scanned if r["stages"]]
        print(f"scan: {len(scanned)} solves (seeds 1..{args.seeds} x 2 option mixes, "
              f"{LOTS} lots), {len(repaired)} run the repair")
        todo = [list(REPRO), *repaired]
        after_rows = run(ROOT, todo, args.repeats)
        before_rows = run(before, todo, args.repeats)
        golden = [list(c) for c in cases(args.golden)]
        golden_before = run(before, golden, 1)
        golden_after = [r for r in scanned if r["case"][0] <= args.golden]
    return report(before_rows, after_rows, golden_before, golden_after)


def report(before_rows: list[dict], after_rows: list[dict], golden_before: list[dict],
           golden_after: list[dict]) -> int:
    """Print the table and the checks; non-zero when a check fails."""
    bad = 0
    print("\n| household (seed/lots options) | before s | after s | ratio | before obj "
          "| after obj | worse | status before/after |")
    print("|:--|--:|--:|--:|--:|--:|--:|:--|")
    tb, ta, ratios = [], [], []
    for b, a in zip(before_rows, after_rows, strict=True):
        assert b["case"] == a["case"]
        sb = statistics.median(b["repair"]) if b["repair"] else 0.0
        sa = statistics.median(a["repair"]) if a["repair"] else 0.0
        tb.append(sb)
        ta.append(sa)
        ratio = sa / sb if sb else float("nan")
        ratios.append(ratio)
        ob, oa = b["objective"], a["objective"]
        worse = ((oa - ob) / max(abs(ob), 1.0) if ob is not None and oa is not None
                 else float("nan"))
        flag = ""
        if worse > 1e-3:
            flag, bad = " WORSE", bad + 1
        if a["audit"] != []:
            flag, bad = f" AUDIT {a['audit']} {a['message']}", bad + 1
        print(f"| {_label(a['case'])} | {sb:.4f} | {sa:.4f} | {ratio:.3f} | "
              f"{ob if ob is None else round(ob, 4)} | {oa if oa is None else round(oa, 4)} | "
              f"{worse:+.2e} | {b['status']}/{a['status']}{flag} |")
    print(f"\n{len(ta)} repaired households, repair CPU seconds:")
    print("| | median | p90 | max | total |\n|:--|--:|--:|--:|--:|")
    for name, v in (("before", tb), ("after", ta)):
        print(f"| {name} | {statistics.median(v):.4f} | {_pct(v, 0.9):.4f} | {max(v):.4f} "
              f"| {sum(v):.3f} |")
    ok_ratios = [r for r in ratios if r == r]
    print(f"| ratio after/before | {statistics.median(ok_ratios):.3f} | "
          f"{_pct(ok_ratios, 0.9):.3f} | {max(ok_ratios):.3f} | {sum(ta) / sum(tb):.3f} |")
    gb = {json.dumps(r["case"]): r for r in golden_before}
    same = differ = 0
    for r in golden_after:
        if r["stages"]:
            continue
        if gb[json.dumps(r["case"])]["digest"] == r["digest"]:
            same += 1
        else:
            differ += 1
            print(f"golden: trades differ for {_label(r['case'])}")
    print(f"\ngolden check (no repair, seeds 1..{max(r['case'][0] for r in golden_after)}): "
          f"{same} byte-identical, {differ} differ")
    print(f"checks: {bad} worse or unaudited plans")
    return 1 if bad or differ else 0


if __name__ == "__main__":
    sys.exit(main())
