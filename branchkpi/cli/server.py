"""The local Prefect server, a person's default home: `branchkpi server start|stop|status`.

`start` runs Prefect's own `prefect server start --background` on 127.0.0.1:BRANCHKPI_SERVER_PORT with
its state under BRANCHKPI_HOME/prefect (SQLite), or in PostgreSQL when
PREFECT_SERVER_DATABASE_CONNECTION_URL is set. Every other command looks for it before Prefect is
imported (`local_api_url`: one HTTP request to 127.0.0.1, a refused connection costs a millisecond) and
uses it when it answers, so a command pays no ephemeral API start-up and its runs stay in the UI.
PREFECT_API_URL, when set, still wins. Without a server the ephemeral API is used, as before.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated

import typer

from branchkpi.cli.app import app, fail
from branchkpi.config import SettingError, home_dir, server_port

server_app = typer.Typer(help="The local Prefect server (UI and API on 127.0.0.1).", no_args_is_help=True)
app.add_typer(server_app, name="server")

# `status` exits with this code when no server answers (as `systemctl status` does for a stopped unit)
STOPPED_EXIT_CODE = 3


def api_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/api"


def answers(port: int, timeout: float = 0.5) -> bool:
    """Whether a Prefect API answers on 127.0.0.1:port (its /health returns `true`)."""
    try:
        with urllib.request.urlopen(f"{api_url(port)}/health", timeout=timeout) as response:
            return response.status == 200 and response.read(16).strip() == b"true"
    except (OSError, ValueError):
        return False


def local_api_url() -> str | None:
    """The running local server's API URL, or None (no server, or an unusable port setting)."""
    try:
        port = server_port()
    except SettingError:
        return None
    return api_url(port) if answers(port) else None


def server_environment(port: int) -> dict[str, str]:
    """The environment of the server process: its state under BRANCHKPI_HOME, the UI calling this port,
    schedules created far enough ahead for the annual run (see scripts/server.sh)."""
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)
    env.setdefault("PREFECT_HOME", str(home_dir() / "prefect"))
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    env.setdefault("PREFECT_SERVER_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME", "P400D")
    env["PREFECT_UI_API_URL"] = api_url(port)
    env["PREFECT_UI_URL"] = f"http://127.0.0.1:{port}"
    return env


def _prefect(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    prefect = Path(sys.executable).with_name("prefect")
    command = [str(prefect)] if prefect.exists() else [sys.executable, "-m", "prefect"]
    return subprocess.run([*command, *args], env=env, capture_output=True, text=True, timeout=300, check=False)


def start(port: int, wait: float = 120.0) -> str:
    """Start the server in the background and wait until it answers; returns its UI URL."""
    if answers(port):
        return f"http://127.0.0.1:{port}"
    env = server_environment(port)
    Path(env["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    done = _prefect("server", "start", "--background", "--host", "127.0.0.1", "--port", str(port), env=env)
    if done.returncode != 0:
        raise RuntimeError(
            (done.stderr or done.stdout).strip().splitlines()[-1]
            if (done.stderr or done.stdout)
            else f"prefect server start exited {done.returncode}"
        )
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if answers(port, timeout=2):
            return f"http://127.0.0.1:{port}"
        time.sleep(0.5)
    raise RuntimeError(f"the server did not answer on port {port} within {wait:.0f} s; see {env['PREFECT_HOME']}")


def stop(port: int) -> bool:
    """Stop the background server of this home; True if one was running."""
    was_running = answers(port)
    env = server_environment(port)
    _prefect("server", "stop", env=env)
    deadline = time.monotonic() + 30
    while answers(port) and time.monotonic() < deadline:
        time.sleep(0.3)
    return was_running


@server_app.command("start")
def start_command(
    wait: Annotated[float, typer.Option(help="Seconds to wait for the server to answer.")] = 120.0,
) -> None:
    """Start the local server in the background (state under BRANCHKPI_HOME/prefect)."""
    try:
        port = server_port()
        url = start(port, wait)
    except (SettingError, RuntimeError) as exc:
        fail(str(exc))
    typer.echo(f"running {url}  (UI; every branchkpi command now uses it; `branchkpi server stop` stops it)")


@server_app.command("stop")
def stop_command() -> None:
    """Stop the local server."""
    try:
        port = server_port()
    except SettingError as exc:
        fail(str(exc))
    typer.echo("stopped" if stop(port) else "stopped (it was not running)")


@server_app.command("status")
def status_command() -> None:
    """`running http://127.0.0.1:PORT` (exit 0) or `stopped` (exit 3)."""
    try:
        port = server_port()
    except SettingError as exc:
        fail(str(exc))
    if answers(port):
        typer.echo(f"running http://127.0.0.1:{port}")
        return
    typer.echo("stopped")
    raise typer.Exit(STOPPED_EXIT_CODE)
