"""Instructions per household, stage by stage: a CPU measure the machine's load cannot move.

    .venv/bin/python benchmarks/instructions.py [--lots 150] [--households 10]
                                                [--stages validate,build,solve,finish,summary]

On a shared 2-core machine wall and CPU times of a 5 ms household swing by 2x with the
other sessions' load (caches, the sibling hyperthread). The number of instructions
executed does not: each stage runs under ``valgrind --tool=callgrind`` with collection
switched on only inside ``functools.reduce`` (the measured loop), so imports, the
synthetic households and the warm-up are not counted. Millions of instructions per
household, per stage:

- validate: `taxopt.from_dict` of the raw household;
- build: `taxopt.model.builder.build` (fresh households, so nothing is cached yet);
- solve: `taxopt.adapters.solve_program` of the built program (HiGHS included);
- finish: `taxopt.engine.finish` (decode and audit);
- summary: ``Result.summary()`` and ``Result.trade_columns()`` (the batch's columns).

On this machine about 3.6 million instructions take 1 ms (7.3 ms idle for the 26.4
million of validate to finish, at a81a2da). Needs valgrind (``apt-get install valgrind``);
one stage of 10 households takes about a minute.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("validate", "build", "solve", "finish", "summary")


def run_stage(stage: str, lots: int, n: int) -> None:
    """The measured loop of one stage (run under valgrind by `main`)."""
    sys.path.insert(0, str(ROOT))
    from taxopt.adapters import solve_program
    from taxopt.domain import from_dict
    from taxopt.engine import finish, rebalance
    from taxopt.model.builder import build
    from taxopt.synth import household

    raws = [household(s, n_lots=lots, n_accounts=3) for s in range(1, 1 + n)]
    for raw in raws[:2]:                      # warm-up: first calls, lazy imports
        r = rebalance(from_dict(raw))
        r.summary()
        r.trade_columns()
    if stage == "validate":
        functools.reduce(lambda _, raw: from_dict(raw), raws, None)
    elif stage == "build":
        hhs = [from_dict(r) for r in raws]
        functools.reduce(lambda _, hh: build(hh), hhs, None)
    elif stage == "solve":
        models = [build(from_dict(r)) for r in raws]
        functools.reduce(lambda _, m: solve_program(m.program, m.options), models, None)
    elif stage == "finish":
        models = [build(from_dict(r)) for r in raws]
        sols = [solve_program(m.program, m.options) for m in models]
        functools.reduce(lambda _, ms: finish(ms[0], ms[1], ms[0].options, {}),
                         zip(models, sols, strict=True), None)
    elif stage == "summary":
        results = [rebalance(from_dict(r)) for r in raws]
        functools.reduce(lambda _, r: (r.summary(), r.trade_columns()), results, None)
    else:
        raise SystemExit(f"unknown stage {stage!r}")


def measure(stage: str, lots: int, n: int) -> float:
    """Millions of instructions per household of one stage."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        cmd = ["valgrind", "--tool=callgrind", "--toggle-collect=functools_reduce",
               f"--callgrind-out-file={out}", sys.executable, __file__, "--inner", stage,
               "--lots", str(lots), "--households", str(n)]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        m = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode or not m:
            raise SystemExit(f"{stage}: valgrind failed:\n{done.stderr[-2000:]}")
        return int(m.group(1)) / n / 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--lots", type=int, default=150)
    ap.add_argument("--households", type=int, default=10)
    ap.add_argument("--stages", default=",".join(STAGES))
    ap.add_argument("--inner", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.inner:
        run_stage(args.inner, args.lots, args.households)
        return 0
    total = 0.0
    print(f"{args.lots} lots, 3 accounts, {args.households} households; millions of "
          "instructions per household")
    for stage in args.stages.split(","):
        mi = measure(stage.strip(), args.lots, args.households)
        total += mi
        print(f"  {stage:<9} {mi:7.2f}", flush=True)
    print(f"  {'total':<9} {total:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
