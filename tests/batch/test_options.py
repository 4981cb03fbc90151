"""Per-household options: table ``options``, ``--config`` and ``--set``, and their precedence.

Precedence, lowest first: built-in default < config file < --set < household rows. The
gain-budget scenario realizes long-term gains up to its cap (3000 -> 2999.70, 2000 ->
1980.30, 1000 -> 977.60, none -> 6571.10: whole shares of its lots), so the cap in force is
read back from results.realized_long_term.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from taxopt.batch.convert import to_rows, write_folder
from taxopt.batch.tables import read_tables
from taxopt.cli import cli
from taxopt.domain.load import read_raw

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
CAP_TO_LT = {1000.0: 977.6, 2000.0: 1980.3, 3000.0: 2999.7, None: 6571.1}


def _folder(tmp_path: Path, household_cap: float | None = None, extra_rows=()) -> Path:
    """Two copies of the gain-budget household with no options of their own; ``gb-own``
    gets a cap row when ``household_cap`` is given."""
    raw = read_raw(SCENARIOS / "tax_gain_budget.json")
    raw.pop("options")
    rows = to_rows([{**raw, "household_id": "gb-plain"}, {**raw, "household_id": "gb-own"}])
    if household_cap is not None:
        rows["options"].append({"household_id": "gb-own", "key": "max_realized_long_term",
                                "value": str(household_cap)})
    rows["options"].extend(extra_rows)
    folder = tmp_path / "in"
    write_folder(rows, folder)
    return folder


def _run(tmp_path: Path, folder: Path, *args: str) -> tuple[int, dict[str, float]]:
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["batch", str(folder), "--out", str(out), "--workers", "1",
                                   "--quiet", *args])
    if res.exit_code not in (0, 1):
        (line,) = res.stderr.splitlines()      # one log record, a JSON line off a terminal
        record = json.loads(line)
        assert (record["level"], record["exit_code"]) == ("error", res.exit_code)
        return res.exit_code, {"message": record["message"]}
    t = pq.read_table(out / "results.parquet", columns=["household_id", "realized_long_term"])
    return res.exit_code, dict(zip(*t.to_pydict().values(), strict=True))


def _config(tmp_path: Path, cap: float) -> str:
    path = tmp_path / "nightly.toml"
    path.write_text(f"[options]\nmax_realized_long_term = {cap}\n")
    return str(path)


def test_built_in_default_applies_without_any_setting(tmp_path):
    code, lt = _run(tmp_path, _folder(tmp_path))
    assert code == 0 and lt == {"gb-own": CAP_TO_LT[None], "gb-plain": CAP_TO_LT[None]}


def test_config_file_beats_the_built_in_default(tmp_path):
    code, lt = _run(tmp_path, _folder(tmp_path), "--config", _config(tmp_path, 2000.0))
    assert code == 0 and lt == {"gb-own": 1980.3, "gb-plain": 1980.3}


def test_set_beats_the_config_file(tmp_path):
    code, lt = _run(tmp_path, _folder(tmp_path), "--config", _config(tmp_path, 2000.0),
                    "--set", "max_realized_long_term=1000")
    assert code == 0 and lt == {"gb-own": 977.6, "gb-plain": 977.6}


def test_household_rows_beat_set_and_config_for_that_household_only(tmp_path):
    code, lt = _run(tmp_path, _folder(tmp_path, household_cap=3000.0),
                    "--config", _config(tmp_path, 2000.0), "--set",
                    "max_realized_long_term=1000")
    assert code == 0 and lt == {"gb-own": 2999.7, "gb-plain": 977.6}


def test_a_household_row_of_null_lifts_a_batch_wide_cap(tmp_path):
    folder = _folder(tmp_path, extra_rows=[{"household_id": "gb-own",
                                            "key": "max_realized_long_term", "value": "null"}])
    code, lt = _run(tmp_path, folder, "--set", "max_realized_long_term=1000")
    assert code == 0 and lt == {"gb-own": 6571.1, "gb-plain": 977.6}


@pytest.mark.parametrize(("args", "message"), [
    (["--set", "lot_relief=lifo"],
     "input: --set: field 'lot_relief': must be 'optimal', 'fifo', 'hifo' or "
     "'min_tax', got 'lifo'"),
    (["--set", "tracking_wieght=0.2"], "input: --set: field 'tracking_wieght': unknown "
     "option; known options are"),
    (["--set", "no_equals"], "input: --set: expected KEY=VALUE, got 'no_equals'"),
])
def test_a_bad_batch_wide_option_is_exit_2_naming_its_flag(tmp_path, args, message):
    code, got = _run(tmp_path, _folder(tmp_path), *args)
    assert code == 2 and got["message"].startswith(message)


def test_a_bad_config_file_is_exit_2_naming_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[options]\ntime_limit = -1\n")
    code, got = _run(tmp_path, _folder(tmp_path), "--config", str(path))
    assert code == 2
    assert got["message"] == (f"input: --config {path} [options]: field 'time_limit': "
                              "must be a finite number > 0, got -1")
    path.write_text("[solver]\ntime_limit = 5\n")
    code, got = _run(tmp_path, _folder(tmp_path), "--config", str(path))
    assert code == 2
    assert got["message"] == (f"input: --config {path}: field 'solver': unknown table "
                              "or key; the config file holds an [options] table")


def test_bad_option_rows_reject_their_household_naming_table_row_and_field(tmp_path):
    folder = _folder(tmp_path, extra_rows=[
        {"household_id": "gb-own", "key": "lot_relief", "value": "lifo"},
        {"household_id": "gb-plain", "key": "tracking_wieght", "value": "0.2"},
    ])
    tables = read_tables(folder)
    errors = {h: str(e) for h, _, e in tables.items()}
    assert errors["gb-own"] == ("household gb-own: table options (options.csv) row 1: field "
                                "'value': lot_relief: must be 'optimal', 'fifo', 'hifo' or "
                                "'min_tax', got 'lifo'")
    assert errors["gb-plain"].startswith(
        "household gb-plain: table options (options.csv) row 2: field 'key': 'tracking_wieght' "
        "is an unknown option; known options are adapter, carryforward_value, ")


def test_two_rows_for_one_option_reject_the_household(tmp_path):
    folder = _folder(tmp_path, household_cap=3000.0, extra_rows=[
        {"household_id": "gb-own", "key": "max_realized_long_term", "value": "2000"}])
    errors = {h: e and str(e) for h, _, e in read_tables(folder).items()}
    assert errors == {"gb-plain": None, "gb-own": "household gb-own: options (key "
                      "max_realized_long_term): field 'key': two rows for option "
                      "'max_realized_long_term'"}


@pytest.mark.parametrize("word", ["none", "null"])
def test_none_spells_null_in_toml_set_and_household_rows(tmp_path, word):
    # TOML has no null and a command line is text: the word says it there; a household
    # row takes JSON null or the word. A household must be able to turn off what the
    # night's config turned on.
    from taxopt.batch.settings import batch_defaults
    from taxopt.options import Options

    path = tmp_path / "nightly.toml"
    path.write_text(f'[options]\nrecapture_horizon_years = "{word}"\n')
    # read as null at once, so the manifest (and --resume's comparison) says null
    assert batch_defaults(path) == {"recapture_horizon_years": None}
    assert batch_defaults(None, [f"recapture_horizon_years={word}"]) == {
        "recapture_horizon_years": None}
    folder = _folder(tmp_path, extra_rows=[
        {"household_id": "gb-own", "key": "recapture_horizon_years", "value": word}])
    tables = read_tables(folder)
    tables.defaults = {"recapture_horizon_years": 5.0}
    own, plain = (Options.from_dict(tables.assemble(h)["options"]) for h in ("gb-own",
                                                                             "gb-plain"))
    assert (own.recapture_horizon_years, plain.recapture_horizon_years) == (None, 5.0)


def test_option_values_are_typed_like_the_json_options(tmp_path):
    folder = _folder(tmp_path, extra_rows=[
        {"household_id": "gb-own", "key": "lot_relief", "value": "fifo"},        # bare text
        {"household_id": "gb-own", "key": "no_short_term_gains", "value": "true"},
        {"household_id": "gb-own", "key": "protect_long_term_days", "value": "10"},
        {"household_id": "gb-own", "key": "tax_model", "value": '"lot"'},        # JSON text
    ])
    tables = read_tables(folder)
    tables.defaults = {"tracking_weight": 0.2}
    raw = tables.assemble("gb-own")
    assert raw["options"] == {"tracking_weight": 0.2, "lot_relief": "fifo",
                              "no_short_term_gains": True, "protect_long_term_days": 10,
                              "tax_model": "lot"}
    assert tables.assemble("gb-plain")["options"] == {"tracking_weight": 0.2}
