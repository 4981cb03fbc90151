"""The account lines and order reasons by grouped sums equal the plain per-account way.

`account_lines` counts and sums every account's orders per reason and side in one go;
`order_reasons` sums several class-dollar arrays by one bincount. Both must give the
same bytes as summing each account's masked orders on its own (the way the lines were
first written, kept below as the reference), on synth households of several sizes.
"""

from __future__ import annotations

import numpy as np
import pytest

from taxopt.domain.load import from_dict
from taxopt.engine import rebalance
from taxopt.plan import reasons as R
from taxopt.synth import household


def _classes(hh, dollars):
    total = dollars.sum()
    if total <= 0:
        return "cash"
    keep = (dollars >= 0.05 * total).nonzero()[0]
    keep = keep[np.lexsort((keep, -dollars[keep]))]
    names = [hh.classes[k] for k in keep]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _trade(hh, orders, a, mask, purpose):
    expo = hh.securities.exposure[orders.security]
    parts = []
    for verb, side in (("sold", mask & ~orders.is_buy), ("bought", mask & orders.is_buy)):
        if side.any():
            parts.append(f"{verb} {R._dollars(a.value[side].sum())} of "
                         f"{_classes(hh, (expo[side] * a.value[side, None]).sum(axis=0))}")
    return " and ".join(parts) + f" {purpose}"


def _reference_lines(hh, orders, a, reasons, status):
    """Each account's line from its own masks and sums (no grouping)."""
    flows = R.account_flow(hh, a)
    lines = []
    for i in range(len(hh.accounts)):
        mine = orders.account == i
        if not mine.any():
            lines.append(R._left_alone(hh, orders, i, status, float(flows[i])))
            continue
        flow, parts = flows[i], []
        for names, purpose in (
                (("withdrawal", "withdrawal funding"),
                 f"to raise the {R._dollars(flow)} withdrawal"),
                (("deposit",), f"with the {R._dollars(flow)} deposit"),
                (("rebalance",), "to restore the goal"),
                (("location",), "to move them between account types (location)")):
            m = mine & np.isin(reasons, names)
            if m.any():
                parts.append(_trade(hh, orders, a, m, purpose))
        har, sub = mine & (reasons == "harvest"), mine & (reasons == "substitute")
        if har.any():
            text = (f"harvested a {R._dollars(float((a.gain[har] + a.disallowed[har]).sum()))}"
                    f" loss selling {R._symbols(hh, orders.security[har])}")
            if sub.any():
                text += f" and bought {R._symbols(hh, orders.security[sub])} in its place"
            parts.append(text)
        elif sub.any():
            parts.append(f"bought {R._symbols(hh, orders.security[sub])} in place of the loss "
                         "lots sold")
        rnd = mine & (reasons == "rounding")
        if rnd.any():
            k = int(rnd.sum())
            parts.append(f"closed {k} small remnant{'s' if k > 1 else ''} "
                         f"({R._dollars(a.value[rnd].sum())})")
        parts.append(R._tax_clause(hh, orders, a, mine, i, ~orders.is_buy & (orders.lot >= 0),
                                   a.gain + a.disallowed))
        lines.append("; ".join(parts))
    return lines


@pytest.mark.parametrize(("seed", "n_lots", "n_accounts"),
                         [(3, 20, 1), (5, 150, 3), (8, 150, 4), (13, 400, 5)])
def test_account_lines_equal_the_per_account_reference(seed, n_lots, n_accounts):
    r = rebalance(from_dict(household(seed, n_lots=n_lots, n_accounts=n_accounts,
                                      drift=0.2)))
    hh, orders, a = r.household, r.orders, r.assessment
    reasons = R.order_reasons(hh, orders, a)
    assert len(orders) > 0
    assert R.account_lines(hh, orders, a, reasons, str(r.status)) == \
        _reference_lines(hh, orders, a, reasons, str(r.status))


def test_account_lines_of_hand_made_reasons_equal_the_reference():
    """Every reason group on both sides in one account, an unknown label, an account
    left alone: the grouped counts pick the same orders as the masks."""
    r = rebalance(from_dict(household(21, n_lots=150, n_accounts=3, drift=0.2)))
    hh, orders, a = r.household, r.orders, r.assessment
    labels = np.array((*R.REASONS, ""), dtype=object)
    reasons = labels[np.arange(len(orders)) % len(labels)]
    for status in ("optimal", "infeasible"):
        assert R.account_lines(hh, orders, a, reasons, status) == \
            _reference_lines(hh, orders, a, reasons, status)
    assert any("closed" in line for line in R.account_lines(hh, orders, a, reasons,
                                                              "optimal"))


def test_class_sums_add_each_part_like_add_at():
    """One bincount over stacked parts gives each part's sums to the last bit."""
    rng = np.random.default_rng(7)
    idx = rng.integers(0, 4, 300)
    parts = [rng.standard_normal((300, 6)) * 10.0 ** rng.uniform(-3, 6, (300, 1))
             for _ in range(3)]
    got = R._class_sums(idx, parts, 5)
    for j, p in enumerate(parts):
        want = np.zeros((5, 6))
        np.add.at(want, idx, p)
        assert np.array_equal(got[:, j], want)
    assert not got[4].any()             # a row without orders sums to 0


def test_classes_ties_go_to_the_first_class():
    hh = from_dict(household(1, n_lots=20, n_accounts=1))
    k = len(hh.classes)
    dollars = np.zeros(k)
    dollars[[2, 0, 1]] = [30.0, 30.0, 40.0]
    assert R._classes(hh, dollars) == (f"{hh.classes[1]}, {hh.classes[0]} "
                                       f"and {hh.classes[2]}")
    assert R._classes(hh, np.zeros(k)) == "cash"
