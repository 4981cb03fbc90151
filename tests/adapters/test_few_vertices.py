"""`_few_vertices` (plain Python, the households' netting part) against `_dual_vertices`
(numpy, any part): the same dual bound on a seeded sweep."""

from __future__ import annotations

import numpy as np

from taxopt.adapters.condense import condense
from taxopt.adapters.netting import NettingPart, _dual_vertices, _few_vertices
from taxopt.domain import from_dict
from taxopt.model.builder import build
from taxopt.synth import household


def test_few_vertices_matches_the_numpy_vertices_on_a_seeded_sweep():
    rng = np.random.default_rng(1211)
    compared = 0
    for seed in range(1, 9):
        prog = build(from_dict(household(seed, n_lots=80, n_accounts=3))).program
        loaded = condense(prog)
        part = NettingPart.find(loaded, np.asarray(prog.pieces, np.int64))
        assert part is not None and part.A.shape == (4, 5)
        for _ in range(25):
            cost = loaded.c[part.cols] + rng.normal(0, 0.2, len(part.cols))
            lb, ub = loaded.lb[part.cols].copy(), loaded.ub[part.cols].copy()
            piece = np.flatnonzero((lb == 0) & (ub == 1))
            lb[piece] = ub[piece] = rng.integers(0, 2, len(piece))     # a root's pieces
            rlo, rhi = loaded.lo[part.kept], loaded.hi[part.kept]
            few = _few_vertices(part.A.tolist(), cost.tolist(), lb.tolist(), ub.tolist(),
                                rlo.tolist(), rhi.tolist())
            full = _dual_vertices(part.A, cost, lb, ub, rlo, rhi)
            assert (few is None) == (full is None)
            if few is not None:
                assert abs(few - full) <= 1e-9 * max(1.0, abs(full))
                compared += 1
    assert compared >= 60              # the rest: no vertex bounds the part (both None)
