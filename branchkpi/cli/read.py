"""Commands that read the warehouse: `query monthly`, `rank`, `report`, `coverage`."""

from __future__ import annotations

from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from branchkpi.cli.app import CliError, app, guard, query_app
from branchkpi.cli.output import OutputFormat, write_rows


class ReportFormat(StrEnum):
    """What `report` writes: the HTML page (charts inside) or the Excel workbook."""

    html = "html"
    xlsx = "xlsx"


@query_app.command("monthly")
def query_monthly(
    region: Annotated[str | None, typer.Option(help="yamaguchi, 山口, 35 or national/全国 (default: all).")] = None,
    fiscal_year: Annotated[
        str | None, typer.Option("--fiscal-year", help="2020, R2, 令和2年度 … (default: all).")
    ] = None,
    metric: Annotated[str | None, typer.Option(help="Metric id or Japanese name, e.g. insured_persons.")] = None,
    month: Annotated[int | None, typer.Option(help="Calendar month 1-12.")] = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="csv, json or table.")] = OutputFormat.table,
) -> None:
    """Monthly statistics and KPIs: value, 前年同月比 (computed and as printed), fiscal-year-to-date
    total, average and YoY, and share of national."""

    def body() -> None:
        from branchkpi.domain import fiscal, metrics, regions
        from branchkpi.warehouse import reads
        from branchkpi.warehouse.engine import connect_reader

        region_code = None
        if region is not None:
            region_code = regions.resolve_region(region)
            if region_code is None:
                raise CliError(f"unknown region {region!r}: use e.g. yamaguchi, 山口, 35 or national")
        fy = None
        if fiscal_year is not None:
            try:
                fy = fiscal.parse_fiscal_year(fiscal_year)
            except ValueError as exc:
                raise CliError(str(exc)) from exc
        metric_id = None
        if metric is not None:
            metric_id = metrics.resolve_metric(metric)
            if metric_id is None:
                raise CliError(f"unknown metric {metric!r}: one of {', '.join(metrics.BY_ID)}")
        if month is not None and not 1 <= month <= 12:
            raise CliError(f"month must be 1-12, got {month}")
        rows = reads.monthly_kpis(connect_reader(), region_code, fy, month, metric_id)
        if not rows:
            raise CliError("no data matches (load some with `branchkpi ingest`)")
        if output is OutputFormat.table:  # a person's table: a head count or an average is never summed
            rows = [_as_printed(r) for r in rows]
        write_rows(rows, output, reads.MONTHLY_COLUMNS)

    guard(body)


def _as_printed(row: dict[str, Any]) -> dict[str, Any]:
    """The year to date as the 月報 prints it: a flow's total (保険給付費), a stock's or an average's
    年度平均 (被保険者数, 平均標準報酬月額); the other figure is left empty (json and csv keep both)."""
    from branchkpi.domain import metrics

    metric = metrics.BY_ID.get(row["metric"])
    if metric is None:
        return row
    return {**row, "fytd_average": None} if metric.aggregation == "sum" else {**row, "fytd_total": None}


@app.command()
def rank(
    kpi: Annotated[str, typer.Option(help="KPI id, e.g. lifestyle_checkup_rate.")],
    fiscal_year: Annotated[str, typer.Option("--fiscal-year", help="2020, R2, 令和2年度 …")],
    output: Annotated[OutputFormat, typer.Option("--format", help="csv, json or table.")] = OutputFormat.table,
) -> None:
    """Deviation score (偏差値 = 50 + 10·(x − mean)/sd) and rank of every branch for a KPI."""

    def body() -> None:
        from branchkpi.domain import fiscal, kpi_names, kpis
        from branchkpi.tasks.rank import rank_branches
        from branchkpi.warehouse.engine import connect_reader

        kpi_id = kpi_names.resolve_exact(kpi)
        if kpi_id is None:
            raise CliError(f"unknown KPI {kpi!r}: one of {', '.join(k.id for k in kpis.CATALOGUE if k.ranked)}")
        try:
            fy = fiscal.parse_fiscal_year(fiscal_year)
        except ValueError as exc:
            raise CliError(str(exc)) from exc
        frame = rank_branches(connect_reader(), kpi_id, fy)
        if frame.height == 0:
            raise CliError(f"no branch reports {kpi_id} for FY{fy}")
        columns = ["rank", "unit_key", "name_romaji", "name_ja", "value", "deviation_score", "period"]
        write_rows(frame.select(columns).to_dicts(), output, columns)

    guard(body)


@app.command()
def report(
    *,  # keyword-only: --branch is optional beside --prefecture
    branch: Annotated[str | None, typer.Option(help="Branch name (yamaguchi, 山口) or JIS code (35).")] = None,
    fiscal_year: Annotated[str, typer.Option("--fiscal-year", help="2020, R2, 令和2年度 …")],
    out: Annotated[Path, typer.Option(help="Folder to write the report into (HTML and chart images, or the .xlsx).")],
    quarter: Annotated[int | None, typer.Option(help="1-4: the in-year report (事業計画実施状況).")] = None,
    lang: Annotated[str, typer.Option(help="ja (default) or en: the report's labels.")] = "ja",
    output: Annotated[
        ReportFormat, typer.Option("--format", help="html (the page with charts) or xlsx (the Excel workbook).")
    ] = ReportFormat.html,
    prefecture: Annotated[
        str | None, typer.Option(help="Instead of --branch: a prefecture's NHI report (okayama, 岡山, 33).")
    ] = None,
) -> None:
    """The branch's KPI report: statistics with charts, every KPI with its mark, rank among branches.

    After a fiscal year it is the annual report (事業実績), with --quarter the in-year one
    (事業計画実施状況). The evaluation it shows is the stored one when nothing changed since, else it
    is evaluated and stored now. With --prefecture instead of --branch: the prefecture's NHI report (県
    国保), its municipalities' collection-rate targets and marks and the initiative uptake (取組状況)."""

    def body() -> None:
        if prefecture is not None:  # the prefecture report (県 国保): branchkpi/cli/initiatives.py
            from branchkpi.cli.initiatives import prefecture_report

            if branch is not None or output is not ReportFormat.html:
                raise CliError("--prefecture writes the HTML prefecture report: give it without --branch or --format")
            prefecture_report(prefecture, fiscal_year, out, lang)
            return
        if branch is None:
            raise CliError("give --branch (a branch's report) or --prefecture (a prefecture's NHI report)")
        from branchkpi.domain import fiscal
        from branchkpi.tasks.report import gather as branch_report
        from branchkpi.tasks.report.charts import ReportFontMissing
        from branchkpi.tasks.report.html import write_report
        from branchkpi.warehouse.engine import connect

        if lang not in ("ja", "en"):
            raise CliError(f"--lang must be ja or en, got {lang!r}")
        try:
            fy = fiscal.parse_fiscal_year(fiscal_year)
            data = branch_report.gather(connect(), branch, fy, quarter)
            if output is ReportFormat.xlsx:
                from branchkpi.tasks.report.xlsx import write_workbook

                marks = Counter(r["status"] for r in data.kpi_rows)
                typer.echo(
                    f"{write_workbook(data, out, lang)} ({len(data.kpi_rows)} targets: "
                    f"{marks['missed']} missed, {marks['at_risk']} at risk)"
                )
                return
            written = write_report(data, out, lang)
        except (ValueError, ReportFontMissing) as exc:
            raise CliError(str(exc)) from exc
        typer.echo(
            f"{written.html} ({len(written.charts)} charts; {written.targets} targets: "
            f"{written.missed} missed, {written.at_risk} at risk)"
        )

    guard(body)


@app.command()
def coverage(
    fiscal_year: Annotated[str, typer.Option("--fiscal-year", help="2020, R2, 令和2年度 …")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The day to judge by, 2021-05-10 (default: today).")
    ] = None,
    kind: Annotated[
        str,
        typer.Option(help="stats: the 月報 of the 47 branches and 全国 by month; kpi: KPI actuals by Q1–Q4 and FY."),
    ] = "stats",
    lang: Annotated[str, typer.Option(help="ja (済 警 隔 差 未着 ・) or en.")] = "ja",
    output: Annotated[OutputFormat, typer.Option("--format", help="csv, json or table.")] = OutputFormat.table,
) -> None:
    """The coverage grid (提出状況): each unit's months (or quarters) as loaded, warned, quarantined,
    replaced, missing (past due, nothing loaded) or not_due, by the reporting calendar (business days
    in Asia/Tokyo)."""

    def body() -> None:
        from datetime import date

        from branchkpi.domain import fiscal
        from branchkpi.tasks.coverage import KINDS, grid, grid_table
        from branchkpi.warehouse.engine import connect_reader

        if kind not in KINDS:
            raise CliError(f"--kind {kind!r}: give {' or '.join(KINDS)}")
        if lang not in ("ja", "en"):
            raise CliError(f"--lang {lang!r}: give ja or en")
        try:
            fy = fiscal.parse_fiscal_year(fiscal_year)
            day = date.fromisoformat(as_of) if as_of else date.today()
        except ValueError as exc:
            raise CliError(str(exc)) from exc
        rows = grid(connect_reader(), kind, fy, day)
        if output is OutputFormat.table:
            headers, table = grid_table(rows, lang)
            write_rows(table, output, headers)
        else:
            write_rows(rows, output, ["unit", "kind", "fiscal_year", "period", "status", "due", "metrics"])

    guard(body)
