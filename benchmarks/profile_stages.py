"""Where the milliseconds go: cProfile of each stage of one rebalance, stage by stage.

    .venv/bin/python benchmarks/profile_stages.py [--lots 150] [--tax-model exact]
                                           [--adapter highs] [--runs 50] [--top 15]

Runs the pipeline the way `taxopt.engine.rebalance` does (validate, build, solve,
decode, audit; the repair solve when the audit asks for it), with one
``cProfile.Profile`` per stage switched on only around that stage, over ``--runs``
runs after one warm-up run. For each stage it prints the stage's own wall time (median,
unprofiled runs) and the functions with the most cumulative time per run (profiled
runs; cProfile adds overhead to Python-heavy code, so read the ranks, not the absolute
numbers).

``--breakdown`` replaces cProfile by light timers on the functions that matter (the
stages' parts: pydantic vs packing, layout, each term and constraint, matrix assembly,
``passModel``, HiGHS ``run()``, rounding, ``assess``, ``violations``): median wall and CPU
milliseconds per run, inclusive of what each calls. Its overhead is a few microseconds
per call, so these are the absolute numbers to quote.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import pstats  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from taxopt.adapters import solve_program  # noqa: E402
from taxopt.audit import assess, violations  # noqa: E402
from taxopt.decode import decode  # noqa: E402
from taxopt.domain import from_dict  # noqa: E402
from taxopt.model.builder import build  # noqa: E402
from taxopt.options import Options  # noqa: E402
from taxopt.synth import household  # noqa: E402

STAGES = ("validate", "build", "solve", "decode", "audit", "repair")


def pipeline(raw, opts, prof: dict[str, cProfile.Profile] | None) -> dict[str, float]:
    """One rebalance, stage by stage (as the engine runs it); seconds per stage."""
    out: dict[str, float] = {}

    def stage(name, fn, *args, **kw):
        p = prof[name] if prof else None
        c0, t0 = time.thread_time(), time.perf_counter()
        if p:
            p.enable()
        try:
            return fn(*args, **kw)
        finally:
            if p:
                p.disable()
            out[name] = out.get(name, 0.0) + time.perf_counter() - t0
            out[f"{name} cpu"] = out.get(f"{name} cpu", 0.0) + time.thread_time() - c0

    hh = stage("validate", from_dict, raw)
    model = stage("build", build, hh, opts)
    sol = stage("solve", solve_program, model.program, opts)
    orders, _ = stage("decode", decode, model, sol, opts)

    def audit(o):
        a = assess(hh, o)
        return a, violations(hh, o, a)

    _, broken = stage("audit", audit, orders)
    if broken:
        orders, _ = stage("repair", decode, model, sol, opts, repair=True)
        stage("audit", audit, orders)
    return out


def top(p: cProfile.Profile, runs: int, n: int) -> str:
    buf = io.StringIO()
    st = pstats.Stats(p, stream=buf)
    st.sort_stats("cumulative")
    rows = []
    for func, (_cc, nc, tt, ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        rows.append((ct, tt, nc, func))
    rows.sort(key=lambda r: -r[0])
    lines = [f"      {'cum ms/run':>10} {'own ms/run':>10} {'calls/run':>9}  function"]
    for ct, tt, nc, (file, line, name) in rows[:n]:
        short = file
        for marker in ("site-packages/", "/work/main/"):
            if marker in file:
                short = file.split(marker, 1)[1]
        where = f"{short}:{line}({name})" if line else name
        lines.append(f"      {ct / runs * 1e3:10.3f} {tt / runs * 1e3:10.3f} "
                     f"{nc / runs:9.1f}  {where}")
    return "\n".join(lines)


# --- light timers ---------------------------------------------------------------------

_acc: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])   # wall, cpu, calls


def _timed(label: str, fn):
    def wrapper(*args, **kw):
        c0, t0 = time.thread_time(), time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            a = _acc[label]
            a[0] += time.perf_counter() - t0
            a[1] += time.thread_time() - c0
            a[2] += 1
    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    return wrapper


def _patch_everywhere(owner, attr: str, label: str) -> None:
    """Replace ``owner.attr`` by a timed wrapper, also where taxopt modules imported it."""
    fn = getattr(owner, attr)
    raw = owner.__dict__.get(attr) if isinstance(owner, type) else fn
    if isinstance(raw, classmethod | staticmethod):
        return
    wrapped = _timed(label, fn)
    setattr(owner, attr, wrapped)
    if isinstance(owner, type):
        return
    for name, mod in list(sys.modules.items()):
        if (name.startswith("taxopt") or name == "__main__") and mod is not None:
            for k, v in list(vars(mod).items()):
                if v is fn:
                    setattr(mod, k, wrapped)


def _patch_validate(dl, labels: list[str]) -> None:
    """Time pydantic's part of `from_dict` (a classmethod, so wrap it on the class)."""
    cls = dl.HouseholdRecord
    fn = cls.model_validate
    label = "validate: pydantic HouseholdRecord.model_validate"
    timed = _timed(label, fn)
    cls.model_validate = staticmethod(timed)  # type: ignore[assignment]
    labels.append(label)


def install_timers() -> list[str]:
    """Timers on the parts of each stage; the labels, in report order."""
    import importlib
    import pkgutil

    import highspy

    import taxopt.model as tm
    from taxopt.adapters import highs as H
    from taxopt.audit import assess as _a  # noqa: F401
    from taxopt.decode import rounding
    from taxopt.domain import household as dh
    from taxopt.domain import load as dl
    from taxopt.domain import orders
    from taxopt.model import builder, context, layout, program

    labels = []

    def add(owner, attr, label):
        if hasattr(owner, attr):
            _patch_everywhere(owner, attr, label)
            labels.append(label)

    _patch_validate(dl, labels)
    add(dh, "build_household", "validate: build_household (relations, packing)")
    add(dh, "_pack_lots", "validate:   _pack_lots")
    add(builder, "make_context", "build: make_context (variables, affine maps)")
    add(layout, "build_layout", "build:   build_layout")
    for info in pkgutil.iter_modules(tm.__path__):
        mod = importlib.import_module(f"taxopt.model.{info.name}")
        for cls in vars(mod).values():
            if (isinstance(cls, type) and cls.__module__ == mod.__name__
                    and "compile" in cls.__dict__ and cls.__name__ != "RebalanceModel"):
                add(cls, "compile", f"build: {cls.__name__}.compile")
    add(program.Program, "add_rows", "build: Program.add_rows (csr_matrix copies)")
    add(H, "pass_program", "solve: pass_program")
    add(program.Program, "matrix", "solve:   Program.matrix (vstack)")
    add(highspy._Highs, "passModel", "solve:   highspy passModel")
    add(highspy._Highs, "run", "solve: HiGHS run() (all calls)")
    add(H, "read_solution", "solve: read_solution")
    add(H, "_branch", "solve: _branch (depth-first B&B on wash binaries)")
    add(rounding, "quick_round", "decode: quick_round")
    add(orders.Orders, "make", "decode: Orders.make")
    add(sys.modules["taxopt.decode"], "to_orders", "decode: to_orders (Orders.make)")
    add(rounding, "round_trades", "repair: round_trades")
    import taxopt.audit as au
    add(au, "assess", "audit: assess")
    add(au, "violations", "audit: violations")
    _ = context
    return labels


def breakdown(raw, opts, runs: int) -> None:
    labels = install_timers()
    pipeline(raw, opts, None)  # warm-up
    per_run: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
    stages: list[dict[str, float]] = []
    for _ in range(runs):
        _acc.clear()
        c0 = time.thread_time()
        st = pipeline(raw, opts, None)
        st["cpu"] = time.thread_time() - c0
        stages.append(st)
        for k in labels:
            per_run[k].append(tuple(_acc.get(k, [0.0, 0.0, 0])))  # type: ignore[arg-type]
    keys = (*STAGES, *(f"{s} cpu" for s in STAGES), "cpu")
    med = {s: statistics.median(r.get(s, 0.0) for r in stages) * 1e3 for s in keys}
    print("  stages, median wall / CPU ms: " + ", ".join(
        f"{s} {med[s]:.3f} / {med[s + ' cpu']:.3f}" for s in STAGES if med[s] > 0)
        + f"; whole pipeline CPU {med['cpu']:.3f} ms")
    print(f"\n      {'wall ms':>9} {'CPU ms':>9} {'calls':>6}  part (inclusive, median per run)")
    for k in labels:
        vals = per_run[k]
        calls = statistics.median(v[2] for v in vals)
        if not calls:
            continue
        print(f"      {statistics.median(v[0] for v in vals) * 1e3:9.3f} "
              f"{statistics.median(v[1] for v in vals) * 1e3:9.3f} {calls:6.0f}  {k}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--lots", type=int, default=150)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tax-model", default="exact", choices=("exact", "lot"))
    ap.add_argument("--adapter", default="highs", choices=("highs", "cvxpy"))
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--stages", default=",".join(STAGES))
    ap.add_argument("--breakdown", action="store_true",
                    help="light timers on the parts of each stage instead of cProfile")
    args = ap.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})

    raw = household(args.seed, n_lots=args.lots, n_accounts=3)
    opts = Options().replace(tax_model=args.tax_model, adapter=args.adapter)
    if args.breakdown:
        print(f"{args.lots:,} lots (seed {args.seed}), tax_model={args.tax_model}, "
              f"adapter={args.adapter}, {args.runs} runs")
        breakdown(raw, opts, args.runs)
        return 0
    pipeline(raw, opts, None)  # warm-up
    plain = [pipeline(raw, opts, None) for _ in range(args.runs)]
    prof = {s: cProfile.Profile() for s in STAGES}
    for _ in range(args.runs):
        pipeline(raw, opts, prof)

    print(f"{args.lots:,} lots (seed {args.seed}), tax_model={args.tax_model}, "
          f"adapter={args.adapter}, {args.runs} runs")
    total = statistics.median(sum(v for k, v in r.items() if not k.endswith("cpu"))
                              for r in plain) * 1e3
    print(f"  sum of stages (median, unprofiled): {total:.2f} ms")
    wanted = [s.strip() for s in args.stages.split(",")]
    for s in STAGES:
        ms = [r.get(s, 0.0) for r in plain]
        med = statistics.median(ms) * 1e3
        cpu = statistics.median(r.get(f"{s} cpu", 0.0) for r in plain) * 1e3
        if s not in wanted or (s == "repair" and not any(ms)):
            continue
        print(f"\n  {s}: {med:.3f} ms median wall, {cpu:.3f} ms CPU ({med / total:.0%} of the "
              "sum)")
        print(top(prof[s], args.runs, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
