"""Wash-sale integrity across steps: recent trades carry last month's loss sales forward.

Monthly steps on the 24th are 28 to 31 days apart, so a loss sale of one step
blocks its wash group in the next step when the gap is 30 days or less. Every
plan that the backtest books must pass the audit's wash-sale checks against the
ledger's household, and an independent check over the whole trade history
finds no purchase of a group within 30 days after a loss sale of it.
"""

from __future__ import annotations

import numpy as np

from taxopt.audit import violations
from taxopt.backtest import MarketParams, SimSpec, all_methods, simulate_household
from taxopt.synth import household

DAYS = 30


def test_no_method_buys_a_group_sold_at_a_loss_in_the_last_30_days():
    history: list[list[tuple[np.datetime64, int, bool, float]]] = []
    carried = 0
    for seed in (1, 2, 7):
        raw = household(seed, n_lots=20, household_id=f"w-{seed}")
        # a falling market makes losses, so harvesting and the rule are exercised
        market = MarketParams(expected_return=(-0.25, -0.25, 0.0, -0.25))
        spec = SimSpec(0, raw, 1, 1, seed, all_methods(), market)

        def check(t, hh, orders, a, ok, led, seed=seed):
            nonlocal carried
            if t == 0:                  # a new method's run starts
                history.append([])
            if not ok:
                return
            broken = [v for v in violations(hh, orders, a) if "wash sale" in v]
            assert not broken, (seed, t, broken)
            r = hh.recent
            earlier = (r.date < hh.as_of) & ~r.is_buy & (r.realized_gain < 0)
            carried += int(earlier.any())
            group = hh.securities.wash_group[orders.security]
            loss = ~orders.is_buy & (a.gain < -0.005)
            history[-1].extend(
                (hh.as_of, int(g), bool(b), float(x))
                for g, b, x in zip(group, orders.is_buy, np.where(loss, -1.0, 0.0),
                                   strict=True))

        simulate_household(spec, on_step=check)
    assert carried > 0, "no step carried a loss sale from an earlier step: the test is idle"
    assert len(history) == 3 * len(all_methods())
    for trades in history:
        for day, g, is_buy, _loss in trades:
            if not is_buy:
                continue
            for day2, g2, buy2, loss2 in trades:
                if g2 == g and not buy2 and loss2 < 0:
                    gap = int((day - day2).astype(np.int64))
                    assert not 0 <= gap <= DAYS, (day, g, day2)
