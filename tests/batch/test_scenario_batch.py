"""scenarios/batch: the bundled scenarios as a batch folder, made with `taxopt convert`."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from taxopt.cli import cli

ROOT = Path(__file__).resolve().parents[2] / "scenarios"
FOLDER = ROOT / "batch"
SOURCES = sorted(p for p in ROOT.glob("*.json") if p.name != "direct_indexing_500.json") + \
    sorted((ROOT / "batch_sources").glob("*.json"))


def test_the_folder_is_what_convert_makes_of_the_scenarios(tmp_path):
    res = CliRunner().invoke(cli, ["convert", *map(str, SOURCES), "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    made = sorted(p.name for p in tmp_path.iterdir())
    assert made == sorted(p.name for p in FOLDER.iterdir() if p.suffix == ".csv")
    for name in made:
        assert (tmp_path / name).read_bytes() == (FOLDER / name).read_bytes(), name


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """The folder batched once, as the nightly job runs it."""
    out = tmp_path_factory.mktemp("scenario_batch") / "night"
    res = CliRunner().invoke(cli, ["batch", str(FOLDER), "--out", str(out), "--workers", "1",
                                   "--config", str(FOLDER / "nightly.toml"), "--quiet",
                                   "--no-timings"])
    return res.exit_code, out


def test_the_folder_batches_with_its_config_and_per_household_options(night):
    code, out = night
    assert code == 1          # infeasible.json is infeasible, by design
    cols = ["household_id", "status", "est_tax", "realized_short_term", "realized_long_term"]
    rows = {r["household_id"]: r for r in pq.read_table(out / "results.parquet",
                                                        columns=cols).to_pylist()}
    assert len(rows) == len(SOURCES) == 23
    assert {h for h, r in rows.items() if r["status"] != "optimal"} == {"infeasible"}
    # options rows: the FIFO custodian pays $2,185.62 (scenarios/README.md: $2,186) ...
    assert rows["tax_lot_relief_fifo"]["est_tax"] == 2185.62
    # ... and the same book as taxable_only under FIFO relief pays more than optimal relief
    assert rows["client_fifo_custodian"]["est_tax"] > rows["taxable_only"]["est_tax"]
    assert rows["tax_gain_budget"]["realized_long_term"] == 2999.7        # cap 3,000
    assert rows["client_tax_budget"]["est_tax"] <= 2000.0
    assert rows["client_tax_budget"]["realized_short_term"] <= 0.0
    # location off: the same book as three_account_location, another plan
    assert rows["client_location_off"]["est_tax"] != rows["three_account_location"]["est_tax"]
    import json

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["options"]["time_limit"] == 20.0 and manifest["options"]["mip_rel_gap"] \
        == 1e-4


def test_an_extracted_household_replays_the_trades_the_batch_wrote(night):
    """The morning replay: extract a household of the night (with the night's config),
    solve it alone, and get exactly the batch's trade rows for it."""
    import pyarrow.compute as pc

    from taxopt.batch.convert import extract
    from taxopt.batch.settings import batch_defaults
    from taxopt.domain.load import from_dict
    from taxopt.engine import rebalance

    _, out = night
    config = FOLDER / "nightly.toml"
    trades = pq.read_table(out / "trades.parquet")
    for hid in ("client_tax_budget", "three_account_location", "tax_lot_relief_fifo"):
        night = trades.filter(pc.equal(trades["household_id"], hid)).to_pydict()
        hh = from_dict(extract(FOLDER, hid, batch_defaults(config)))
        replay = rebalance(hh, hh.options).trade_columns()
        assert {c: replay[c] for c in night} == night, hid
        assert len(night["household_id"]) > 0
