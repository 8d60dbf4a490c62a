"""Human-readable summaries of a batch: the markdown artifact and the KPI table artifact."""

from __future__ import annotations

import html
from typing import Any

from branchkpi.domain import metrics
from branchkpi.tasks.outcome import BatchOutcome

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


def status_line(outcome: BatchOutcome) -> str:
    words = {
        "loaded": "loaded",
        "warned": "loaded with warnings",
        "unchanged": "nothing new to load",
        "failed": "FAILED the quality gate",
        "no_input": "no input",
    }
    return words.get(outcome.status, outcome.status)


def markdown(outcome: BatchOutcome, title: str = "Monthly branch statistics") -> str:
    lines = [
        f"# {title} {cell(outcome.period or '')}: {status_line(outcome)}",
        "",
        cell(outcome.message),
        "",
        "| | |",
        "|---|---|",
        f"| files landed | {len(outcome.files)} |",
        f"| rows landed | {outcome.rows_landed} |",
        f"| rows loaded | {outcome.rows_loaded} ({outcome.rows_inserted} new, {outcome.rows_replaced} replaced; "
        f"{outcome.rows_unchanged} unchanged) |",
        f"| rows quarantined | {outcome.rows_quarantined} |",
        f"| fiscal-year totals (合計) loaded | {outcome.totals_loaded} |",
        f"| expectations | {outcome.expectations_passed} passed / {outcome.expectations_warned} warned / "
        f"{outcome.expectations_failed} failed |",
        f"| KPI rows computed | {', '.join(f'{k} {v}' for k, v in outcome.kpi_rows.items()) or '-'} |",
        f"| Data Docs | {code(outcome.data_docs_path or '-')} |",
        f"| batch id | {code(outcome.batch_id)} |",
        "",
    ]
    if outcome.files:
        lines += ["## Files", "", "| file | layout | encoding | rows | sha256 | note |", "|---|---|---|---|---|---|"]
        for f in outcome.files:
            note = f.error or ("loaded before" if f.previously_loaded else "")
            lines.append(
                f"| {cell(f.file_name)} | {cell(f.layout)} | {cell(f.encoding)} | {f.rows} | "
                f"{code(f.sha256[:12])} | {cell(note)} |"
            )
        lines.append("")
    failed_rules = [r for r in outcome.rule_summary if not r["success"]]
    if failed_rules:
        lines += ["## Expectations not met", "", "| rule | severity | rows | meaning |", "|---|---|---|---|"]
        for r in failed_rules:
            lines.append(f"| {cell(r['rule'])} | {r['severity']} | {r['unexpected']} | {cell(r['reason'])} |")
        lines.append("")
    if outcome.findings:
        shown = sorted(outcome.findings, key=lambda f: f.severity != "critical")[:MAX_FINDINGS_SHOWN]
        lines += [
            f"## Findings ({len(outcome.findings)}; first {len(shown)})",
            "",
            "| severity | file | row | column | value | rule | reason |",
            "|---|---|---|---|---|---|---|",
        ]
        for finding in shown:
            lines.append(
                "| "
                + " | ".join(
                    [finding.severity]
                    + [
                        cell(v)
                        for v in (finding.file_name, finding.source_row, finding.column_name, finding.value_text)
                    ]
                    + [cell(finding.rule), cell(finding.reason)]
                )
                + " |"
            )
    return "\n".join(lines)


def kpi_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The month's KPIs per region, rounded as a person reads them."""

    def r(value: Any, digits: int) -> Any:
        return None if value is None else round(float(value), digits)

    return [
        {
            "region": row["region"],
            "region_ja": row["region_ja"],
            "metric": row["metric"],
            "metric_ja": metrics.BY_ID[row["metric"]].name_ja if row["metric"] in metrics.BY_ID else "",
            "fiscal_year": row["fiscal_year"],
            "month": row["month"],
            "value": r(row["value"], 2),
            "yoy_pct": r(row["yoy_pct"], 1),
            "yoy_pct_printed": row["yoy_pct_printed"],
            "fytd_total": r(row["fytd_total"], 2),
            "fytd_average": r(row["fytd_average"], 2),
            "fytd_yoy_pct": r(row["fytd_yoy_pct"], 1),
            "share_of_national_pct": r(row["share_of_national_pct"], 2),
        }
        for row in rows
    ]
