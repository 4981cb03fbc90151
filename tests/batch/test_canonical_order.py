"""The canonical row order: key columns first, the other columns only to break their ties."""

from __future__ import annotations

import numpy as np

from taxopt.batch.tables import canonical_order


def _lots(lot_ids, shares, accounts=None):
    n = len(lot_ids)
    return {"lot_id": np.array(lot_ids, dtype=object if isinstance(lot_ids[0], str)
                               else float),
            "account_id": np.array(accounts or ["a"] * n, dtype=object),
            "symbol": np.array(["VTI"] * n, dtype=object),
            "shares": np.array(shares, dtype=float)}


def test_distinct_keys_decide_alone():
    hh = np.array([1, 0, 0, 1])
    cols = _lots(["b", "z", "a", "a"], [1.0, 2.0, 3.0, 4.0])
    # household 0: lot a (row 2) then z (row 1); household 1: a (row 3) then b (row 0)
    assert canonical_order("lots", hh, cols).tolist() == [2, 1, 3, 0]


def test_tied_keys_are_ordered_by_the_other_columns_whatever_the_file_order():
    hh = np.zeros(3, dtype=np.int64)
    cols = _lots(["x", "x", "a"], [5.0, 1.0, 9.0])
    assert canonical_order("lots", hh, cols).tolist() == [2, 1, 0]
    shuffled = _lots(["x", "a", "x"], [1.0, 9.0, 5.0])
    assert canonical_order("lots", hh, shuffled).tolist() == [1, 0, 2]


def test_empty_number_keys_tie_too():
    hh = np.zeros(3, dtype=np.int64)
    cols = _lots([np.nan, 7.0, np.nan], [5.0, 1.0, 2.0])
    # numbers first, then the two empty ids, which the shares order: 2.0 (row 2), 5.0 (row 0)
    assert canonical_order("lots", hh, cols).tolist() == [1, 2, 0]
