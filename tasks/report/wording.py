"""The report's words in Japanese (default, as the branch prints them) and English (`--lang en`)."""

from __future__ import annotations

from typing import Literal

from branchkpi.domain import kpis

Lang = Literal["ja", "en"]

_TEXT: dict[str, tuple[str, str]] = {  # key → (ja, en)
    "annual_title": ("事業実績", "Annual results"),
    "quarterly_title": ("事業計画実施状況", "Business plan progress"),
    "branch": ("支部", "branch"),
    "national": ("全国", "National"),
    "statistics": ("月報（統計）", "Monthly statistics"),
    "kpis": ("KPI の達成状況", "KPI results"),
    "ranking": ("偏差値と順位", "Deviation score and rank among branches"),
    "month": ("月", "Month"),
    "value": ("実数", "Value"),
    "yoy": ("前年同月比", "YoY"),
    "fy_total": ("年度計", "FY total"),
    "fy_average": ("年度平均", "FY average"),
    "kpi": ("KPI", "KPI"),
    "target": ("目標", "Target"),
    "actual": ("実績", "Actual"),
    "previous": ("前年度", "Previous year"),
    "mark": ("判定", "Mark"),
    "reason": ("理由", "Reason"),
    "deviation_score": ("偏差値", "Deviation score"),
    "rank": ("順位", "Rank"),
    "of_branches": ("支部中", "branches"),
    "missed": ("未達成", "missed"),
    "at_risk": ("要注意", "at risk"),
    "achieved": ("達成", "achieved"),
    "on_track": ("順調", "on track"),
    "not_evaluable": ("判定不能", "not evaluable"),
    "summary": ("判定の内訳", "Marks"),
    "no_stats": ("この期間の月報はありません。", "No monthly statistics for this period."),
    "no_kpis": ("この期間の KPI 目標はありません。", "No KPI targets for this period."),
    "no_ranked": ("順位付けの対象となる KPI の実績はありません。", "No ranked KPI has actuals this year."),
    "legend": (
        "○ 達成　× 未達成　△ 要注意（年度途中）　— 判定不能",
        "○ achieved  × missed  △ at risk (in year)  — not evaluable",
    ),
    "generated": ("作成", "Generated"),
    "evaluation": ("評価 ID", "Evaluation"),
    "quarter_to": ("第{q}四半期まで", "to Q{q}"),
    "unit_pct": ("%", "%"),
    # the plan's structure (事業計画の分野・項目・小項目) and the workbook's sheets
    "quarter_title": ("事業計画実施状況（第{q}四半期）", "Business plan progress (Q{q})"),
    "field": ("分野", "Field"),
    "item": ("項目", "Item"),
    "sub_item": ("小項目", "Sub-item"),
    "item_mark": ("項目判定", "Item mark"),
    "kpi_id": ("KPI ID", "KPI ID"),
    "unplaced": ("（計画の項目が未登録）", " (not placed in the plan's items)"),
    "kpi_sheet": ("KPI達成状況", "KPI results"),
    "ranking_sheet": ("偏差値と順位", "Deviation and rank"),
    "branches": ("支部数", "Branches"),
}

_COMPARATORS = {  # how a target reads after its value
    "ge": ("以上", "or more"),
    "le": ("以下", "or less"),
    "eq": ("とする", "exactly"),
    "count_ge": ("件以上", "or more"),
    "count_le": ("件以下", "or less"),
    "done": ("実施", "done"),
    "single_bid_composite": ("一者応札（複合）", "single-bid composite"),
    "ge_prev_year": ("対前年度以上", "at least last year's"),
    "gt_prev_year": ("前年度を上回る", "above last year's"),
    "le_prev_year": ("対前年度以下", "at most last year's"),
    "not_set": ("未設定", "not set"),
}

_MONTHS_EN = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class Labels:
    def __init__(self, lang: str = "ja") -> None:
        if lang not in ("ja", "en"):
            raise ValueError(f"lang must be ja or en, got {lang!r}")
        self.lang: Lang = "ja" if lang == "ja" else "en"

    def __getitem__(self, key: str) -> str:
        ja, en = _TEXT[key]
        return ja if self.lang == "ja" else en

    def month(self, month: int) -> str:
        return f"{month}月" if self.lang == "ja" else _MONTHS_EN[month]

    def unit(self, unit: str) -> str:
        """A unit after a heading: 実数（人）, 前年同月比（%）; in English Value (persons)."""
        if not unit:
            return ""
        return f"（{unit}）" if self.lang == "ja" else f" ({unit})"

    def fiscal_year(self, fiscal_year: int) -> str:
        """2020 → 令和2年度 (FY2020: April 2020 – March 2021); 2019 → 令和元年度; 2018 → 平成30年度."""
        if self.lang == "en":
            return f"FY{fiscal_year}"
        if fiscal_year >= 2019:
            era, year = "令和", fiscal_year - 2018
        elif fiscal_year >= 1989:
            era, year = "平成", fiscal_year - 1988
        else:
            return f"{fiscal_year}年度"
        return f"{era}{'元' if year == 1 else year}年度"

    def period(self, fiscal_year: int, quarter: int | None) -> str:
        label = self.fiscal_year(fiscal_year)
        if quarter is None:
            return label
        return f"{label} 第{quarter}四半期" if self.lang == "ja" else f"{label} Q{quarter}"

    def report_title(self, fiscal_year: int, quarter: int | None) -> str:
        """令和2年度 事業実績; in a quarter 令和2年度 事業計画実施状況（第1四半期）, as the branches title them."""
        if quarter is None:
            return f"{self.fiscal_year(fiscal_year)} {self['annual_title']}"
        return f"{self.fiscal_year(fiscal_year)} {self['quarter_title'].format(q=quarter)}"

    def kpi(self, kpi_id: str) -> str:
        """The KPI's short name: the catalogue's first Japanese phrase, or its id in English words."""
        kpi = kpis.BY_ID.get(kpi_id)
        if self.lang == "ja" and kpi and kpi.phrases:
            return kpi.phrases[0]
        return kpi_id.replace("_", " ").replace(" yen", " (yen)").capitalize()

    @staticmethod
    def has_japanese_name(kpi_id: str) -> bool:
        kpi = kpis.BY_ID.get(kpi_id)
        return bool(kpi and kpi.phrases)

    def comparator(self, comparator: str) -> str:
        ja, en = _COMPARATORS.get(comparator, (comparator, comparator))
        return ja if self.lang == "ja" else en

    def group(self, group_ja: str) -> str:
        if self.lang == "ja":
            return group_ja
        return {v: k for k, v in kpis.GROUPS.items()}.get(group_ja, group_ja).capitalize() + " functions"
