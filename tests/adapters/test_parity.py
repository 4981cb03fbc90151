"""The two adapters solve the same program: same objective, same audited tax."""

from __future__ import annotations

import pytest

import taxopt
from taxopt import synth
from taxopt.adapters import solve_program
from taxopt.model import build

from ..conftest import SCENARIOS

CASES = [p for p in SCENARIOS if p.stem not in ("infeasible", "direct_indexing_500")]


def _both(hh):
    model = build(hh)
    fast = solve_program(model.program, hh.options.replace(adapter="highs"))
    slow = solve_program(model.program, hh.options.replace(adapter="cvxpy"))
    return fast, slow


def _assert_parity(hh):
    fast, slow = _both(hh)
    assert fast.status == slow.status == "optimal"
    assert fast.objective == pytest.approx(slow.objective, rel=1e-6, abs=1e-6)
    tax_fast = taxopt.rebalance(hh, adapter="highs")
    tax_slow = taxopt.rebalance(hh, adapter="cvxpy")
    assert tax_fast.status == tax_slow.status == "optimal"
    assert tax_fast.assessment.est_tax == pytest.approx(tax_slow.assessment.est_tax, abs=0.01)


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_parity_on_scenarios(path):
    _assert_parity(taxopt.load(path))


@pytest.mark.parametrize("seed", range(40))
def test_parity_on_generated_households(seed):
    _assert_parity(taxopt.from_dict(synth.household(seed, n_lots=60)))


@pytest.mark.parametrize("seed", range(4))
def test_parity_lot_model(seed):
    hh = taxopt.from_dict(synth.household(100 + seed, n_lots=60))
    _assert_parity(hh.with_options(tax_model="lot"))


def test_infeasible_status_is_shared():
    hh = taxopt.load(next(p for p in SCENARIOS if p.stem == "infeasible"))
    fast, slow = _both(hh)
    assert fast.status == slow.status == "infeasible"


@pytest.mark.parametrize("seed,n_lots,n_stocks,tax_model",
                         [(1, 2_000, 100, "exact"), (1, 1_000, 50, "lot")])
def test_parity_on_direct_indexing_books(seed, n_lots, n_stocks, tax_model):
    # A direct-indexing book: every stock its own wash group, monthly lots in a taxable
    # account, two Roth accounts that may buy any stock. taxopt's own search (one-sided
    # binaries settled, roots rounded and probed) against HiGHS's MIP through cvxpy.
    from taxopt.synth_book import direct_indexing_book

    hh = taxopt.from_dict(direct_indexing_book(seed, n_lots=n_lots, n_stocks=n_stocks))
    fast = taxopt.rebalance(hh, adapter="highs", tax_model=tax_model)
    slow = taxopt.rebalance(hh, adapter="cvxpy", tax_model=tax_model)
    assert fast.status == slow.status == "optimal"
    assert fast.solution.objective == pytest.approx(slow.solution.objective, rel=1e-8)
    assert fast.assessment.est_tax == pytest.approx(slow.assessment.est_tax, abs=0.01)
    # Every stock may be bought (in the Roths); only those with a loss lot are decisions,
    # in a program with enough binaries to look (below that, every binary is searched).
    from taxopt.adapters.branch import SETTLE_FROM

    assert fast.solution.info["two_sided"] == (_stocks_with_a_loss_lot(hh)
                                               if n_stocks >= SETTLE_FROM else n_stocks)


def _stocks_with_a_loss_lot(hh) -> int:
    import numpy as np

    lots, price = hh.lots, hh.securities.price
    loss = lots.shares * price[lots.security] < np.nan_to_num(lots.basis, nan=-1.0)
    return len(np.unique(lots.security[loss]))
