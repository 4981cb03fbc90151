"""One HiGHS instance per thread for small programs (`reused_highs`): every solve gives
what a new instance gives, whatever the thread solved before."""

from __future__ import annotations

import threading

import numpy as np

import taxopt
from taxopt import synth
from taxopt.adapters import highs_run
from taxopt.adapters.highs import solve_highs
from taxopt.model import build
from taxopt.options import Options


def _programs():
    """Programs of different shapes and kinds: exact (MIP, with the search's probes and
    option changes), per-lot tax (LP or MIP), a carryforward piece (four roots), a
    forced lot order (more binaries) and quadratic tracking's linear stage."""
    out = []
    for seed, lots, accounts in ((1, 150, 3), (2, 40, 1), (3, 400, 4), (4, 20, 2)):
        hh = taxopt.from_dict(synth.household(seed, n_lots=lots, n_accounts=accounts))
        for opts in (Options(), Options(tax_model="lot"), Options(carryforward_value=0.45),
                     Options(lot_relief="fifo"), Options(tracking="quadratic")):
            prog = build(hh, opts).program
            out.append((prog.linear_stage() if prog.quadratic else prog, opts))
    return out


def _solve_all(programs):
    return [solve_highs(prog, opts) for prog, opts in programs]


def test_a_reused_instance_solves_as_a_new_one(monkeypatch):
    programs = _programs()
    reused = _solve_all(programs) + _solve_all(programs[::-1])[::-1]
    monkeypatch.setattr(highs_run, "REUSE_MAX_COLUMNS", -1)     # a new instance each
    fresh = _solve_all(programs)
    for k, (a, b) in enumerate(zip(reused, fresh + fresh, strict=True)):
        assert a.status == b.status == "optimal", k
        assert a.objective == b.objective, k
        assert np.array_equal(a.x, b.x), k
        assert a.mip_gap == b.mip_gap, k


def test_each_thread_has_its_own_instance():
    programs = _programs()[:6]
    expected = _solve_all(programs)
    results: dict[int, list] = {}

    def work(i: int) -> None:
        results[i] = _solve_all(programs)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got in results.values():
        assert [np.array_equal(a.x, b.x) for a, b in zip(got, expected, strict=True)] \
            == [True] * len(expected)
