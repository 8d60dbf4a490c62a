"""The words of an alert, in Japanese (default) and English: a unit as a planning officer names it
(山口支部, 全国, 倉敷市), a period as the documents print it (令和2年4月, 令和2年度第1四半期), the KPI's
Japanese text. One wording table, both languages side by side; every event carries both texts and
`alerts install --lang` picks one (flows/automations.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

from branchkpi.domain import figures, fiscal, kpis
from branchkpi.domain.regions import BY_CODE, NATIONAL_CODE
from branchkpi.tasks.report.wording import Labels

Lang = Literal["ja", "en"]
LANGS: tuple[Lang, ...] = ("ja", "en")

TEXT: dict[str, tuple[str, str]] = {  # key → (ja, en)
    "quality_failed": (
        "データ品質エラー: 取り込みを止めました（何も登録していません）",
        "data-quality failure: nothing of the batch was loaded",
    ),
    "targets": (
        "目標の未達・要注意: 未達 {missed} 件、要注意 {at_risk} 件",
        "targets: {missed} missed, {at_risk} at risk",
    ),
    "prefecture_targets": (
        "目標の未達・要注意: {units} 団体で {targets} 件",
        "targets missed or at risk: {targets} in {units} unit(s)",
    ),
    "overdue": (
        "未着: {period}分の{kind}が提出期限 {due} を過ぎても届いていません",
        "overdue: the {kind} for {period} were due {due} and have not arrived",
    ),
    "overdue_many": (
        "未着: {period}分の{kind}が {count} 団体から届いていません（期限 {due}）",
        "overdue: the {kind} for {period} (due {due}) are missing from {count} units",
    ),
    "arrived_late": (
        "遅延着: {period}分の{kind}が届きました（期限 {due}）",
        "arrived late: the {kind} for {period} (due {due}) have arrived",
    ),
    "no_input": (
        "入力なし: 取り込むファイルがありませんでした。期限を過ぎて未着のデータが {count} 件あります",
        "no input: the run found no file while {count} period(s) of data are past due",
    ),
    "run_failed": ("実行エラー: データを取り込む前に失敗しました", "run failed before loading any data"),
    "unit": ("対象", "unit"),
    "period": ("期間", "period"),
    "files": ("ファイル", "files"),
    "rows": ("隔離した行: {rows} 行", "rows quarantined: {rows}"),
    "more": ("ほか {n} 件", "and {n} more"),
    "stats": ("月報（統計）", "monthly statistics"),
    "kpi": ("KPI 実績", "KPI actuals"),
}

# the marks of the plan's reports; the statuses read as words in English
STATUS_WORDS = {"missed": ("未達", "missed"), "at_risk": ("要注意", "at risk")}


def text(key: str, lang: Lang, **values: Any) -> str:
    ja, en = TEXT[key]
    return (ja if lang == "ja" else en).format(**values)


def plain(value: str) -> str:
    """Text for a chat message: Slack (and Teams' markdown) read `<url|text>` as a link and `&`
    entities, so a file or unit name from the data must not carry them raw."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unit_text(unit_key: str, lang: Lang, unit_name: str | None = None) -> str:
    """35 → 山口支部 / Yamaguchi branch; 00 → 全国 / national; 33:倉敷市 → 倉敷市 (Okayama)."""
    code, _, municipality = unit_key.partition(":")
    region = BY_CODE.get(code)
    if municipality and region is not None:
        return municipality if lang == "ja" or region is None else f"{municipality} ({region.name_romaji.title()})"
    if region is None:
        return unit_name or unit_key
    if code == NATIONAL_CODE:
        return "全国" if lang == "ja" else "national"
    return f"{region.name_ja}支部" if lang == "ja" else f"{region.name_romaji.title()} branch"


_LABEL_RE = re.compile(r"^FY(?P<fy>\d{4})(?:-(?:(?P<month>\d{2})|Q(?P<q>[1-4])))?$")


def period_text(label: str, lang: Lang) -> str:
    """FY2020-04 → 令和2年4月; FY2020-Q1 → 令和2年度第1四半期; FY2020 → 令和2年度; a span of years
    FY2017–FY2020 → 平成29年度〜令和2年度. English keeps the labels."""
    parts = re.split(r"[–~〜]", label)
    if len(parts) == 2:
        return "〜".join(period_text(p.strip(), lang) for p in parts) if lang == "ja" else label
    match = _LABEL_RE.match(label)
    if lang == "en" or not match:
        return label
    fy = int(match["fy"])
    if match["month"]:
        return fiscal.month_label_ja(fy, int(match["month"]))
    return fiscal.fiscal_year_label_ja(fy) + (f"第{match['q']}四半期" if match["q"] else "")


def _label_key(label: str) -> tuple[int, int, int]:
    """FY2020-04 < FY2020-01 (April first) < FY2020-Q4 < FY2020: a period label in time order."""
    match = _LABEL_RE.match(label)
    if not match:
        return (0, 9, 0)
    if match["month"]:
        return (int(match["fy"]), 0, fiscal.fiscal_month_index(int(match["month"])))
    return (int(match["fy"]), 1, int(match["q"])) if match["q"] else (int(match["fy"]), 2, 0)


def period_span(labels: Iterable[str | None]) -> str | None:
    """The period rows are about: FY2020-09 for one; FY2020-04–FY2020-09 for several (their first and
    last); None for none."""
    known = sorted({label for label in labels if label}, key=_label_key)
    if not known:
        return None
    return known[0] if len(known) == 1 else f"{known[0]}–{known[-1]}"


def coverage_period_label(fiscal_year: int, period: str) -> str:
    """A coverage cell's period (2020-04, Q1, FY) as an event label (FY2020-04, FY2020-Q1, FY2020)."""
    if period == "FY":
        return f"FY{fiscal_year}"
    if period.startswith("Q"):
        return f"FY{fiscal_year}-{period}"
    return f"FY{fiscal_year}-{period[5:7]}"


def kpi_text(kpi_id: str, lang: Lang) -> str:
    return Labels(lang).kpi(kpi_id)


def target_line(row: dict[str, Any], lang: Lang) -> str:
    """One flagged target of a digest: mark, KPI, actual against target, each at the KPI's printed
    precision with its unit (95.82% / 96.30%, 1,200人)."""
    labels = Labels(lang)
    status_ja, status_en = STATUS_WORDS.get(row["status"], (row["status"], row["status"]))
    kpi_id, unit = row["kpi_id"], row.get("unit")
    comparator = labels.comparator(row.get("comparator") or "not_set")
    target = figures.kpi_figure(kpi_id, unit, row.get("target_value"), lang)
    target = f"{target} {comparator}" if row.get("target_value") is not None else comparator
    actual = figures.kpi_figure(kpi_id, unit, row.get("actual"), lang)
    if lang == "ja":
        return f"{row['mark']} {labels.kpi(kpi_id)}: 実績 {actual} / 目標 {target}（{status_ja}）"
    return f"{row['mark']} {labels.kpi(kpi_id)}: actual {actual}, target {target} ({status_en})"


_PLAN_ORDER = {k.id: i for i, k in enumerate(kpis.CATALOGUE)}


def in_plan_order(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Missed first, then at risk; within each, the plan's own order (the KPI catalogue)."""
    return sorted(
        rows, key=lambda r: (r["status"] != "missed", _PLAN_ORDER.get(r["kpi_id"], len(_PLAN_ORDER)), r["kpi_id"])
    )


def lines(head: str, unit: str | None, period: str | None, body: list[str], lang: Lang) -> str:
    """The message: a headline, who and when (what is known of it), then the details."""
    out = [f"[branchkpi] {head}"]
    said = [f"{text(k, lang)}: {v}" for k, v in (("unit", unit), ("period", period)) if v]
    if said:
        out.append(" / ".join(said))
    return plain("\n".join(out + body))
