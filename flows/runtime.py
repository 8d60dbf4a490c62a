"""Process-level care for flows run from the CLI.

Task-run states reach the Prefect server as events that a server service writes in the background.
On a running server (the local one, `branchkpi server start`, or PREFECT_API_URL) sending them is
enough: the server stays and records them; we only drain the client's event and log workers before
the process exits. On the ephemeral API a CLI that exits right after its flow returns stops the
temporary server mid-write (task runs stay RUNNING, CancelledError tracebacks), so there we also wait
until the server has recorded every task run as final.
"""

from __future__ import annotations

import logging
import time
from typing import Any

TERMINAL_STATES = ["COMPLETED", "FAILED", "CANCELLED", "CRASHED"]


def on_a_running_server() -> bool:
    """Whether this process talks to a server that outlives it (not the ephemeral API)."""
    from prefect.settings import PREFECT_API_URL

    return bool(PREFECT_API_URL.value())


def wait_until_recorded(*states: Any, timeout: float = 30.0, interval: float = 0.2, stable_polls: int = 3) -> bool:
    """Wait until all task runs of the flow runs behind `states` are recorded in a final state."""
    from prefect.client.orchestration import get_client
    from prefect.events.worker import EventsWorker
    from prefect.logging.loggers import get_logger

    for name in ("EventsWorker", "APILogWorker"):  # their "still processing" notes are not for users
        logging.getLogger(name).setLevel(logging.ERROR)
    ids = [getattr(getattr(s, "state_details", None), "flow_run_id", None) for s in states]
    flow_run_ids = [str(i) for i in ids if i is not None]
    if not flow_run_ids:
        return True
    EventsWorker.drain_all()
    if on_a_running_server():
        return True
    flow_runs = {"id": {"any_": flow_run_ids}}
    final = {"flow_runs": flow_runs, "task_runs": {"state": {"type": {"any_": TERMINAL_STATES}}}}
    deadline = time.monotonic() + timeout
    last, stable = -1, 0
    try:
        with get_client(sync_client=True) as client:
            while time.monotonic() < deadline:
                total = client.request("POST", "/task_runs/count", json={"flow_runs": flow_runs}).json()
                done = client.request("POST", "/task_runs/count", json=final).json()
                if total == done == last:
                    stable += 1
                    if stable >= stable_polls:
                        return True
                else:
                    stable = 0
                last = total
                time.sleep(interval)
    except Exception as exc:  # the run's outcome stands even if the bookkeeping check cannot finish
        get_logger("branchkpi").warning("could not confirm the task runs were recorded: %s", exc)
    return False
