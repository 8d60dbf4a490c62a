"""Command line: `branchkpi ingest`, `branchkpi run monthly`, `branchkpi query monthly`.

Errors are one clear line on stderr (exit code 1; 2 for a usage error); `--debug` shows the
traceback. Everything is written under ./var (BRANCHKPI_HOME), Prefect's own state included."""

from __future__ import annotations

import csv
import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from branchkpi.config import home_dir, settings

app = typer.Typer(
    help=(
        "branchkpi: monthly branch statistics (月報) and KPIs for health insurer branches.\n\n"
        "Drop the month's statistics (CSV or .xlsx, tidy or the published layout) into var/landing "
        "or name them, then:\n\n"
        "  branchkpi ingest FILES...            validate with the quality gate and load\n\n"
        "  branchkpi run monthly --period 2020-04   the monthly flow for one month\n\n"
        "  branchkpi query monthly --region yamaguchi --fiscal-year 2020   read the KPIs"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
run_app = typer.Typer(help="Run a pipeline flow.", no_args_is_help=True)
alerts_app = typer.Typer(help="Alerts: Prefect automations that post to a webhook.", no_args_is_help=True)
query_app = typer.Typer(help="Read from the warehouse.", no_args_is_help=True)
warehouse_app = typer.Typer(help="Warehouse administration.", no_args_is_help=True)
app.add_typer(run_app, name="run")
app.add_typer(query_app, name="query")
app.add_typer(alerts_app, name="alerts")
app.add_typer(warehouse_app, name="warehouse")

_state = {"debug": False}


class OutputFormat(StrEnum):
    csv = "csv"
    json = "json"
    table = "table"


class CliError(Exception):
    """A problem the user can fix; printed as one line."""


def _prepare_environment() -> None:
    """Prefect's settings must be in the environment before prefect is imported."""
    prefect_home = home_dir() / "prefect"
    prefect_home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(prefect_home))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Quiet console, full logs in the Prefect API (PREFECT_LOGGING_LEVEL would drop them there too).
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and Prefect's log lines.")] = False,
) -> None:
    _state["debug"] = debug
    if debug:
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "INFO")
    _prepare_environment()


def _fail(message: str, code: int = 1) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def _run_flow(period: str | None, paths: list[Path] | None, kind: str = "monthly") -> Any:
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from branchkpi import progress as run_progress
    from branchkpi.domain.fiscal import parse_period

    if period:
        try:
            parse_period(period)
        except ValueError as exc:
            raise CliError(str(exc)) from exc
    for p in paths or []:
        if not p.exists():
            raise CliError(f"{p}: no such file or folder")

    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<16}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        transient=True,
        disable=not sys.stderr.isatty(),
        console=None,
    )
    with bar:
        task_id = bar.add_task("starting Prefect", total=7)

        def on_step(description: str) -> None:
            bar.update(task_id, description=description, advance=1)

        run_progress.subscribe(on_step)
        try:
            if kind == "kpi":
                from branchkpi.flows.quarterly_kpi_actuals import quarterly_kpi_actuals

                state = quarterly_kpi_actuals(paths=[str(p) for p in paths or []] or None, return_state=True)
            else:
                from branchkpi.flows.monthly_branch_stats import monthly_branch_stats

                state = monthly_branch_stats(
                    period=period, paths=[str(p) for p in paths] if paths else None, return_state=True
                )
        finally:
            run_progress.unsubscribe(on_step)
        bar.update(task_id, advance=1)
    from branchkpi.flows.runtime import wait_until_recorded

    wait_until_recorded(state)
    outcome = state.result(raise_on_failure=False)
    if outcome is None:  # ended before it had a batch (the warehouse unreachable at the start)
        raise CliError(f"the run ended {state.name}: {state.message}")
    if isinstance(outcome, BaseException):
        raise CliError(f"the run ended {state.name}: {state.message or outcome}") from outcome
    return state, outcome


def _split_by_kind(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """Monthly statistics files and KPI files (targets, actuals, NHI municipal files) go to their flows."""
    from branchkpi.tasks.landing import LandedFile, LandingError, expand_paths
    from branchkpi.tasks.parse_kpi import sniff_kind

    try:
        files = expand_paths(paths)
    except LandingError as exc:
        raise CliError(str(exc)) from exc
    if not files:
        raise CliError("no CSV or .xlsx files found in " + ", ".join(map(str, paths)))
    monthly: list[Path] = []
    kpi_files: list[Path] = []
    for f in files:
        content = f.read_bytes()
        is_kpi = sniff_kind(LandedFile(0, "", f.name, f, len(content), False, content)) is not None
        (kpi_files if is_kpi else monthly).append(f)
    return monthly, kpi_files


def _print_outcome(state: Any, outcome: Any) -> None:
    from branchkpi.tasks.summary import status_line

    echo = typer.echo
    echo(f"{outcome.period or 'batch'}: {status_line(outcome)} (Prefect state {state.name})")
    for f in outcome.files:
        note = f" ERROR {f.error}" if f.error else (" (loaded before)" if f.previously_loaded else "")
        echo(f"  file {f.file_name}: {f.layout or '-'} {f.encoding or ''} {f.rows} rows{note}")
    echo(
        f"  rows: {outcome.rows_landed} landed, {outcome.rows_loaded} loaded ({outcome.rows_inserted} new, "
        f"{outcome.rows_replaced} replaced), {outcome.rows_unchanged} unchanged, {outcome.rows_quarantined} quarantined"
    )
    echo(
        f"  expectations: {outcome.expectations_passed} passed, {outcome.expectations_warned} warned, "
        f"{outcome.expectations_failed} failed"
    )
    if outcome.kpi_rows:
        echo("  KPIs: " + ", ".join(f"{k} {v} rows" for k, v in outcome.kpi_rows.items()))
    if outcome.data_docs_path:
        echo(f"  Data Docs: {outcome.data_docs_path}")
    shown = sorted(outcome.findings, key=lambda f: f.severity != "critical")[:10]
    for finding in shown:
        echo(f"  {finding.severity}: {finding}")
    if len(outcome.findings) > len(shown):
        echo(f"  … {len(outcome.findings) - len(shown)} more findings in the run's artifact and quarantined_rows")


def _exit_code(outcome: Any) -> int:
    return 0 if outcome.status in ("loaded", "warned", "unchanged") else 1


def _guard(fn: Any) -> Any:
    """Run a command body: user errors become one line; --debug shows the traceback."""
    try:
        return fn()
    except typer.Exit:
        raise
    except CliError as exc:
        _fail(str(exc))
    except Exception as exc:
        if _state["debug"]:
            raise
        from branchkpi.warehouse.engine import redacted

        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        url = settings().warehouse_url
        if url in message:
            message = message.replace(url, redacted(url))
        _fail(f"{type(exc).__name__}: {message}")


@app.command()
def ingest(
    paths: Annotated[
        list[Path],
        typer.Argument(help="CSV/.xlsx files or folders: monthly statistics and/or KPI files.", show_default=False),
    ],
    period: Annotated[
        str | None, typer.Option(help="Month the files are for, YYYY-MM (default: the latest month in them).")
    ] = None,
) -> None:
    """Land, validate and load files. Exit code 0 only if the quality gate passed.

    Monthly statistics go through the monthly-branch-stats flow; KPI plan targets, actuals and NHI
    municipal files (recognised by their headers) through quarterly-kpi-actuals.

    Every file is archived under var/archive (never deleted). A batch with a critical finding loads
    nothing: its rows are quarantined with the reason (see the table quarantined_rows)."""

    def body() -> None:
        monthly, kpi_files = _split_by_kind(paths)
        codes = []
        for kind, group in (("monthly", monthly), ("kpi", kpi_files)):
            if group:
                state, outcome = _run_flow(period, group, kind)
                _print_outcome(state, outcome)
                codes.append(_exit_code(outcome))
        raise typer.Exit(max(codes))

    _guard(body)


@run_app.command("monthly")
def run_monthly(
    period: Annotated[str, typer.Option(help="Calendar month YYYY-MM, e.g. 2020-04 (FY2020 April).")],
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files to ingest (default: those waiting in var/landing).")
    ] = None,
) -> None:
    """Run the monthly-branch-stats flow for one month: ingest what is waiting in var/landing (or
    PATHS), then compute and publish that month's KPIs."""

    def body() -> None:
        state, outcome = _run_flow(period, paths or None)
        _print_outcome(state, outcome)
        raise typer.Exit(0 if state.is_completed() else 1)

    _guard(body)


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
        _write_rows(rows, output, reads.MONTHLY_COLUMNS)

    _guard(body)


def _write_rows(rows: list[dict[str, Any]], output: OutputFormat, columns: list[str]) -> None:
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
            table.add_row(*(_cell_text(c, r[c]) for c in columns))
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


def _cell_text(column: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.1f}" if column.endswith("_pct") else f"{value:,.6g}"
    return str(value)


EVALUATION_COLUMNS = ["kpi_id", "target", "comparator", "actual", "previous", "status", "mark", "reason"]


@app.command()
def evaluate(
    fiscal_year: Annotated[
        str | None, typer.Option("--fiscal-year", help="2020, R2, 令和2年度 … (with --all: default every year)")
    ] = None,
    branch: Annotated[str | None, typer.Option(help="yamaguchi, 山口 or 35.")] = None,
    municipality: Annotated[str | None, typer.Option(help="An NHI municipality, e.g. 倉敷市.")] = None,
    quarter: Annotated[int | None, typer.Option(help="1-4 for an in-year check (○ on track / △ at risk).")] = None,
    every_unit: Annotated[
        bool, typer.Option("--all", help="Every branch and municipality with targets (a summary per unit).")
    ] = False,
    output: Annotated[OutputFormat, typer.Option("--format", help="csv, json or table.")] = OutputFormat.table,
    force: Annotated[
        bool, typer.Option(help="Evaluate anew even if nothing changed since the last evaluation (else reused).")
    ] = False,
) -> None:
    """Evaluate every KPI target of a branch or municipality (the evaluate-targets flow): ○ achieved,
    × missed, △ at risk, — not evaluable with the reason. Missed ones come first."""

    def body() -> None:
        from branchkpi.domain import fiscal, regions

        fy: int | None = None
        if fiscal_year is not None:
            try:
                fy = fiscal.parse_fiscal_year(fiscal_year)
            except ValueError as exc:
                raise CliError(str(exc)) from exc
        if quarter is not None and not 1 <= quarter <= 4:
            raise CliError(f"quarter must be 1-4, got {quarter}")
        if every_unit:
            _evaluate_all(fy, quarter, output, force)
            return
        if fy is None:
            raise CliError("give --fiscal-year (or --all for every year with targets)")
        if (branch is None) == (municipality is None):
            raise CliError("give exactly one of --branch or --municipality")
        if branch is not None:
            code = regions.resolve_region(branch)
            if code is None:
                raise CliError(f"unknown branch {branch!r}: use e.g. yamaguchi, 山口 or 35")
            unit_key = code
        else:
            unit_key = _municipality_key(str(municipality))
        from branchkpi.flows.evaluate_targets import evaluate_targets
        from branchkpi.flows.runtime import wait_until_recorded

        state = evaluate_targets(fiscal_year=fy, quarter=quarter, unit_keys=[unit_key], force=force, return_state=True)
        wait_until_recorded(state)
        result: Any = state.result(raise_on_failure=False)
        if isinstance(result, BaseException):
            raise CliError(f"the evaluation ended {state.name}: {state.message or result}") from result
        rows = [{**r, "target": r["target_text"] or r["target_value"]} for r in result.rows]
        if not rows:
            raise CliError(f"no targets for {unit_key} in FY{fy} (load a plan with `branchkpi ingest`)")
        _write_rows(rows, output, EVALUATION_COLUMNS)

    _guard(body)


def _evaluate_all(fiscal_year: int | None, quarter: int | None, output: OutputFormat, force: bool) -> None:
    """One evaluate-targets run over every fiscal year with targets and every unit; a line per unit and year."""
    from collections import Counter

    import sqlalchemy as sa

    from branchkpi.flows.evaluate_targets import evaluate_targets
    from branchkpi.flows.runtime import wait_until_recorded
    from branchkpi.warehouse import schema
    from branchkpi.warehouse.engine import connect

    t = schema.kpi_targets
    with connect().connect() as conn:
        years = [r[0] for r in conn.execute(sa.select(t.c.fiscal_year).distinct().order_by(t.c.fiscal_year))]
    if fiscal_year is not None:
        years = [y for y in years if y == fiscal_year]
    if not years:
        raise CliError("no targets loaded (load a plan with `branchkpi ingest`)")
    summary: list[dict[str, Any]] = []
    # one flow run over the whole span: each year is stored as its own evaluation run
    state = evaluate_targets(
        fiscal_year=years[0], to_fiscal_year=years[-1], quarter=quarter, force=force, return_state=True
    )
    wait_until_recorded(state)
    result: Any = state.result(raise_on_failure=False)
    if isinstance(result, BaseException):
        raise CliError(f"the evaluation ended {state.name}: {state.message or result}") from result
    evaluations = result if isinstance(result, list) else [result]
    for evaluation in evaluations:
        year = evaluation.fiscal_year
        if year not in years:
            continue
        by_unit: dict[str, Counter[str]] = {}
        names: dict[str, str] = {}
        for r in evaluation.rows:
            by_unit.setdefault(r["unit_key"], Counter())[r["mark"]] += 1
            names[r["unit_key"]] = r["unit_name"]
        for unit, marks in sorted(by_unit.items()):
            summary.append({"fiscal_year": year, "period": f"Q{quarter}" if quarter else "FY", "unit": unit,
                            "name": names[unit], "○": marks["○"], "×": marks["×"], "△": marks["△"],
                            "—": marks["—"]})  # fmt: skip
    _write_rows(summary, output, ["fiscal_year", "period", "unit", "name", "○", "×", "△", "—"])


def _municipality_key(name: str) -> str:
    import sqlalchemy as sa

    from branchkpi.warehouse import schema
    from branchkpi.warehouse.engine import connect

    u = schema.reporting_units
    with connect().connect() as conn:
        keys = [r.key for r in conn.execute(sa.select(u.c.key).where(u.c.kind == "municipality", u.c.name_ja == name))]
    if not keys:
        raise CliError(f"unknown municipality {name!r}: load its targets first")
    if len(keys) > 1:
        raise CliError(f"{name!r} exists in several prefectures: {', '.join(keys)}")
    return keys[0]


@app.command()
def rank(
    kpi: Annotated[str, typer.Option(help="KPI id, e.g. lifestyle_checkup_rate.")],
    fiscal_year: Annotated[str, typer.Option("--fiscal-year", help="2020, R2, 令和2年度 …")],
    output: Annotated[OutputFormat, typer.Option("--format", help="csv, json or table.")] = OutputFormat.table,
) -> None:
    """Deviation score (偏差値 = 50 + 10·(x − mean)/sd) and rank of every branch for a KPI."""

    def body() -> None:
        from branchkpi.domain import fiscal, kpis
        from branchkpi.tasks.rank import rank_branches
        from branchkpi.warehouse.engine import connect_reader

        kpi_id = kpis.resolve_kpi(kpi)
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
        _write_rows(frame.select(columns).to_dicts(), output, columns)

    _guard(body)


@app.command()
def report(
    branch: Annotated[str, typer.Option(help="Branch name (yamaguchi, 山口) or JIS code (35).")],
    fiscal_year: Annotated[str, typer.Option("--fiscal-year", help="2020, R2, 令和2年度 …")],
    out: Annotated[Path, typer.Option(help="Folder to write the report (HTML and chart images) into.")],
    quarter: Annotated[int | None, typer.Option(help="1-4: the in-year report (事業計画実施状況).")] = None,
    lang: Annotated[str, typer.Option(help="ja (default) or en: the report's labels.")] = "ja",
) -> None:
    """The branch's KPI report: statistics with charts, every KPI with its mark, rank among branches.

    After a fiscal year it is the annual report (事業実績), with --quarter the in-year one
    (事業計画実施状況). The evaluation it shows is the stored one when nothing changed since, else it
    is evaluated and stored now."""

    def body() -> None:
        from branchkpi.domain import fiscal
        from branchkpi.tasks import report as branch_report
        from branchkpi.tasks.report_charts import ReportFontMissing
        from branchkpi.tasks.report_html import write_report
        from branchkpi.warehouse.engine import connect

        if lang not in ("ja", "en"):
            raise CliError(f"--lang must be ja or en, got {lang!r}")
        try:
            fy = fiscal.parse_fiscal_year(fiscal_year)
            data = branch_report.gather(connect(), branch, fy, quarter)
            written = write_report(data, out, lang)
        except (ValueError, ReportFontMissing) as exc:
            raise CliError(str(exc)) from exc
        typer.echo(
            f"{written.html} ({len(written.charts)} charts; {written.targets} targets: "
            f"{written.missed} missed, {written.at_risk} at risk)"
        )

    _guard(body)


@app.command()
def synth(
    fiscal_years: Annotated[str, typer.Option("--fiscal-years", help="A range such as 2005-2020.")],
    out: Annotated[Path, typer.Option(help="Folder to write into.")],
    municipal: Annotated[
        bool, typer.Option("--municipal", help="Also the NHI side: 4 KPIs of the 1,741 municipalities.")
    ] = False,
    seed: Annotated[int | None, typer.Option(help="Random seed (default: the fixed one, so runs repeat).")] = None,
) -> None:
    """Write synthetic data at scale, consistent with the real series (fixed seed): monthly statistics
    of the 47 branches and the national total (one CSV per fiscal year, branches summing to the
    national figure), the branches' KPI targets and quarterly actuals, fiscal-year actuals of the
    ranked KPIs for `branchkpi rank`, and with --municipal the municipalities' NHI targets and actuals."""

    def body() -> None:
        from branchkpi.domain import fiscal
        from branchkpi.synthetic import SEED, write_synthetic

        try:
            first, _, last = fiscal_years.partition("-")
            years = range(fiscal.parse_fiscal_year(first), fiscal.parse_fiscal_year(last or first) + 1)
        except ValueError as exc:
            raise CliError(f"--fiscal-years must look like 2005-2020, got {fiscal_years!r}") from exc
        if not years:
            raise CliError(f"--fiscal-years {fiscal_years!r} is an empty range")
        written = write_synthetic(out, years, SEED if seed is None else seed, municipal)
        for path, count in written:
            typer.echo(f"{count:>9} rows  {path}")
        typer.echo(f"{sum(c for _, c in written):>9} rows in {len(written)} files")

    _guard(body)


@app.command()
def template(out: Annotated[Path, typer.Option(help="Folder to write kpi_template.xlsx into.")]) -> None:
    """Write the .xlsx template a branch fills in with its KPI targets (目標) and actuals (実績)."""

    def body() -> None:
        from branchkpi.tasks.kpi_template import write_template

        typer.echo(f"wrote {write_template(out)}")

    _guard(body)


@app.command()
def backfill(
    from_fy: Annotated[str, typer.Option("--from-fy", help="First fiscal year: 2017, H29, 平成29年度 …")],
    to_fy: Annotated[str, typer.Option("--to-fy", help="Last fiscal year, inclusive.")],
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders with those years (default: var/landing).")
    ] = None,
    branch: Annotated[list[str] | None, typer.Option(help="Only this branch (repeatable); national is kept.")] = None,
    force: Annotated[bool, typer.Option(help="Reload years already loaded from the same files.")] = False,
    fan_out: Annotated[
        bool,
        typer.Option(
            "--fan-out",
            help="Run each year on the workers of pool branchkpi (backfill-year deployment) instead of here; "
            "needs PREFECT_API_URL, the deployments and running workers.",
        ),
    ] = False,
) -> None:
    """Load prior fiscal years one by one (the backfill flow). Years already loaded from the same
    files are skipped, so an interrupted backfill resumes where it stopped."""

    def body() -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from branchkpi import progress as run_progress
        from branchkpi.domain import fiscal

        try:
            first, last = fiscal.parse_fiscal_year(from_fy), fiscal.parse_fiscal_year(to_fy)
        except ValueError as exc:
            raise CliError(str(exc)) from exc
        if last < first:
            raise CliError(f"--to-fy {last} is before --from-fy {first}")
        for p in paths or []:
            if not p.exists():
                raise CliError(f"{p}: no such file or folder")
        if fan_out and not os.environ.get("PREFECT_API_URL"):
            raise CliError("--fan-out needs a Prefect server with workers: set PREFECT_API_URL (e.g. make server)")
        bar = Progress(
            TextColumn("backfill {task.description:<8}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            transient=True,
            disable=not sys.stderr.isatty(),
        )
        with bar:
            task_id = bar.add_task(f"FY{first}", total=last - first + 1)

            def on_year(description: str) -> None:
                bar.update(task_id, description=description, advance=1)

            run_progress.subscribe(on_year, channel="backfill")
            try:
                from branchkpi.flows.backfill import backfill as backfill_flow
                from branchkpi.flows.runtime import wait_until_recorded

                state = backfill_flow(
                    from_fy=first, to_fy=last, paths=[str(p.resolve()) for p in paths or []] or None,
                    branches=branch or None, force=force, fan_out=fan_out, return_state=True,
                )  # fmt: skip
            finally:
                run_progress.unsubscribe(on_year)
        wait_until_recorded(state)
        results: Any = state.result(raise_on_failure=False)
        if isinstance(results, BaseException):
            raise CliError(f"the backfill ended {state.name}: {state.message or results}") from results
        for r in results:
            typer.echo(f"FY{r['fiscal_year']}: {r['status']:<9} {r['rows_loaded']:>7} rows  {r['message']}")
        typer.echo(state.message)
        raise typer.Exit(0 if state.is_completed() else 1)

    _guard(body)


@app.command()
def schedules(
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for the scheduler to create the runs of new deployments.")
    ] = 0,
) -> None:
    """Each deployment's schedule and its next runs in Japan time, as the Prefect server's scheduler
    created them (on the server in PREFECT_API_URL). Exit code 1 when a scheduled deployment has no
    run: the scheduler service is failing, and its reason is in the server's log."""

    def body() -> None:
        if not os.environ.get("PREFECT_API_URL"):
            raise CliError("set PREFECT_API_URL to the Prefect server (schedules run on a server, e.g. make server)")
        from branchkpi.flows.schedules import jst, wait_for_schedules

        found = wait_for_schedules(wait)
        width = max((len(d.name) for d in found), default=0)
        for d in found:
            if not d.scheduled:
                typer.echo(f"{d.name:<{width}}  started by hand (no schedule)")
            elif d.next_runs:
                later = ", ".join(jst(t) for t in d.next_runs[1:])
                typer.echo(f"{d.name:<{width}}  {'; '.join(d.schedules)}  next {jst(d.next_runs[0])}"
                           + (f"  then {later}" if later else ""))  # fmt: skip
            else:
                typer.echo(f"{d.name:<{width}}  {'; '.join(d.schedules)}  NO RUN SCHEDULED")
        dead = [d.name for d in found if not d.alive]
        if dead:
            raise CliError(
                f"the server has scheduled no run for {', '.join(dead)}: its scheduler service is failing "
                "(look for ERROR in the Prefect server's log)"
            )

    _guard(body)


@alerts_app.command("install")
def alerts_install(
    webhook: Annotated[str, typer.Option(help="Webhook URL (Slack incoming webhook or any JSON receiver).")],
    allow_private_urls: Annotated[
        bool, typer.Option(help="Allow a webhook on a private or loopback address (an in-house receiver).")
    ] = False,
    test: Annotated[
        bool, typer.Option("--test", help="Then post one test message through the block and say if it arrived.")
    ] = False,
) -> None:
    """Create or replace the automations that notify WEBHOOK of data-quality failures and missed or
    at-risk targets, on the Prefect server in PREFECT_API_URL. A webhook on a private or loopback
    address is refused unless --allow-private-urls (the server would drop every post to it)."""

    def body() -> None:
        if not os.environ.get("PREFECT_API_URL"):
            raise CliError("set PREFECT_API_URL to the Prefect server (automations need a server, e.g. make server)")
        from branchkpi.alerts import AlertSetupError, install, send_test

        try:
            for name in install(webhook, allow_private_urls):
                typer.echo(f"automation: {name}")
            if test:
                typer.echo(f"test: {send_test()}")
        except AlertSetupError as exc:
            raise CliError(str(exc)) from exc

    _guard(body)


@alerts_app.command("remove")
def alerts_remove() -> None:
    """Delete the branchkpi automations from the Prefect server in PREFECT_API_URL."""

    def body() -> None:
        if not os.environ.get("PREFECT_API_URL"):
            raise CliError("set PREFECT_API_URL to the Prefect server")
        from branchkpi.alerts import uninstall

        for name in uninstall():
            typer.echo(f"removed: {name}")

    _guard(body)


@warehouse_app.command("grant-reader")
def warehouse_grant_reader(role: Annotated[str, typer.Argument(help="An existing PostgreSQL login role.")]) -> None:
    """Let a PostgreSQL role read every table (for reports: set BRANCHKPI_READER_URL to log in as it)."""

    def body() -> None:
        from branchkpi.warehouse.engine import connect, grant_reader

        try:
            grant_reader(connect(), role)
        except ValueError as exc:
            raise CliError(str(exc)) from exc
        typer.echo(f"{role} may now read the warehouse")

    _guard(body)


if __name__ == "__main__":  # pragma: no cover
    app()
