"""The error taxonomy: every failure a user can act on has a class and a one-line message.

Messages name the household, the record and the field, so an ops analyst can fix
the input without reading a traceback.
"""

from __future__ import annotations


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
        return (type(self), (self.household, self.record, self.field, self.problem))

    def line(self) -> str:
        """The one-line message shown to users."""
        where = f"household {self.household}" if self.household else "input"
        rec = f": {self.record}" if self.record else ""
        fld = f": field '{self.field}'" if self.field else ""
        return f"{where}{rec}{fld}: {self.problem}"


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


class AuditFailure(TaxoptError):
    """A plan broke a hard rule when recomputed from its orders alone; it is never written."""

    def __init__(self, household: str, violations: list[str]):
        self.household = household
        self.violations = violations
        super().__init__(f"household {household}: plan failed audit: " + "; ".join(violations))

    def __reduce__(self):
        return (type(self), (self.household, self.violations))
