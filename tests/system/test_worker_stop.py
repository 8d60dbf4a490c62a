"""A worker stops when a service manager tells it to: SIGTERM to `branchkpi worker start` while its
run is in the middle of a load ends the worker, and the run's process, within 10 s, and the run ends
Cancelled (as a cancellation from the UI ends), not Running for ever."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from uuid import uuid4

from branchkpi.cli.worker import runs_under
from branchkpi.warehouse.engine import connect, dispose_all

from ..conftest import ROOT, TIDY_SEED, PrefectStack

BRANCHKPI = str(Path(sys.executable).with_name("branchkpi"))


def test_sigterm_stops_the_worker_and_cancels_its_run_within_10_s(prefect_stack: PrefectStack, tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    pool = f"stop-test-{uuid4().hex[:6]}"  # a pool of its own: the session's worker must not take the run
    warehouse = tmp_path / "warehouse.sqlite"
    connect(f"sqlite:///{warehouse}")
    dispose_all()
    holder = sqlite3.connect(warehouse, isolation_level=None)  # the run's load waits behind this writer
    holder.execute("BEGIN IMMEDIATE")
    log = tmp_path / "worker.log"
    env = {**prefect_stack.worker_env, "PREFECT_API_URL": prefect_stack.api_url, "BRANCHKPI_HOME": str(tmp_path)}
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
        monthly = client.read_deployment_by_name("monthly-branch-stats/monthly")
        copy_id = client.create_deployment(
            flow_id=monthly.flow_id,
            name=pool,
            entrypoint=monthly.entrypoint,
            pull_steps=monthly.pull_steps,
            work_pool_name=pool,
            parameter_openapi_schema=monthly.parameter_openapi_schema,
        )
        with log.open("wb") as out:
            worker = subprocess.Popen(
                [BRANCHKPI, "worker", "start", "--pool", pool, "--limit", "1"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            run = client.create_flow_run_from_deployment(
                copy_id, parameters={"paths": [str(TIDY_SEED)], "warehouse_url": f"sqlite:///{warehouse}"}
            )
            deadline = time.monotonic() + 180
            while not (running := client.read_flow_run(run.id)).state.is_running():  # type: ignore[union-attr]
                assert worker.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
                time.sleep(0.5)
            processes = runs_under(worker.pid)
            assert list(processes) == [str(run.id)], processes  # the run's own process, found by its id

            started = time.monotonic()
            os.kill(worker.pid, signal.SIGTERM)  # to the worker only, as systemd's KillMode=mixed does
            worker.wait(timeout=30)
            assert time.monotonic() - started < 10, log.read_text(errors="replace")
            assert not [p for pids in processes.values() for p in pids if Path(f"/proc/{p}").exists()]
            ended = client.read_flow_run(run.id)
            assert ended.state is not None and ended.state.is_cancelled(), ended.state
            assert "its worker was stopped (SIGTERM)" in (ended.state.message or "")
            assert f"runs cancelled: {running.name}" in log.read_text(errors="replace")
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
            holder.close()
            client.delete_deployment(copy_id)
            client.delete_work_pool(pool)
