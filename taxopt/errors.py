"""The error taxonomy: every failure a user can act on has a class and a one-line message.

Messages name the household, the record and the field, so an ops analyst can fix
the input without reading a traceback.
"""

from __future__ import annotations

import re
import unicodedata

# What a terminal or a log line must never receive raw from the input: C0 and C1 controls
# (newline, ESC of ANSI and OSC sequences, DEL), line and paragraph separators, and the
# bidirectional overrides that make one id look like another.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
SHOWN_MAX = 80      # characters of an input value echoed in a message


def printable(text: object, limit: int = SHOWN_MAX) -> str:
    """A value as a message may show it: controls escaped, at most ``limit`` characters.

    Only a bounded prefix is ever examined, so a huge value costs nothing to show.
    """
    raw = text if isinstance(text, str) else str(text)
    cut = len(raw) > limit
    head = raw[:limit]
    if _UNPRINTABLE.search(head):
        head = _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"),
                                head)
    return f"{head}... ({len(raw):,} characters)" if cut else head


def unprintable_at(text: str) -> int:
    """Position of the first character `printable` would escape, or -1."""
    m = _UNPRINTABLE.search(text)
    return m.start() if m else -1


def char_name(ch: str) -> str:
    """'U+001B' plus the character's name where Unicode gives one."""
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" {name}" if name else "")


class TaxoptError(Exception):
    """Base of every error taxopt raises on purpose."""


class InvalidInput(TaxoptError):
    """Bad input: names the household, the record and the field at fault (exit code 2)."""

    def __init__(self, household: str | None, record: str, field: str | None, problem: str):
        self.household = household
        self.record = record
        self.field = field
        self.problem = problem
        super().__init__(self.line())

    def __reduce__(self):  # survive pickling across processes (batch workers)
        # the state carries what callers attach, e.g. ``more``: the other problems found
        return (type(self), (self.household, self.record, self.field, self.problem),
                dict(self.__dict__))

    def line(self) -> str:
        """The one-line message shown to users."""
        where = f"household {printable(self.household)}" if self.household else "input"
        rec = f": {printable(self.record, 4 * SHOWN_MAX)}" if self.record else ""
        fld = f": field '{printable(self.field)}'" if self.field else ""
        return f"{where}{rec}{fld}: {printable(self.problem, 15 * SHOWN_MAX)}"


class InvalidOptions(InvalidInput):
    """An unknown or out-of-range optimizer option."""


class ProgramInfeasible(TaxoptError):
    """The hard rules cannot all hold; `reasons` say which relaxations would make them hold."""

    def __init__(self, household: str, reasons: list[str]):
        self.household = household
        self.reasons = reasons
        body = "; ".join(reasons) if reasons else "no relaxation diagnosis available"
        super().__init__(f"household {household}: infeasible: {body}")

    def __reduce__(self):
        return (type(self), (self.household, self.reasons))


class SolverError(TaxoptError):
    """The solver failed for a reason that is not the household's fault."""
