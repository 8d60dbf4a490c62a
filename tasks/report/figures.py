"""How the report prints one KPI: its name, its target, a figure with its unit, its reason, in the
report's language. The HTML page and the Excel workbook both take their words from here, so the two
documents never say a KPI differently."""

from __future__ import annotations

from typing import Any

from branchkpi.domain import figures
from branchkpi.tasks.report.structure import PlanField
from branchkpi.tasks.report.wording import Labels

# targets that are a phrase, not a figure: 対前年度以上, 未設定, 実施 …
_PHRASE_TARGETS = ("ge_prev_year", "le_prev_year", "gt_prev_year", "not_set", "done")


def kpi_value(value: float | None, unit: str, labels: Labels, kpi_id: str | None = None) -> str:
    """A KPI's figure with its unit, at the KPI's printed precision (domain.figures, the one place that
    prints a KPI's figure for the report, the workbook's texts, the run pages and the alerts): 95.82%,
    0.236%, 52.6%, 1,234円, 3,000人."""
    return figures.kpi_figure(kpi_id or "", unit, value, labels.lang)


def target_text(row: dict[str, Any], labels: Labels) -> str:
    """The target as the plan writes it (its own Japanese text where the file gave one)."""
    if row["comparator"] in _PHRASE_TARGETS:
        return labels.comparator(row["comparator"])
    if row.get("target_text") and labels.lang == "ja":
        return str(row["target_text"])
    value = kpi_value(row["target_value"], row["unit"], labels, row["kpi_id"])
    return f"{value} {labels.comparator(row['comparator'])}"


def kpi_name(row: dict[str, Any], labels: Labels) -> tuple[str, str]:
    """(name, the plan's sentence shown under it). In Japanese a KPI the catalogue has no short name
    for is named by the plan's own sentence; in English by its id in words."""
    text = str(row.get("kpi_text_ja") or "") if labels.lang == "ja" else ""
    name = labels.kpi(row["kpi_id"])
    if text and not labels.has_japanese_name(row["kpi_id"]):
        return text, ""
    return name, text


def reason(row: dict[str, Any], labels: Labels) -> str:
    """The judgement's reason in the report's language: evaluate writes both (reason_ja, reason);
    an evaluation stored before reason_ja existed has only the English one."""
    if labels.lang == "ja":
        return str(row.get("reason_ja") or row.get("reason") or "")
    return str(row.get("reason") or "")


def field_name(plan_field: PlanField, labels: Labels, any_placed: bool) -> str:
    """A field as printed; KPIs the plan's structure does not place under their catalogue group,
    said so when the other KPIs are placed."""
    if plan_field.known:
        return plan_field.name
    name = labels.group(plan_field.name) if plan_field.name else ""
    return name + labels["unplaced"] if any_placed else name
