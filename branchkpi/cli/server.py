"""The local Prefect server, a person's default home: `branchkpi server start|stop|status|run`.

`start` runs the server in the background on 127.0.0.1:BRANCHKPI_SERVER_PORT with its home under
BRANCHKPI_HOME/prefect and its log in BRANCHKPI_HOME/prefect/server.log (branchkpi.cli.local_server);
its state is a PostgreSQL of its own by default (branchkpi.cli.local_state). Every other command looks
for it before Prefect is imported (branchkpi.cli.probe) and uses it when it answers, so a command pays
no ephemeral API start-up and its runs stay in the UI. PREFECT_API_URL, when set, still wins.
"""

from __future__ import annotations

from typing import Annotated

import typer

from branchkpi.cli.app import app, fail
from branchkpi.config import SettingError, server_port, unresponsive_after

# the server's own modules are imported by its commands only: every other command loads this module

server_app = typer.Typer(help="The local Prefect server (UI and API on 127.0.0.1).", no_args_is_help=True)
app.add_typer(server_app, name="server")

# `status` exits with this code when no server answers (as `systemctl status` does for a stopped unit)
STOPPED_EXIT_CODE = 3


def _port() -> int:
    try:
        return server_port()
    except SettingError as exc:
        fail(str(exc), 2)
        raise  # unreachable: fail exits


@server_app.command("start")
def start_command(
    wait: Annotated[float, typer.Option(help="Seconds to wait for the server to answer.")] = 120.0,
) -> None:
    """Start the local server in the background (home and log under BRANCHKPI_HOME/prefect)."""
    from branchkpi.cli import local_server
    from branchkpi.warehouse.postgres_cluster import ClusterError

    port = _port()
    try:
        url = local_server.start(port, wait)
    except (SettingError, local_server.ServerError, ClusterError) as exc:
        fail(str(exc))
    typer.echo(f"running {url}  (UI; every branchkpi command now uses it; `branchkpi server stop` stops it)")


@server_app.command("stop")
def stop_command() -> None:
    """Stop the local server (and the PostgreSQL that keeps its state)."""
    from branchkpi.cli import local_server

    typer.echo("stopped" if local_server.stop(_port()) else "stopped (it was not running)")


@server_app.command("status")
def status_command() -> None:
    """`running http://127.0.0.1:PORT` (exit 0); `starting`, `stopping`, `stopped` or `died` (exit 3), a died
    server with why and the end of its log."""
    from branchkpi.cli import local_server

    port = _port()
    found = local_server.status(port)
    typer.echo(f"running {found.url}" if found.state == "running" else found.state)
    for line in found.lines:
        typer.echo(f"  {line}")
    if found.state != "running":
        raise typer.Exit(STOPPED_EXIT_CODE)


@server_app.command("run")
def run_command(
    host: Annotated[str, typer.Option(help="Address to listen on: 0.0.0.0 for other machines too.")] = "127.0.0.1",
) -> None:
    """The server in the foreground until Ctrl-C or SIGTERM (what `make server` and a systemd unit run)."""
    from branchkpi.cli import local_server
    from branchkpi.warehouse.postgres_cluster import ClusterError

    try:
        code = local_server.run(_port(), host)
    except (SettingError, local_server.ServerError, ClusterError) as exc:
        fail(str(exc))
    raise typer.Exit(code)


@server_app.command("housekeeping", hidden=True)
def housekeeping_command() -> None:
    """What a server needs whoever uses it, run by `server run` once its server answers: runs that stop
    sending heartbeats are marked Crashed, and those in flight when it went down that end Crashed are
    announced (flows/recovery.py)."""
    from datetime import timedelta

    from branchkpi.flows.automations import ensure_housekeeping
    from branchkpi.flows.recovery import announce_crashed

    done, window = ensure_housekeeping(timedelta(seconds=unresponsive_after()))
    typer.echo(f"housekeeping: {done}")
    crashed = announce_crashed(window)
    if crashed:
        typer.echo(f"housekeeping: crashed while the server was down: {', '.join(crashed)}")
