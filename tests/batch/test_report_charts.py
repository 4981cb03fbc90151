"""The report's Vega-Lite specs are written by hand: they must be what Altair writes."""

from __future__ import annotations

import pytest

from taxopt.batch.report import CHART_CONFIG, drift_chart, tax_vs_turnover_chart


def _altair(chart):
    spec = chart.configure_axis(labelFontSize=12, titleFontSize=13).configure_legend(
        labelFontSize=12, titleFontSize=12).to_dict()
    spec.pop("$schema", None)
    return spec


@pytest.mark.parametrize("ticks", [[0.0, -100.0, 100.0],
                                   [0.0, -100.0, 100.0, -1000.0, 1000.0, -1e4, 1e4]])
def test_tax_against_turnover_is_altairs_spec(ticks):
    alt = pytest.importorskip("altair")
    chart = alt.Chart(alt.NamedData("households")).mark_circle(size=28, opacity=0.55).encode(
        x=alt.X("turnover_pct:Q", title="turnover (% of household value)"),
        y=alt.Y("tax:Q", title="tax the plan adds ($; below 0 = saved)",
                scale=alt.Scale(type="symlog", constant=100),
                axis=alt.Axis(format="$,.0f", values=sorted(ticks))),
        color=alt.Color("status:N", scale=alt.Scale(domain=["optimal", "feasible"],
                                                    range=["#1565c0", "#ef6c00"]),
                        legend=alt.Legend(title="status", orient="top")),
        tooltip=[alt.Tooltip("household:N"), alt.Tooltip("tax:Q", format="$,.2f"),
                 alt.Tooltip("turnover_pct:Q", title="turnover %", format=",.1f"),
                 alt.Tooltip("status:N")],
    ).properties(width=760, height=320)
    ours = {"config": CHART_CONFIG, **tax_vs_turnover_chart(ticks)}
    assert ours == _altair(chart)
    assert list(ours) == list(_altair(chart))
    assert ours["encoding"]["y"]["axis"]["values"] == sorted(ticks)


def test_drift_is_altairs_spec():
    alt = pytest.importorskip("altair")
    chart = alt.Chart(alt.NamedData("drift")).mark_line(interpolate="step-after").encode(
        x=alt.X("drift:Q", title="worst goal's drift (largest gap to target)",
                axis=alt.Axis(format=".1%")),
        y=alt.Y("share:Q", title="share of households at or below",
                axis=alt.Axis(format=".0%")),
        color=alt.Color("when:N", sort=["before", "after"],
                        scale=alt.Scale(domain=["before", "after"],
                                        range=["#ef6c00", "#1565c0"]),
                        legend=alt.Legend(title=None, orient="top")),
    ).properties(width=760, height=260)
    ours = {"config": CHART_CONFIG, **drift_chart()}
    assert ours == _altair(chart)
    assert list(ours) == list(_altair(chart))
