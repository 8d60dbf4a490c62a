"""How the commands print: tables, CSV (formula-safe) and JSON of rows, and a run's outcome."""

from __future__ import annotations

import csv
import json
import sys
from enum import StrEnum
from typing import Any

import typer

from branchkpi.domain import figures


class OutputFormat(StrEnum):
    csv = "csv"
    json = "json"
    table = "table"


def print_outcome(state: Any, outcome: Any) -> None:
    echo = typer.echo
    echo(f"{outcome.period or 'batch'}: {outcome.status_line} (Prefect state {state.name})")
    for f in outcome.files:
        note = f" ERROR {f.error}" if f.error else (" (loaded before)" if f.previously_loaded else "")
        if f.skipped_sheets:
            note += f" (sheets without a table, skipped: {', '.join(f.skipped_sheets)})"
        if f.empty_sheets:
            note += f" (no rows: {', '.join(f.empty_sheets)})"
        echo(f"  file {f.file_name}: {f.layout or '-'} {f.encoding or ''} {f.rows} rows{note}")
    echo(
        f"  rows: {outcome.rows_landed} landed, {outcome.rows_loaded} loaded ({outcome.rows_inserted} new, "
        f"{outcome.rows_replaced} replaced), {outcome.rows_unchanged} unchanged, {outcome.rows_quarantined} quarantined"
    )
    echo(
        f"  expectations: {outcome.expectations_passed} passed, {outcome.expectations_warned} warned, "
        f"{outcome.expectations_failed} failed"
    )
    replacements = getattr(outcome, "replacements", [])
    if replacements:
        from branchkpi.tasks.kpi_replacements import replacement_line

        echo(f"  replaced (置き換え, the old values are in kpi_audit): {len(replacements)}")
        for r in replacements[:10]:
            echo(f"    {replacement_line(r)}")
    if outcome.kpi_rows:
        echo("  KPIs: " + ", ".join(f"{k} {v} rows" for k, v in outcome.kpi_rows.items()))
    if outcome.data_docs_path:
        echo(f"  Data Docs: {outcome.data_docs_path}")
    shown = sorted(outcome.findings, key=lambda f: f.severity != "critical")[:10]
    for finding in shown:
        echo(f"  {finding.severity}: {finding}")
    if len(outcome.findings) > len(shown):
        echo(f"  … {len(outcome.findings) - len(shown)} more findings in the run's artifact and quarantined_rows")


def exit_code(outcome: Any) -> int:
    return 0 if outcome.status in ("loaded", "warned", "unchanged") else 1


def write_rows(rows: list[dict[str, Any]], output: OutputFormat, columns: list[str]) -> None:
    if output is OutputFormat.json:
        typer.echo(json.dumps([{c: r[c] for c in columns} for r in rows], ensure_ascii=False, indent=1))
    elif output is OutputFormat.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writerow({c: csv_safe(c) for c in columns})
        writer.writerows({c: csv_safe(r.get(c)) for c in columns} for r in rows)
    else:
        from rich.console import Console
        from rich.table import Table

        console = Console()
        console.width = max(console.width, 160)  # a table is read whole; let a pipe keep it too
        table = Table(*columns, header_style="bold")
        for r in rows:
            table.add_row(*(cell_text(c, r[c]) for c in columns))
        console.print(table)


# Spreadsheets read a CSV cell starting with one of these as a formula (=CMD|' /C calc'!A0, +1+1,
# @SUM(A1), -2+3; TAB and CR too). OWASP's rule for CSV exports: such a text cell gets a leading
# single quote, so it is shown as text and never evaluated. Numbers stay numbers (-0.4 is a number).
CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """A cell for a CSV export: text that a spreadsheet would evaluate as a formula, neutralised."""
    if not isinstance(value, str):
        return value
    if value.startswith(CSV_FORMULA_STARTS):
        value = "'" + value
    # a lone CR is not quoted by the csv module when lines end in LF: a spreadsheet would split the row
    return value.replace("\r\n", "\n").replace("\r", "\n")


# integers that name a year, month or thing rather than count it: 2020 is a year, not 2,020
_NAMING_COLUMNS = frozenset({"fiscal_year", "year", "month", "quarter", "rank", "period"})
_NAMING_SUFFIXES = ("_year", "_id", "_key", "_code")


def cell_text(column: str, value: Any) -> str:
    """A table cell as a person reads it: figures with thousands separators and never in exponent
    form (fytd_total 1,040,750, not 1.04075e+06); per cent to one decimal as the 月報 prints it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) and (column in _NAMING_COLUMNS or column.endswith(_NAMING_SUFFIXES)):
        return str(value)
    if isinstance(value, float | int):
        return figures.number(value, 1 if column.endswith("_pct") and isinstance(value, float) else None)
    return str(value)
