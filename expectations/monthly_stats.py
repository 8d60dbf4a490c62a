"""Quality gate for monthly branch statistics (月報): the suite `monthly_branch_stats`.

It runs over the *validation frame*: the batch's parsed rows plus context columns that tasks.validate
derives from the batch and the warehouse (national value of the same month, months present in the
fiscal year, previous year's value, benefits-per-member against per-capita medical cost), so a single
GX validation answers every question about the batch. Critical rules block the batch; warnings load.

Thresholds, and why (docs/quality-gate.md has the table):
- Plausible ranges per metric and kind of region (全国, a branch) and the cross-metric ratios live in the
  domain catalogue beside the metric (branchkpi.domain.metrics), derived there from the real series.
- scale_jump: a figure ×5 or ÷5 or more against its history (tasks/validate/plausibility.py).
- Printed 前年同月比 within ±50 points: the real series move at most 16.4.
- YoY jump warning: |前年同月比| above BRANCHKPI_YOY_WARN_PCT (default 10 points). Real series move
  < 8 points in normal years (FY2017–FY2019, both regions, 95th percentile 9 points for 保険給付費);
  the 2020 pandemic months (△11 % to △14 %) are exactly what a reviewer should look at.
- Benefits per member / medical cost per capita between 0.6 and 1.2: 保険給付費 (million yen) ÷ members
  should be 70–90 % of 1人当たり医療費 (benefits exclude the patient's co-payment, include cash
  benefits; the real series give 0.83–0.90). A unit slip (thousand vs million yen) or swapped
  columns lands far outside.
"""

from __future__ import annotations

from datetime import date

from branchkpi.domain import fiscal, metrics
from branchkpi.expectations.rules import Rule, in_japanese

SUITE_NAME = "monthly_branch_stats"
KEY_COLUMNS = ["region_code", "metric", "fiscal_year", "month"]
BENEFIT_RATIO_RANGE = (0.6, 1.2)
YOY_PRINTED_RANGE = (-50.0, 50.0)  # a printed 前年同月比 beyond it is a figure in the wrong column


def rules(yoy_warn_pct: float = 10.0, today: date | None = None) -> list[Rule]:
    return in_japanese(_rules(yoy_warn_pct, today), REASONS_JA)


REASONS_JA = {
    "column_present": "必須の列（支部・項目・年度・月・数値）がファイルにない",
    "region_known": "支部名を読み取れない（JISコード 01〜47、山口、yamaguchi、全国 のいずれかで）",
    "metric_known": "項目名を読み取れない（例: 被保険者数 / insured_persons）",
    "fiscal_year_readable": "年度を読み取れない（例: 2020、令和2年度、R2、2年度）",
    "month_valid": "月が 1〜12（4月〜3月）でない",
    "value_is_number": "数値ではない",
    "value_is_float": "数値の列が数値として読めない",
    "month_in_range": "月が 1〜12 の範囲外",
    "fiscal_year_in_range": "年度が対象範囲外（未来の年度は受け付けない）",
    "value_not_negative": "件数・金額が負の値",
    "one_row_per_key": "同じ支部・項目・年度・月の行がこのバッチに複数ある",
    "closed_fiscal_year_complete": "締まった年度に欠けている月がある（バッチと蓄積データを合わせて12か月必要）",
    "branch_not_above_national": "支部の件数・金額が同月の全国計を上回っている",
    "branches_sum_to_national": "47支部の合計が全国計と合わない（48の印字値の端数処理で説明できる差を超える）",
    "per_capita_consistent": "1人当たり医療費が 保険給付費 ÷（被保険者数＋被扶養者数）と整合しない",
    "yoy_printed_matches": "印字された前年同月比が数値から計算した値と合わない"
    "（当月・前年同月の数値または前年同月比の誤記）",
    "yoy_jump": "前年同月比の変動が大きい: 数値を確認のこと",
    "value_plausible": "数値が項目のありうる範囲（全国・支部別）の外にある"
    "（単位の誤り: 千人・千円の付け忘れや二重適用など）",
    "ratio_dependents_per_insured": "被扶養者数 ÷ 被保険者数 がありうる範囲の外にある"
    "（どちらかの誤記、または列の取り違え）",
    "ratio_insured_per_establishment": "被保険者数 ÷ 事業所数 がありうる範囲の外にある"
    "（どちらかの誤記、または列の取り違え）",
    "ratio_benefits_per_member_yen": "加入者1人当たり保険給付費がありうる範囲の外にある"
    "（保険給付費・加入者数の誤記、単位の誤り）",
    "scale_jump": "過去の数値（同月の既存値・前後の月・前年同月）と比べて桁が違う"
    "（10倍・100倍・1000倍またはその逆）: 単位か桁の誤り",
    "yoy_printed_plausible": "印字された前年同月比が ±50 ポイントを超える（数値が別の列に入っている）",
}


def _rules(yoy_warn_pct: float, today: date | None) -> list[Rule]:
    last_fy = fiscal.current_fiscal_year(today)
    low, high = BENEFIT_RATIO_RANGE
    return [
        *(
            Rule(
                f"column_{c}_present", "expect_column_to_exist", {"column": c}, f"required column {c} is missing", c, c
            )
            for c in ("region_code", "metric", "fiscal_year", "month", "value")
        ),
        Rule(
            "region_known",
            "expect_column_values_to_not_be_null",
            {"column": "region_code"},
            "region not recognised (use a JIS code 01-47, 山口, yamaguchi or 全国)",
            "region",
            "region_raw",
        ),
        Rule(
            "metric_known",
            "expect_column_values_to_not_be_null",
            {"column": "metric"},
            "metric not recognised (e.g. 被保険者数 / insured_persons)",
            "metric",
            "metric_raw",
        ),
        Rule(
            "fiscal_year_readable",
            "expect_column_values_to_not_be_null",
            {"column": "fiscal_year"},
            "fiscal year not readable (e.g. 2020, 令和2年度, R2, 2年度)",
            "fiscal_year",
            "fiscal_year_raw",
        ),
        Rule(
            "month_valid",
            "expect_column_values_to_not_be_null",
            {"column": "month"},
            "month is not 1-12 (4月 … 3月)",
            "month",
            "month_raw",
        ),
        Rule(
            "value_is_number",
            "expect_column_values_to_not_be_null",
            {"column": "value"},
            "value is not a number",
            "source_column",
            "value_raw",
        ),
        Rule(
            "value_is_float",
            "expect_column_values_to_be_in_type_list",
            {"column": "value", "type_list": ["float64", "Float64"]},
            "value column is not numeric",
            "source_column",
            "value_raw",
        ),
        Rule(
            "month_in_range",
            "expect_column_values_to_be_between",
            {"column": "month", "min_value": 1, "max_value": 12},
            "month is not 1-12",
            "month",
            "month_raw",
        ),
        Rule(
            "fiscal_year_in_range",
            "expect_column_values_to_be_between",
            {"column": "fiscal_year", "min_value": fiscal.FIRST_FISCAL_YEAR, "max_value": last_fy},
            f"fiscal year outside {fiscal.FIRST_FISCAL_YEAR}–{last_fy} (no future periods)",
            "fiscal_year",
            "fiscal_year_raw",
        ),
        Rule(
            "value_not_negative",
            "expect_column_values_to_be_between",
            {"column": "value", "min_value": 0},
            "negative count or amount",
            "source_column",
            "value_raw",
        ),
        Rule(
            "one_row_per_key",
            "expect_column_values_to_be_between",
            {"column": "copies_in_batch", "max_value": 1},
            "more than one row for the same region, metric, fiscal year and month in this batch",
            "source_column",
            "value_raw",
            extra_columns=("copies_in_batch",),
        ),
        Rule(
            "value_plausible",
            "expect_column_values_to_be_between",
            {"column": "plausible_excess", "max_value": 0},
            "the figure is outside the range its metric can have for this kind of region (全国 or a branch): "
            "a unit slip (千人 or 千円 forgotten or applied twice) or a mistyped figure",
            "source_column",
            "value_raw",
            extra_columns=("plausible_range",),
        ),
        *(
            Rule(
                f"ratio_{ratio.id}",
                "expect_column_values_to_be_between",
                {"column": f"ratio_{ratio.id}", "min_value": ratio.plausible[0], "max_value": ratio.plausible[1]},
                f"{ratio.name_ja} of this region and month is outside {ratio.plausible[0]:g}–{ratio.plausible[1]:g}: "
                "one of the figures is mistyped, in another unit, or in the other's column",
                "source_column",
                "value_raw",
                extra_columns=(f"ratio_{ratio.id}",),
            )
            for ratio in metrics.RATIOS
        ),
        Rule(
            "scale_jump",
            "expect_column_values_to_be_null",
            {"column": "scale_jump"},
            "the figure differs from its history by a factor only a scale or typing error explains (×10, ×100, "
            "×1,000 or their inverses)",
            "source_column",
            "value_raw",
            extra_columns=("scale_jump", "scale_jump_reference"),
        ),
        Rule(
            "yoy_printed_plausible",
            "expect_column_values_to_be_between",
            {"column": "yoy_pct_printed", "min_value": YOY_PRINTED_RANGE[0], "max_value": YOY_PRINTED_RANGE[1]},
            f"printed 前年同月比 beyond ±{YOY_PRINTED_RANGE[1]:g} points: a figure in the wrong column",
            "source_column",
            "value_raw",
            extra_columns=("yoy_pct_printed",),
        ),
        Rule(
            "closed_fiscal_year_complete",
            "expect_column_values_to_be_between",
            {"column": "months_missing_in_closed_fy", "min_value": 0, "max_value": 0},
            "a closed fiscal year must have all 12 months (batch and warehouse together)",
            "fiscal_year",
            "fiscal_year_raw",
            extra_columns=("months_missing_in_closed_fy",),
        ),
        Rule(
            "branch_not_above_national",
            "expect_column_pair_values_a_to_be_greater_than_b",
            {
                "column_A": "national_value",
                "column_B": "value",
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
            "a branch's count or sum is above the national total for the same month",
            "source_column",
            "value_raw",
            extra_columns=("national_value",),
        ),
        Rule(
            "branches_sum_to_national",
            "expect_column_values_to_be_between",
            {"column": "national_sum_excess", "max_value": 0},
            "the 47 branches' sum differs from 全国 by more than the rounding of the 48 printed figures "
            "(a branch's or the national figure is mistyped)",
            "source_column",
            "value_raw",
            extra_columns=("branches_sum", "national_value"),
        ),
        Rule(
            "per_capita_consistent",
            "expect_column_values_to_be_between",
            {"column": "benefits_to_medical_cost_ratio", "min_value": low, "max_value": high},
            f"1人当たり医療費 inconsistent with 保険給付費 ÷ (被保険者数 + 被扶養者数): ratio outside {low}–{high}",
            "source_column",
            "value_raw",
            extra_columns=("benefits_to_medical_cost_ratio",),
        ),
        Rule(
            "yoy_printed_matches",
            "expect_column_values_to_be_between",
            {"column": "yoy_printed_excess", "max_value": 0},
            "printed 前年同月比 does not match the figures (this month's or last year's value, or the printed "
            "YoY, is mistyped); checked at the printed precision with the publisher's rounding",
            "source_column",
            "value_raw",
            extra_columns=("yoy_pct_computed", "yoy_pct_printed"),
        ),
        Rule(
            "yoy_jump",
            "expect_column_values_to_be_between",
            {"column": "yoy_pct_computed", "min_value": -yoy_warn_pct, "max_value": yoy_warn_pct},
            f"前年同月比 beyond ±{yoy_warn_pct:g} %: check the figure",
            "source_column",
            "value_raw",
            severity="warning",
            extra_columns=("yoy_pct_computed",),
        ),
    ]
