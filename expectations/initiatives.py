"""Quality gate for NHI initiative uptake (取組状況 N/M市町村): suite `initiative_uptake`.

It runs over the parsed rows plus context columns added by tasks/validate/initiatives.py: whether the
printed percentage is readable, and whether it agrees with adopted/total at its printed precision
(half a unit of the last printed digit: 20/27 = 74.07 → a printed 74 passes, 75 does not)."""

from __future__ import annotations

from branchkpi.domain import fiscal
from branchkpi.expectations.rules import Rule, in_japanese

UPTAKE_SUITE = "initiative_uptake"
UPTAKE_KEY = ["reporting_unit", "fiscal_year", "section_ja", "label_ja"]

REASONS_JA = {
    "fiscal_year_readable": "年度を読み取れない（例: 2018、平成30年度、H30）",
    "fiscal_year_in_range": "年度が対象範囲外",
    "section_given": "取組の見出し（section_ja）が空欄",
    "label_given": "区分（取組状況・目標設定状況）が空欄",
    "adopted_is_count": "取組市町村数が整数ではない",
    "total_is_count": "市町村数が整数ではない",
    "adopted_not_negative": "取組市町村数が負の値",
    "total_positive": "市町村数が 0 以下（割合を計算できない）",
    "adopted_within_total": "取組市町村数が市町村数を超えている",
    "pct_printed_readable": "印字された割合（%）を読み取れない",
    "pct_matches_counts": "印字された割合が 取組市町村数 / 市町村数 と印字の桁で一致しない",
    "one_row_per_initiative": "同じ都道府県・年度・見出し・区分の行がこのバッチに複数ある",
}


def uptake_rules() -> list[Rule]:
    return in_japanese(_uptake_rules(), REASONS_JA)


def _uptake_rules() -> list[Rule]:
    last_fy = fiscal.current_fiscal_year()
    return [
        Rule(
            "fiscal_year_readable",
            "expect_column_values_to_not_be_null",
            {"column": "fiscal_year"},
            "fiscal year not readable (2018, 平成30年度, H30)",
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
            "section_given",
            "expect_column_values_to_not_be_null",
            {"column": "section_ja"},
            "the initiative's heading (section_ja) is empty",
            "section_ja",
            "section_ja",
        ),
        Rule(
            "label_given",
            "expect_column_values_to_not_be_null",
            {"column": "label_ja"},
            "the label (取組状況 or 目標設定状況) is empty",
            "label_ja",
            "label_ja",
        ),
        Rule(
            "adopted_is_count",
            "expect_column_values_to_not_be_null",
            {"column": "adopted"},
            "adopted is not a whole number of municipalities",
            "adopted",
            "adopted_raw",
        ),
        Rule(
            "total_is_count",
            "expect_column_values_to_not_be_null",
            {"column": "total"},
            "total is not a whole number of municipalities",
            "total",
            "total_raw",
        ),
        Rule(
            "adopted_not_negative",
            "expect_column_values_to_be_between",
            {"column": "adopted", "min_value": 0},
            "adopted is negative",
            "adopted",
            "adopted_raw",
        ),
        Rule(
            "total_positive",
            "expect_column_values_to_be_between",
            {"column": "total", "min_value": 0, "strict_min": True},
            "total is not above 0 (no percentage can be computed)",
            "total",
            "total_raw",
        ),
        Rule(
            "adopted_within_total",
            "expect_column_pair_values_a_to_be_greater_than_b",
            {"column_A": "total", "column_B": "adopted", "or_equal": True, "ignore_row_if": "either_value_is_missing"},
            "more municipalities adopted it than there are",
            "adopted",
            "adopted_raw",
            extra_columns=("total",),
        ),
        Rule(
            "pct_printed_readable",
            "expect_column_values_to_be_in_set",
            {"column": "pct_unreadable", "value_set": [False]},
            "the printed percentage is not a number",
            "pct_printed",
            "pct_printed_raw",
        ),
        Rule(
            "pct_matches_counts",
            "expect_column_values_to_be_in_set",
            {"column": "pct_inconsistent", "value_set": [False]},
            "the printed percentage is not adopted/total at its printed precision",
            "pct_printed",
            "pct_printed_raw",
            extra_columns=("adopted", "total", "computed_pct"),
        ),
        Rule(
            "one_row_per_initiative",
            "expect_compound_columns_to_be_unique",
            {"column_list": UPTAKE_KEY},
            "more than one row for the same prefecture, fiscal year, heading and label in this batch",
            "section_ja",
            "section_ja",
        ),
    ]
