"""One solve's time limit, kept on taxopt's own clock.

HiGHS measures ``time_limit`` against a run clock that keeps counting across every
``run()`` of the same instance; a long-lived instance would stop early, then refuse
to start at all. So taxopt keeps the deadline itself (``time.monotonic``) and gives
each ``run()`` exactly the time that is left.
"""

from __future__ import annotations

import time


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
