"""`model.write_mps` / `model.write_lp`: files another solver reads back to the same optimum."""

from __future__ import annotations

import pytest

import taxopt


@pytest.mark.parametrize("suffix", [".mps", ".lp", ".txt"])
def test_written_model_reads_back_to_the_same_optimum(hh, tmp_path, suffix):
    import highspy

    model = taxopt.build(hh)
    writer = model.write_mps if suffix == ".mps" else model.write_lp
    path = writer(tmp_path / "sub" / f"model{suffix}")
    assert path.exists() and path.stat().st_size > 0
    text = path.read_text()
    if suffix == ".mps":
        assert "ROWS" in text and "COLUMNS" in text and "sell_0" in text
    else:
        assert text.lstrip("\\").splitlines()[1].strip() == "min" or "min" in text[:200]
        assert "cash_0" in text and "sell_0" in text
    if suffix == ".txt":
        return
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)   # HiGHS's scheduler is per process (taxopt uses 1)
    h.readModel(str(path))
    assert h.getNumCol() == model.program.n
    h.run()
    assert h.getInfo().objective_function_value == pytest.approx(
        model.solve().solution.objective, rel=1e-7)
