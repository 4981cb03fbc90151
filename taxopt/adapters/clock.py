"""One solve's time limit, kept on taxopt's own clock.

HiGHS measures ``time_limit`` against a run clock that keeps counting across every
``run()`` of the same instance; a long-lived instance would stop early, then refuse
to start at all. So taxopt keeps the deadline itself (``time.monotonic``) and gives
each ``run()`` exactly the time that is left.
"""

from __future__ import annotations

import copy
import time

# What a HiGHS solve costs before it can report anything: condensing and loading the
# program (`taxopt.adapters.highs.load_program`), then HiGHS's own set-up before its first
# look at the clock (scaling, the first factorization), which no time limit interrupts.
# Measured in CPU time on the 30,000- and 100,000-lot books: loading 0.12-0.15 us per
# entry of the program's matrix, the set-up 0.33-0.47 us per entry of the condensed one
# (half as many); wall times at load 3.5 on 2 cores are 1.5x that. Set well below, so a
# solve is only skipped when it surely could not finish (it also needs its iterations);
# on a loaded machine the set-up is judged by the loading just measured instead
# (`START_OVER_LOAD`).
LOAD_SECONDS_PER_ENTRY = 0.08e-6
START_SECONDS_PER_ENTRY = 0.08e-6
START_OVER_LOAD = 0.8     # HiGHS's set-up over the loading before it: 1.0-1.4 measured


class Deadline:
    """The moment one solve must end, and what is left of it."""

    __slots__ = ("end", "seconds")

    def __init__(self, seconds: float):
        self.seconds = float(seconds)
        self.end = time.monotonic() + self.seconds

    def left(self) -> float:
        """Seconds left (negative once passed)."""
        return self.end - time.monotonic()

    @property
    def expired(self) -> bool:
        return self.left() <= 0.0

    def share(self, fraction: float) -> Deadline:
        """A deadline ``fraction`` of the way from now to this one."""
        out = Deadline(0.0)
        out.end += fraction * (self.end - out.end)
        return out


def cannot_start(deadline: Deadline, entries: int, load: bool = True,
                 loading: float = 0.0) -> bool:
    """Whether what is left of ``deadline`` is less than a HiGHS solve of a matrix of
    ``entries`` entries needs before it can report anything (loading it too when
    ``load``): then the caller returns at once, stopped, instead of overrunning.
    ``loading``: the seconds loading this program took; HiGHS's set-up takes about as
    long (the same passes over the same entries), so it scales the estimate on a
    machine slowed by other processes."""
    per = START_SECONDS_PER_ENTRY + (LOAD_SECONDS_PER_ENTRY if load else 0.0)
    return deadline.left() < max(per * entries, START_OVER_LOAD * loading)


BOUND_SECONDS_PER_ENTRY = 0.05e-6
"""What the engine needs, per matrix entry, to state the gap of the household as it
stands when a solve is stopped before any plan (`taxopt.adapters.gap`: about 25 ms at
30,000 lots idle, the Lagrangian bound's first rows included) ..."""
BOUND_OVER_LOAD = 0.5
"""... or this share of the time loading the program took, whichever is more: on a
loaded machine both slow down alike (the gap took 20-60 ms at 30,000 lots at load 5)."""


def reserve_for_bound(deadline: Deadline, entries: int, loading: float = 0.0) -> Deadline:
    """``deadline`` less the time the gap of a stopped solve takes: a large program's
    (``deadline`` itself when its share by size is below a millisecond)."""
    if BOUND_SECONDS_PER_ENTRY * entries < 1e-3:
        return deadline
    out = copy.copy(deadline)
    out.end = deadline.end - max(BOUND_SECONDS_PER_ENTRY * entries, BOUND_OVER_LOAD * loading)
    return out
