"""Reading a folder of tables: round trip to the JSON households, and every failure named."""

from __future__ import annotations

import pandas as pd
import pytest

from taxopt import synth
from taxopt.batch.tables import read_tables
from taxopt.domain import from_dict
from taxopt.errors import InvalidInput

from .conftest import canonical, make_households, same_household, write_tables


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_round_trip_gives_the_same_households(tmp_path, fmt):
    hhs = make_households(6)
    # a per-household price override and a household with no recent trades
    hhs[2]["securities"] = [dict(s, price=s["price"] * 1.1) if s["symbol"] == "VTI" else s
                            for s in hhs[2]["securities"]]
    hhs[3]["recent_trades"] = []
    tables = read_tables(write_tables(synth.to_tables(hhs), tmp_path / fmt, fmt))
    assert tables.household_ids == sorted(h["household_id"] for h in hhs)
    items = list(tables.items())
    assert [e for _, _, e in items] == [None] * len(hhs)
    for (hid, raw, _), orig in zip(items, hhs, strict=True):
        assert hid == orig["household_id"]
        got, want = from_dict(raw), from_dict(canonical(orig))
        same_household(got, want)
    vti = from_dict(items[2][1]).securities.symbol.index("VTI")
    assert from_dict(items[2][1]).securities.price[vti] == pytest.approx(301.25 * 1.1)
    assert from_dict(items[1][1]).securities.price[vti] == 301.25


def test_multi_class_funds_become_exposures(tmp_path):
    tables = read_tables(write_tables(synth.to_tables(make_households(1)), tmp_path, "csv"))
    aor = next(s for s in tables.shared_securities if s["symbol"] == "AOR")
    assert aor["exposures"] == {"us_equity": 0.37, "intl_equity": 0.23, "us_bonds": 0.4}
    assert "asset_class" not in aor


def test_typed_parquet_columns(tmp_path):
    """Dates as real dates and ids as integers in Parquet read like their text forms."""
    hhs = make_households(2)
    rows = synth.to_tables(hhs)
    folder = write_tables(rows, tmp_path, "parquet")
    for name, col in (("households", "as_of"), ("lots", "acquired")):
        frame = pd.read_parquet(folder / f"{name}.parquet")
        frame[col] = pd.to_datetime(frame[col])
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    items = list(read_tables(folder).items())
    for (_, raw, err), orig in zip(items, hhs, strict=True):
        assert err is None
        same_household(from_dict(raw), from_dict(canonical(orig)))


def _folder(tmp_path, mutate=None, fmt="csv"):
    rows = synth.to_tables(make_households(4))
    if mutate:
        mutate(rows)
    return write_tables(rows, tmp_path / "t", fmt)


def test_missing_required_column_names_table_and_column(tmp_path):
    folder = _folder(tmp_path)
    frame = pd.read_csv(folder / "lots.csv").drop(columns=["symbol"])
    frame.to_csv(folder / "lots.csv", index=False)
    with pytest.raises(InvalidInput) as err:
        read_tables(folder)
    assert err.value.line() == ("input: table lots (lots.csv): field 'symbol': "
                                "required column is missing")


def test_unknown_column_is_a_warning_and_missing_table_an_error(tmp_path):
    folder = _folder(tmp_path)
    frame = pd.read_csv(folder / "accounts.csv")
    frame["min_cashh"] = 0
    frame.to_csv(folder / "accounts.csv", index=False)
    tables = read_tables(folder)
    assert tables.warnings == [
        "table accounts (accounts.csv): column 'min_cashh' is not a column of this table; "
        "ignored (known columns: household_id, account_id, goal_id, tax_type, cash, "
        "cash_flow, min_cash, restricted, allowed, max_withdrawal, max_deposit, min_withdrawal, "
        "penalty_applies)"]
    assert [e for _, _, e in tables.items()] == [None] * 4
    (folder / "accounts.csv").unlink()
    with pytest.raises(InvalidInput, match="table accounts: missing"):
        read_tables(folder)


def test_both_formats_of_one_table_is_an_error(tmp_path):
    folder = _folder(tmp_path)
    pd.read_csv(folder / "goals.csv").to_parquet(folder / "goals.parquet")
    with pytest.raises(InvalidInput, match=r"goals\.parquet and goals\.csv; keep one"):
        read_tables(folder)


def test_row_without_household_rejects_that_row_only(tmp_path):
    def blank(rows):
        rows["lots"][5]["household_id"] = None

    tables = read_tables(_folder(tmp_path, blank))
    assert tables.rejects == [("", "lots", "table lots (lots.csv) row 6", "household_id",
                               "empty; every row must name its household")]
    assert [e for _, _, e in tables.items()] == [None] * 4


def test_optional_tables_may_be_absent(tmp_path):
    folder = _folder(tmp_path)
    for name in ("bands", "recent_trades"):
        (folder / f"{name}.csv").unlink()
    items = list(read_tables(folder).items())
    assert all(err is None for _, _, err in items)
    assert all(raw["recent_trades"] == [] for _, raw, _ in items)


def test_inconsistent_households_fail_alone(tmp_path):
    def spoil(rows):
        rows["bands"].append({"household_id": "syn-000001", "account_id": "nope",
                              "asset_class": "us_bonds", "lo": 0.0, "hi": 0.5})
        rows["households"].append(dict(rows["households"][2]))          # syn-000002 twice
        rows["lots"].append({**rows["lots"][0], "household_id": "ghost"})  # no household row
        row = next(r for r in rows["lots"] if r["household_id"] == "syn-000003")
        row["shares"] = "lots"                                           # not a number

    folder = _folder(tmp_path, spoil)
    items = {hid: (raw, err and str(err)) for hid, raw, err in read_tables(folder).items()}
    assert items["syn-000000"][1] is None
    band_row = len(pd.read_csv(folder / "bands.csv"))          # the appended, last row
    assert items["syn-000001"][1] == (f"household syn-000001: table bands (bands.csv) row "
                                      f"{band_row}: field 'account_id': unknown account "
                                      "'nope'")
    assert items["syn-000002"][1] == ("household syn-000002: households: field "
                                      "'household_id': 2 rows in table households; expected one")
    assert items["ghost"][1] == ("household ghost: households: no row in table households "
                                 "(the household has rows in lots)")
    raw3 = items["syn-000003"][0]
    with pytest.raises(InvalidInput, match=r"lots\[0\] \(lot_id L-0001\): field 'shares'"):
        from_dict(raw3)


def test_a_household_row_overrides_any_attribute_of_a_shared_security(tmp_path):
    """One client's own wash-group mapping and an adviser's restriction apply to that client
    only: empty cells keep the shared value, the other households keep the shared row."""
    hhs = make_households(3)
    rows = synth.to_tables(hhs)
    bnd = next(r for r in rows["securities"] if r["symbol"] == "BND")
    rows["securities"].append({**dict.fromkeys(bnd), "symbol": "BND", "household_id":
                               "syn-000001", "price": 70.0, "wash_group": "agg_bonds",
                               "tradable": False})
    tables = read_tables(write_tables(rows, tmp_path, "csv"))
    secs = {h: {s["symbol"]: s for s in raw["securities"]} for h, raw, _ in tables.items()}
    assert secs["syn-000001"]["BND"] == {**secs["syn-000000"]["BND"], "price": 70.0,
                                         "wash_group": "agg_bonds", "tradable": False}
    assert secs["syn-000000"]["BND"] == secs["syn-000002"]["BND"]
    assert secs["syn-000000"]["BND"]["wash_group"] == "bbg_us_agg_float_adj"
    hh = from_dict(next(raw for h, raw, _ in tables.items() if h == "syn-000001"))
    assert not hh.securities.tradable[list(hh.securities.symbol).index("BND")]


def test_a_household_security_row_is_validated_for_that_household_only(tmp_path):
    rows = synth.to_tables(make_households(2))
    bnd = next(r for r in rows["securities"] if r["symbol"] == "BND")
    rows["securities"].append({**dict.fromkeys(bnd), "symbol": "BND", "household_id":
                               "syn-000001", "qualified": 1.5})
    items = {h: e and str(e) for h, _, e in read_tables(write_tables(rows, tmp_path,
                                                                     "csv")).items()}
    assert items == {"syn-000000": None,
                     "syn-000001": "household syn-000001: securities (symbol BND): field "
                                   "'qualified': Input should be less than or equal to 1"}


def test_bad_shared_security_rejects_only_the_households_using_it(tmp_path):
    def spoil(rows):
        bnd = next(r for r in rows["securities"] if r["symbol"] == "BND")
        bnd["price"] = -1.0
        # syn-000002 sells its BND and can buy it nowhere: it does not use BND
        rows["lots"][:] = [r for r in rows["lots"]
                           if not (r["household_id"] == "syn-000002" and r["symbol"] == "BND")]
        rows["recent_trades"][:] = [r for r in rows["recent_trades"]
                                    if not (r["household_id"] == "syn-000002"
                                            and r["symbol"] == "BND")]
        for r in rows["accounts"]:
            if r["household_id"] == "syn-000002":
                r["allowed"], r["restricted"] = "VTI;VXUS", None

    tables = read_tables(_folder(tmp_path, spoil))
    row = 1 + next(i for i, r in enumerate(synth.to_tables(make_households(4))["securities"])
                   if r["symbol"] == "BND")
    items = {h: (raw, e and str(e)) for h, raw, e in tables.items()}
    rows = synth.to_tables(make_households(4))
    spoil(rows)
    # how each household uses BND, from its rows: holds, traded, offers it in a menu
    use: dict[str, str] = {}
    for r in rows["accounts"]:
        if "BND" in (r.get("allowed") or "").split(";"):
            use[r["household_id"]] = f"names it in 'allowed' of account {r['account_id']}"
    for r in rows["recent_trades"]:
        if r["symbol"] == "BND":
            use[r["household_id"]] = "traded it in the last 30 days"
    for r in rows["lots"]:
        if r["symbol"] == "BND":
            use[r["household_id"]] = "holds it"
    assert "syn-000002" not in use and "holds it" in use.values()
    where = f"table securities (securities.csv) row {row}"
    for h, (raw, err) in items.items():
        if h in use:
            assert err == (f"household {h}: {where}: field 'price': Input should be greater "
                           f"than 0 (shared symbol BND: this household {use[h]})")
        else:   # solved without BND (it may not buy it either)
            assert err is None
            assert "BND" not in from_dict(raw).securities.symbol
    assert "BND" not in {s["symbol"] for s in tables.shared_securities}
    assert tables.rejects == [("", "securities", where, "price",
                               "Input should be greater than 0")]
    assert tables.warnings == [f"{where}: symbol 'BND' rejected (field 'price': Input should "
                               "be greater than 0); the households that hold, traded or "
                               "offer it in a menu without rows of their own for it are "
                               "rejected, the others are solved"]


def test_parquet_text_over_row_groups_reads_like_csv(tmp_path):
    """Parquet text columns are read as their dictionaries (one per row group): the cells,
    empty and bad ones included, are those of the same table written as CSV."""
    import pyarrow.parquet as pq

    rows = synth.to_tables(make_households(4))
    lots = rows["lots"]
    lots[1]["acquired"] = "20200101"                  # a bad date, first row group
    lots[5]["symbol"] = None                          # an empty cell
    hid = lots[-1]["household_id"]
    lots[-1]["household_id"] = f" {hid}"              # a padded id, last row group
    csv = write_tables(rows, tmp_path / "csv", "csv")
    folder = write_tables(rows, tmp_path / "parquet", "parquet")
    pq.write_table(pq.read_table(folder / "lots.parquet"), folder / "lots.parquet",
                   row_group_size=len(lots) // 3)
    assert pq.ParquetFile(folder / "lots.parquet").metadata.num_row_groups >= 3

    def seen(tables, suffix):
        items = [(h, raw, None if err is None else str(err).replace(suffix, ""))
                 for h, raw, err in tables.items()]
        return items, [tuple(x.replace(suffix, "") for x in r) for r in tables.listed]

    got, want = seen(read_tables(folder), ".parquet"), seen(read_tables(csv), ".csv")
    assert got == want
    errors = [e for _, _, e in got[0] if e is not None]
    assert any("row 2" in e and "(for 20200101 write 2020-01-01)" in e for e in errors)
    assert any(f"row {len(lots)}" in e and f"meant for household '{hid}'?" in e
               for e in errors)


def test_release_rows_keeps_what_the_merge_and_report_need(tmp_path):
    """Once every chunk is shipped the driver drops the rows; ids, rejects and warnings stay."""
    def mutate(rows):
        rows["lots"][0]["household_id"] = ""           # a row of no household
        rows["accounts"][0]["colour"] = "red"          # an unknown column: a warning

    tables = read_tables(_folder(tmp_path, mutate))
    kept = (list(tables.household_ids), list(tables.rejects), list(tables.listed),
            list(tables.warnings), len(tables))
    assert len(kept[0]) == 4 and kept[1] and kept[3]
    assert tables.chunk(kept[0][:1]).splits["lots"].ranges
    tables.release_rows()
    assert (tables.household_ids, tables.rejects, tables.listed, tables.warnings,
            len(tables)) == kept
    assert tables.splits == {} and tables.overrides is None


def test_id_problems_checks_the_whole_column_at_once_and_each_id_only_if_it_fails():
    import numpy as np

    from taxopt.batch.checks import all_plain_ids, id_problems

    assert all_plain_ids(["BR-01", "a |b", "x y"])          # inner spaces are fine
    assert not all_plain_ids(["BR-01", "BR-02 ", "BR-03"])  # padded in the middle
    assert not all_plain_ids([" BR-01", "BR-02"])
    assert not all_plain_ids(["BR-01", "BR\u00a002"])        # a no-break space
    ids = np.array(["BR-01", "a |b", None, "BR-02 ", "tab\there", "BR-02 "], dtype=object)
    assert id_problems(ids) == [
        (3, "has leading or trailing whitespace, got 'BR-02 '"),
        (4, "contains a control character (U+0009) at position 3; ids must be printable, "
            "got 'tab\\there'"),
        (5, "has leading or trailing whitespace, got 'BR-02 '")]
    assert id_problems(np.array(["BR-01", "a |b", None], dtype=object)) == []


def test_household_ids_and_dates_are_checked_by_the_schemas_own_rules_and_words():
    import datetime as dt

    import numpy as np
    import pandas as pd

    from taxopt.batch.tables import date_problems, household_id_problems, printable_id
    from taxopt.domain.schema import _printable_id

    ids = np.array(["a", "b\u00a0", "c\x1bd", None, "a"], dtype=object)
    assert household_id_problems(ids) == [
        (1, "has leading or trailing whitespace, got 'b\\xa0'"),
        (2, "contains a control character (U+001B) at position 1; ids must be "
            "printable, got 'c\\x1bd'"),
        (3, "empty; every row must name its household")]
    with pytest.raises(ValueError, match=r"^has leading or trailing whitespace$"):
        _printable_id("b\u00a0")         # the same words as a scenario's id
    assert printable_id("line\nbreak\u2028\x1b") == "line\\nbreak\\u2028\\x1b"
    cells = pd.Series(["2024-01-15", "2025-02-30", dt.datetime(2024, 1, 15, 9, 30), None,
                       dt.date(2024, 1, 15)], dtype=object)
    assert date_problems(cells) == [
        (1, "not a calendar date (day is out of range for month), got '2025-02-30'"),
        (2, "expected an ISO date YYYY-MM-DD, not a date with a time of day, got "
            "datetime.datetime(2024, 1, 15, 9, 30)")]
