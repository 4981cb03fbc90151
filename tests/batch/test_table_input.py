"""What the batch reader makes of damaged input folders: a truncated file, a misspelled
column, a bad shared security, bad rows found only per household, unusable household ids.

Every input is the bundled ``scenarios/batch`` folder, copied and damaged by hand; the
expected rows, records and messages are written out from the damage done (a CSV's row
N is its line N + 1: the header is line 1)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from taxopt.batch.tables import read_tables
from taxopt.cli import cli
from taxopt.errors import InvalidInput

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios" / "batch"
N_HOUSEHOLDS = 23


def _copy(tmp_path: Path, name: str = "in") -> Path:
    folder = tmp_path / name
    shutil.copytree(SCENARIOS, folder)
    return folder


def _lines(folder: Path, table: str) -> list[str]:
    return (folder / f"{table}.csv").read_text().splitlines()


def _write(folder: Path, table: str, lines: list[str]) -> None:
    (folder / f"{table}.csv").write_text("\n".join(lines) + "\n")


def _edit_row(folder: Path, table: str, row: int, column: str, value: str) -> str:
    """Set one cell of a CSV (``row`` 1-based, header excluded); returns the old value."""
    lines = _lines(folder, table)
    header = lines[0].split(",")
    cells = lines[row].split(",")
    old, cells[header.index(column)] = cells[header.index(column)], value
    lines[row] = ",".join(cells)
    _write(folder, table, lines)
    return old


def _errors(folder: Path) -> dict[str, str | None]:
    return {h: e and str(e) for h, _, e in read_tables(folder).items()}


def _batch(folder: Path, out: Path):
    return CliRunner().invoke(cli, ["batch", str(folder), "--out", str(out), "--workers", "1",
                                    "--quiet", "--no-timings"])


# --------------------------------------------------------------------------- empty files


EMPTY = "the file is empty (not even a header)"
EMPTY_OPTIONAL = f"{EMPTY}; for no rows write the header alone, or leave the file out"


@pytest.mark.parametrize("table", ["bands", "options", "recent_trades", "lots"])
def test_a_zero_byte_optional_csv_is_refused_not_read_as_no_rows(tmp_path, table):
    folder = _copy(tmp_path)
    (folder / f"{table}.csv").write_bytes(b"")
    with pytest.raises(InvalidInput) as err:
        read_tables(folder)
    assert err.value.line() == f"input: table {table} ({table}.csv): {EMPTY_OPTIONAL}"


def test_a_zero_byte_table_stops_the_batch_with_exit_2(tmp_path):
    folder = _copy(tmp_path)
    (folder / "bands.csv").write_bytes(b"")
    res = _batch(folder, tmp_path / "out")
    assert res.exit_code == 2
    assert f"input: table bands (bands.csv): {EMPTY_OPTIONAL}" in res.output
    assert not (tmp_path / "out" / "results.parquet").exists()


def _bands_of(folder: Path) -> dict[str, dict]:
    out = {}
    for hid, raw, err in read_tables(folder).items():
        assert err is None, err
        out.update({f"{hid}/{a['account_id']}": a["bands"] for a in raw["accounts"]
                    if a.get("bands")})
    return out


def test_a_header_only_csv_and_a_zero_row_parquet_are_empty_tables(tmp_path):
    folder = _copy(tmp_path)
    assert _bands_of(folder)["infeasible/megacorp-401k"] == {"us_bonds": [0.6, 1.0]}
    _write(folder, "bands", _lines(folder, "bands")[:1])        # the header alone
    assert _bands_of(folder) == {}
    pd.read_csv(folder / "bands.csv").to_parquet(folder / "bands.parquet")
    (folder / "bands.csv").unlink()
    assert pq.read_metadata(folder / "bands.parquet").num_rows == 0
    assert _bands_of(folder) == {}
    (folder / "bands.parquet").write_bytes(b"")
    with pytest.raises(InvalidInput) as err:
        read_tables(folder)
    assert err.value.line() == ("input: table bands (bands.parquet): the file is empty "
                                "(0 bytes); for no rows write the header alone, or leave "
                                "the file out")


def test_a_csv_of_blank_lines_or_an_empty_gzip_is_empty_too(tmp_path):
    import gzip

    folder = _copy(tmp_path)
    (folder / "options.csv").write_text("\n\n")
    with pytest.raises(InvalidInput, match=r"^input: table options \(options\.csv\): the "
                                           r"file is empty \(not even a header\)"):
        read_tables(folder)
    (folder / "options.csv").unlink()
    (folder / "options.csv.gz").write_bytes(gzip.compress(b""))
    with pytest.raises(InvalidInput, match=r"^input: table options \(options\.csv\.gz\): "
                                           r"the file is empty \(not even a header\)"):
        read_tables(folder)


# --------------------------------------------------------------------------- columns


def _rename_column(folder: Path, table: str, old: str, new: str) -> None:
    lines = _lines(folder, table)
    header = lines[0].split(",")
    header[header.index(old)] = new
    _write(folder, table, [",".join(header), *lines[1:]])


@pytest.mark.parametrize("name", ["min_csh", "Min_Cash", "min-cash", "min cash", "mni_cash",
                                  "min_cassh", "min_cach"])
def test_a_misspelled_optional_column_is_an_error_naming_the_column_it_means(tmp_path, name):
    # the same name but for case and - _ space, or one character apart
    folder = _copy(tmp_path)
    _rename_column(folder, "accounts", "min_cash", name)
    with pytest.raises(InvalidInput) as err:
        read_tables(folder)
    assert err.value.line() == (f"input: table accounts (accounts.csv): unknown column "
                                f"'{name}' (did you mean 'min_cash'?)")


def test_a_misspelled_column_stops_the_batch_with_exit_2(tmp_path):
    folder = _copy(tmp_path)
    _rename_column(folder, "accounts", "min_cash", "min_csh")
    res = _batch(folder, tmp_path / "out")
    assert res.exit_code == 2
    assert "unknown column 'min_csh' (did you mean 'min_cash'?)" in res.output


@pytest.mark.parametrize(("old", "name"), [("min_cash", "min_cash_pct"),
                                           ("cash_flow", "cash_flow_date"),
                                           ("min_cash", "min_cash_typo"),
                                           ("min_withdrawal", "min_deposit")])
def test_a_column_of_ones_own_near_one_of_ours_is_only_a_warning(tmp_path, old, name):
    # more than one character from every absent column of the table (min_deposit is
    # two from max_deposit): the contract allows columns of one's own
    folder = _copy(tmp_path)
    _rename_column(folder, "accounts", old, name)
    tables = read_tables(folder)
    assert [w.split(";")[0] for w in tables.warnings] == [
        f"table accounts (accounts.csv): column '{name}' is not a column of this table"]


def test_an_unrelated_extra_column_is_still_only_a_warning(tmp_path):
    folder = _copy(tmp_path)
    lines = _lines(folder, "recent_trades")
    _write(folder, "recent_trades", [lines[0] + ",advisor_note"]
           + [line + ",called" for line in lines[1:]])
    tables = read_tables(folder)
    assert [w.split(";")[0] for w in tables.warnings] == [
        "table recent_trades (recent_trades.csv): column 'advisor_note' is not a column "
        "of this table"]
    assert sum(e is None for _, _, e in tables.items()) == N_HOUSEHOLDS


# --------------------------------------------------------------------------- shared securities


def _append(folder: Path, table: str, *rows: str) -> int:
    """Append rows to a CSV; returns the row number (1-based) of the first one."""
    lines = _lines(folder, table)
    _write(folder, table, lines + list(rows))
    return len(lines)


def test_bad_shared_rows_spare_households_with_their_own_rows_for_the_symbol(tmp_path):
    # every household of the scenarios has its own BND row: two shared BND rows that
    # disagree on the price touch none of them
    folder = _copy(tmp_path)
    row = _append(folder, "securities", "BND,74.3,us_bonds,,,,,,,,,",
                  "BND,75.0,us_bonds,,,,,,,,,")
    assert row == 126
    tables = read_tables(folder)
    books = {h: (raw, err) for h, raw, err in tables.items()}
    assert [h for h, (_, err) in books.items() if err is not None] == []
    bnd = next(s for s in books["deposit"][0]["securities"] if s["symbol"] == "BND")
    assert bnd == {"symbol": "BND", "price": 74.3, "yield": 0.038, "qualified": 0.0,
                   "asset_class": "us_bonds"}           # its own row, nothing shared
    assert tables.rejects == [("", "securities", "table securities (securities.csv) row 126",
                               "price", "the rows of this symbol disagree on 'price'")]


def _bad_shared_bnd(tmp_path: Path) -> tuple[Path, int]:
    """A shared BND row with a negative price; deposit (which holds BND) loses its own
    BND row, tax_protect_price's own BND row leaves the price to the shared row."""
    folder = _copy(tmp_path)
    lines = _lines(folder, "securities")
    assert lines[4] == "BND,74.3,us_bonds,,0.038,0.0,,,,,,deposit"
    del lines[4]
    _write(folder, "securities", lines)
    assert _edit_row(folder, "securities", 75, "price", "") == "74.3"
    assert _lines(folder, "securities")[75].endswith(",tax_protect_price")
    return folder, _append(folder, "securities", "BND,-1,us_bonds,,,,,,,,,")


def test_a_bad_shared_row_rejects_exactly_the_households_that_use_it(tmp_path):
    folder, row = _bad_shared_bnd(tmp_path)
    assert row == 125
    where = "table securities (securities.csv) row 125: field 'price': "
    errors = _errors(folder)
    assert {h: e for h, e in errors.items() if e} == {
        "deposit": f"household deposit: {where}Input should be greater than 0 "
                   "(shared symbol BND: this household holds it)",
        "tax_protect_price": f"household tax_protect_price: {where}Input should be greater "
                             "than 0 (shared symbol BND; this household's own rows leave "
                             "'price' to the shared rows)"}
    assert len(errors) == N_HOUSEHOLDS


def test_use_of_a_shared_symbol_is_holding_trading_or_offering_it():
    from taxopt.batch.tables import _use_of

    acc = {"account_id": "ira", "allowed": ["VTI"]}
    assert _use_of({"lots": [{"symbol": "BND"}], "accounts": [acc]}, "BND") == "holds it"
    assert _use_of({"recent_trades": [{"symbol": "BND"}], "accounts": [acc]},
                   "BND") == "traded it in the last 30 days"
    assert _use_of({"accounts": [{"account_id": "ira", "allowed": ["VTI", "BND"]}]},
                   "BND") == "names it in 'allowed' of account ira"
    # never buying it, or merely able to: solved without it
    assert _use_of({"accounts": [{"account_id": "ira", "restricted": ["BND"]}]}, "BND") is None
    assert _use_of({"accounts": [acc]}, "BND") is None          # a menu without it
    assert _use_of({"accounts": [acc, {"account_id": "bk"}]}, "BND") is None


# --------------------------------------------------------------------------- rows per household


def test_rows_found_bad_per_household_are_all_listed_by_file_row(tmp_path):
    folder = _copy(tmp_path)
    # taxable_only's lots are rows 139-144: a cell error on row 140, a date on row 141
    # that is ISO-shaped but no day of the calendar
    assert _edit_row(folder, "lots", 140, "shares", "-5") == "110.0"
    assert _edit_row(folder, "lots", 141, "acquired", "2020-13-01") == "2022-06-16"
    # withdrawal's 16 lots (rows 185-200): every lot id with a trailing space
    lines = _lines(folder, "lots")
    for i in range(185, 201):
        cells = lines[i].split(",")
        assert cells[0] == "withdrawal"
        cells[1] += " "
        lines[i] = ",".join(cells)
    _write(folder, "lots", lines)
    # deposit: a lot in an account it does not have, one of a symbol nobody has
    assert _edit_row(folder, "lots", 2, "account_id", "brokerge") == "brokerage"
    assert _edit_row(folder, "lots", 3, "symbol", "VTII") == "VTI"
    assert _edit_row(folder, "accounts", 2, "goal_id", "long-trem") == "long-term"
    tables = read_tables(folder)
    listed = tables.listed
    lots = "table lots (lots.csv) row"
    assert [r for r in listed if r[0] == "taxable_only"] == [
        ("taxable_only", "lots", f"{lots} 140", "shares", "must be > 0, got -5.0"),
        ("taxable_only", "lots", f"{lots} 141", "acquired",
         "not a calendar date (month must be in 1..12), got '2020-13-01'")]
    ids = [(r[2], r[3], r[4]) for r in listed if r[0] == "withdrawal"]
    assert len(ids) == 16
    assert ids[0] == (f"{lots} 185", "lot_id",
                      "has leading or trailing whitespace, got 'BR-VTI-01 '")
    assert [r[0] for r in ids] == [f"{lots} {i}" for i in range(185, 201)]
    assert [r for r in listed if r[0] == "deposit"] == [
        ("deposit", "accounts", "table accounts (accounts.csv) row 2", "goal_id",
         "unknown goal 'long-trem'"),
        ("deposit", "lots", f"{lots} 2", "account_id", "unknown account 'brokerge'"),
        ("deposit", "lots", f"{lots} 3", "symbol", "unknown symbol 'VTII'")]
    errors = {h: e for h, e in _errors(folder).items() if e}
    assert errors == {
        "taxable_only": f"household taxable_only: {lots} 140: field 'shares': must be > 0, "
                        "got -5.0",
        "withdrawal": f"household withdrawal: {lots} 185: field 'lot_id': has leading or "
                      "trailing whitespace, got 'BR-VTI-01 '",
        "deposit": "household deposit: table accounts (accounts.csv) row 2: field "
                   "'goal_id': unknown goal 'long-trem'"}


# --------------------------------------------------------------------------- household ids


def _rename(folder: Path, old: str, new: str) -> None:
    """Give a household another id in every table (the CSV quotes it as needed)."""
    for path in folder.glob("*.csv"):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if "household_id" in frame:
            frame.loc[frame["household_id"] == old, "household_id"] = new
            frame.to_csv(path, index=False)


def test_a_household_id_with_a_control_character_is_a_household_named_escaped(tmp_path):
    folder = _copy(tmp_path)
    _rename(folder, "deposit", "line\nbreak")
    tables = read_tables(folder)
    assert len(tables.household_ids) == N_HOUSEHOLDS
    assert "line\\nbreak" in tables.household_ids
    assert tables.rejects == []
    problem = ("contains a control character (U+000A) at position 4; ids must be printable, "
               "got 'line\\nbreak'")
    mine = [r for r in tables.listed if r[0] == "line\\nbreak"]
    # deposit's rows: 1 household, 5 own securities, 3 goals, 2 accounts, 11 lots
    assert [r[1] for r in mine] == (["households"] + ["securities"] * 5 + ["goals"] * 3
                                    + ["accounts"] * 2 + ["lots"] * 11)
    assert {r[3:] for r in mine} == {("household_id", problem)}
    assert _errors(folder)["line\\nbreak"] == (
        "household line\\nbreak: table households (households.csv) row 1: field "
        f"'household_id': {problem}")


# --------------------------------------------------------------------------- one batch


def test_one_batch_rejects_only_the_damaged_households_and_lists_every_row(tmp_path):
    folder, _ = _bad_shared_bnd(tmp_path)
    assert _edit_row(folder, "lots", 141, "acquired", "2020-13-01") == "2022-06-16"
    _rename(folder, "withdrawal", "tab\there")
    out = tmp_path / "out"
    res = _batch(folder, out)
    assert res.exit_code == 1, res.output
    results = pq.read_table(out / "results.parquet").to_pydict()
    status = dict(zip(results["household_id"], results["status"], strict=True))
    assert len(status) == N_HOUSEHOLDS
    assert {h: s for h, s in status.items() if s != "optimal"} == {
        "deposit": "invalid_input", "tax_protect_price": "invalid_input",
        "taxable_only": "invalid_input", "tab\\there": "invalid_input",
        "infeasible": "infeasible"}
    rejects = pq.read_table(out / "rejects.parquet").to_pylist()
    by = {}
    for r in rejects:
        by.setdefault(r["household_id"], []).append((r["table"], r["record"], r["field"]))
    shared = ("securities", "table securities (securities.csv) row 125", "price")
    assert by[""] == [shared]
    assert by["deposit"] == [shared]
    assert by["tax_protect_price"] == [shared]
    assert by["taxable_only"] == [("lots", "table lots (lots.csv) row 141", "acquired")]
    assert len(by["tab\\there"]) == 1 + 5 + 3 + 2 + 16      # every row of withdrawal
    assert {r[2] for r in by["tab\\there"]} == {"household_id"}
    assert set(by) == {"", "deposit", "tax_protect_price", "taxable_only", "tab\\there"}


def test_a_household_without_its_households_row_is_told_that_first(tmp_path):
    # every security of the scenarios is some household's own: VTI is nobody's shared
    # symbol, so the orphan lot's symbol is unknown too, a consequence listed second
    folder = _copy(tmp_path)
    row = _append(folder, "lots", "orphan,X1,brokerage,VTI,10,1000,2020-01-01")
    (_, _, err), = [item for item in read_tables(folder).items() if item[0] == "orphan"]
    assert str(err) == ("household orphan: households: no row in table households (the "
                        "household has rows in lots)")
    assert [str(e) for e in err.more] == [
        f"household orphan: table lots (lots.csv) row {row}: field 'symbol': unknown "
        "symbol 'VTI'"]


def test_a_bad_shared_symbol_only_restricted_is_dropped_and_the_household_solved(tmp_path):
    # ZZZ's one shared row is bad; deposit only restricts it in its brokerage account:
    # it cannot buy ZZZ either way, so it is solved as if ZZZ were not restricted
    folder = _copy(tmp_path)
    assert _lines(folder, "accounts")[1].startswith("deposit,brokerage,")
    assert _edit_row(folder, "accounts", 1, "restricted", "ZZZ;VXUS") == ""
    row = _append(folder, "securities", "ZZZ,-1,us_equity,,,,,,,,,")
    books = {h: (raw, err) for h, raw, err in read_tables(folder).items()}
    raw, err = books["deposit"]
    assert err is None
    brokerage = next(a for a in raw["accounts"] if a["account_id"] == "brokerage")
    assert brokerage["restricted"] == ["VXUS"]
    assert "ZZZ" not in {s["symbol"] for s in raw["securities"]}
    out = tmp_path / "out"
    res = _batch(folder, out)
    assert res.exit_code == 1, res.output     # rejects.parquet lists the shared row
    results = pq.read_table(out / "results.parquet").to_pydict()
    status = dict(zip(results["household_id"], results["status"], strict=True))
    assert status["deposit"] == "optimal"
    rejects = pq.read_table(out / "rejects.parquet").to_pylist()
    assert [(r["household_id"], r["record"], r["field"]) for r in rejects] == [
        ("", f"table securities (securities.csv) row {row}", "price")]


def test_rows_are_named_by_their_place_in_the_file_blank_lines_counted(tmp_path):
    # taxable_only's lot on row 140 (file line 141) goes bad; a blank line after the
    # header and one after row 100 move it to row 142, as an editor counts; trailing
    # blank lines and the blank rows themselves are no rows at all
    folder = _copy(tmp_path)
    assert _edit_row(folder, "lots", 140, "shares", "-5") == "110.0"
    lines = _lines(folder, "lots")
    _write(folder, "lots", [lines[0], "", *lines[1:101], "", *lines[101:], "", ""])
    assert _lines(folder, "lots")[142].startswith("taxable_only,")
    tables = read_tables(folder)
    assert [r for r in tables.listed if r[0] == "taxable_only"] == [
        ("taxable_only", "lots", "table lots (lots.csv) row 142", "shares",
         "must be > 0, got -5.0")]
    assert tables.rejects == []
    assert len(tables) == N_HOUSEHOLDS
