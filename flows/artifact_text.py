"""The words and figures of a run's pages in the Prefect UI, in Japanese (default, as the branch prints
them) and English (BRANCHKPI_REPORT_LANG=en): a unit as 山口支部, a period as 令和2年度, a KPI by its
Japanese name, a target in words (96.3%以上, 対前年度以上), figures with separators and units.

The rows of a table artifact keep the columns a person reads first (unit, period, metric or KPI,
value, mark) and then the rest; the ids a machine or a support request needs (unit_key, kpi_id,
status) come last. The status words, comparators and KPI names come from the report's wording table
(tasks.report.wording), so the run page and the report never say a thing two ways."""

from __future__ import annotations

from typing import Any

from branchkpi.domain import figures, kpis, metrics
from branchkpi.domain.regions import resolve_region
from branchkpi.flows.alert_text import Lang, period_text, unit_text
from branchkpi.tasks.report.wording import Labels

TEXT: dict[str, tuple[str, str]] = {  # key → (ja, en); the table headers and headings of the run pages
    "branch": ("支部", "branch"),
    "unit": ("対象", "unit"),
    "period": ("期間", "period"),
    "metric": ("指標", "metric"),
    "value": ("実数", "value"),
    "yoy": ("前年同月比", "YoY"),
    "yoy_printed": ("前年同月比（印字）", "YoY printed"),
    "fytd_total": ("年度累計", "FY to date, total"),
    "fytd_average": ("年度平均", "FY to date, average"),
    "fytd_yoy": ("年度累計・年度平均の前年比", "FY to date, YoY"),
    "share": ("全国に占める割合", "share of national"),
    "kpi": ("KPI", "KPI"),
    "actual": ("実績", "actual"),
    "mark": ("判定", "mark"),
    "target": ("目標", "target"),
    "previous": ("前年度実績", "previous year"),
    "status": ("状況", "status"),
    "reason": ("理由", "reason"),
    "actual_period": ("実績の時点", "measured"),
    "plan_text": ("事業計画の記載", "as the plan words it"),
    "group": ("分野", "field"),
    "evaluation": ("KPI の評価", "KPI evaluation"),
    "flagged": ("未達成・要注意", "Missed and at risk"),
    "fiscal_year": ("年度", "fiscal year"),
    "targets": ("目標数", "targets"),
    "run": ("評価 ID", "evaluation run"),
    "counts": (
        "目標 {n} 件: ○ {ok}、× {missed}、△ {at_risk}、— {none}。評価 ID {run}",
        "{n} targets: ○ {ok}, × {missed}, △ {at_risk}, — {none}.  Evaluation run {run}",
    ),
    "first_of": (
        "{total} 件のうち最初の {shown} 件。すべて kpi_evaluations にあります。",
        "The first {shown} of {total}; all are in kpi_evaluations.",
    ),
    "reused": ("（変更なし: 前回の評価を再利用）", "(unchanged since: reused)"),
    "month_kpis": ("{period} の月報 KPI（支部別）", "KPIs of {period} per region"),
}


# the batch summary of a run that lands files (flows/artifacts.batch_summary)
SUMMARY: dict[str, tuple[str, str]] = {
    "Monthly branch statistics": ("月報（統計）の取り込み", "Monthly branch statistics"),
    "KPI targets and actuals": ("KPI 目標・実績の取り込み", "KPI targets and actuals"),
    "Backfill": ("過年度分の取り込み（バックフィル）", "Backfill"),
    "backfill_heads": ("年度|結果|登録した行|備考", "fiscal year|status|rows loaded|note"),
    "files_landed": ("受け取ったファイル", "files landed"),
    "rows_landed": ("受け取った行", "rows landed"),
    "rows_loaded": ("登録した行", "rows loaded"),
    "loaded_detail": (
        "{loaded}（新規 {new}、置き換え {replaced}、変更なし {unchanged}）",
        "{loaded} ({new} new, {replaced} replaced; {unchanged} unchanged)",
    ),
    "rows_quarantined": ("隔離した行", "rows quarantined"),
    "totals_loaded": ("年度計（合計・年度平均）の登録", "fiscal-year totals (合計) loaded"),
    "expectations": ("検査（expectations）", "expectations"),
    "expectations_detail": (
        "合格 {passed} / 警告 {warned} / 不合格 {failed}",
        "{passed} passed / {warned} warned / {failed} failed",
    ),
    "kpi_rows": ("計算した KPI の行", "KPI rows computed"),
    "sign_off": ("承認", "sign-off (承認)"),
    "batch_id": ("バッチ ID", "batch id"),
    "files": ("ファイル", "Files"),
    "file_heads": ("ファイル|形式|文字コード|行数|sha256|備考", "file|layout|encoding|rows|sha256|note"),
    "loaded_before": ("登録済み（同じ内容）", "loaded before"),
    "skipped_sheets": ("表のないシートを読み飛ばした: {sheets}", "sheets without a table, skipped: {sheets}"),
    "empty_sheets": ("見出しだけで行のないシート: {sheets}", "no rows: {sheets}"),
    "replaced_title": (
        "置き換え {n} 件（最初の {shown} 件。前の値は kpi_audit に残っています）",
        "Replaced (置き換え) ({n}; first {shown}; the old values are in kpi_audit)",
    ),
    "replaced_heads": ("置き換えた行|変わった項目（前 → 後）", "row replaced|what changed (old → new)"),
    "rules_failed": ("満たされなかった検査", "Expectations not met"),
    "rule_heads": ("検査|重大度|行数|意味", "rule|severity|rows|meaning"),
    "findings": ("指摘 {n} 件（最初の {shown} 件）", "Findings ({n}; first {shown})"),
    "finding_heads": ("重大度|ファイル|行|列|値|検査|理由", "severity|file|row|column|value|rule|reason"),
    "critical": ("重大", "critical"),
    "warning": ("警告", "warning"),
    "loaded": ("登録しました", "loaded"),
    "warned": ("警告付きで登録しました", "loaded with warnings"),
    "unchanged": ("新しく登録するものはありません", "nothing new to load"),
    "no_input": ("入力なし", "no input"),
    "failed": ("失敗（その年度は登録していません）", "failed"),
    "no input": ("入力なし: 登録するものがありません", "FAILED: nothing to load"),
    "quality gate": ("品質検査で不合格（何も登録していません）", "FAILED the quality gate"),
    "rejected": ("承認で差し戻し（何も登録していません）", "REJECTED at sign-off"),
    "error": ("エラーで停止しました", "FAILED: the run stopped on an error"),
}


def summary_text(key: str, lang: Lang, **values: Any) -> str:
    ja, en = SUMMARY.get(key, (key, key))
    return (ja if lang == "ja" else en).format(**values)


def status_words(status: str, failure: str | None, lang: Lang) -> str:
    """What a batch did, in a few words: 登録しました, 品質検査で不合格 …"""
    if status == "failed":
        return summary_text(failure if failure in ("quality gate", "rejected", "no input") else "error", lang)
    return summary_text(status, lang)


def text(key: str, lang: Lang, **values: Any) -> str:
    ja, en = TEXT[key]
    return (ja if lang == "ja" else en).format(**values)


def _heads(lang: Lang) -> dict[str, str]:
    """Every key's words, unformatted: the column headers of a row."""
    return {key: pair[0] if lang == "ja" else pair[1] for key, pair in TEXT.items()}


def as_lang(value: str) -> Lang:
    return "en" if value == "en" else "ja"


# --- the month's KPIs --------------------------------------------------------------------------


def region_text(region_romaji: str, lang: Lang) -> str:
    """yamaguchi → 山口支部 / Yamaguchi branch; national → 全国."""
    code = resolve_region(region_romaji)
    return unit_text(code, lang) if code else region_romaji


def metric_name(metric_id: str, lang: Lang) -> str:
    metric = metrics.BY_ID.get(metric_id)
    if metric is None:
        return metric_id
    return metric.name_ja if lang == "ja" else metric.name_en


def month_kpi_row(row: dict[str, Any], lang: Lang) -> dict[str, Any]:
    """One region's metric of the month: 山口支部 | 令和3年3月 | 被保険者数 | 260,511人 | -0.1% …, then ids."""
    t = _heads(lang)
    metric = row["metric"]
    summed = metric in metrics.BY_ID and metrics.BY_ID[metric].aggregation == "sum"
    return {
        t["branch"]: region_text(row["region"], lang),
        t["period"]: period_text(f"FY{row['fiscal_year']}-{row['month']:02d}", lang),
        t["metric"]: metric_name(metric, lang),
        t["value"]: figures.metric_figure(metric, row["value"], lang),
        t["yoy"]: figures.pct(row["yoy_pct"]) if row["yoy_pct"] is not None else "",
        t["yoy_printed"]: figures.pct(row["yoy_pct_printed"]) if row["yoy_pct_printed"] is not None else "",
        # as the 月報 prints the year: a flow's total (保険給付費), a stock's or average's 年度平均
        # (被保険者数, 平均標準報酬月額): never a sum of head counts or of averages
        t["fytd_total"]: figures.metric_figure(metric, row["fytd_total"], lang) if summed else "",
        t["fytd_average"]: "" if summed else figures.metric_figure(metric, row["fytd_average"], lang),
        t["fytd_yoy"]: figures.pct(row["fytd_yoy_pct"]) if row["fytd_yoy_pct"] is not None else "",
        t["share"]: figures.pct(row["share_of_national_pct"], 2) if row["share_of_national_pct"] is not None else "",
        "region": row["region"],
        "metric_id": metric,
        "fiscal_year": row["fiscal_year"],
        "month": row["month"],
    }


# --- evaluations ---------------------------------------------------------------------------------


def kpi_name(kpi_id: str, plan_text: str | None, lang: Lang) -> str:
    """The KPI as the report names it: the catalogue's short Japanese name, else the plan's own
    sentence (kpi_text_ja of the targets), else its id in words (English)."""
    labels = Labels(lang)
    if lang == "ja" and not labels.has_japanese_name(kpi_id) and plan_text:
        return plan_text
    return labels.kpi(kpi_id)


def target_words(row: dict[str, Any], lang: Lang) -> str:
    """96.3%以上, 対前年度以上, 未設定; in English 96.3% or more, at least last year's. The printed target
    text is kept where the file gave one and the page is in Japanese (it is the plan's own wording)."""
    if lang == "ja" and row.get("target_text"):
        return str(row["target_text"])
    comparator = row.get("comparator") or "not_set"
    words = Labels(lang).comparator(comparator)
    if row.get("target_value") is None:
        return words
    value = figures.kpi_figure(row["kpi_id"], row.get("unit"), row["target_value"], lang)
    return f"{value}{words}" if lang == "ja" else f"{value} {words}"


def status_word(status: str, lang: Lang) -> str:
    return Labels(lang)[status]


def reason_text(row: dict[str, Any], lang: Lang) -> str:
    """The judgement's reason in the page's language (an evaluation writes both from one wording table;
    one stored before reason_ja existed has only the English)."""
    return str((row.get("reason_ja") if lang == "ja" else None) or row.get("reason") or "")


def evaluation_row(row: dict[str, Any], plan_text: str | None, lang: Lang) -> dict[str, Any]:
    """One judged target: 山口支部 | 令和2年度 | 保険証回収率 | 95.82% | × | 96.3%以上 | …, then ids."""
    t = _heads(lang)
    kpi_id, unit = row["kpi_id"], row.get("unit")
    kpi = kpis.BY_ID.get(kpi_id)
    return {
        t["unit"]: unit_text(row["unit_key"], lang, row.get("unit_name")),
        t["period"]: evaluation_period(row, lang),
        t["kpi"]: kpi_name(kpi_id, plan_text, lang),
        t["actual"]: figures.kpi_figure(kpi_id, unit, row["actual"], lang),
        t["mark"]: row["mark"],
        t["target"]: target_words(row, lang),
        t["previous"]: figures.kpi_figure(kpi_id, unit, row["previous"], lang),
        t["status"]: status_word(row["status"], lang),
        t["reason"]: reason_text(row, lang),
        t["actual_period"]: row.get("actual_period") or "",
        t["group"]: Labels(lang).group(kpis.GROUPS[kpi.group]) if kpi else "",
        t["plan_text"]: plan_text or "",
        "unit_key": row["unit_key"],
        "kpi_id": kpi_id,
        "comparator": row.get("comparator"),
        "status_id": row["status"],
    }


def evaluation_period(row: dict[str, Any], lang: Lang) -> str:
    """令和2年度, or 令和2年度第1四半期 for an in-year check (period Q1…Q4)."""
    period = str(row.get("period") or "FY")
    label = f"FY{row['fiscal_year']}" + (f"-{period}" if period.startswith("Q") else "")
    return period_text(label, lang)
