"""Every example runs (as a script) and shows what it claims."""

from __future__ import annotations

import runpy

import pytest

from .conftest import ROOT

EXAMPLES = ROOT / "examples"


def run(name: str) -> dict[str, object]:
    return runpy.run_path(str(EXAMPLES / name), run_name="__main__")


def test_every_example_is_tested():
    assert {p.name for p in EXAMPLES.glob("*.py")} == {
        "mean_variance.py", "esg_sector_cap.py", "resolve_after_price_shock.py"}


def test_mean_variance(capsys):
    g = run("mean_variance.py")
    res = g["result"]
    assert res.status == "optimal" and res.violations == []
    assert res.solution.solver == "CLARABEL"
    table = g["table"]
    sigma, mu = g["sigma"], g["mu"]
    risk = {c: float(table[c] @ sigma @ table[c]) for c in ("tax_only", "mean_variance")}
    assert risk["mean_variance"] < risk["tax_only"]            # the risk term lowers risk
    assert float(mu @ table["mean_variance"]) > 0
    assert "volatility" in capsys.readouterr().out


def test_esg_sector_cap(capsys):
    g = run("esg_sector_cap.py")
    res = g["result"]
    assert res.status == "optimal" and res.violations == []
    assert "sector_cap" in res.binding
    assert g["weight"] <= g["CAP"] + 1e-9
    assert not set(g["EXCLUDED"]) & set(g["bought"].index)
    assert "binding user constraints" in capsys.readouterr().out


def test_resolve_after_price_shock(capsys):
    g = run("resolve_after_price_shock.py")
    assert g["first"].compiled is True
    assert g["reweighted"].compiled is False and g["after"].compiled is False
    assert g["rebuilt"] is False
    assert g["after"].assessment.est_tax == pytest.approx(
        g["reference"].assessment.est_tax, abs=0.01)
    assert "price shock" in capsys.readouterr().out
