"""Run only by tests/system/test_interrupt.py, in a child pytest sharing the parent's Prefect server:
takes the session's own PostgreSQL and browser, starts a browser call that never returns and a flow
run whose load waits behind another writer, says which processes to watch, and is interrupted in the
middle of both. The second test must never start. Not collected by the suite (no test_ prefix)."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from branchkpi.cli.worker import descendants
from branchkpi.warehouse.engine import connect, dispose_all

from ..conftest import TIDY_SEED
from ..helpers import run_monthly
from ..postgres import PostgresServer


def _say_when_running(api_url: str, pids: dict[str, Any]) -> None:
    """The ready file, once the flow run is Running on the server (the main thread is inside it)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType

    running = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING])))
    with get_client(sync_client=True) as client:
        while not [r for r in client.read_flow_runs(flow_run_filter=running) if r.name.startswith("monthly-stats")]:
            time.sleep(0.3)
    time.sleep(1)
    Path(os.environ["PROBE_READY"]).write_text(json.dumps(pids))


def test_wait_for_the_signal(
    prefect_server: str, postgres: PostgresServer, browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    silent = socket.socket()  # a page that never answers: the browser call waits for it
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    page = f"http://127.0.0.1:{silent.getsockname()[1]}/"
    threading.Thread(target=lambda: browser.get(page), daemon=True).start()

    warehouse = tmp_path / "warehouse.sqlite"
    connect(f"sqlite:///{warehouse}")
    dispose_all()
    holder = sqlite3.connect(warehouse, isolation_level=None)  # the flow run's load waits behind it
    holder.execute("BEGIN IMMEDIATE")
    monkeypatch.setenv("BRANCHKPI_WAREHOUSE_URL", f"sqlite:///{warehouse}")
    monkeypatch.setenv("BRANCHKPI_HOME", str(tmp_path / "var"))
    monkeypatch.setenv("BRANCHKPI_DB_RETRY_DELAYS", ",".join(["5"] * 40))
    chromedriver = browser.service.process.pid
    pids = {
        "postgres": int((postgres.cluster.data / "postmaster.pid").read_text().split()[0]),
        "chromedriver": chromedriver,
        "chromium": descendants(chromedriver),
        "pytest": os.getpid(),
    }
    threading.Thread(target=_say_when_running, args=(prefect_server, pids), daemon=True).start()
    run_monthly(TIDY_SEED)  # interrupted in here
    time.sleep(600)


def test_after_the_signal() -> None:
    Path(os.environ["PROBE_AFTER"]).write_text("started")
