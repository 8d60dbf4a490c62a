"""The branch report on the run page: a markdown artifact carrying the report's content (its title, the
marks, the KPI table with marks, 偏差値と順位, the charts), because the browser will not open the
`file://` link of the HTML report from the Prefect UI (docs/decisions.md, "issue 19: the report from
the run page"). The link artifact stays beside it for whoever reads the run on the machine itself.

The charts are embedded as PNG data URIs (Prefect's markdown renders an image token as <img src>), up
to CHART_BUDGET_BYTES per run: a run that reports every branch would otherwise put tens of megabytes
into the Prefect database. Past the budget a page names its chart files instead."""

from __future__ import annotations

import base64
from collections import Counter
from pathlib import Path
from typing import Any
from uuid import UUID

from prefect.artifacts import MarkdownArtifact
from prefect.logging import get_logger

from branchkpi.domain import figures, metrics
from branchkpi.flows.alert_text import Lang
from branchkpi.flows.artifact_text import as_lang, kpi_name, reason_text, status_word, target_words, text
from branchkpi.flows.artifacts import attach, cell, code, publish_report_links
from branchkpi.tasks.report.wording import Labels

CHART_BUDGET_BYTES = 3_000_000  # of PNG per run, before base64 (which adds a third)

_TEXT: dict[str, tuple[str, str]] = {  # key → (ja, en)
    "kpis": ("KPI の達成状況", "KPI results"),
    "ranking": ("偏差値と順位", "Deviation score and rank among branches"),
    "charts": ("月報（統計）", "Monthly statistics"),
    "charts_not_embedded": (
        "グラフはこのページの容量を超えるため、ファイルを参照してください:",
        "The charts would make this page too large; they are in these files:",
    ),
    "file": ("HTML の報告書（このマシン上のファイル）", "The HTML report (a file on this machine)"),
    "deviation_score": ("偏差値", "deviation score"),
    "rank": ("順位", "rank"),
    "no_kpis": ("この期間の KPI 目標はありません。", "No KPI targets for this period."),
}


def _t(key: str, lang: Lang) -> str:
    ja, en = _TEXT[key]
    return ja if lang == "ja" else en


class ChartBudget:
    """What is left of a run's budget for embedded charts."""

    def __init__(self, limit: int = CHART_BUDGET_BYTES) -> None:
        self.left = limit

    def take(self, charts: list[Path]) -> bool:
        size = sum(p.stat().st_size for p in charts if p.is_file())
        if size > self.left:
            return False
        self.left -= size
        return True


def page(written: Any, data: Any, lang: Lang, budget: ChartBudget | None = None) -> str:
    """The report as markdown: `written` is the report written (tasks.report.html.WrittenReport: title,
    charts, file), `data` what it was made from (tasks.report.gather.BranchReportData)."""
    marks = Counter(r["status"] for r in data.kpi_rows)
    lines = [f"# {cell(written.title)}", "", Labels(lang)["legend"], ""]
    lines += [f"## {_t('kpis', lang)}", "", *_kpi_table(data.kpi_rows, marks, lang)]
    if data.ranked:
        lines += ["", f"## {_t('ranking', lang)}", "", *_ranked_table(data.ranked, lang)]
    charts = [p for p in written.charts if p.is_file()]
    if charts:
        lines += ["", f"## {_t('charts', lang)}", ""]
        if (budget or ChartBudget()).take(charts):
            lines += [_image(p, lang) for p in charts]
        else:
            lines += [_t("charts_not_embedded", lang), ""] + [f"- {code(p)}" for p in charts]
    lines += ["", f"{_t('file', lang)}: {code(written.html)}"]
    return "\n".join(lines)


def _kpi_table(rows: list[dict[str, Any]], marks: Counter[str], lang: Lang) -> list[str]:
    if not rows:
        return [_t("no_kpis", lang)]
    summary = (
        f"○ {marks['achieved'] + marks['on_track']}　× {marks['missed']}　△ {marks['at_risk']}　"
        f"— {marks['not_evaluable']}"
    )
    heads = [text(k, lang) for k in ("kpi", "actual", "mark", "target", "previous", "status", "reason")]
    out = [summary, "", "| " + " | ".join(heads) + " |", "|---" * len(heads) + "|"]
    for r in rows:  # in the plan's order, as the report prints them
        kpi_id, unit = r["kpi_id"], r.get("unit")
        cells = [
            cell(kpi_name(kpi_id, r.get("kpi_text_ja"), lang)),
            cell(figures.kpi_figure(kpi_id, unit, r["actual"], lang)),
            r["mark"],
            cell(target_words(r, lang)),
            cell(figures.kpi_figure(kpi_id, unit, r["previous"], lang)),
            cell(status_word(r["status"], lang)),
            cell(reason_text(r, lang)),
        ]
        out.append("| " + " | ".join(cells) + " |")
    return out


def _ranked_table(ranked: list[Any], lang: Lang) -> list[str]:
    heads = [text("kpi", lang), text("actual", lang), _t("deviation_score", lang), _t("rank", lang)]
    out = ["| " + " | ".join(heads) + " |", "|---" * len(heads) + "|"]
    for r in ranked:
        score = figures.NONE_TEXT if r.deviation_score is None else figures.number(r.deviation_score, 1)
        rank = figures.NONE_TEXT if r.rank is None else f"{r.rank} / {r.branches}"
        value = figures.kpi_figure(r.kpi_id, None, r.value, lang)
        out.append(f"| {cell(kpi_name(r.kpi_id, None, lang))} | {cell(value)} | {score} | {rank} |")
    return out


def _image(path: Path, lang: Lang) -> str:
    """A chart as an embedded image; its alt text is the metric's name (the file is named by its id)."""
    metric = metrics.BY_ID.get(path.stem)
    alt = (metric.name_ja if lang == "ja" else metric.name_en) if metric else path.stem
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"![{cell(alt)}](data:image/png;base64,{data})\n"


def publish(reported: list[tuple[Any, Any]], lang: str = "ja", flow_run_id: UUID | None = None) -> None:
    """Per branch report written (with what it was made from, tasks.steps.branch_reports): the link to
    its file (as before) and the page with its content; on the run in progress, or on the run
    `flow_run_id` names (the reports written after the run answered, flows/reports)."""
    publish_report_links([written for written, _ in reported], flow_run_id)
    budget, words = ChartBudget(), as_lang(lang)
    for written, data in reported:
        try:
            markdown = page(written, data, words, budget)
        except OSError as exc:  # a chart file gone since: the report is written and linked, the run stands
            _logger().warning("report page of %s not made: %s", written.name_romaji, exc)
            continue
        artifact = MarkdownArtifact(
            key=f"branch-report-page-{written.name_romaji}", markdown=markdown, description=cell(written.title)
        )
        attach(artifact, flow_run_id)


def _logger() -> Any:
    """The run's logger in a run, else this module's (a background report process has no run context)."""
    from prefect import get_run_logger
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:
        return get_logger("branchkpi.reports")
