"""Set-up: `synth`, `template`, `alerts install|remove`, `warehouse grant-reader`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from branchkpi.cli.app import CliError, alerts_app, app, guard, warehouse_app


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

    guard(body)


@app.command()
def template(
    out: Annotated[Path, typer.Option(help="Folder to write kpi_template.xlsx into.")],
    lang: Annotated[str, typer.Option(help="Language of the 記入方法 sheet: ja or en.")] = "ja",
) -> None:
    """Write the .xlsx template a branch fills in with its KPI targets (目標) and actuals (実績): headers
    only; the examples are on the 記入方法 sheet (How to fill in), which is never loaded."""

    def body() -> None:
        from branchkpi.tasks.kpi_template import write_template

        if lang not in ("ja", "en"):
            raise CliError(f"--lang must be ja or en, not {lang!r}")
        typer.echo(f"wrote {write_template(out, lang)}")

    guard(body)


@alerts_app.command("install")
def alerts_install(
    webhook: Annotated[
        str, typer.Option(help="Webhook URL: a Slack incoming webhook, a Teams workflow or any JSON receiver.")
    ],
    kind: Annotated[
        str,
        typer.Option(help='slack (SlackWebhook block), teams (MicrosoftTeamsWebhook) or webhook (JSON {"text": …}).'),
    ] = "webhook",
    lang: Annotated[str, typer.Option(help="Language of the messages: ja (default) or en.")] = "ja",
    allow_private_urls: Annotated[
        bool, typer.Option(help="Allow a webhook on a private or loopback address (an in-house receiver).")
    ] = False,
    unresponsive_after: Annotated[
        int, typer.Option(help="Seconds without a heartbeat after which a Running flow run is marked Crashed.")
    ] = 600,
    long_run_after: Annotated[
        int | None,
        typer.Option(
            help="Seconds a deployment's run may stay Running before an alert (default: 3× "
            "its slowest recent run, at least 30 min; 2 h with no history)."
        ),
    ] = None,
    test: Annotated[
        bool, typer.Option("--test", help="Then post one test message through the block and say if it arrived.")
    ] = False,
) -> None:
    """Create or replace the notification block and the automations that post to WEBHOOK, on the Prefect
    server in PREFECT_API_URL: data-quality failures, missed and at-risk targets (one digest per unit and
    period), overdue data, a run with no input while data is due, a run failed outside the data, a
    crashed run, a run Running far past its usual time; runs that stopped sending heartbeats are marked
    Crashed. A webhook on a private or loopback address is refused unless --allow-private-urls (the
    server would drop every post to it)."""

    def body() -> None:
        if not os.environ.get("PREFECT_API_URL"):
            raise CliError("set PREFECT_API_URL to the Prefect server (automations need a server, e.g. make server)")
        from datetime import timedelta

        from branchkpi.flows.automations import AlertSetupError, Timings, install, send_test

        timings = Timings(
            unresponsive_after=timedelta(seconds=unresponsive_after),
            long_run_after=timedelta(seconds=long_run_after) if long_run_after is not None else None,
        )
        try:
            for name in install(webhook, kind, lang, allow_private_urls, timings):
                typer.echo(f"automation: {name}")
            if test:
                typer.echo(f"test: {send_test(lang)}")
        except AlertSetupError as exc:
            raise CliError(str(exc)) from exc

    guard(body)


@alerts_app.command("remove")
def alerts_remove() -> None:
    """Delete the branchkpi automations from the Prefect server in PREFECT_API_URL."""

    def body() -> None:
        if not os.environ.get("PREFECT_API_URL"):
            raise CliError("set PREFECT_API_URL to the Prefect server")
        from branchkpi.flows.automations import uninstall

        for name in uninstall():
            typer.echo(f"removed: {name}")

    guard(body)


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

    guard(body)
