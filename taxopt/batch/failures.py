"""Failures of the machinery around a batch, not of its input: worth retrying (exit code 3).

Bad input is `taxopt.errors.InvalidInput` (exit code 2, fix the data); these
say the output folder, the disk or the cluster failed, and the same command
may well succeed later.
"""

from __future__ import annotations

from ..errors import TaxoptError

#: The exit code of every infrastructure failure (contract section 4).
EXIT_INFRASTRUCTURE = 3


class InfrastructureFailure(TaxoptError):
    """The output folder, the file system or the cluster failed; retrying may succeed."""


class OutputFailure(InfrastructureFailure):
    """The output folder cannot be written, or what taxopt wrote there cannot be read back."""


class OutputLocked(InfrastructureFailure):
    """Another batch is writing into the same output folder."""
