"""Reconciliation with the printed fiscal-year figures: the suite `printed_fiscal_year_totals`.

A 月報 prints, under the twelve months, the year's 合計 (年度計) for summed metrics and its 年度平均 for
stocks and averages. The publisher computes them from unrounded figures and prints every figure
rounded to a unit, so the printed total may differ from the sum of the printed months by the rounding
of the twelve months and of the total itself (±0.5 each: up to 6.5; the real 保険給付費 totals differ
by up to ±2), and the printed average from their mean by up to 1 (0.5 for the mean of the months'
roundings, 0.5 for its own). Beyond that a figure was typed wrong: the month's, or the total's.
Checked only when all twelve months are in (batch and warehouse together); a partial year's figure
is not the year's.
"""

from __future__ import annotations

from branchkpi.expectations.rules import Rule, in_japanese

SUITE_NAME = "printed_fiscal_year_totals"
ROUNDING = 0.5  # every printed figure is rounded to a unit


REASONS_JA = {
    "printed_total_matches_months": "印字された合計（年度計）が12か月の合計と合わない"
    "（月の数値または合計の誤記。端数処理の差は許容）",
    "printed_average_matches_months": "印字された年度平均が12か月の平均と合わない"
    "（月の数値または平均の誤記。端数処理の差は許容）",
    "total_plausible": "印字された年度の数値が項目のありうる範囲（全国・支部別、合計は12か月分）の外にある"
    "（単位の誤り）",
}


def rules() -> list[Rule]:
    return in_japanese(_rules(), REASONS_JA)


def _rules() -> list[Rule]:
    return [
        Rule(
            "printed_total_matches_months",
            "expect_column_values_to_be_between",
            {"column": "printed_sum_excess", "max_value": 0},
            "printed 合計 differs from the sum of the twelve months by more than their rounding "
            "(a month or the total is mistyped)",
            "source_column",
            "value_raw",
            extra_columns=("fiscal_year", "months_sum"),
        ),
        Rule(
            "printed_average_matches_months",
            "expect_column_values_to_be_between",
            {"column": "printed_mean_excess", "max_value": 0},
            "printed 年度平均 differs from the mean of the twelve months by more than their rounding "
            "(a month or the average is mistyped)",
            "source_column",
            "value_raw",
            extra_columns=("fiscal_year", "months_mean"),
        ),
        Rule(
            "total_plausible",
            "expect_column_values_to_be_between",
            {"column": "plausible_excess", "max_value": 0},
            "the printed fiscal-year figure is outside the range its metric can have for this kind of region "
            "(twelve months' range for a 合計): a unit slip or a mistyped figure",
            "source_column",
            "value_raw",
            extra_columns=("fiscal_year", "plausible_range"),
        ),
    ]
