"""The schedules fire: behaviour, not configuration. On the server `make server` starts (the session's,
on PostgreSQL; and one on SQLite state as `make server` keeps by default) every scheduled deployment
has its next runs in the API on the days the reporting calendar gives, in Japan time (the monthly ones
on the days worked out by hand); a worker executes a run the scheduler created; a calendar run that
finds its month complete retires the month's remaining runs; and the server's own services log no
error while the whole session runs."""

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
from ..helpers import counts, run_monthly
from ..server_log import service_errors

JST = ZoneInfo("Asia/Tokyo")
# the deployments whose schedule is the reporting calendar's (branchkpi.domain.run_days), by name
CALENDAR = {
    "monthly-branch-stats/monthly": "monthly",
    "quarterly-kpi-actuals/quarterly-actuals": "quarterly-actuals",
    "evaluate-targets/annual-evaluation": "annual-evaluation",
    "freshness/freshness": "freshness",
}

# The monthly deployment's runs worked out by hand from a Japanese calendar: for each month's statistics
# the business days from the branches' due day (the 10th business day of the next month) through 全国's
# (the 15th) and the 5 business days after, at 18:00 JST. Holidays skipped: 2027-01-01…03 (年末年始, with
# 12/29–31), 01-11 成人の日, 02-11 建国記念の日, 02-23 天皇誕生日, 03-22 振替休日, 04-29 昭和の日,
# 05-03…05, 07-19 海の日.
HAND_MONTHLY = {
    "2026-11": "12-14 12-15 12-16 12-17 12-18 12-21 12-22 12-23 12-24 12-25 12-28",
    "2026-12": "01-18 01-19 01-20 01-21 01-22 01-25 01-26 01-27 01-28 01-29 02-01",
    "2027-01": "02-15 02-16 02-17 02-18 02-19 02-22 02-24 02-25 02-26 03-01 03-02",
    "2027-02": "03-12 03-15 03-16 03-17 03-18 03-19 03-23 03-24 03-25 03-26 03-29",
    "2027-03": "04-14 04-15 04-16 04-19 04-20 04-21 04-22 04-23 04-26 04-27 04-28",
    "2027-04": "05-19 05-20 05-21 05-24 05-25 05-26 05-27 05-28 05-31 06-01 06-02",
    "2027-05": "06-14 06-15 06-16 06-17 06-18 06-21 06-22 06-23 06-24 06-25 06-28",
    "2027-06": "07-14 07-15 07-16 07-20 07-21 07-22 07-23 07-26 07-27 07-28 07-29",
}


def hand_moments(period: str) -> list[datetime]:
    """The hand-worked runs of a month's statistics (the year of each day from the month after it)."""
    year, month = int(period[:4]), int(period[5:7])
    out = []
    for text in HAND_MONTHLY[period].split():
        m, d = int(text[:2]), int(text[3:])
        out.append(datetime(year + (m < month), m, d, 18, 0, tzinfo=JST))
    return out


def planned(deployment: str, after: datetime) -> list[datetime]:
    """Every run time the reporting calendar gives the deployment after `after` (the generator's)."""
    from branchkpi.domain import run_days

    start = after.astimezone(JST).date()
    return sorted(m for r in run_days.planned_runs(deployment, start) for m in r.moments if m > after)


def assert_schedules_alive(found: list, now: datetime) -> None:  # type: ignore[type-arg]
    by_name = {d.name: d for d in found}
    for name, deployment in CALENDAR.items():
        entry = by_name[name]
        assert entry.next_runs, f"{name}: the scheduler created no run"
        assert entry.schedules[0].startswith("reporting calendar: "), entry.schedules
        expected = planned(deployment, now)
        assert entry.next_runs == expected[: len(entry.next_runs)], (name, entry.next_runs, expected[:3])
        for at in entry.next_runs:
            assert at.utcoffset() == timedelta(hours=9) and at.weekday() < 5
    assert not by_name["backfill/backfill"].scheduled  # manual deployments have no schedule


def test_every_scheduled_deployment_has_its_next_runs_in_jst(prefect_server: str) -> None:
    from branchkpi.flows.schedules import wait_for_schedules

    now = datetime.now(UTC)
    assert_schedules_alive(wait_for_schedules(timeout=60), now)


def test_schedules_apply_puts_the_calendar_on_the_server(prefect_server: str) -> None:
    """`branchkpi schedules apply` (after an edit of the calendar; monthly in production) replaces the
    calendar deployments' schedules with the calendar's, and the scheduler makes their runs again."""
    from typer.testing import CliRunner

    from branchkpi.cli import app
    from branchkpi.flows.schedules import read_schedules

    result = CliRunner().invoke(app, ["schedules", "apply"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(
        re.fullmatch(
            r"monthly-branch-stats/monthly: \d+ runs from the reporting calendar; next .* 18:00 JST 令和.*分 .*", x
        )
        for x in lines
    ), lines
    assert len([x for x in lines if "runs from the reporting calendar" in x]) == 4
    assert_schedules_alive(read_schedules(), datetime.now(UTC))


def test_upcoming_monthly_runs_fall_on_the_calendars_due_business_days(prefect_server: str) -> None:
    """The scheduled runs of `monthly` in the API, for the next three months' statistics, on exactly
    the days worked out by hand (HAND_MONTHLY); each run says which month it is for."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    from branchkpi.flows.schedules import run_period

    now = datetime.now(UTC)
    with get_client(sync_client=True) as client:
        monthly = client.read_deployment_by_name("monthly-branch-stats/monthly")
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[monthly.id])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
            ),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC,
            limit=60,
        )
    scheduled = [r.expected_start_time.astimezone(JST) for r in runs if r.auto_scheduled and r.expected_start_time]
    assert all(r.parameters.get("until_complete") is True for r in runs)
    by_period: dict[str, list[datetime]] = {}
    for at in scheduled:
        by_period.setdefault(run_period("monthly-branch-stats/monthly", at)[0], []).append(at)
    upcoming = [p for p in sorted(HAND_MONTHLY) if hand_moments(p)[-1] > now][:3]
    assert len(upcoming) == 3, "extend HAND_MONTHLY: the hand-worked months are behind the clock"
    for period in upcoming:
        expected = [m for m in hand_moments(period) if m > now]
        label = f"FY{int(period[:4]) - (int(period[5:]) < 4)}-{period[5:]}"
        assert by_period.get(label) == expected, (period, by_period.get(label), expected)
        first = hand_moments(period)[0]
        assert run_period("monthly-branch-stats/monthly", first) == (label, "due")


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


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)  # the worker writes where the parameters say
def test_a_calendar_run_that_finds_its_month_complete_retires_the_rest(
    prefect_stack: PrefectStack, warehouse_url: str, tmp_path: Path
) -> None:
    """The next calendar month's statistics of all 48 units are in; a copy of `monthly` whose schedule
    has three runs for that month (seconds apart, not days): the first finds the month complete and
    nothing waiting, ends at once, and leaves its two remaining runs out of the schedule (EXDATE), so
    the scheduler makes no run of them."""
    import polars as pl
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentScheduleCreate
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.client.schemas.schedules import RRuleSchedule

    from branchkpi.domain import run_days
    from branchkpi.flows.calendar_schedules import moments_of, rrule_text, today_jst
    from branchkpi.synthetic import SEED, write_synthetic

    period = run_days.planned_runs("monthly", today_jst())[0].period
    fiscal_year, month = run_days.period_of_month(period)
    write_synthetic(tmp_path / "synth", range(fiscal_year, fiscal_year + 1), SEED, False)
    synthetic = tmp_path / "synth" / "monthly_stats" / f"monthly_stats_FY{fiscal_year}.csv"
    statistics = pl.read_csv(synthetic, infer_schema=False)  # region codes stay "00", "35"
    statistics.filter(pl.col("month") == str(month)).write_csv(tmp_path / "month.csv")
    state, _ = run_monthly(tmp_path / "month.csv")
    assert not state.is_failed(), state.message

    start = datetime.now(JST).replace(microsecond=0) + timedelta(seconds=15)
    moments = [start, start + timedelta(minutes=3), start + timedelta(minutes=6)]
    with get_client(sync_client=True) as client:
        monthly = client.read_deployment_by_name("monthly-branch-stats/monthly")
        copy_id = client.create_deployment(
            flow_id=monthly.flow_id,
            name="calendar-retire-check",
            entrypoint=monthly.entrypoint,
            pull_steps=monthly.pull_steps,
            work_pool_name=monthly.work_pool_name,
            work_queue_name=monthly.work_queue_name,
            parameter_openapi_schema=monthly.parameter_openapi_schema,
            parameters={"period": period, "warehouse_url": warehouse_url},
            schedules=[
                DeploymentScheduleCreate(
                    schedule=RRuleSchedule(rrule=rrule_text(moments), timezone="Asia/Tokyo"),
                    parameters={"until_complete": True},
                    slug="reporting-calendar",
                )
            ],
        )
        try:
            deadline, finished, runs = time.monotonic() + 150, None, []
            while time.monotonic() < deadline and finished is None:
                time.sleep(2)
                runs = client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[copy_id])))
                finished = next((r for r in runs if r.state and r.state.is_final()), None)
            assert finished is not None, f"no run finished: {[(r.name, r.state_name) for r in runs]}"
            assert finished.auto_scheduled and finished.state is not None and finished.state.is_completed()
            assert finished.name == f"monthly-stats-FY{fiscal_year}-{month:02d}"
            assert "complete (48 units), nothing waiting; its 2 remaining run(s) retired" in (
                finished.state.message or ""
            ), finished.state.message
            (schedule,) = client.read_deployment_schedules(copy_id)
            assert moments_of(str(schedule.schedule.rrule), "EXDATE") == set(moments[1:])  # type: ignore[union-attr]
            time.sleep(12)  # the scheduler's passes: it makes no run of the retired times
            runs = client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[copy_id])))
            assert [r.id for r in runs] == [finished.id], [(r.name, r.state_name, r.expected_start_time) for r in runs]
        finally:
            client.delete_deployment(copy_id)
    assert rows_count_unchanged(warehouse_url)


def rows_count_unchanged(url: str) -> bool:
    """The retiring run opened no batch: the warehouse holds only the batch that loaded the month."""
    from branchkpi.warehouse import schema

    from ..helpers import rows

    return len(rows(url, schema.ingest_batches)) == 1


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
        monthly = planned("monthly", today)[0]
        weekday = "月火水木金土日"[monthly.weekday()]
        assert re.search(
            rf"monthly-branch-stats/monthly  reporting calendar: \d+ runs\n  next {monthly:%Y-%m-%d} \({weekday}\) "
            r"18:00 JST  令和\d+年\d+月分 (提出期限|追加取込)\n",
            printed,
        ), printed[-3000:]
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
