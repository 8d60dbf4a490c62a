"""Quality gate for KPI plan targets and actuals: suites `kpi_targets` and `kpi_actuals`.

Both run over the parsed rows plus context columns added by tasks.validate_kpi: the unit the KPI
catalogue expects (a % target is never stored for a count KPI, so it can never be compared with a
count actual), whether the comparator needs a value, percentages to check against 0–100, and whether
a dated actual lies inside its fiscal year."""

from __future__ import annotations

from branchkpi.domain import fiscal
from branchkpi.expectations.rules import Rule, in_japanese

TARGETS_SUITE = "kpi_targets"
ACTUALS_SUITE = "kpi_actuals"
STRUCTURE_SUITE = "kpi_plan_structure"
TARGET_KEY = ["reporting_unit", "fiscal_year", "kpi_id"]
ACTUAL_KEY = ["reporting_unit", "fiscal_year", "period", "kpi_id"]


def _common(last_fy: int) -> list[Rule]:
    return [
        Rule(
            "reporting_unit_known",
            "expect_column_values_to_not_be_null",
            {"column": "reporting_unit"},
            "unknown branch or municipality (branch: JIS code, 山口 or yamaguchi; municipality needs its "
            "prefecture in a column or the file name)",
            "branch",
            "reporting_unit_raw",
        ),
        Rule(
            "fiscal_year_readable",
            "expect_column_values_to_not_be_null",
            {"column": "fiscal_year"},
            "fiscal year not readable (2020, 令和2年度, R2)",
            "fiscal_year",
            "fiscal_year_raw",
        ),
        Rule(
            "fiscal_year_in_range",
            "expect_column_values_to_be_between",
            {"column": "fiscal_year", "min_value": fiscal.FIRST_FISCAL_YEAR, "max_value": last_fy + 1},
            f"fiscal year outside {fiscal.FIRST_FISCAL_YEAR}–{last_fy + 1}",
            "fiscal_year",
            "fiscal_year_raw",
        ),
        Rule(
            "kpi_known",
            "expect_column_values_to_not_be_null",
            {"column": "kpi_id"},
            "unknown KPI: give a kpi_id from the catalogue (branchkpi/domain/kpis.py) or its Japanese text",
            "kpi_id",
            "kpi_raw",
        ),
        Rule(
            "unit_known",
            "expect_column_values_to_not_be_null",
            {"column": "unit"},
            "unit not recognised (pct / % , count / 件 / 人, yen / 円)",
            "unit",
            "unit_raw",
        ),
        Rule(
            "unit_matches_kpi",
            "expect_column_pair_values_to_be_equal",
            {"column_A": "unit", "column_B": "unit_expected", "ignore_row_if": "either_value_is_missing"},
            "the unit is not the KPI's own (a % KPI is never given as a count, nor the reverse)",
            "unit",
            "unit_raw",
            extra_columns=("unit_expected",),
        ),
        Rule(
            "percentage_in_range",
            "expect_column_values_to_be_between",
            {"column": "pct_value", "min_value": 0, "max_value": 100},
            "a percentage outside 0–100",
            "value",
            "pct_value",
        ),
    ]


REASONS_JA = {
    "reporting_unit_known": "支部・市町村を読み取れない"
    "（支部は JISコード・山口・yamaguchi、市町村は列またはファイル名に都道府県が必要）",
    "fiscal_year_readable": "年度を読み取れない（例: 2020、令和2年度、R2）",
    "fiscal_year_in_range": "年度が対象範囲外",
    "kpi_known": "KPI を特定できない（カタログ branchkpi/domain/kpis.py の kpi_id または日本語の指標名で）",
    "unit_known": "単位を読み取れない（% / pct、件 / 人 / count、円 / yen）",
    "unit_matches_kpi": "単位が KPI 本来のものと違う（% の KPI を件数で、またはその逆）",
    "percentage_in_range": "割合が 0〜100% の範囲外",
    "comparator_known": "目標の比較方法を読み取れない（例: 94.5%以上、前年度以上）",
    "target_value_given": "この比較方法には目標値が必要",
    "one_target_per_kpi": "同じ KPI・単位・年度の目標がこのバッチに複数ある",
    "period_readable": "期間を読み取れない（年度、第1〜第4四半期、または 2020-09 のような月）",
    "period_in_fiscal_year": "月がその行の年度に含まれない（1〜3月は前の年度に属する）",
    "value_is_number": "実績が数値ではない",
    "value_not_negative": "実績が負の値",
    "one_actual_per_period": "同じ KPI・単位・期間の実績がこのバッチに複数ある",
    "group_given": "分野が空欄",
    "item_given": "項目が空欄（小項目だけでは計画上の位置が決まらない）",
    "one_place_per_kpi": "同じ KPI・単位・年度の計画上の位置がこのバッチに複数ある",
}


def target_rules() -> list[Rule]:
    return in_japanese(_target_rules(), REASONS_JA)


def actual_rules() -> list[Rule]:
    return in_japanese(_actual_rules(), REASONS_JA)


def structure_rules() -> list[Rule]:
    return in_japanese(_structure_rules(), REASONS_JA)


def _target_rules() -> list[Rule]:
    last_fy = fiscal.current_fiscal_year()
    return [
        *_common(last_fy),
        Rule(
            "comparator_known",
            "expect_column_values_to_not_be_null",
            {"column": "comparator"},
            "unknown comparator (ge, le, eq, ge_prev_year, le_prev_year, gt_prev_year, count_ge, count_le, done, "
            "not_set, single_bid_composite, or a target text such as 94.5%以上)",
            "comparator",
            "comparator_raw",
        ),
        Rule(
            "target_value_given",
            "expect_column_values_to_be_in_set",
            {"column": "target_value_missing", "value_set": [False]},
            "this comparator needs a target value",
            "target_value",
            "target_value_raw",
        ),
        Rule(
            "one_target_per_kpi",
            "expect_compound_columns_to_be_unique",
            {"column_list": TARGET_KEY},
            "more than one target for the same KPI, unit and fiscal year in this batch",
            "kpi_id",
            "kpi_raw",
        ),
    ]


def _actual_rules() -> list[Rule]:
    last_fy = fiscal.current_fiscal_year()
    return [
        *_common(last_fy),
        Rule(
            "period_readable",
            "expect_column_values_to_not_be_null",
            {"column": "period"},
            "period not readable (FY, Q1–Q4, or a month such as 2020-09)",
            "period",
            "period_raw",
        ),
        Rule(
            "period_in_fiscal_year",
            "expect_column_values_to_be_in_set",
            {"column": "period_outside_fiscal_year", "value_set": [False]},
            "the month lies outside the row's fiscal year (January–March belong to the year before)",
            "period",
            "period_raw",
        ),
        Rule(
            "value_is_number",
            "expect_column_values_to_not_be_null",
            {"column": "value"},
            "actual is not a number",
            "value",
            "value_raw",
        ),
        Rule(
            "value_not_negative",
            "expect_column_values_to_be_between",
            {"column": "value", "min_value": 0},
            "negative actual",
            "value",
            "value_raw",
        ),
        Rule(
            "one_actual_per_period",
            "expect_compound_columns_to_be_unique",
            {"column_list": ACTUAL_KEY},
            "more than one actual for the same KPI, unit and period in this batch",
            "kpi_id",
            "kpi_raw",
        ),
    ]


def _structure_rules() -> list[Rule]:
    """Where a KPI sits in its plan (分野 → 項目 → 小項目): the unit, year and KPI as for a target, a
    field and an item always (a sub-item is optional), one place per KPI."""
    common = [
        r
        for r in _common(fiscal.current_fiscal_year())
        if r.name not in ("unit_known", "unit_matches_kpi", "percentage_in_range")
    ]
    return [
        *common,
        Rule(
            "group_given",
            "expect_column_values_to_not_be_null",
            {"column": "group_ja"},
            "the field (分野, group_ja) is empty",
            "group_ja",
            "group_ja",
        ),
        Rule(
            "item_given",
            "expect_column_values_to_not_be_null",
            {"column": "item_ja"},
            "the item (項目, item_ja) is empty: a sub-item alone does not place a KPI",
            "item_ja",
            "item_ja",
        ),
        Rule(
            "one_place_per_kpi",
            "expect_compound_columns_to_be_unique",
            {"column_list": TARGET_KEY},
            "more than one place in the plan for the same KPI, unit and fiscal year in this batch",
            "kpi_id",
            "kpi_raw",
        ),
    ]
