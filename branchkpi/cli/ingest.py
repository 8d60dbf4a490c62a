"""Commands that land and load data: `ingest`, `run monthly`, `backfill` (the flows, in this process)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from branchkpi.cli.app import CliError, app, guard, run_app
from branchkpi.cli.output import exit_code, print_outcome
from branchkpi.tasks.validate import validator


def start_validating() -> None:
    """Great Expectations starts importing in a process of its own, on the other core, while this one
    imports Prefect and lands and parses the files (tasks/validate/validator.py)."""
    validator.start()


def run_flow(period: str | None, paths: list[Path] | None, kind: str = "monthly") -> Any:
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from branchkpi.domain.fiscal import parse_period
    from branchkpi.flows import progress as run_progress

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
                    period=period,
                    paths=[str(p) for p in paths] if paths else None,
                    background_reports=True,  # the outcome is the answer; reports follow it
                    return_state=True,
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


def split_by_kind(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """Monthly statistics files and KPI files (targets, actuals, NHI municipal files) go to their flows."""
    from branchkpi.tasks.landing import LandedFile, LandingError, expand_paths
    from branchkpi.tasks.parse.kpi import sniff_kind

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
        start_validating()
        monthly, kpi_files = split_by_kind(paths)
        codes = []
        for kind, group in (("monthly", monthly), ("kpi", kpi_files)):
            if group:
                state, outcome = run_flow(period, group, kind)
                print_outcome(state, outcome)
                codes.append(exit_code(outcome))
        raise typer.Exit(max(codes))

    guard(body)


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
        start_validating()
        state, outcome = run_flow(period, paths or None)
        print_outcome(state, outcome)
        raise typer.Exit(0 if state.is_completed() else 1)

    guard(body)


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

        from branchkpi.domain import fiscal
        from branchkpi.flows import progress as run_progress

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
        if not fan_out:  # the years are validated here
            start_validating()
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
                    from_fy=first,
                    to_fy=last,
                    paths=[str(p.resolve()) for p in paths or []] or None,
                    branches=branch or None,
                    force=force,
                    fan_out=fan_out,
                    return_state=True,
                )
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

    guard(body)
