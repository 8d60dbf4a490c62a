"""The `branchkpi` command line: the app, its command groups, and how errors are told (one clear
line on stderr, exit code 1; 2 for a usage error; `--debug` shows the traceback). Everything is
written under ./var (BRANCHKPI_HOME), Prefect's own state included. The commands are in ingest, read,
evaluate and admin; what they print is formatted in output."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer

from branchkpi.config import SettingError, ephemeral_timeout, home_dir, settings

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

STATE = {"debug": False}


class CliError(Exception):
    """A problem the user can fix; printed as one line."""


def _prepare_environment() -> None:
    """Prefect's settings must be in the environment before prefect is imported: its home under
    BRANCHKPI_HOME, the running local server when there is one (branchkpi.cli.probe; PREFECT_API_URL,
    when set, wins), else an ephemeral API given time to start on a busy machine."""
    from branchkpi.cli.probe import local_api_url

    prefect_home = home_dir() / "prefect"
    prefect_home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(prefect_home))
    if not os.environ.get("PREFECT_API_URL") and (url := local_api_url()):
        os.environ["PREFECT_API_URL"] = url
    try:
        os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", str(ephemeral_timeout()))
    except SettingError as exc:
        fail(str(exc), 2)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Quiet console, full logs in the Prefect API (PREFECT_LOGGING_LEVEL would drop them there too).
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")


# commands that never run a flow: they need no Prefect settings and no probe for the local server
WITHOUT_PREFECT = {"query"}


@app.callback()
def main(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and Prefect's log lines.")] = False,
) -> None:
    STATE["debug"] = debug
    if debug:
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "INFO")
    if ctx.invoked_subcommand not in WITHOUT_PREFECT:
        _prepare_environment()


def fail(message: str, code: int = 1) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def guard(fn: Any) -> Any:
    """Run a command body: user errors become one line; --debug shows the traceback."""
    try:
        return fn()
    except typer.Exit:
        raise
    except BrokenPipeError:  # the reader has gone (`| head`): nothing more to say, and nothing wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0) from None
    except CliError as exc:
        fail(str(exc))
    except Exception as exc:
        if STATE["debug"]:
            raise
        from branchkpi.warehouse.engine import redacted

        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "ephemeral Prefect API" in message:  # the temporary API did not start in time (a busy machine)
            seconds = os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS")
            fail(
                f"the temporary Prefect API did not start within {seconds} s (a busy machine?): start the "
                "local server once with `branchkpi server start`, then run this again"
            )
        url = settings().warehouse_url
        if url in message:
            message = message.replace(url, redacted(url))
        fail(f"{type(exc).__name__}: {message}")
