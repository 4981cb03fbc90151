"""A netting root bounded from another root's duals (`taxopt.adapters.netting`): never
above the root's own LP optimum, and tight enough to skip the loss book's second root."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import taxopt
from taxopt import synth
from taxopt.adapters import branch
from taxopt.adapters.highs import load_program, new_highs
from taxopt.adapters.netting import NettingPart
from taxopt.model import build
from taxopt.options import Options
from taxopt.synth_book import direct_indexing_book


def _gain_book() -> dict:
    """The book after a 60 % rise: nearly every lot at a gain, the plan nets a gain."""
    raw = direct_indexing_book(2, n_lots=2_000, n_stocks=100)
    for s in raw["securities"]:
        if s["symbol"].startswith("S"):
            s["price"] = round(s["price"] * 1.6, 2)
    return raw


def _roots(prog):
    """Every root (pieces fixed, wash binaries relaxed) solved to optimality: its
    objective and its netting bound on every other root."""
    opts = Options()
    h = new_highs(opts, True, prog.n)
    loaded = load_program(h, prog)
    ints = np.flatnonzero(prog.integrality()).astype(np.int32)
    h.changeColsIntegrality(len(ints), ints, np.zeros(len(ints), np.uint8))
    pieces = np.asarray(prog.pieces, np.int32)
    part = NettingPart.find(loaded, pieces)
    assert part is not None
    combos = list(itertools.product((0.0, 1.0), repeat=len(pieces)))
    value, priced = {}, {}
    for combo in combos:
        v = np.array(combo)
        h.changeColsBounds(len(pieces), pieces, v, v)
        h.clearSolver()
        h.run()
        status = h.modelStatusToString(h.getModelStatus())
        value[combo] = h.getInfo().objective_function_value if status == "Optimal" else np.inf
        if status == "Optimal":
            priced[combo] = part.price(loaded, h.getSolution().row_dual)
    bounds = {(a, b): part.bound(loaded, priced[a], pieces, np.array(b), np.array(b))
              for a in priced for b in combos if a != b}
    return value, bounds, part


PROGRAMS = {
    "loss book": lambda: build(taxopt.from_dict(direct_indexing_book(1, n_lots=2_000,
                                                                     n_stocks=100))).program,
    "gain book": lambda: build(taxopt.from_dict(_gain_book())).program,
    # a carryforward worth more than the short-term rate needs its own piece: four roots
    "gain book, carryforward piece": lambda: build(
        taxopt.from_dict(_gain_book()), Options().replace(carryforward_value=0.45)).program,
    **{f"household {s}": (lambda s=s: build(taxopt.from_dict(
        synth.household(s, n_lots=150)), Options().replace(carryforward_value=0.45)).program)
       for s in range(4)},
}


@pytest.mark.parametrize("name", PROGRAMS)
def test_netting_bound_never_exceeds_the_roots_optimum(name):
    value, bounds, part = _roots(PROGRAMS[name]())
    assert len(part.cols) <= 12          # the netting columns only, not the lots
    for (_, b), bound in bounds.items():
        assert bound <= value[b] + 1e-7 * max(1.0, abs(value[b])), (name, b, bound, value[b])


def test_loss_book_prunes_the_gain_root_without_solving_it():
    # Root 0 (no preferential part) harvests: its plan's net is a loss below the $3,000
    # offset. Root 1 must net a gain; priced at root 0's duals the netting alone costs
    # (ts - carryforward value) * 3,000 more, so the bound passes the plan.
    value, bounds, _ = _roots(PROGRAMS["loss book"]())
    assert bounds[((0.0,), (1.0,))] > value[(0.0,)] + 100.0
    assert value[(1.0,)] > value[(0.0,)]


def test_search_with_and_without_the_netting_bound_agree(monkeypatch):
    hh = taxopt.from_dict(direct_indexing_book(1, n_lots=3_000, n_stocks=100))
    res = taxopt.rebalance(hh)
    info = res.solution.info
    assert res.status == "optimal"
    assert info["pruned_by_duals"] == 1.0 and "probes" not in info
    monkeypatch.setattr(branch, "NETTING_FROM", 10**9)
    old = taxopt.rebalance(hh)
    assert old.solution.info["probes"] == 1.0 and "netting_bounds" not in old.solution.info
    assert old.status == "optimal"
    assert res.assessment.est_tax == old.assessment.est_tax
    assert res.solution.objective == pytest.approx(old.solution.objective, rel=1e-9)
    assert res.violations == old.violations == []
