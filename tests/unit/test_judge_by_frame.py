"""The frame judgement (tasks/evaluate/by_frame.py) against its specification, target_rules through
tasks/evaluate/one_by_one.py: on generated targets and figures, every row the expressions take is
judged exactly as target_rules judges it (status, mark, threshold, reasons in both languages, inputs);
the rows they leave are the ones target_rules alone can judge. The same on every target of the bench
data: tests/warehouse/test_bench_judgement.py."""

from __future__ import annotations

import json
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from branchkpi.tasks.evaluate import ROW, _frame_of, by_frame, one_by_one

UNITS = {
    "35": {"key": "35", "name_ja": "山口", "name_romaji": "yamaguchi", "prefecture_code": "35"},
    "33:倉敷市": {"key": "33:倉敷市", "name_ja": "倉敷市", "name_romaji": None, "prefecture_code": "33"},
}
# a flow, a level, a stock, a KPI the catalogue does not know
KPI_IDS = ["lifestyle_checkup_rate", "claim_review_reduction_rate", "health_committee_members", "own_kpi"]
COMPARATORS = [
    "ge",
    "le",
    "eq",
    "count_ge",
    "count_le",
    "ge_prev_year",
    "le_prev_year",
    "gt_prev_year",
    "not_set",
    "done",
    "single_bid_composite",
    "between",
]
PLACES = {c: None for c in one_by_one.PLACE}

# printed figures (a few decimals, as the plans and reports write them), edges, and any float
printed = st.decimals(min_value=-1000, max_value=100_000, places=2, allow_nan=False).map(float)
edges = st.sampled_from([0.0, -0.0, 0.5, 94.5, 95.0, 96.3, 100.0, 1e-9, 2e-9, 1e7, 1234567.0, 36.666666666])
values = st.one_of(printed, edges, st.floats(allow_nan=True, allow_infinity=True, width=64))


@st.composite
def figure(draw: Any, prefix: str) -> dict[str, Any]:
    if draw(st.booleans()) and draw(st.booleans()):
        return {f"{prefix}_{c}": None for c in ("value", "unit", "period", "index")}
    index = draw(st.integers(1, 12))
    return {
        f"{prefix}_value": draw(values),
        f"{prefix}_unit": draw(st.sampled_from(["pct", "pct", "pct", "count", "yen"])),
        f"{prefix}_period": draw(st.sampled_from(["FY", "Q1", "Q2", "Q3", "2020-09"])),
        f"{prefix}_index": index,
    }


@st.composite
def target(draw: Any, row: int) -> dict[str, Any]:
    comparator = draw(st.sampled_from(COMPARATORS))
    unit = draw(st.sampled_from(["pct", "pct", "count", "yen", "people"]))
    return {
        "target_row": row,
        "unit_key": draw(st.sampled_from([*UNITS, "99:unknown"])),
        "fiscal_year": 2020,
        "kpi_id": draw(st.sampled_from(KPI_IDS)),
        "comparator": comparator,
        "target_value": draw(st.one_of(st.none(), values)),
        "unit": unit,
        "target_text": draw(st.sampled_from([None, "96.3%以上"])),
        **PLACES,
        "previous_year": 2019,
        **draw(figure("actual")),
        **draw(figure("year_end")),
        **draw(figure("at_point")),
    }


@st.composite
def targets(draw: Any) -> list[dict[str, Any]]:
    n = draw(st.integers(1, 25))
    return [draw(target(i)) for i in range(n)]


SCHEMA = {
    "target_row": pl.UInt32,
    "unit_key": pl.String,
    "fiscal_year": pl.Int32,
    "kpi_id": pl.String,
    "comparator": pl.String,
    "target_value": pl.Float64,
    "unit": pl.String,
    "target_text": pl.String,
    "group_ja": pl.String,
    "item_no": pl.String,
    "item_ja": pl.String,
    "sub_item_no": pl.String,
    "sub_item_ja": pl.String,
    "position": pl.Int32,
    "previous_year": pl.Int32,
    **{
        f"{p}_{c}": t
        for p in ("actual", "year_end", "at_point")
        for c, t in (("value", pl.Float64), ("unit", pl.String), ("period", pl.String), ("index", pl.Int32))
    },
}


def both_ways(rows: list[dict[str, Any]], quarter: int | None) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(picked with the figures the judgement reads, the frame judgement, target_rules on the same rows)."""
    upto = 12 if quarter is None else 3 * quarter
    period = "FY" if quarter is None else f"Q{quarter}"
    picked = by_frame.with_figures(pl.DataFrame(rows, schema=SCHEMA), quarter, upto)
    chosen = picked.filter("_by_expressions")
    judged = by_frame.judge(chosen, quarter, period, UNITS, one_by_one.PLACE).select(list(ROW)).cast(ROW)
    specified = _frame_of(
        [one_by_one.evaluate_one(r, {}, UNITS, quarter, upto, period) for r in chosen.iter_rows(named=True)]
    )
    return picked, judged, specified


def assert_same(judged: pl.DataFrame, specified: pl.DataFrame) -> None:
    assert judged.drop("inputs").to_dicts() == specified.drop("inputs").to_dicts()
    assert [json.loads(j) for j in judged["inputs"]] == [json.loads(j) for j in specified["inputs"]]


@settings(max_examples=80, deadline=None)
@given(targets(), st.sampled_from([None, 1, 2, 3, 4]))
def test_the_expressions_judge_as_target_rules_does(rows: list[dict[str, Any]], quarter: int | None) -> None:
    _, judged, specified = both_ways(rows, quarter)
    assert_same(judged, specified)


@settings(max_examples=30, deadline=None)
@given(targets(), st.sampled_from([None, 2]))
def test_what_the_expressions_leave_is_what_only_target_rules_can_judge(
    rows: list[dict[str, Any]], quarter: int | None
) -> None:
    picked, _, _ = both_ways(rows, quarter)
    for row in picked.filter(~pl.col("_by_expressions")).iter_rows(named=True):
        value = [row["target_value"], row["actual_value"], row["previous_value"]]
        unusual = any(
            v is not None and (v != v or v in (float("inf"), float("-inf")) or str(v) == "-0.0") for v in value
        )
        assert (
            row["comparator"] not in by_frame.FRAME_COMPARATORS
            or row["unit"] not in ("pct", "count", "yen")
            or unusual
            or (row["actual_index"] is not None and row["actual_unit"] != row["unit"])
            or (row["previous_index"] is not None and row["previous_unit"] != row["unit"])
            or (row["comparator"] in ("ge", "le", "eq", "count_ge", "count_le") and row["target_value"] is None)
            or (row["comparator"].startswith("count_") and row["unit"] != "count")
            or (quarter is not None and (row["_cumulative"] or row["_stock"]))  # pro-rated, on a stock's path
        ), row


def test_a_plain_ge_row_reads_as_before() -> None:
    row = {
        "target_row": 0,
        "unit_key": "35",
        "fiscal_year": 2020,
        "kpi_id": "card_recovery_rate",
        "comparator": "ge",
        "target_value": 96.3,
        "unit": "pct",
        "target_text": "96.3%以上",
        **PLACES,
        "previous_year": 2019,
        "actual_value": 95.82,
        "actual_unit": "pct",
        "actual_period": "FY",
        "actual_index": 12,
        **{f"{p}_{c}": None for p in ("year_end", "at_point") for c in ("value", "unit", "period", "index")},
    }
    _, judged, specified = both_ways([row], None)
    assert_same(judged, specified)
    (only,) = judged.to_dicts()
    assert (only["status"], only["mark"], only["threshold"]) == ("missed", "×", 96.3)
    assert only["reason_ja"] == "実績 95.82% は目標 96.30% 以上に届かず"
    assert only["reason"] == "actual 95.82 not ≥ target 96.30"
