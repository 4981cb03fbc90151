"""The netting part the tax term declares (`Program.netting`) is the part
`NettingPart.find` searches the matrix for: same columns, rows, block and entries, so
the HiGHS search skips the search and its plans do not change."""

from __future__ import annotations

import numpy as np
import pytest

from taxopt.adapters import netting, solve_program
from taxopt.adapters.condense import condense
from taxopt.adapters.netting import NettingPart
from taxopt.domain import from_dict
from taxopt.model import build
from taxopt.synth import household


def _model(seed: int, lots: int, accounts: int, **options):
    hh = from_dict(household(seed, n_lots=lots, n_accounts=accounts))
    return build(hh, hh.options.replace(**options) if options else None)


def _parts(prog):
    """The part found by search, the one declared (None: not confirmed) and `of`'s."""
    loaded = condense(prog)
    pieces = np.asarray(prog.pieces, np.int32)
    declared = NettingPart.declared(loaded, *prog.netting_part(), pieces)
    return (NettingPart.find(loaded, pieces), declared,
            NettingPart.of(loaded, prog, pieces))


def _same(a: NettingPart, b: NettingPart) -> bool:
    return (a.cols.tolist() == b.cols.tolist() and a.kept.tolist() == b.kept.tolist()
            and a.A.tobytes() == b.A.tobytes() and a.inside.tobytes() == b.inside.tobytes()
            and a.entries == b.entries)


# (seed, lots, accounts, options): the typical household, one whose search branches
# (seed 42: two nodes after its roots), four accounts, a tax budget (its row lies among
# the netting columns), carryforwards valued at the short-term rate or more (a second
# piece and its rows), and a 3,000-lot book (its gain rows condensed to partial sums)
CASES = [(1, 150, 3, {}), (42, 150, 3, {}), (7, 150, 4, {}), (11, 150, 4, {}),
         (3, 150, 3, {"max_tax": 500.0}), (5, 150, 3, {"carryforward_value": 0.5}),
         (2, 3000, 2, {})]


@pytest.mark.parametrize("seed,lots,accounts,options", CASES)
def test_the_declared_part_is_the_part_found(seed, lots, accounts, options):
    prog = _model(seed, lots, accounts, **options).program
    found, declared, used = _parts(prog)
    assert found is not None and declared is not None
    assert _same(found, declared) and _same(found, used)


def test_the_declared_part_of_a_typical_household():
    prog = _model(1, 150, 3).program
    _, part, _ = _parts(prog)
    v = prog.vars
    # plan_short, plan_long, tax_total, tax_pref and tax_piece, one column each
    assert part.cols.tolist() == [v[k].start for k in ("plan_short", "plan_long", "tax_total",
                                                        "tax_pref", "tax_piece")]
    offsets = np.cumsum([0] + [r.T.shape[0] for r in prog.rows.values()])
    first = dict(zip(prog.rows, offsets.tolist(), strict=False))
    # tax_total (1 row) and tax_pref (3 rows: long-term part twice, the piece)
    assert part.kept.tolist() == [first["tax_total"], *range(first["tax_pref"],
                                                              first["tax_pref"] + 3)]
    # the two gain rows by term hold the plan's net results: one entry each, 1.0
    assert part.entries == [(0, first["plan_by_term"], 1.0), (1, first["plan_by_term"] + 1, 1.0)]


def test_a_short_gain_row_falls_back_to_the_search():
    # 40 lots in 4 accounts: a gain row by term with three lots or fewer is short, so the
    # search goes on through it to the lots and the wash binaries; the declared part is
    # not confirmed and `of` returns what `find` finds
    prog = _model(2, 40, 4).program
    found, declared, used = _parts(prog)
    assert declared is None
    assert len(found.cols) == 16 and _same(found, used)


def test_the_branching_search_skips_the_search_and_solves_the_same(monkeypatch):
    model = _model(42, 150, 3)
    fallback = model.program.copy()
    fallback.netting = None                      # a program built otherwise: `find`
    before = solve_program(fallback, model.options)

    def no_search(*args, **kwargs):
        raise AssertionError("the declared part should have been used")

    monkeypatch.setattr(netting.NettingPart, "find", classmethod(no_search))
    after = solve_program(model.program, model.options)
    assert after.info["nodes"] == 2.0 and after.info["netting_bounds"] >= 1.0
    assert after.x.tobytes() == before.x.tobytes()
    assert after.objective == before.objective and after.info == before.info
