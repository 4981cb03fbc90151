"""Errors cross process boundaries (batch workers) without losing what they carry."""

import pickle

from taxopt.errors import InvalidInput


def test_invalid_input_pickles_with_the_other_problems_found():
    err = InvalidInput("hh-1", "lots row 3", "shares", "must be > 0, got -5")
    err.more = [InvalidInput("hh-1", "lots row 7", "basis", "must be finite, got nan")]
    back = pickle.loads(pickle.dumps(err))
    assert str(back) == "household hh-1: lots row 3: field 'shares': must be > 0, got -5"
    assert [str(e) for e in back.more] == [
        "household hh-1: lots row 7: field 'basis': must be finite, got nan"]


def test_invalid_input_without_more_pickles_as_before():
    back = pickle.loads(pickle.dumps(InvalidInput(None, "", None, "empty file")))
    assert str(back) == "input: empty file" and not hasattr(back, "more")
