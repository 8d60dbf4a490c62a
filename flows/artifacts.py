"""What a run shows on its page in the Prefect UI: the batch summary (markdown), the month's KPI table,
the evaluation's table (missed first) and summary, the backfill's progress and summary, and links to
the branch reports. Everything from the data is escaped: Prefect renders markdown, and a file or unit
named "[click](javascript:…)" must stay text. The evaluation artifacts stop at ARTIFACT_ROWS rows;
every row is in kpi_evaluations."""

from __future__ import annotations

import html
from collections import Counter
from typing import Any
from uuid import UUID

from prefect.artifacts import (
    Artifact,
    LinkArtifact,
    create_markdown_artifact,
    create_table_artifact,
)

from branchkpi.domain import figures
from branchkpi.domain.target_rules import STATUS_ORDER
from branchkpi.flows.alert_text import Lang, period_text, unit_text
from branchkpi.flows.artifact_text import (
    as_lang,
    evaluation_period,
    evaluation_row,
    kpi_name,
    month_kpi_row,
    reason_text,
    status_words,
    summary_text,
    target_words,
    text,
)
from branchkpi.tasks.evaluate import first_rows
from branchkpi.tasks.kpi_replacements import replacement_line
from branchkpi.tasks.outcome import BatchOutcome

FLAGGED = ("missed", "at_risk")

MAX_FINDINGS_SHOWN = 50


# Markdown that data could use to make a link, an image or code, or to cancel our escapes. Prefect's UI
# renders markdown artifacts (and artifact descriptions): a file or unit named "[click](javascript:…)"
# must be shown as text, not become a live link.
_MARKDOWN_ESCAPES = str.maketrans({"\\": "\\\\", "[": "\\[", "]": "\\]", "`": "\\`", "|": "\\|"})


def cell(value: Any) -> str:
    """Data as text safe in markdown, also inside a table cell: HTML escaped (<script> is shown, not
    run), no link, image or code syntax ([ ] ` escaped), no column breaks (|), no line breaks."""
    if value is None:
        return ""
    text = html.escape(str(value), quote=False).translate(_MARKDOWN_ESCAPES)
    return text.replace("\n", " ").replace("\r", " ")


def code(value: Any) -> str:
    """Data as a markdown code span (an id, a path): HTML escaped, no backtick to end the span early,
    no | to break a table."""
    text = html.escape(str(value), quote=False).replace("`", "'").replace("|", "\\|")
    return f"`{text.replace(chr(10), ' ').replace(chr(13), ' ')}`"


def description(message: str, limit: int = 500) -> str:
    """An artifact description (Prefect renders it as markdown) from a run's message, which may name
    files, units and cell values: escaped as `cell`, then cut at `limit` characters."""
    return cell(message[:limit])


def batch_summary(outcome: BatchOutcome, title: str = "Monthly branch statistics", lang: Lang = "ja") -> str:
    """The run's summary in the report language: what landed, what was loaded, the checks, the files
    and every finding in its Japanese (or English) words."""

    def t(key: str, **values: Any) -> str:
        return summary_text(key, lang, **values)

    def heads(key: str) -> list[str]:
        names = t(key).split("|")
        return ["| " + " | ".join(names) + " |", "|---" * len(names) + "|"]

    period = period_text(outcome.period, lang) if outcome.period else ""
    loaded = t(
        "loaded_detail",
        loaded=outcome.rows_loaded,
        new=outcome.rows_inserted,
        replaced=outcome.rows_replaced,
        unchanged=outcome.rows_unchanged,
    )
    checks = t(
        "expectations_detail",
        passed=outcome.expectations_passed,
        warned=outcome.expectations_warned,
        failed=outcome.expectations_failed,
    )
    lines = [
        f"# {t(title)} {cell(period)}: {status_words(outcome.status, outcome.failure, lang)}",
        "",
        cell(outcome.message),
        "",
        "| | |",
        "|---|---|",
        f"| {t('files_landed')} | {len(outcome.files)} |",
        f"| {t('rows_landed')} | {outcome.rows_landed} |",
        f"| {t('rows_loaded')} | {loaded} |",
        f"| {t('rows_quarantined')} | {outcome.rows_quarantined} |",
        f"| {t('totals_loaded')} | {outcome.totals_loaded} |",
        f"| {t('expectations')} | {checks} |",
        f"| {t('kpi_rows')} | {', '.join(f'{k} {v}' for k, v in outcome.kpi_rows.items()) or '-'} |",
        f"| Data Docs | {code(outcome.data_docs_path or '-')} |",
        *([f"| {t('sign_off')} | {cell(outcome.sign_off_line)} |"] if outcome.sign_off_line else []),
        f"| {t('batch_id')} | {code(outcome.batch_id)} |",
        "",
    ]
    if outcome.files:
        lines += [f"## {t('files')}", "", *heads("file_heads")]
        for f in outcome.files:
            note = f.error or (t("loaded_before") if f.previously_loaded else "")
            if f.skipped_sheets:
                note += " " + t("skipped_sheets", sheets=", ".join(f.skipped_sheets))
            if f.empty_sheets:
                note += " " + t("empty_sheets", sheets=", ".join(f.empty_sheets))
            lines.append(
                f"| {cell(f.file_name)} | {cell(f.layout)} | {cell(f.encoding)} | {f.rows} | "
                f"{code(f.sha256[:12])} | {cell(note.strip())} |"
            )
        lines.append("")
    if outcome.replacements:  # a KPI file's row replaced a stored target, actual or place (kpi_audit keeps the old)
        shown_replacements = outcome.replacements[:MAX_FINDINGS_SHOWN]
        lines += [
            f"## {t('replaced_title', n=len(outcome.replacements), shown=len(shown_replacements))}",
            "",
            *heads("replaced_heads"),
        ]
        for r in shown_replacements:
            replaced_row, _, changed = replacement_line(r, lang).partition(": ")
            lines.append(f"| {cell(replaced_row)} | {cell(changed)} |")
        lines.append("")
    failed_rules = [r for r in outcome.rule_summary if not r["success"]]
    if failed_rules:
        lines += [f"## {t('rules_failed')}", "", *heads("rule_heads")]
        for r in failed_rules:
            meaning = (r.get("reason_ja") or r["reason"]) if lang == "ja" else r["reason"]
            lines.append(f"| {cell(r['rule'])} | {t(r['severity'])} | {r['unexpected']} | {cell(meaning)} |")
        lines.append("")
    if outcome.findings:
        shown = sorted(outcome.findings, key=lambda f: f.severity != "critical")[:MAX_FINDINGS_SHOWN]
        lines += [f"## {t('findings', n=len(outcome.findings), shown=len(shown))}", "", *heads("finding_heads")]
        for finding in shown:
            where = (finding.file_name, finding.source_row, finding.column_name, finding.value_text)
            row = [t(finding.severity), *map(cell, where), cell(finding.rule), cell(finding.reason_in(lang))]
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def kpi_table(rows: list[dict[str, Any]], lang: Lang = "ja") -> list[dict[str, Any]]:
    """The month's KPIs per region as a person reads them: 山口支部, 令和3年3月, 被保険者数, 260,511人,
    前年同月比 -0.1% first; the ids last."""
    return [month_kpi_row(row, lang) for row in rows]


# --- evaluations -------------------------------------------------------------------------------

ARTIFACT_ROWS = 1000

# the plan's own KPI sentence per (unit_key, fiscal_year, kpi_id), read from the targets
PlanTexts = dict[tuple[str, int, str], str]


def sort_key(row: dict[str, Any]) -> tuple[int, int, str, str]:
    """Missed first, then at risk, not evaluable, met; by year, unit and KPI within each."""
    return STATUS_ORDER[row["status"]], row["fiscal_year"], row["unit_key"], row["kpi_id"]


def _plan_text(row: dict[str, Any], texts: PlanTexts | None) -> str | None:
    return (texts or {}).get((row["unit_key"], row["fiscal_year"], row["kpi_id"]))


def evaluation_table(
    rows: list[dict[str, Any]], texts: PlanTexts | None = None, lang: Lang = "ja"
) -> list[dict[str, Any]]:
    """The first ARTIFACT_ROWS rows (they come sorted: missed, at_risk, —, ○), unit, period, KPI,
    actual and mark first. Text is HTML escaped: Prefect's UI shows table cells as text, but a unit or
    target text holding <script> must not become markup in any other viewer of the artifact either."""
    return [
        {c: _text(v) for c, v in evaluation_row(r, _plan_text(r, texts), lang).items()} for r in rows[:ARTIFACT_ROWS]
    ]


def _text(value: Any) -> Any:
    return html.escape(value, quote=False) if isinstance(value, str) else value


def _counts_line(counts: Counter[str] | dict[str, int], n: int, run: str, lang: Lang) -> str:
    return text(
        "counts",
        lang,
        n=f"{n:,}",
        ok=counts["achieved"] + counts["on_track"],
        missed=counts["missed"],
        at_risk=counts["at_risk"],
        none=counts["not_evaluable"],
        run=run,
    )


def _flagged_line(r: dict[str, Any], texts: PlanTexts | None, lang: Lang, with_year: bool = False) -> str:
    """| (令和2年度 |) 山口支部 | 保険証回収率 | 96.3%以上 | 95.82% | × | reason |"""
    kpi = kpi_name(r["kpi_id"], _plan_text(r, texts), lang)
    actual = figures.kpi_figure(r["kpi_id"], r.get("unit"), r["actual"], lang)
    cells = [unit_text(r["unit_key"], lang, r.get("unit_name")), kpi, target_words(r, lang), actual]
    year = [evaluation_period(r, lang)] if with_year else []
    tail = [] if with_year else [reason_text(r, lang)]
    return "| " + " | ".join([*map(cell, year + cells), r["mark"], *map(cell, tail)]) + " |"


def evaluation_summary(
    rows: list[dict[str, Any]],
    label: str,
    run_id: str,
    texts: PlanTexts | None = None,
    lang: Lang = "ja",
    counts: dict[str, int] | None = None,
) -> str:
    """The summary of one fiscal year's evaluation. `counts` (per status, of every row) when `rows`
    are only some of them: its flagged ones (a large evaluation is not made into dicts whole)."""
    counts = counts if counts is not None else Counter(r["status"] for r in rows)
    lines = [
        f"# {text('evaluation', lang)} {cell(period_text(label, lang))}",
        "",
        _counts_line(counts, sum(counts.values()), f"`{run_id}`", lang),
        "",
    ]
    flagged = [r for r in rows if r["status"] in FLAGGED]
    total = sum(counts.get(s, 0) for s in FLAGGED)
    if flagged:
        heads = [text(k, lang) for k in ("unit", "kpi", "target", "actual", "mark", "reason")]
        lines += [f"## {text('flagged', lang)}", "", "| " + " | ".join(heads) + " |", "|---" * len(heads) + "|"]
        if total > ARTIFACT_ROWS:
            lines[-2:-2] = [text("first_of", lang, shown=f"{ARTIFACT_ROWS:,}", total=f"{total:,}"), ""]
        lines += [_flagged_line(r, texts, lang) for r in flagged[:ARTIFACT_ROWS]]
    return "\n".join(lines)


def evaluation_years_summary(
    evaluations: list[Any],
    label: str,
    fresh_rows: list[dict[str, Any]],
    texts: PlanTexts | None = None,
    lang: Lang = "ja",
) -> str:
    """The summary of a run over several fiscal years (or of one whose evaluation was reused): a line
    per year with its marks and its evaluation run, then the missed and at-risk targets of the
    years evaluated now (`fresh_rows`: at least their first ARTIFACT_ROWS flagged ones, in order; the
    count is the years' own)."""
    heads = [text("fiscal_year", lang), text("targets", lang), "○", "×", "△", "—", text("run", lang)]
    lines = [
        f"# {text('evaluation', lang)} {cell(period_text(label, lang))}",
        "",
        "| " + " | ".join(heads) + " |",
        "|---" * len(heads) + "|",
    ]
    for e in evaluations:
        c = e.counts
        run = f"`{e.evaluation_id}`" + (" " + text("reused", lang) if e.reused else "")
        lines.append(
            f"| {period_text(f'FY{e.fiscal_year}', lang)} | {len(e):,} | {c['achieved'] + c['on_track']} | "
            f"{c['missed']} | {c['at_risk']} | {c['not_evaluable']} | {run} |"
        )
    flagged = [r for r in fresh_rows if r["status"] in FLAGGED]
    total = sum(e.counts.get(s, 0) for e in evaluations if not e.reused for s in FLAGGED)
    if flagged:
        heads = [text(k, lang) for k in ("period", "unit", "kpi", "target", "actual", "mark")]
        lines += [
            "",
            f"## {text('flagged', lang)} ({total:,})",
            "",
            "| " + " | ".join(heads) + " |",
            "|---" * len(heads) + "|",
        ]
        lines += [_flagged_line(r, texts, lang, with_year=True) for r in flagged[:ARTIFACT_ROWS]]
        if total > ARTIFACT_ROWS:
            lines += ["", text("first_of", lang, shown=f"{ARTIFACT_ROWS:,}", total=f"{total:,}")]
    return "\n".join(lines)


# --- publishing ----------------------------------------------------------------------------------


def publish_batch_summary(outcome: BatchOutcome, key: str, title: str, lang: str = "ja") -> None:
    words = as_lang(lang)
    create_markdown_artifact(
        key=key, markdown=batch_summary(outcome, title, words), description=description(outcome.message)
    )


def publish_month_kpis(rows: list[dict[str, Any]], label: str, lang: str = "ja") -> None:
    """The month's KPIs per region as a table artifact, in the report language."""
    if rows:
        words = as_lang(lang)
        create_table_artifact(
            key="monthly-kpis",
            table=kpi_table(rows, words),
            description=text("month_kpis", words, period=period_text(label, words)),
        )


def publish_evaluation(evaluations: list[Any], label: str, texts: PlanTexts | None = None, lang: str = "ja") -> None:
    """The table of the targets evaluated now (missed first) and the summary of every year, in the
    report language, naming each KPI by its Japanese name or the plan's own sentence (`texts`)."""
    words = as_lang(lang)
    fresh = [e for e in evaluations if not e.reused]
    # only the rows shown are made into dicts: the first ARTIFACT_ROWS, and as many flagged ones
    shown, flagged = first_rows(fresh, ARTIFACT_ROWS), first_rows(fresh, ARTIFACT_ROWS, flagged=True)
    if fresh:
        create_table_artifact(
            key="kpi-evaluation",
            table=evaluation_table(shown, texts, words),
            description=cell(f"KPI {period_text(label, words)}: {sum(len(e) for e in fresh):,}"),
        )
    one_fresh_year = len(evaluations) == 1 and fresh
    create_markdown_artifact(
        key="kpi-evaluation-summary",
        markdown=evaluation_summary(flagged, label, fresh[0].evaluation_id, texts, words, fresh[0].counts)
        if one_fresh_year
        else evaluation_years_summary(evaluations, label, flagged, texts, words),
    )


def publish_report_links(written: list[Any], page_url: str | None = None, flow_run_id: UUID | None = None) -> None:
    """One link artifact per branch report written (the run's Artifacts tab): to the report's page in
    the UI (flows/report_page), which the browser opens; to the file only where no UI is known (the
    ephemeral API), for whoever reads the run on the machine. The description names the files. On the
    run in progress, or on the run `flow_run_id` names (the reports written after it, flows/reports)."""
    for report in written:
        attach(
            LinkArtifact(
                key=f"branch-report-{report.name_romaji}",
                link=page_url or report.html.as_uri(),
                link_text=report.title,
                description=report.summary,
            ),
            flow_run_id,
        )


def attach(artifact: Artifact, flow_run_id: UUID | None = None) -> UUID:
    """Create an artifact on the run in progress, or, from a process working for a run that has ended
    (flows/reports: the reports written after the run answered), on the run `flow_run_id` names."""
    if flow_run_id is None:
        created: Any = artifact.create(_sync=True)  # type: ignore[call-arg]
        return UUID(str(created.id))
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import ArtifactCreate

    request = ArtifactCreate(
        type=artifact.type,
        key=artifact.key,
        description=artifact.description,
        data=artifact.format(_sync=True),  # type: ignore[call-arg]
        flow_run_id=flow_run_id,
    )
    with get_client(sync_client=True) as client:
        return client.create_artifact(artifact=request).id
