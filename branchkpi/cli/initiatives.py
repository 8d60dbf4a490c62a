"""`branchkpi initiatives`: a prefecture's NHI initiative uptake (取組状況 N/M市町村) as loaded, with the
目標設定状況 computed from the municipal targets beside the printed one; and the prefecture report that
`branchkpi report --prefecture` writes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from branchkpi.cli.app import CliError, app, guard
from branchkpi.cli.output import OutputFormat, write_rows

TABLE_COLUMNS = [
    "section_ja",
    "label_ja",
    "adopted",
    "total",
    "pct",
    "pct_printed",
    "computed_adopted",
    "computed_total",
]


@app.command()
def initiatives(
    prefecture: Annotated[str, typer.Option(help="okayama, 岡山 or 33.")],
    fiscal_year: Annotated[str, typer.Option("--fiscal-year", help="2018, H30, 平成30年度 …")],
    output: Annotated[OutputFormat, typer.Option("--format", help="csv, json or table.")] = OutputFormat.table,
) -> None:
    """NHI initiative uptake (取組状況): each initiative with adopted, total and % (computed, and as
    printed); the 目標設定状況 row also shows the count computed from the loaded municipal targets."""

    def body() -> None:
        from branchkpi.domain import fiscal
        from branchkpi.tasks.initiatives import COLUMNS, resolve_prefecture, uptake_table
        from branchkpi.warehouse.engine import connect_reader

        try:
            region = resolve_prefecture(prefecture)
            fy = fiscal.parse_fiscal_year(fiscal_year)
        except ValueError as exc:
            raise CliError(str(exc)) from exc
        rows = uptake_table(connect_reader(), region.code, fy)
        if not rows:
            raise CliError(
                f"no initiative uptake for {region.name_romaji} ({region.name_ja}) FY{fy}: load e.g. "
                f"{region.name_romaji}_initiative_adoption.csv with `branchkpi ingest`"
            )
        write_rows(rows, output, TABLE_COLUMNS if output is OutputFormat.table else COLUMNS)

    guard(body)


def prefecture_report(prefecture: str, fiscal_year: str, out: Path, lang: str) -> None:
    """`report --prefecture`: the municipalities' collection-rate targets and marks, and the uptake."""
    from branchkpi.domain import fiscal
    from branchkpi.tasks.report.prefecture import gather, write_prefecture_report
    from branchkpi.warehouse.engine import connect

    if lang not in ("ja", "en"):
        raise CliError(f"--lang must be ja or en, got {lang!r}")
    try:
        data = gather(connect(), prefecture, fiscal.parse_fiscal_year(fiscal_year))
        written = write_prefecture_report(data, out, lang)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    typer.echo(
        f"{written.html} ({written.municipalities} municipalities: {written.missed} missed; "
        f"{written.initiatives} initiatives)"
    )
