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
import polars as pl

from branchkpi.domain import kpis, metrics, regions
from branchkpi.tasks.report.charts import metric_chart, metric_label
from branchkpi.tasks.report.gather import STAT_METRICS, BranchReportData
from branchkpi.tasks.report.wording import Labels

TEMPLATES = Path(__file__).parent / "templates"
STATUS_CLASS = {"missed": "missed", "at_risk": "at-risk", "achieved": "achieved", "on_track": "on-track",
                "not_evaluable": "not-evaluable"}  # fmt: skip


@dataclass
class WrittenReport:
    html: Path
    charts: list[Path]
    missed: int
    at_risk: int
    targets: int
    name_romaji: str = ""
    title: str = ""  # 山口 令和2年度 事業実績

    @property
    def summary(self) -> str:
        return (f"{self.targets} targets: {self.missed} missed, {self.at_risk} at risk; {len(self.charts)} charts. "
                f"File: {self.html}")  # fmt: skip


def file_stem(data: BranchReportData, lang: str) -> str:
    quarter = f"_Q{data.quarter}" if data.quarter else ""
    return f"{data.name_romaji}_FY{data.fiscal_year}{quarter}_{lang}"


def write_report(data: BranchReportData, out_dir: Path, lang: str = "ja") -> WrittenReport:
    labels = Labels(lang)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = file_stem(data, lang)
    chart_dir = out_dir / f"{stem}_charts"
    chart_dir.mkdir(exist_ok=True)
    branch_label = data.name_ja if lang == "ja" else data.name_romaji.capitalize()
    sections, charts = [], []
    for metric in _metrics_present(data):
        png = metric_chart(data.stats, metric, data.years, data.months_shown, branch_label, labels)
        path = chart_dir / f"{metric.id}.png"
        path.write_bytes(png)
        charts.append(path)
        sections.append({
            "id": metric.id, "title": metric_label(metric, labels), "unit": metric.unit,
            "chart": "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
            "chart_file": f"{chart_dir.name}/{path.name}",
            "table": _stat_table(data, metric, labels),
        })  # fmt: skip
    statuses = Counter(r["status"] for r in data.kpi_rows)
    html = _environment().get_template("branch_report.html.j2").render(
        t=labels, data=data, branch_label=branch_label, sections=sections,
        title=labels["quarterly_title" if data.quarter else "annual_title"],
        period=labels.period(data.fiscal_year, data.quarter),
        years=[labels.fiscal_year(y) for y in data.years],
        groups=_kpi_groups(data, labels), statuses=statuses, status_class=STATUS_CLASS,
        ranked=[_ranked_row(r, labels) for r in data.ranked],
        generated=datetime.now().astimezone().strftime("%Y-%m-%d %H:%M"),
    )  # fmt: skip
    path = out_dir / f"{stem}.html"
    path.write_text(html, encoding="utf-8")
    title = f"{data.name_ja} {labels.period(data.fiscal_year, data.quarter)} {html_title(data, labels)}"
    return WrittenReport(path, charts, statuses["missed"], statuses["at_risk"], len(data.kpi_rows), data.name_romaji,
                         title)  # fmt: skip


def html_title(data: BranchReportData, labels: Labels) -> str:
    return labels["quarterly_title" if data.quarter else "annual_title"]


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )  # fmt: skip


def _metrics_present(data: BranchReportData) -> list[metrics.Metric]:
    present = set(data.stats["metric"].unique().to_list())

    return [m for m in STAT_METRICS if m.id in present]


def number(value: float | None, unit: str = "") -> str:
    """As the branch prints: thousands separated; fractions only where the figure is small."""
    if value is None:
        return "—"
    if unit in ("pct", "%"):
        return f"{value:,.1f}"
    if abs(value) >= 1000 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _stat_table(data: BranchReportData, metric: metrics.Metric, labels: Labels) -> dict[str, Any]:
    branch = data.stats.filter((pl.col("metric") == metric.id) & (pl.col("region_code") != regions.NATIONAL_CODE))
    cells = {(fy, m): (v, y) for fy, m, v, y in branch.select("fiscal_year", "month", "value", "yoy_pct").iter_rows()}
    rows = []
    for month in data.months_shown:
        rows.append({"label": labels.month(month), "total": False, "cells": [
            (number(cells.get((fy, month), (None, None))[0], metric.unit),
             _pct(cells.get((fy, month), (None, None))[1]))
            for fy in data.years
        ]})  # fmt: skip
    total_label = labels["fy_total" if metric.aggregation == "sum" else "fy_average"]
    if data.quarter:
        total_label += (
            f"（{labels['quarter_to'].format(q=data.quarter)}）"
            if labels.lang == "ja"
            else (f" ({labels['quarter_to'].format(q=data.quarter)})")
        )
    totals = []
    for fy in data.years:
        values = [cells[(fy, m)][0] for m in data.months_shown if (fy, m) in cells]
        complete = len(values) == len(data.months_shown)
        figure = (sum(values) if metric.aggregation == "sum" else sum(values) / len(values)) if complete else None
        totals.append((number(figure, metric.unit), ""))
    rows.append({"label": total_label, "cells": totals, "total": True})
    return {"rows": rows}


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:+.1f}%"


def _kpi_value(value: float | None, unit: str, labels: Labels) -> str:
    if value is None:
        return "—"
    text = number(value, unit)
    if unit == "pct":
        return f"{text}%"
    if unit == "yen":
        return f"{text}円" if labels.lang == "ja" else f"¥{text}"
    if unit == "count":
        return f"{text}件" if labels.lang == "ja" else text
    return text


def _target(row: dict[str, Any], labels: Labels) -> str:
    if row["comparator"] in ("ge_prev_year", "le_prev_year", "gt_prev_year", "not_set", "done"):
        return labels.comparator(row["comparator"])
    if row.get("target_text") and labels.lang == "ja":
        return str(row["target_text"])
    value = _kpi_value(row["target_value"], row["unit"], labels)
    return f"{value} {labels.comparator(row['comparator'])}"


def _kpi_groups(data: BranchReportData, labels: Labels) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in data.kpi_rows:
        group = row.get("group") or kpis.GROUPS.get(getattr(kpis.BY_ID.get(row["kpi_id"]), "group", ""), "")
        name, text = labels.kpi(row["kpi_id"]), data_texts(row) if labels.lang == "ja" else ""
        if labels.lang == "ja" and text and not labels.has_japanese_name(row["kpi_id"]):
            name, text = text, ""  # no short Japanese name in the catalogue: the plan's own sentence
        groups.setdefault(group, []).append({
            "name": name,
            "text_ja": text,
            "target": _target(row, labels),
            "actual": _kpi_value(row["actual"], row["unit"], labels),
            "actual_period": row.get("actual_period") or "",
            "previous": _kpi_value(row["previous"], row["unit"], labels),
            "mark": row["mark"], "status": row["status"], "status_label": labels[row["status"]],
            "reason": row["reason"],
        })  # fmt: skip
    return [{"name": labels.group(g) if g else "", "rows": rows} for g, rows in groups.items()]


def data_texts(row: dict[str, Any]) -> str:
    """The plan's own sentence for the KPI, where the target file gave one."""
    return str(row.get("kpi_text_ja") or "")


def _ranked_row(r: Any, labels: Labels) -> dict[str, Any]:
    kpi = kpis.BY_ID[r.kpi_id]
    return {
        "name": labels.kpi(r.kpi_id),
        "value": _kpi_value(r.value, kpi.unit, labels),
        "deviation_score": "—" if r.deviation_score is None else f"{r.deviation_score:.1f}",
        "rank": "—" if r.rank is None else f"{r.rank} / {r.branches}",
    }
