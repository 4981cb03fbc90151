"""Write a program as an MPS or LP file through HiGHS, for any other solver.

Columns are named ``<block>_<i>`` (``sell_0``, ``buy_3``, ``wash_1``) and rows
``<block>_<i>`` (``cash_0``, ``tolerance_2``), in the order of
`taxopt.model.program.Program`; the objective is the sum of the program's terms
with their constant as the objective offset.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..model.program import Program
from ..options import Options

FORMATS = {".mps": "MPS", ".lp": "LP"}
"""The file formats by suffix."""


def write_program(prog: Program, options: Options, path: str | os.PathLike[str],
                  suffix: str) -> Path:
    """Write ``prog`` to ``path`` in the format of ``suffix`` (``.mps``/``.lp``).

    HiGHS picks the format from the file name, so a path with another suffix is
    written through a temporary file of the right one.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    OSError
        When HiGHS cannot write the file.
    """
    from .highs import new_highs, pass_program

    if suffix not in FORMATS:
        raise ValueError(f"unknown model format {suffix!r}; use one of {sorted(FORMATS)}")
    h = new_highs(options, prog.is_mip, prog.n)
    pass_program(h, prog)
    for block in prog.vars.values():
        for i in range(block.size):
            h.passColName(block.start + i, f"{block.name}_{i}")
    at = 0
    for name, rows in prog.rows.items():
        safe = name.replace("-", "_")
        for i in range(rows.A.shape[0]):
            h.passRowName(at + i, f"{safe}_{i}")
        at += rows.A.shape[0]
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"model{suffix}"
        status = h.writeModel(str(out))
        if not out.exists():
            raise OSError(f"HiGHS could not write {FORMATS[suffix]} file {target} ({status})")
        shutil.move(str(out), target)
    return target
