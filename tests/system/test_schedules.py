"""The schedules fire: behaviour, not configuration. On the server `make server` starts (the session's,
on PostgreSQL; and one on SQLite state as `make server` keeps by default) every scheduled deployment
has its next runs in the API at the right times in Japan time, a worker executes a run the scheduler
created, and the server's own services log no error while the whole session runs."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ..conftest import ROOT, TIDY_SEED, PrefectStack, free_port
from ..helpers import counts

JST = ZoneInfo("Asia/Tokyo")
# prefect.yaml: deployment → (months, day of month) of its cron at 06:00 Asia/Tokyo; freshness: weekdays 09:00
EXPECTED = {
    "monthly-branch-stats/monthly": (range(1, 13), 10),
    "quarterly-kpi-actuals/quarterly-actuals": ((1, 4, 7, 10), 20),
    "evaluate-targets/annual-evaluation": ((6,), 30),
}
WEEKDAY_FRESHNESS = "freshness/freshness"
SERVICE_ERROR = re.compile(r"\|\s*(ERROR|CRITICAL)\s*\||Traceback \(most recent call last\)")


def next_fire(months: range | tuple[int, ...], day: int, after: datetime) -> datetime:
    """The first 06:00 JST on `day` of one of `months` strictly after `after`."""
    start = after.astimezone(JST).date()
    for offset in range(400):
        d = start + timedelta(days=offset)
        moment = datetime(d.year, d.month, d.day, 6, 0, tzinfo=JST)
        if d.day == day and d.month in months and moment > after:
            return moment
    raise AssertionError("no fire time within 400 days")


def next_weekday_0900(after: datetime) -> datetime:
    """The first 09:00 JST on a Monday to Friday strictly after `after` (the freshness check)."""
    start = after.astimezone(JST).date()
    for offset in range(8):
        d = start + timedelta(days=offset)
        moment = datetime(d.year, d.month, d.day, 9, 0, tzinfo=JST)
        if d.weekday() < 5 and moment > after:
            return moment
    raise AssertionError("no weekday within 8 days")


def assert_schedules_alive(found: list, now: datetime) -> None:  # type: ignore[type-arg]
    by_name = {d.name: d for d in found}
    freshness = by_name[WEEKDAY_FRESHNESS]
    assert freshness.next_runs and freshness.next_runs[0] == next_weekday_0900(now), freshness.next_runs
    for earlier, later in zip(freshness.next_runs, freshness.next_runs[1:], strict=False):
        assert later == next_weekday_0900(earlier), freshness.next_runs
    for name, (months, day) in EXPECTED.items():
        deployment = by_name[name]
        assert deployment.next_runs, f"{name}: the scheduler created no run"
        first = deployment.next_runs[0]
        assert first == next_fire(months, day, now), (name, first)
        assert (first.hour, first.minute, first.utcoffset()) == (6, 0, timedelta(hours=9))
        for earlier, later in zip(deployment.next_runs, deployment.next_runs[1:], strict=False):
            assert later == next_fire(months, day, earlier), (name, deployment.next_runs)
    assert not by_name["backfill/backfill"].scheduled  # manual deployments have no schedule


def service_errors(log: Path) -> list[str]:
    """Lines of a Prefect server log where one of its services logged an error or a traceback."""
    lines = log.read_text(errors="replace").splitlines()
    return [line for line in lines if SERVICE_ERROR.search(line)]


def test_every_scheduled_deployment_has_its_next_runs_in_jst(prefect_server: str) -> None:
    from branchkpi.flows.schedules import wait_for_schedules

    now = datetime.now(UTC)
    assert_schedules_alive(wait_for_schedules(timeout=60), now)


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)  # the worker writes where the parameters say
def test_a_worker_runs_what_the_scheduler_scheduled(
    prefect_stack: PrefectStack, warehouse_url: str, tmp_path: Path
) -> None:
    """A copy of the real `monthly` deployment with a schedule that fires in seconds: the scheduler
    service creates the run (we never ask for one), a worker executes it, the rows arrive."""
    landed = tmp_path / "incoming"
    landed.mkdir()
    shutil.copy(TIDY_SEED, landed)
    # a worker of its own beside the session's (which may still be busy with an earlier test's runs on a
    # slow day): whichever is free runs the scheduled run, as two workers of one pool do in production
    log = tmp_path / "worker.log"
    env = {**prefect_stack.worker_env, "PREFECT_API_URL": prefect_stack.api_url}
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [
                str(ROOT / ".venv" / "bin" / "prefect"),
                "worker",
                "start",
                "--pool",
                "branchkpi",
                "--name",
                "schedule-check-worker",
                "--limit",
                "1",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _run_the_scheduled_copy(warehouse_url, landed)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)


def _run_the_scheduled_copy(warehouse_url: str, landed: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentScheduleCreate
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.client.schemas.schedules import IntervalSchedule

    # a one-minute grid from a few seconds ahead: whenever the scheduler's pass comes (every 5 s, later on a
    # slow day) the next slot on the grid is at most a minute away; once a run has started the copy is
    # paused so that no second slot runs beside it
    fire_at, every = datetime.now(UTC) + timedelta(seconds=4), timedelta(minutes=1)
    with get_client(sync_client=True) as client:
        monthly = client.read_deployment_by_name("monthly-branch-stats/monthly")
        copy_id = client.create_deployment(
            flow_id=monthly.flow_id,
            name="schedule-check",
            entrypoint=monthly.entrypoint,
            pull_steps=monthly.pull_steps,
            work_pool_name=monthly.work_pool_name,
            work_queue_name=monthly.work_queue_name,
            parameter_openapi_schema=monthly.parameter_openapi_schema,
            parameters={"period": "2021-03", "paths": [str(landed)], "warehouse_url": warehouse_url},
            schedules=[DeploymentScheduleCreate(schedule=IntervalSchedule(interval=every, anchor_date=fire_at))],
        )
        try:
            deadline, finished, paused, runs = time.monotonic() + 300, None, False, []
            while time.monotonic() < deadline and finished is None:
                time.sleep(2)
                runs = client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[copy_id])))
                started = [r for r in runs if r.state and not r.state.is_scheduled()]
                if started and not paused:
                    client.pause_deployment(copy_id)  # the server drops its remaining scheduled runs
                    paused = True
                finished = next((r for r in runs if r.state and r.state.is_final()), None)
            assert finished is not None, f"no scheduled run finished: {[(r.name, r.state_name) for r in runs]}"
            assert finished.auto_scheduled, "the run was not created by the scheduler"
            assert finished.expected_start_time is not None
            offset = (finished.expected_start_time - fire_at).total_seconds()
            assert offset > -1 and min(offset % 60, 60 - offset % 60) < 1, "not a slot of the schedule"
            assert finished.state is not None and finished.state.is_completed(), finished.state
            assert finished.state_name == "Warned"  # the seed's six real YoY jumps of 2020
        finally:
            client.delete_deployment(copy_id)
    assert counts(warehouse_url)["monthly_stats"] == 576  # the seed file's rows arrived


def test_make_server_on_sqlite_state_schedules_and_reports_it(tmp_path: Path) -> None:
    """`make server` with the server's state in SQLite (BRANCHKPI_SERVER_STATE=sqlite; the default is a
    PostgreSQL of its own, tests/system/test_local_server.py): it prints each deployment's next run in
    JST, the API holds those runs, and the server's log holds no error."""
    home, port = tmp_path / "prefect-server", free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRANCHKPI_", "PREFECT_"))}
    env |= {"PREFECT_HOME": str(home), "BRANCHKPI_SERVER_PORT": str(port), "BRANCHKPI_HOME": str(tmp_path / "var")}
    env["BRANCHKPI_SERVER_STATE"] = "sqlite"
    out = tmp_path / "server.sh.log"
    with out.open("wb") as sink:
        script = subprocess.Popen(
            [str(ROOT / "scripts" / "server.sh"), "--no-worker"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 240
        while "Prefect UI:" not in out.read_text(errors="replace"):
            assert script.poll() is None and time.monotonic() < deadline, out.read_text(errors="replace")[-3000:]
            time.sleep(0.5)
        printed = out.read_text()
        today = datetime.now(UTC)
        monthly = next_fire(range(1, 13), 10, today)
        weekday = "月火水木金土日"[monthly.weekday()]
        assert re.search(rf"monthly-branch-stats/monthly .*next {monthly:%Y-%m-%d} \({weekday}\) 06:00 JST", printed)
        assert "NO RUN SCHEDULED" not in printed

        from prefect.settings import PREFECT_API_URL, temporary_settings

        from branchkpi.flows.schedules import read_schedules

        with temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{port}/api"}):
            assert_schedules_alive(read_schedules(), today)
        assert (home / "prefect.db").exists()  # SQLite state, as asked
        assert not service_errors(home / "server.log"), service_errors(home / "server.log")[:20]
    finally:
        os.killpg(script.pid, signal.SIGTERM)
        script.wait(timeout=30)


@pytest.mark.session_end
def test_the_session_server_logged_no_service_error(prefect_stack: PrefectStack) -> None:
    """Last of the session: whatever the tests did to the session's server (hundreds of runs, killed
    processes, automations, UI pages), its services (scheduler, late runs, foreman, triggers, event
    persister …) logged no error. The next incompatibility of Prefect with a dependency fails here."""
    errors = service_errors(prefect_stack.server_log)
    assert prefect_stack.server_log.stat().st_size > 0
    assert not errors, "\n".join(errors[:30])


def test_service_errors_are_recognised(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text(
        "06:25:47.225 | INFO    | prefect.server - started\n"
        "06:25:47.225 | ERROR   | docket.dependencies - ↩ [    95ms] schedule_recent_deployments()\n"
        "Traceback (most recent call last):\n"
        "06:25:48.000 | WARNING | uvicorn - slow\n"
    )
    assert len(service_errors(log)) == 2
