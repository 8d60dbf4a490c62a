"""Operations: `status` (one screen: what is in, what is late, what runs next), `watch` (the landing
sensor) and `schedules` (the calendar's schedules: `schedules` lists the next runs, `schedules apply`
puts the reporting calendar's schedules on the server, `schedules plan` prints the run days without
one). Prefect, polars and the warehouse are imported inside the commands (the CLI starts fast)."""

from __future__ import annotations

import json
import os
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from branchkpi.cli.app import CliError, app, guard


class StatusFormat(StrEnum):
    table = "table"
    json = "json"


schedules_app = typer.Typer(
    help="The deployments' schedules, made from the reporting calendar.", invoke_without_command=True
)
app.add_typer(schedules_app, name="schedules")
LANGS = ("ja", "en")


def _lang(lang: str) -> str:
    if lang not in LANGS:
        raise CliError(f"--lang {lang!r}: give ja or en")
    return lang


def _need_server(what: str) -> None:
    if not os.environ.get("PREFECT_API_URL"):
        raise CliError(f"set PREFECT_API_URL to the Prefect server ({what} live on a server, e.g. make server)")


@schedules_app.callback()
def schedules(
    ctx: typer.Context,
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for the scheduler to create the runs of new deployments.")
    ] = 0,
    runs: Annotated[int, typer.Option(help="How many of each deployment's next runs to print.")] = 5,
    lang: Annotated[str, typer.Option(help="ja (default) or en.")] = "ja",
) -> None:
    """Each deployment's next runs in Japan time with the weekday, and which period each run is for (on
    the server in PREFECT_API_URL). Exit code 1 when a scheduled deployment has no run: the scheduler
    service is failing, and its reason is in the server's log."""
    if ctx.invoked_subcommand is not None:
        return

    def body() -> None:
        _need_server("schedules")
        from branchkpi.flows.schedules import jst, wait_for_schedules

        language = _lang(lang)
        found = wait_for_schedules(wait, runs_per_deployment=max(runs, 1))
        for d in found:
            if not d.scheduled:
                typer.echo(
                    f"{d.name}  " + ("手動で起動（スケジュールなし）" if language == "ja" else "started by hand")
                )
                continue
            typer.echo(f"{d.name}  {'; '.join(d.schedules)}")
            if not d.runs:
                typer.echo("  NO RUN SCHEDULED")
            for i, run in enumerate(d.runs[: max(runs, 1)]):
                typer.echo(f"  {'next' if i == 0 else 'then'} {jst(run.at)}  {run.describe(language)}".rstrip())  # type: ignore[arg-type]
        dead = [d.name for d in found if not d.alive]
        if dead:
            raise CliError(
                f"the server has scheduled no run for {', '.join(dead)}: its scheduler service is failing "
                "(look for ERROR in the Prefect server's log)"
            )

    guard(body)


@schedules_app.command("apply")
def schedules_apply() -> None:
    """Put the reporting calendar's schedules (branchkpi/domain/reporting_calendar.toml) on the
    deployments of the server in PREFECT_API_URL, from today to the calendar's horizon: after an edit of
    the calendar, and monthly to keep them ahead (`prefect deploy` / `make server` do the same)."""

    def body() -> None:
        _need_server("schedules")
        from branchkpi.flows.calendar_schedules import apply
        from branchkpi.flows.schedules import jst, wait_for_schedules

        applied = apply()
        if not applied:
            raise CliError("no calendar deployment on the server: run `prefect deploy --all` (make server) first")
        found = {d.name: d for d in wait_for_schedules(60)}  # the scheduler makes the runs anew
        for name, count in applied.items():
            runs = found[name].runs if name in found else []
            first = f"; next {jst(runs[0].at)} {runs[0].describe('ja')}".rstrip() if runs else "; NO RUN SCHEDULED"
            typer.echo(f"{name}: {count} runs from the reporting calendar{first}")

    guard(body)


@schedules_app.command("plan")
def schedules_plan(
    deployment: Annotated[
        str, typer.Option(help="monthly, quarterly-actuals, annual-evaluation or freshness.")
    ] = "monthly",
    start: Annotated[str | None, typer.Option("--from", help="First day, 2026-12-01 (default: today).")] = None,
    days: Annotated[int, typer.Option(help="How many days ahead.")] = 120,
    lang: Annotated[str, typer.Option(help="ja (default) or en.")] = "ja",
) -> None:
    """The run days the reporting calendar gives a deployment (no server needed): each period, its due
    days and every day it runs on, in Japan time with the weekday."""

    def body() -> None:
        from datetime import timedelta

        from branchkpi.domain.run_days import DEPLOYMENTS, jst_text, planned_runs
        from branchkpi.flows.alert_text import period_text

        language = _lang(lang)
        if deployment not in DEPLOYMENTS:
            raise CliError(f"--deployment {deployment!r}: one of {', '.join(DEPLOYMENTS)}")
        try:
            first = date.fromisoformat(start) if start else date.today()
        except ValueError as exc:
            raise CliError(f"--from {start!r}: give a day such as 2026-12-01") from exc
        for runs in planned_runs(deployment, first, first + timedelta(days=days)):
            if runs.period:
                label = f"FY{runs.fiscal_year}-{runs.period[5:7]}" if deployment == "monthly" else runs.period
                due = ", ".join(d.isoformat() for d in runs.due_days)
                typer.echo(f"{period_text(label, language)}  ({'期限' if language == 'ja' else 'due'} {due})")  # type: ignore[arg-type]
            for moment in runs.moments:
                role = runs.role(moment.date()) if runs.period else ""
                note = {"due": ("提出期限", "due"), "pickup": ("追加取込", "pickup")}.get(role, ("", ""))
                typer.echo(f"  {jst_text(moment)}  {note[0] if language == 'ja' else note[1]}".rstrip())

    guard(body)


@app.command()
def watch(
    landing: Annotated[
        Path | None, typer.Option(help="The landing folder to watch (default: var/landing of BRANCHKPI_HOME).")
    ] = None,
    quiet: Annotated[
        float | None,
        typer.Option(help="Seconds a file must stay unchanged, and the folder quiet, for a send to go (default 5)."),
    ] = None,
    max_wait: Annotated[
        float | None, typer.Option(help="Seconds a send waits for a file still being written (default 120).")
    ] = None,
    polling: Annotated[
        bool, typer.Option(help="Poll the folder instead of inotify (a network share: NFS, SMB).")
    ] = False,
) -> None:
    """The landing sensor: watch the landing folder and, for each send of complete files, emit the
    Prefect event branchkpi.landing.file-arrived (one per kind: statistics, KPI files) that the
    deployments' triggers turn into a run of `monthly` or `quarterly-actuals`. Runs until stopped
    (Ctrl-C, SIGTERM); one watcher per folder (a second one stands by)."""

    def body() -> None:
        _need_server("the deployments' triggers")
        import logging
        import signal
        import threading

        from branchkpi.config import landing_max_wait_seconds, landing_quiet_seconds, settings
        from branchkpi.flows.landing_sensor import Sensor, drain_events

        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("branchkpi.landing_sensor").setLevel(logging.INFO)
        folder = (landing or settings().landing_dir).resolve()
        sensor = Sensor(folder, quiet or landing_quiet_seconds(), max_wait or landing_max_wait_seconds())
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        try:
            sensor.run(stop, polling=polling)
        finally:
            drain_events()

    guard(body)


@app.command()
def status(
    fiscal_year: Annotated[
        str | None,
        typer.Option(
            "--fiscal-year", help="2026, R8, 令和8年度 … (default: this fiscal year and what the last still owes)."
        ),
    ] = None,
    output: Annotated[StatusFormat, typer.Option("--format", help="table or json.")] = StatusFormat.table,
    lang: Annotated[str, typer.Option(help="ja (default) or en.")] = "ja",
    as_of: Annotated[str | None, typer.Option("--as-of", help="The day to judge by (default: today).")] = None,
) -> None:
    """One screen: per kind of data the periods complete / partial / overdue (the coverage grid), each
    deployment's last run with its state and time and its next scheduled run, and the files waiting in
    the landing folder."""

    def body() -> None:
        from branchkpi.domain import fiscal
        from branchkpi.flows.calendar_schedules import today_jst
        from branchkpi.flows.status import gather
        from branchkpi.tasks.status import heading, no_rows, sections

        language = _lang(lang)
        try:
            year = fiscal.parse_fiscal_year(fiscal_year) if fiscal_year else None
            day = date.fromisoformat(as_of) if as_of else today_jst()
        except ValueError as exc:
            raise CliError(str(exc)) from exc
        found = gather(day, year, with_prefect=bool(os.environ.get("PREFECT_API_URL")))
        if not os.environ.get("PREFECT_API_URL"):
            found.notes.append(
                "Prefect: サーバーが動いていません（branchkpi server start）"
                if language == "ja"
                else "Prefect: no server answers (branchkpi server start)"
            )
        if output is StatusFormat.json:
            typer.echo(json.dumps(found.as_dict(), ensure_ascii=False, indent=1))
            return
        from rich.console import Console
        from rich.table import Table

        console = Console()
        console.width = max(console.width, 140)
        console.print(heading(found, language), style="bold")
        for section in sections(found, language):
            table = Table(*section.headers, title=section.title, title_justify="left", header_style="bold")
            for row in section.rows or [[no_rows(language), *[""] * (len(section.headers) - 1)]]:
                table.add_row(*row)
            console.print(table)
        for note in found.notes:
            console.print(f"- {note}")

    guard(body)
