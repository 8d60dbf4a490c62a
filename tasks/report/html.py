"""The branch's KPI report as one self-contained HTML file (styles inline, charts embedded as PNG data
URIs, so it can be mailed or attached as it is) with the chart images also written beside it.

Every value from the warehouse goes through Jinja2's autoescaping: a KPI text or file name holding
<script> is shown as text, never run."""

from __future__ import annotations

import base64
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

from branchkpi.domain import figures as printed
from branchkpi.domain import kpis, metrics
from branchkpi.tasks.report import figures
from branchkpi.tasks.report.charts import metric_chart, metric_label
from branchkpi.tasks.report.gather import STAT_METRICS, BranchReportData
from branchkpi.tasks.report.structure import PlanNode, plan_fields
from branchkpi.tasks.report.tables import month_table
from branchkpi.tasks.report.wording import Labels

TEMPLATES = Path(__file__).parent / "templates"
STATUS_CLASS = {
    "missed": "missed",
    "at_risk": "at-risk",
    "achieved": "achieved",
    "on_track": "on-track",
    "not_evaluable": "not-evaluable",
}


@dataclass
class WrittenReport:
    html: Path
    charts: list[Path]
    missed: int
    at_risk: int
    targets: int
    name_romaji: str = ""
    title: str = ""  # 山口 令和2年度 事業実績
    xlsx: Path | None = None  # the same report as an Excel workbook, where one was written

    @property
    def summary(self) -> str:
        files = f"File: {self.html}" + (f"; workbook: {self.xlsx}" if self.xlsx else "")
        counts = f"{self.targets} targets: {self.missed} missed, {self.at_risk} at risk; {len(self.charts)} charts"
        return f"{counts}. {files}"


def write_report(data: BranchReportData, out_dir: Path, lang: str = "ja") -> WrittenReport:
    labels = Labels(lang)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = data.file_stem(lang)
    chart_dir = out_dir / f"{stem}_charts"
    chart_dir.mkdir(exist_ok=True)
    branch_label = data.name_ja if lang == "ja" else data.name_romaji.capitalize()
    sections, charts = [], []
    for metric in _metrics_present(data):
        png = metric_chart(data.stats, metric, data.years, data.months_shown, branch_label, labels)
        path = chart_dir / f"{metric.id}.png"
        path.write_bytes(png)
        charts.append(path)
        sections.append(
            {
                "id": metric.id,
                "title": metric_label(metric, labels),
                "unit": printed.metric_unit(metric.id, labels.lang),  # 人, 百万円: the table's and axis' unit
                "chart": "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
                "chart_file": f"{chart_dir.name}/{path.name}",
                "table": _stat_table(data, metric, labels),
            }
        )
    statuses = Counter(r["status"] for r in data.kpi_rows)
    html = (
        _environment()
        .get_template("branch_report.html.j2")
        .render(
            t=labels,
            data=data,
            branch_label=branch_label,
            sections=sections,
            title=labels.report_title(data.fiscal_year, data.quarter),
            years=[labels.fiscal_year(y) for y in data.years],
            fields=kpi_fields(data, labels),
            statuses=statuses,
            status_class=STATUS_CLASS,
            ranked=[_ranked_row(r, labels) for r in data.ranked],
            generated=datetime.now().astimezone().strftime("%Y-%m-%d %H:%M"),
        )
    )
    path = out_dir / f"{stem}.html"
    path.write_text(html, encoding="utf-8")
    title = f"{data.name_ja} {labels.report_title(data.fiscal_year, data.quarter)}"
    return WrittenReport(
        path, charts, statuses["missed"], statuses["at_risk"], len(data.kpi_rows), data.name_romaji, title
    )


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _metrics_present(data: BranchReportData) -> list[metrics.Metric]:
    present = set(data.stats["metric"].unique().to_list())
    return [m for m in STAT_METRICS if m.id in present]


def _stat_table(data: BranchReportData, metric: metrics.Metric, labels: Labels) -> dict[str, Any]:
    table = month_table(data, metric)
    rows = [
        {
            "label": labels.month(month),
            "total": False,
            "cells": [(printed.metric_number(metric.id, value), _pct(yoy)) for value, yoy in cells],
        }
        for month, cells in table.months
    ]
    total_label = labels["fy_total" if table.summed else "fy_average"]
    if data.quarter:
        to_quarter = labels["quarter_to"].format(q=data.quarter)
        total_label += f"（{to_quarter}）" if labels.lang == "ja" else f" ({to_quarter})"
    totals = [(printed.metric_number(metric.id, total), "") for total in table.totals]
    rows.append({"label": total_label, "cells": totals, "total": True})
    return {"rows": rows}


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:+.1f}%"


def kpi_fields(data: BranchReportData, labels: Labels) -> list[dict[str, Any]]:
    """The KPI section as lines under each field: item and sub-item headings with their marks, and the
    KPIs under them (a sub-item printed as a bare number, ① of the item's KPI line, numbers its KPI)."""
    fields = plan_fields(data.kpi_rows)
    any_known = any(f.known for f in fields)
    out = []
    for plan_field in fields:
        name = figures.field_name(plan_field, labels, any_known)
        lines: list[dict[str, Any]] = []
        for item in plan_field.items:
            if item.label:
                lines.append(_heading("item", item))
            lines += [_kpi_line(row, labels) for row in item.rows]
            for sub in item.children:
                if sub.name or len(sub.rows) > 1:
                    lines.append(_heading("sub-item", sub))
                    lines += [_kpi_line(row, labels) for row in sub.rows]
                else:
                    lines += [_kpi_line(row, labels, number=sub.no) for row in sub.rows]
        out.append({"name": name, "known": plan_field.known, "lines": lines})
    return out


def _heading(kind: str, node: PlanNode) -> dict[str, Any]:
    return {"kind": kind, "label": node.label, "mark": node.mark or ""}


def _kpi_line(row: dict[str, Any], labels: Labels, number: str | None = None) -> dict[str, Any]:
    name, text = figures.kpi_name(row, labels)
    return {
        "kind": "kpi",
        "name": f"{number} {name}" if number else name,
        "text_ja": text,
        "target": figures.target_text(row, labels),
        "actual": figures.kpi_value(row["actual"], row["unit"], labels, row["kpi_id"]),
        "actual_period": row.get("actual_period") or "",
        "previous": figures.kpi_value(row["previous"], row["unit"], labels, row["kpi_id"]),
        "mark": row["mark"],
        "item_mark": row.get("item_mark") or "",
        "status": row["status"],
        "status_label": labels[row["status"]],
        "reason": figures.reason(row, labels),
    }


def _ranked_row(r: Any, labels: Labels) -> dict[str, Any]:
    kpi = kpis.BY_ID[r.kpi_id]
    return {
        "name": labels.kpi(r.kpi_id),
        "value": figures.kpi_value(r.value, kpi.unit, labels, kpi.id),
        "deviation_score": "—" if r.deviation_score is None else f"{r.deviation_score:.1f}",
        "rank": "—" if r.rank is None else f"{r.rank} / {r.branches}",
    }
