"""`branchkpi worker start`: Prefect's process worker, stopped the way a service manager stops it.

Prefect's own worker, on SIGTERM, stops taking runs and waits for the ones it has to finish (a first
Ctrl-C the same): a `systemctl stop` or a redeploy then waits a minute or kills it, and its runs stay
Running. This command runs `prefect worker start` and, on SIGTERM, SIGINT or SIGHUP, ends it and its
runs within seconds: the worker first (it takes no more runs and reports nothing more), then each run
it was running is marked Cancelling, its process is killed and it is marked Cancelled, as a
cancellation from the UI ends. The batch such a run had open is marked abandoned by the next run
(docs/decisions.md, "Faults"); a load is one transaction, so nothing half-written stays."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer

from branchkpi.cli.app import app

worker_app = typer.Typer(help="A worker of the branchkpi work pool (runs the deployments' flow runs).")
app.add_typer(worker_app, name="worker")

KILL_WAIT = 5.0  # seconds for a killed process to be gone


class _Stop(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)


def _raise_stop(signum: int, _frame: object) -> None:
    raise _Stop(signum)


def _children() -> dict[int, list[int]]:
    """Every process's children, from /proc (parent pid → child pids)."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(parent, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> list[int]:
    """Every process under pid, from /proc."""
    tree = _children()
    found, todo = [], list(tree.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(tree.get(child, []))
    return found


def runs_under(pid: int) -> dict[str, list[int]]:
    """The flow runs whose processes descend from `pid`: flow run id → its processes (a flow run's
    process carries its id in PREFECT__FLOW_RUN_ID, as Prefect's worker starts it)."""
    runs: dict[str, list[int]] = {}
    for child in descendants(pid):
        try:
            environ = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        for item in environ:
            if item.startswith(b"PREFECT__FLOW_RUN_ID="):
                runs.setdefault(item.split(b"=", 1)[1].decode(), []).append(child)
    return runs


def kill_and_wait(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + KILL_WAIT
    while any(Path(f"/proc/{pid}").exists() for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)


def stop_runs(runs: dict[str, list[int]], why: str) -> list[str]:
    """Cancelling, killed, Cancelled: what a cancellation does to each run. Returns their names."""
    from prefect.client.orchestration import get_client
    from prefect.states import Cancelled, Cancelling

    names = []
    with get_client(sync_client=True) as client:
        for run_id in runs:
            client.set_flow_run_state(UUID(run_id), Cancelling(message=why), force=True)
        kill_and_wait([pid for pids in runs.values() for pid in pids])
        for run_id in runs:
            run = client.read_flow_run(UUID(run_id))
            if not (run.state and run.state.is_final()):
                client.set_flow_run_state(UUID(run_id), Cancelled(message=why), force=True)
            names.append(run.name)
    return names


@worker_app.command("start")
def start_command(
    pool: Annotated[str, typer.Option(help="The work pool.")] = "branchkpi",
    limit: Annotated[int, typer.Option(help="Flow runs at once (each is a Python process).")] = 4,
    name: Annotated[str | None, typer.Option(help="The worker's name (Prefect makes one).")] = None,
) -> None:
    """Prefect's process worker for POOL until SIGTERM / Ctrl-C, which stop it and cancel its runs at once."""
    import importlib

    importlib.import_module("prefect.client.orchestration")  # now: a stop must not wait for Prefect's import
    script = Path(sys.executable).with_name("prefect")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "prefect"]
    command += ["worker", "start", "--pool", pool, "--limit", str(limit), *(["--name", name] if name else [])]
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _raise_stop)
    worker = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    try:
        raise typer.Exit(worker.wait())
    except _Stop as stop:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # a second signal must not cut the cancellation short
        runs = runs_under(worker.pid)
        worker.kill()
        worker.wait()
        why = f"cancelled: its worker was stopped ({stop})"
        names = stop_runs(runs, why) if runs else []
        typer.echo(f"worker stopped ({stop}); runs cancelled: {', '.join(names) or 'none'}")
