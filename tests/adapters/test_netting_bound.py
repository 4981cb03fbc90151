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


def _relaxed(prog):
    """The program loaded into HiGHS with its integers relaxed, its netting pieces and
    its netting part (None when it has none)."""
    h = new_highs(Options(), True, prog.n)
    loaded = load_program(h, prog)
    ints = np.flatnonzero(prog.integrality()).astype(np.int32)
    h.changeColsIntegrality(len(ints), ints, np.zeros(len(ints), np.uint8))
    pieces = np.asarray(prog.pieces, np.int32)
    return h, loaded, pieces, NettingPart.find(loaded, pieces)


def _roots(prog, need_part: bool = True):
    """Every root (pieces fixed, wash binaries relaxed) solved to optimality: its
    objective and its netting bound on every other root (None without a netting part,
    when ``need_part`` is False)."""
    h, loaded, pieces, part = _relaxed(prog)
    if part is None and not need_part:
        return None
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


# --- a seeded sweep: the bound is never above a root's optimum, and the search finds the
# same plan with and without it (the bound is used at any size here) ---------------------


def _varied(seed: int) -> tuple[dict, float | None]:
    """A household with drawn rates (short below, equal to or above long), year-to-date
    results, carryforwards, prices (books at a gain or a loss), a withdrawal, and a
    carryforward value with or without its own netting piece."""
    rng = np.random.default_rng(seed)
    if seed % 4 == 0:     # a direct-indexing book: every stock a wash group, two Roths
        raw = direct_indexing_book(seed, n_lots=int(rng.choice([200, 400])), n_stocks=20)
    else:                 # a household with recent buys (wash-sale inputs) and cash flows
        raw = synth.household(seed, n_lots=int(rng.choice([12, 40, 150])),
                              n_accounts=int(rng.integers(1, 5)))
    tp = raw["tax_profile"]
    ts = float(rng.choice([0.1, 0.24, 0.37, 0.408]))
    tl = [round(ts * 0.5, 3), ts, round(ts * 1.3, 3)][seed % 3]
    tp["short_term_rate"], tp["long_term_rate"] = ts, tl
    scale = float(rng.choice([0.0, 500.0, 5_000.0, 50_000.0]))
    tp["realized_ytd"] = {"short_term": round(float(rng.normal()) * scale, 2),
                          "long_term": round(float(rng.normal()) * scale, 2)}
    carry = float(rng.choice([0.0, 2_000.0, 40_000.0]))
    tp["loss_carryforward"] = {"short_term": round(float(rng.uniform()) * carry, 2),
                               "long_term": round(float(rng.uniform()) * carry, 2)}
    move = float(rng.choice([0.5, 0.8, 1.0, 1.3, 1.8]))
    for s in raw["securities"]:
        if rng.uniform() < 0.7:
            s["price"] = round(s["price"] * move * float(rng.uniform(0.9, 1.1)), 2)
    if rng.uniform() < 0.4:
        raw["accounts"][0]["cash_flow"] = -round(float(rng.uniform(1_000, 15_000)), 2)
    value = [None, 0.0, 0.1, ts + 0.05][int(rng.integers(4))]
    return raw, value


SWEEP = range(96)


def test_netting_bound_never_exceeds_a_root_optimum_over_varied_households():
    pairs = 0
    for seed in SWEEP:
        raw, value = _varied(seed)
        prog = build(taxopt.from_dict(raw), Options().replace(carryforward_value=value)).program
        found = _roots(prog, need_part=False)
        if found is None:       # more than `MAX_COLUMNS` reached: no bound at all
            continue
        roots, bounds, _ = found
        for (a, b), bound in bounds.items():
            pairs += 1
            assert bound <= roots[b] + 1e-7 * max(1.0, abs(roots[b])), (seed, a, b)
    assert pairs >= 200         # two or four roots each: the sweep covers both kinds


def test_search_finds_the_same_plan_with_the_bound_at_any_size(monkeypatch):
    # The bound runs from `NETTING_FROM` columns; at 0 it prunes the households' roots
    # too. Had it ever been above the other root's optimum, that root's better plan would
    # have been lost: a costlier objective and other taxes than without the bound.
    used = 0
    for seed in SWEEP:
        raw, value = _varied(seed)
        hh = taxopt.from_dict(raw)
        monkeypatch.setattr(branch, "NETTING_FROM", 0)
        with_bound = taxopt.rebalance(hh, carryforward_value=value)
        monkeypatch.setattr(branch, "NETTING_FROM", 10**9)
        without = taxopt.rebalance(hh, carryforward_value=value)
        assert with_bound.status == without.status, seed
        if not without.ok:
            continue
        used += with_bound.solution.info.get("pruned_by_duals", 0.0) > \
            without.solution.info.get("pruned_by_duals", 0.0)
        assert with_bound.solution.objective == pytest.approx(
            without.solution.objective, rel=1e-9, abs=1e-7), seed
        assert with_bound.assessment.est_tax == without.assessment.est_tax, seed
        assert with_bound.violations == without.violations == []
    assert used >= 10           # the bound pruned a root the duals alone did not


def test_price_read_off_the_solved_root_matches_the_full_pricing():
    # `price_at` (households) takes the outside part from the root's objective by
    # complementary slackness; `price` (large programs) sums it row by row and column
    # by column. Same duals, same value to within HiGHS's tolerances, and the bound from
    # either is never above the other root's optimum.
    checked = 0
    for seed in range(0, 96, 3):
        raw, value = _varied(seed)
        prog = build(taxopt.from_dict(raw), Options().replace(carryforward_value=value)).program
        h, loaded, pieces, part = _relaxed(prog)
        if part is None:
            continue
        combos = list(itertools.product((0.0, 1.0), repeat=len(pieces)))
        optimum = {}
        for combo in combos:
            v = np.array(combo)
            h.changeColsBounds(len(pieces), pieces, v, v)
            h.clearSolver()
            h.run()
            ok = h.modelStatusToString(h.getModelStatus()) == "Optimal"
            optimum[combo] = h.getInfo().objective_function_value if ok else np.inf
        for a in combos:
            if not np.isfinite(optimum[a]):
                continue
            v = np.array(a)
            h.changeColsBounds(len(pieces), pieces, v, v)
            h.clearSolver()
            h.run()
            sol = h.getSolution()
            x = np.asarray(sol.col_value)[: prog.n]
            full = part.price(loaded, sol.row_dual)
            quick = part.price_at(loaded, sol.row_dual, x, optimum[a])
            if full is None:
                continue
            checked += 1
            assert quick[0] == pytest.approx(full[0], rel=1e-6, abs=1e-3), (seed, a)
            assert np.allclose(quick[1], full[1], rtol=1e-9, atol=1e-9), (seed, a)
            for b in combos:
                if b != a:
                    bound = part.bound(loaded, quick, pieces, np.array(b), np.array(b),
                                       prove=False)
                    assert bound <= optimum[b] + 1e-6 * max(1.0, abs(optimum[b])), (seed, a, b)
    assert checked >= 40
