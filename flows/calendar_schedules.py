"""The deployments' schedules, made from the reporting calendar (branchkpi.domain.run_days): one
Prefect schedule per calendar deployment (slug `reporting-calendar`), an RRule string listing its run
times (`RDATE:` in Asia/Tokyo: business days with Japanese holidays and the year-end closure are no
RRULE pattern) and, as `EXDATE:`, the runs of periods found complete (retired). A run knows its period
from the calendar and the day it was scheduled for (run_days.period_at), so does `branchkpi schedules`.

Made at three places, always by `calendar_rrule`:
- `prefect deploy` (and so `make server`): the build step `deploy_step` of prefect.yaml, whose output
  each deployment's `schedules: - rrule: "{{ calendar.<deployment> }}"` takes;
- `branchkpi schedules apply`: the same put on the running server's deployments (after an edit of
  reporting_calendar.toml, and monthly in production to keep them 400 days ahead);
- a scheduled run that finds its period complete adds the period's remaining runs to its schedule's
  EXDATE (`retire_period`), so no pickup run follows; the EXDATEs are read back from the server each
  time the schedules are made again, so a retired period stays retired."""

from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from branchkpi.domain import run_days
from branchkpi.domain.run_days import JST, PeriodRuns

# deployment name in prefect.yaml → the flow it runs (flow/deployment is how Prefect names it)
FLOWS = {
    "monthly": "monthly-branch-stats",
    "quarterly-actuals": "quarterly-kpi-actuals",
    "annual-evaluation": "evaluate-targets",
    "freshness": "freshness",
}
SLUG = "reporting-calendar"
# Prefect refuses an RRule string over 6,500 characters; a date takes 16 ("20261214T180000,")
MAX_RRULE_CHARS = 6500
_STAMP = "%Y%m%dT%H%M%S"


def today_jst() -> date:
    return datetime.now(JST).date()


def step_key(deployment: str) -> str:
    """The build step's output key of a deployment (quarterly-actuals → quarterly_actuals)."""
    return deployment.replace("-", "_")


def _stamps(moments: list[datetime]) -> str:
    return ",".join(m.astimezone(JST).strftime(_STAMP) for m in sorted(moments))


def rrule_text(moments: list[datetime], excluded: set[datetime] | frozenset[datetime] = frozenset()) -> str:
    """RDATE:20261214T180000,… (local times: the schedule's timezone is Asia/Tokyo), and EXDATE: for
    the excluded ones among them; as many of the earliest as Prefect's limit on an RRule string holds."""
    kept = sorted(moments)
    while True:
        dropped = sorted(excluded & set(kept))
        text = "RDATE:" + _stamps(kept) + (f"\nEXDATE:{_stamps(dropped)}" if dropped else "")
        if len(text) <= MAX_RRULE_CHARS or len(kept) <= 1:
            return text
        kept = kept[: len(kept) - 1 - (len(text) - MAX_RRULE_CHARS) // 16]


def moments_of(rrule: str, line: str) -> set[datetime]:
    """The times of one line (RDATE or EXDATE) of an RRule string as calendar_rrule writes it."""
    found: set[datetime] = set()
    for row in rrule.splitlines():
        head, _, values = row.partition(":")
        if head.split(";")[0].strip().upper() == line:
            for value in values.split(","):
                value = value.strip().rstrip("Z")
                if value:
                    found.add(datetime.strptime(value, _STAMP).replace(tzinfo=JST))
    return found


def calendar_rrule(deployment: str, today: date | None = None, excluded: set[datetime] | None = None) -> str:
    """Every run time the calendar gives the deployment from `today` to the horizon; `excluded`: runs of
    retired periods (kept as EXDATE)."""
    runs = run_days.planned_runs(deployment, today or today_jst())
    return rrule_text([m for r in runs for m in r.moments], excluded or set())


def parameters(deployment: str) -> dict[str, Any]:
    """The scheduled runs' parameters: `until_complete` (the run works out its period from the calendar
    and its scheduled day; with nothing waiting and the period complete it ends at once)."""
    return {} if deployment == "freshness" else {"until_complete": True}


def _server_schedules() -> dict[str, Any]:
    """deployment name → its calendar schedule (DeploymentSchedule) on the server, where there is one."""
    if not os.environ.get("PREFECT_API_URL"):
        return {}
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        flows = {f.id: f.name for f in client.read_flows()}
        found = {}
        for d in client.read_deployments():
            if FLOWS.get(d.name) == flows.get(d.flow_id):
                for s in d.schedules:
                    if s.slug == SLUG:
                        found[d.name] = s
        return found


def _retired(schedule: Any) -> set[datetime]:
    return moments_of(str(getattr(schedule.schedule, "rrule", "")), "EXDATE") if schedule is not None else set()


def deploy_step(**_: Any) -> dict[str, str]:
    """The build step of prefect.yaml: each calendar deployment's RRule string as of today, the periods
    retired on the server (if one answers) kept out."""
    on_server = _server_schedules()
    return {step_key(name): calendar_rrule(name, excluded=_retired(on_server.get(name))) for name in FLOWS}


def apply(today: date | None = None) -> dict[str, int]:
    """Put the calendar's schedule on each calendar deployment of the server in PREFECT_API_URL (its
    other schedules are replaced too); returns each deployment's count of scheduled times. A deployment
    not deployed yet is skipped (prefect deploy makes it with its schedule)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentScheduleUpdate, DeploymentUpdate
    from prefect.client.schemas.schedules import RRuleSchedule
    from prefect.exceptions import ObjectNotFound

    applied: dict[str, int] = {}
    on_server = _server_schedules()
    with get_client(sync_client=True) as client:
        for name, flow_name in FLOWS.items():
            try:
                deployment = client.read_deployment_by_name(f"{flow_name}/{name}")
            except ObjectNotFound:
                continue
            rrule = calendar_rrule(name, today, _retired(on_server.get(name)))
            schedule = DeploymentScheduleUpdate(
                schedule=RRuleSchedule(rrule=rrule, timezone="Asia/Tokyo"),
                active=True,
                parameters=parameters(name),
                slug=SLUG,
            )
            client.update_deployment(deployment.id, DeploymentUpdate(schedules=[schedule]))
            applied[f"{flow_name}/{name}"] = len(moments_of(rrule, "RDATE") - moments_of(rrule, "EXDATE"))
    return applied


def own_schedule() -> tuple[UUID, UUID] | None:
    """(deployment id, schedule id) of the schedule that created the running flow run, or None for a
    run started otherwise (by hand, by the landing sensor's trigger, in-process)."""
    from prefect.client.orchestration import get_client
    from prefect.runtime import flow_run

    run_id = flow_run.get_id()
    if not run_id:
        return None
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(UUID(str(run_id)))
    made_by = run.created_by
    if run.deployment_id is None or made_by is None or made_by.type != "SCHEDULE" or made_by.id is None:
        return None
    return run.deployment_id, made_by.id


def retire_period(runs: PeriodRuns) -> int:
    """Leave out of the running scheduled run's schedule (EXDATE) its runs still to come up to the
    period's last run day (a period's runs are the only ones of its deployment in that span); returns
    how many were left out (0: not a scheduled run, or nothing left to come)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.schedules import RRuleSchedule

    mine = own_schedule()
    if mine is None:
        return 0
    deployment_id, schedule_id = mine
    now = datetime.now(JST) + timedelta(seconds=1)
    until = datetime.combine(runs.days[-1] + timedelta(days=1), time(0, 0), tzinfo=JST) if runs.days else now
    with get_client(sync_client=True) as client:
        schedule = next((s for s in client.read_deployment_schedules(deployment_id) if s.id == schedule_id), None)
        rrule = str(getattr(schedule.schedule, "rrule", "")) if schedule is not None else ""
        planned = moments_of(rrule, "RDATE")
        left_out = {m for m in planned if now < m < until} - moments_of(rrule, "EXDATE")
        if not left_out:
            return 0
        text = rrule_text(sorted(planned), moments_of(rrule, "EXDATE") | left_out)
        client.update_deployment_schedule(
            deployment_id, schedule_id, schedule=RRuleSchedule(rrule=text, timezone="Asia/Tokyo")
        )
    return len(left_out)
