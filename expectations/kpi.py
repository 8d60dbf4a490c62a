"""Quality gate for KPI plan targets and actuals: suites `kpi_targets` and `kpi_actuals`.

Both run over the parsed rows plus context columns added by tasks.validate_kpi: the unit the KPI
catalogue expects (a % target is never stored for a count KPI, so it can never be compared with a
count actual), whether the comparator needs a value, percentages to check against 0–100, and whether
a dated actual lies inside its fiscal year."""

from __future__ import annotations

from branchkpi.domain import fiscal
from branchkpi.domain.kpi_ranges import SCALE_JUMP_FACTOR
from branchkpi.expectations.rules import Rule, in_japanese

TARGETS_SUITE = "kpi_targets"
ACTUALS_SUITE = "kpi_actuals"
STRUCTURE_SUITE = "kpi_plan_structure"
TARGET_KEY = ["reporting_unit", "fiscal_year", "kpi_id"]
ACTUAL_KEY = ["reporting_unit", "fiscal_year", "period", "kpi_id"]
# `part` is 0 for every row of a run; the mutation runner validates many files at once as parts
_IN_BATCH = ["part"]


def _common(last_fy: int, value_raw: str = "pct_value") -> list[Rule]:
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
            "the KPI is not named exactly: give its kpi_id (branchkpi/domain/kpis.py), a catalogue name "
            "(branchkpi/domain/kpi_names.py) or the plan's wording as loaded with the unit's targets",
            "kpi_id",
            "kpi_raw",
            extra_columns=("kpi_naming",),
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
            "a percentage outside 0–100 (9582 for 95.82: a lost decimal point?)",
            "value",
            value_raw,
        ),
    ]


def _figure_rules(raw: str) -> list[Rule]:
    """A figure in its KPI's unit: inside the KPI's plausible range, not a scale error against its
    previous year's actual, and the KPI's wording (where given beside its id) naming the same KPI."""
    return [
        Rule(
            "kpi_text_agrees",
            "expect_column_values_to_be_null",
            {"column": "kpi_text_conflict"},
            "the KPI id and the KPI's wording beside it name different KPIs",
            "kpi_id",
            "kpi_raw",
            extra_columns=("kpi_text_conflict",),
        ),
        Rule(
            "value_plausible",
            "expect_column_values_to_be_in_set",
            {"column": "implausible", "value_set": [False]},
            "outside the KPI's plausible range (docs/quality-gate.md)",
            "value",
            raw,
            extra_columns=("plausible_range",),
        ),
        Rule(
            "scale_jump",
            "expect_column_values_to_be_in_set",
            {"column": "scale_jump", "value_set": [False]},
            f"{SCALE_JUMP_FACTOR:g} or more times larger or smaller than the previous year's actual: a fraction "
            "for a percentage, a lost decimal point or another KPI's figure?",
            "value",
            raw,
            extra_columns=("scale_factor",),
        ),
        Rule(
            "fiscal_year_agrees",
            "expect_column_values_to_be_null",
            {"column": "fiscal_year_conflict"},
            "the 年度 is not the fiscal year the row's 期間, its sheet name or its title states",
            "fiscal_year",
            "fiscal_year_raw",
            extra_columns=("fiscal_year_conflict",),
        ),
    ]


REASONS_JA = {
    "reporting_unit_known": "支部・市町村を読み取れない"
    "（支部は JISコード・山口・yamaguchi、市町村は列またはファイル名に都道府県が必要）",
    "fiscal_year_readable": "年度を読み取れない（例: 2020、令和2年度、R2）",
    "fiscal_year_in_range": "年度が対象範囲外",
    "kpi_known": "KPI を特定できない（kpi_id、カタログの名称、または目標とともに登録した計画の文言で。"
    "複数の KPI に当てはまる文言や一部だけ一致する文言は不可）",
    "unit_known": "単位を読み取れない（% / pct、件 / 人 / count、円 / yen）",
    "unit_matches_kpi": "単位が KPI 本来のものと違う（% の KPI を件数で、またはその逆）",
    "percentage_in_range": "割合が 0〜100% の範囲外（9582 は 95.82 の小数点抜け？）",
    "kpi_text_agrees": "KPI ID と KPI の文言が別の KPI を指している",
    "value_plausible": "KPI としてありえない範囲の値"
    "（% の KPI に 0.9582 のような割合？ 95.82 と書くか、セルを % 表示に）",
    "scale_jump": "前年度の実績の 5 倍以上または 5 分の 1 以下（割合と % の取り違え、小数点抜け、別の KPI の値？）",
    "fiscal_year_agrees": "年度が、その行の期間・シート名・表題の示す年度と合わない",
    "as_of_in_period": "時点が、その行の年度・期間の外にある",
    "as_of_readable": "時点を日付として読み取れない（例: 令和3年3月末、2021-03-31、令和2年度末）; 照合していない",
    "unit_agrees": "数値のセルの単位（95.82% の % など）が単位の列と違う",
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
        *_common(last_fy, "target_value_raw"),
        *_figure_rules("target_value_raw"),
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
            {"column_list": TARGET_KEY + _IN_BATCH},
            "more than one target for the same KPI, unit and fiscal year in this batch",
            "kpi_id",
            "kpi_raw",
        ),
    ]


def _actual_rules() -> list[Rule]:
    last_fy = fiscal.current_fiscal_year()
    return [
        *_common(last_fy, "value_raw"),
        *_figure_rules("value_raw"),
        Rule(
            "period_readable",
            "expect_column_values_to_not_be_null",
            {"column": "period"},
            "period not readable (FY / 年度, Q1–Q4 / 第1四半期 / 4〜6月, a month such as 2020-09 / 令和2年9月 / 9月)",
            "period",
            "period_raw",
        ),
        Rule(
            "as_of_in_period",
            "expect_column_values_to_be_null",
            {"column": "as_of_conflict"},
            "the 時点 lies outside the row's fiscal year or period",
            "as_of",
            "as_of",
            extra_columns=("as_of_conflict",),
        ),
        Rule(
            "as_of_readable",
            "expect_column_values_to_be_in_set",
            {"column": "as_of_unreadable", "value_set": [False]},
            "the 時点 is not a date (令和3年3月末, 2021-03-31, 令和2年度末); not checked against the period",
            "as_of",
            "as_of",
            severity="warning",
        ),
        Rule(
            "unit_agrees",
            "expect_column_values_to_be_in_set",
            {"column": "unit_disagrees", "value_set": [False]},
            "the figure's cell states another unit than the unit column (95.82% for a count?)",
            "value",
            "value_raw",
            extra_columns=("value_unit", "unit"),
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
            {"column_list": ACTUAL_KEY + _IN_BATCH},
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
            {"column_list": TARGET_KEY + _IN_BATCH},
            "more than one place in the plan for the same KPI, unit and fiscal year in this batch",
            "kpi_id",
            "kpi_raw",
        ),
    ]
