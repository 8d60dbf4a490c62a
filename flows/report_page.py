"""The branch report on the run page: a markdown artifact carrying the report's content (its title, the
marks, the KPI table with marks, 偏差値と順位, the charts), because the browser will not open the
`file://` link of the HTML report from the Prefect UI (docs/decisions.md, "issue 19: the report from
the run page"). The link artifact `branch-report-<branch>` points at that page in the UI (an http link
the browser opens); it names the HTML file and the workbook for whoever reads the run on the machine.

The KPI table is an HTML table inside the markdown: Prefect renders a markdown table with cells that
never wrap in a box whose scrollbar is hidden, so a long reason ran off its right edge; an HTML block
is rendered through Prefect's sanitiser (DOMPurify: no style, no script) with the browser's own table
layout, whose cells wrap, so every column is on the page. Every value is HTML-escaped first.

The charts are embedded as PNG data URIs (Prefect's markdown renders an image token as <img src>), up
to CHART_BUDGET_BYTES per run: a run that reports every branch would otherwise put tens of megabytes
into the Prefect database. Past the budget a page names its chart files instead."""

from __future__ import annotations

import base64
import html
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


KPI_COLUMNS = ("kpi", "actual", "mark", "target", "previous", "status", "reason")


def _kpi_table(rows: list[dict[str, Any]], marks: Counter[str], lang: Lang) -> list[str]:
    if not rows:
        return [_t("no_kpis", lang)]
    summary = (
        f"○ {marks['achieved'] + marks['on_track']}　× {marks['missed']}　△ {marks['at_risk']}　"
        f"— {marks['not_evaluable']}"
    )
    # one HTML block (no blank line inside: markdown ends an HTML block at one), cells escaped
    heads = "".join(
        f'<th class="border p-2 text-left"{_KEEP.get(k, "")}>{html.escape(text(k, lang))}</th>' for k in KPI_COLUMNS
    )
    out = [summary, "", '<table class="branch-report-kpis" cellpadding="6">', f"<thead><tr>{heads}</tr></thead>"]
    out.append("<tbody>")
    for r in rows:  # in the plan's order, as the report prints them
        kpi_id, unit = r["kpi_id"], r.get("unit")
        cells = [
            ("", kpi_name(kpi_id, r.get("kpi_text_ja"), lang)),
            ("num", figures.kpi_figure(kpi_id, unit, r["actual"], lang)),
            ("mark", r["mark"]),
            ("", target_words(r, lang)),
            ("num", figures.kpi_figure(kpi_id, unit, r["previous"], lang)),
            ("status", status_word(r["status"], lang)),
            ("", reason_text(r, lang)),
        ]
        tds = "".join(_td(kind, value) for kind, value in cells)
        out.append(f'<tr data-status="{html.escape(r["status"])}">{tds}</tr>')
    out += ["</tbody>", "</table>"]
    return out


# short columns kept on one line (a figure, a mark, 未達成); the KPI, target and reason wrap
_KEEP = {k: " nowrap" for k in ("actual", "mark", "previous", "status")}


# characters a markdown renderer might still read inside the block (a link `[x](javascript:…)`,
# emphasis, code): written as character references, which read the same and mean nothing
_MARKDOWN = str.maketrans({c: f"&#{ord(c)};" for c in "[]()!*_`|\\"})


def _inert(text: str) -> str:
    """Text as it reads, and nothing more: HTML-escaped, its markdown characters as references."""
    return html.escape(text, quote=False).translate(_MARKDOWN)


def _td(kind: str, value: str) -> str:
    """A cell: text escaped (a KPI text holding <script> stays text) on one line (a blank line would end
    the HTML block), figures right, marks centred."""
    align = {"num": "right", "mark": "center"}.get(kind, "left")
    keep = " nowrap" if kind in ("num", "mark", "status") else ""
    text = " ".join(str(value).split())
    return f'<td class="border p-2" align="{align}"{keep}>{_inert(text)}</td>'


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


def page_url(artifact_id: Any) -> str | None:
    """The UI's page of an artifact (…/artifacts/artifact/<id>), where the UI's address is known (a
    local or shared server); None on Prefect's ephemeral API, which has no UI."""
    from prefect.settings import PREFECT_UI_URL

    base = PREFECT_UI_URL.value()
    return f"{str(base).rstrip('/')}/artifacts/artifact/{artifact_id}" if base and artifact_id else None


def publish(reported: list[tuple[Any, Any]], lang: str = "ja", flow_run_id: UUID | None = None) -> None:
    """Per branch report written (with what it was made from, tasks.steps.branch_reports): the page with
    its content, and the link to it on the run's Artifacts tab (to the file where no UI is known); on
    the run in progress, or on the run `flow_run_id` names (the reports written after the run
    answered, flows/reports)."""
    budget, words = ChartBudget(), as_lang(lang)
    for written, data in reported:
        page_id = None
        try:
            markdown = page(written, data, words, budget)
        except OSError as exc:  # a chart file gone since: the report is written and linked, the run stands
            _logger().warning("report page of %s not made: %s", written.name_romaji, exc)
        else:
            artifact = MarkdownArtifact(
                key=f"branch-report-page-{written.name_romaji}", markdown=markdown, description=cell(written.title)
            )
            page_id = attach(artifact, flow_run_id)
        publish_report_links([written], page_url(page_id), flow_run_id)


def _logger() -> Any:
    """The run's logger in a run, else this module's (a background report process has no run context)."""
    from prefect import get_run_logger
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:
        return get_logger("branchkpi.reports")
