"""The results table's review columns, on households whose figures are checked by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from taxopt.batch.results_row import REVIEW_COLUMNS, reason_column
from taxopt.batch.work import RESULT_COLUMNS, solve_chunk
from taxopt.plan.reasons import REASONS

from ..conftest import base_household

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _row(raw, lockstep: bool = False) -> dict:
    out = solve_chunk([(raw["household_id"], raw, None)], timings=False, lockstep=lockstep)
    return {c: v[0] for c, v in out["results"].items()}


def _scenario(name: str) -> dict:
    return json.loads((SCENARIOS / f"{name}.json").read_text())


def test_columns_are_appended_after_the_old_ones():
    assert RESULT_COLUMNS[:9] == ("household_id", "status", "message", "est_tax",
                                  "drift_before", "drift_after", "orders", "seconds", "solver")
    assert RESULT_COLUMNS[9:] == REVIEW_COLUMNS
    # names a query language takes without quoting
    assert all(c.isidentifier() for c in REVIEW_COLUMNS)
    assert "orders_withdrawal_funding" in REVIEW_COLUMNS


def test_base_household_by_hand():
    # taxable: 100 EQ lot A (long-term, +$40/sh), 20 EQ lot B (short-term, -$20/sh) at $100;
    # IRA: 500 BD at $10. Value $17,000, equity 12,000/17,000 = 70.6 % against 60 %.
    # The plan sells lot B ($2,000, -$400 short-term), buys 180 BD ($1,800) and 4 EQ2 ($200).
    row = _row(base_household(), lockstep=True)
    assert row["status"] == "optimal"
    assert row["household_value"] == 17000.0
    assert row["turnover"] == 4000.0                      # 2,000 + 1,800 + 200
    assert row["turnover_pct"] == 23.5294                 # 4,000 / 17,000
    assert row["realized_short_term"] == -400.0 and row["realized_long_term"] == 0.0
    assert row["year_tax_before"] == 0.0
    assert row["year_tax_after"] == -160.0                # -400 x 40 %
    assert row["est_tax"] == -160.0
    assert row["losses_harvested"] == 400.0
    assert row["wash_disallowed_loss"] == 0.0
    # EQ was sold at a loss on 2026-11-24: not to be bought for 30 days after
    assert json.loads(row["do_not_buy"]) == [
        {"wash_group": "EQ", "symbols": ["EQ"], "do_not_buy_before": "2026-12-25"}]
    counts = {r: row[reason_column("orders", r)] for r in REASONS}
    assert {r: k for r, k in counts.items() if k} == {"rebalance": 2, "substitute": 1}
    assert row["turnover_rebalance"] == 3800.0 and row["turnover_substitute"] == 200.0
    assert sum(row[reason_column("turnover", r)] for r in REASONS) == row["turnover"]
    assert sum(row[reason_column("orders", r)] for r in REASONS) == row["orders"] == 3
    assert json.loads(row["why"]) == {
        "tx": "sold $2,000 of equity and bought $1,800 of bonds to restore the goal; bought "
              "EQ2 in place of the loss lots sold; realized $400 short-term loss",
        "ira": "left alone: other accounts made the trades"}
    assert row["mip_gap"] == 0.0
    # lockstep brings the taxable account itself to 60/40: sells $4,800 of EQ, FIFO from
    # lot A (48 sh x $40 = $1,920 long-term gain x 20 % = $384)
    assert row["lockstep_est_tax"] == 384.0
    assert row["tax_saved_vs_lockstep"] == 544.0          # 384 - (-160)


def test_lockstep_is_off_unless_asked():
    row = _row(base_household())
    assert row["lockstep_est_tax"] is None and row["tax_saved_vs_lockstep"] is None


def test_washed_loss_by_hand():
    # 120 BND (basis $10,584) sold at $74.30 = $8,916: a $1,668 long-term loss; 40 BND
    # bought 12 days ago in the Roth replace 40 of the 120 shares: 1,668 x 40/120 = $556
    # disallowed (lost for good: the replacement is in a Roth). Lot JB-BND-02 adds 78 sh
    # at a $569.40 gain, so the net long-term result is -1,668 + 556 + 569.40 = -$542.60.
    row = _row(_scenario("tax_wash_recent_buy"))
    assert row["wash_disallowed_loss"] == 556.0
    assert row["losses_harvested"] == 1112.0              # 1,668 - 556: the part that counts
    assert row["realized_long_term"] == -542.6
    assert row["year_tax_before"] == 2330.0 and row["year_tax_after"] == 2225.28
    assert row["est_tax"] == round(2225.28 - 2330.0, 2)
    assert row["orders_withdrawal"] == 2 and row["turnover_withdrawal"] == 14711.4
    assert "($556 of loss disallowed by the wash-sale rule, not counted)" in json.loads(
        row["why"])["joint-brokerage"]


def test_goal_withdrawal_funding_and_payout_tax():
    # the retiree's goal takes $72,000 out: $23,050 from the brokerage, $48,950 from the
    # IRA; the sales raising it are 'withdrawal funding': BND $29,720 in the brokerage,
    # VTI $32,103.60 and VXUS $66,690 in the IRA = $128,513.60 in 3 orders
    row = _row(_scenario("goal_withdrawal_retiree"))
    assert row["orders_withdrawal_funding"] == 3
    assert row["turnover_withdrawal_funding"] == 128513.6
    assert row["orders"] == 7 == sum(row[reason_column("orders", r)] for r in REASONS)
    assert row["est_tax"] == -879.2
    assert row["est_tax_distributions"] == 5874.0          # on the IRA's $48,950 payout
    assert row["est_tax_total"] == 4994.8                  # 5,874 - 879.20


def test_infeasible_household_has_zero_turnover_and_says_why():
    row = _row(_scenario("infeasible"), lockstep=True)
    assert row["status"] == "infeasible"
    assert row["turnover"] == 0.0 and row["orders_rebalance"] == 0
    assert row["do_not_buy"] == "[]"
    assert set(json.loads(row["why"]).values()) == {"left alone: no plan (infeasible)"}
    assert row["tax_saved_vs_lockstep"] is None          # no plan to compare


def test_invalid_household_leaves_review_columns_empty():
    out = solve_chunk([("bad", None, "household bad: accounts[0]: field 'cash': negative")])
    row = {c: v[0] for c, v in out["results"].items()}
    assert row["status"] == "invalid_input"
    assert all(row[c] is None for c in REVIEW_COLUMNS)


def test_results_parquet_types(small_batch):
    schema = pq.read_schema(small_batch["out"] / "results.parquet")
    assert schema.names == list(RESULT_COLUMNS)
    assert schema.field("orders_location").type == pa.int64()
    assert schema.field("turnover_pct").type == pa.float64()
    assert schema.field("why").type == pa.string()
    res = pq.read_table(small_batch["out"] / "results.parquet").to_pydict()
    for i, orders in enumerate(res["orders"]):
        assert sum(res[reason_column("orders", r)][i] for r in REASONS) == orders
        assert sum(res[reason_column("turnover", r)][i] for r in REASONS) == pytest.approx(
            res["turnover"][i], abs=0.01 * len(REASONS))


def _from_summary(result) -> dict:
    """The results columns as the summary record gives them (what `plan_fields` reads
    without making the record)."""
    s = result.summary()
    goals = s["goals"].values()
    desc = s.get("solver")
    return {
        "status": s["status"], "message": s["message"], "est_tax": s["est_tax"],
        "drift_before": max((g["drift_before"] for g in goals), default=None),
        "drift_after": max((g["drift_after"] for g in goals), default=None),
        "orders": s["orders"], "turnover": s["turnover"],
        "solver": None if not desc else f"{desc['adapter']}/{desc['solver']} "
                                          f"{desc['version']}".strip(),
        "realized_short_term": s["realized_short_term"],
        "realized_long_term": s["realized_long_term"],
        "year_tax_before": s["year_tax_before"], "year_tax_after": s["year_tax_after"],
        "wash_disallowed_loss": s["wash_disallowed_loss"],
        "do_not_buy": json.dumps(s["wash_sale_restrictions"], separators=(",", ":")),
        "mip_gap": (desc or {}).get("mip_gap"),
        "why": json.dumps({a: acc["why"] for a, acc in s["accounts"].items()},
                          separators=(",", ":"), ensure_ascii=False),
        "est_tax_distributions": s["est_tax_distributions"],
        "est_tax_total": s["est_tax_total"],
    }


@pytest.mark.parametrize("name", ["tax_wash_recent_buy", "goal_withdrawal_retiree",
                                  "infeasible", "withdrawal", "deposit",
                                  "three_account_location", "tax_carryforward",
                                  "loss_harvest_wash_trap", "multi_asset_fund"])
def test_plan_fields_are_the_summary_figures(name):
    # the batch reads its columns off the result without the summary record: the same
    # figures, to the bit (types too: an int is not a float in Parquet)
    from taxopt.batch.results_row import plan_fields
    from taxopt.domain.load import from_dict
    from taxopt.engine import rebalance

    result = rebalance(from_dict(_scenario(name)))
    mine = plan_fields(result)
    theirs = _from_summary(result)
    assert {k: mine[k] for k in theirs} == theirs
    assert {k: type(mine[k]) for k in theirs} == {k: type(v) for k, v in theirs.items()}
    if name == "tax_wash_recent_buy":
        assert json.loads(mine["do_not_buy"])            # a restriction is listed
