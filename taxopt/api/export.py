"""Write a model's program as an MPS or LP file, for any other solver.

The file is written by `taxopt.adapters.export.write_program` (HiGHS): columns
``<block>_<i>`` (``sell_0``, ``buy_3``), rows ``<block>_<i>`` (``cash_0``), the
objective the sum of the program's terms with their constant as the offset.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..adapters.export import write_program
from ..model.builder import RebalanceModel


def write_model(model: RebalanceModel, path: str | os.PathLike[str], suffix: str) -> Path:
    """Write ``model``'s program to ``path`` in the format of ``suffix`` (``.mps``/``.lp``);
    see `taxopt.adapters.export.write_program`."""
    return write_program(model.program, model.options, path, suffix)


def write_mps(model: RebalanceModel, path: str | os.PathLike[str]) -> Path:
    """Write the model as a (free-format) MPS file; see `write_model`."""
    return write_model(model, path, ".mps")


def write_lp(model: RebalanceModel, path: str | os.PathLike[str]) -> Path:
    """Write the model as a CPLEX-style LP file; see `write_model`."""
    return write_model(model, path, ".lp")
