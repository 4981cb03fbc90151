"""The layout's `covered_dollars` is `match_sales`'s ``covered``, to the bit."""

from __future__ import annotations

import numpy as np

from taxopt.domain import from_dict
from taxopt.model.layout import washed_share
from taxopt.synth import household
from taxopt.tax.wash import Replacements, covered_dollars, match_sales, recent_replacements


def _case(rng: np.random.Generator):
    n, k, groups = int(rng.integers(1, 30)), int(rng.integers(0, 8)), int(rng.integers(1, 5))
    value = rng.choice([0.0, 10.0, 250.0, 1000.0], n) * rng.random(n)
    gain = value * rng.uniform(-0.6, 0.4, n)
    acquired = (rng.integers(18_000, 18_100, n)).astype("datetime64[D]")
    lot = np.where(rng.random(n) < 0.8, rng.permutation(n), -1)
    rep_value = rng.uniform(0, 2000, k)
    rep = Replacements(rng.integers(0, groups, k), rng.integers(18_000, 18_100, k)
                       .astype("datetime64[D]"), np.zeros(k, np.int64), np.zeros(k, np.int64),
                       np.where(rng.random(k) < 0.4, rng.integers(0, n + 3, k), -1),
                       rep_value, rep_value * rng.choice([0.0, 0.5, 1.0], k))
    return (rng.integers(0, groups, n), value, gain, acquired, lot,
            rng.permutation(n), rep, rep.unused)


def test_covered_dollars_matches_match_sales_on_a_seeded_sweep():
    rng = np.random.default_rng(1091)
    matched = 0
    for _ in range(400):
        args = _case(rng)
        want = match_sales(*args).covered
        got = covered_dollars(*args)
        assert got.tobytes() == want.tobytes()
        matched += bool((want > 0).any())
    assert matched > 100            # most cases cover something: the sweep tests the match


def test_the_layout_share_is_the_matched_share_on_synth_households():
    washed = 0
    for seed in range(1, 25):
        hh = from_dict(household(seed, n_lots=120, n_accounts=3))
        rep = recent_replacements(hh)
        t_idx = np.flatnonzero(hh.accounts.tax_type[hh.lots.account] == 0)
        share = washed_share(hh, t_idx)
        if not len(rep) or not len(t_idx):
            assert not share.any()
            continue
        value = hh.lots.shares[t_idx] * hh.securities.price[hh.lots.security[t_idx]]
        m = match_sales(hh.securities.wash_group[hh.lots.security[t_idx]], value,
                        value - hh.lots.basis[t_idx], hh.lots.acquired[t_idx], t_idx, t_idx,
                        rep, rep.unused)
        want = np.divide(m.covered, value, out=np.zeros(len(t_idx)), where=value > 0)
        assert share.tobytes() == want.tobytes()
        washed += bool(share.any())
    assert washed == 2              # seeds whose recent buys wash some lot's loss
