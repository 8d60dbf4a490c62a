"""Whether the schedules are alive: each deployment's schedule and the runs the Prefect server's
scheduler has created for it, in Japan time.

A deployment that shows its cron in the UI proves nothing: only the scheduler service creates the
runs a worker picks up, and when it fails (as prefect 3.8.8's did under SQLAlchemy 2.1) it says so in
the server's log alone. So `branchkpi schedules` (and `make server`, which calls it) reads the
scheduled runs themselves, and says plainly when a scheduled deployment has none."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")
WEEKDAYS_JA = "月火水木金土日"


@dataclass
class DeploymentSchedule:
    """One deployment: its schedules as written and its next scheduled runs (earliest first)."""

    name: str  # flow/deployment, as `prefect deployment run` takes it
    schedules: list[str] = field(default_factory=list)  # "0 6 10 * * (Asia/Tokyo)"; empty: started by hand
    next_runs: list[datetime] = field(default_factory=list)  # in JST

    @property
    def scheduled(self) -> bool:
        return bool(self.schedules)

    @property
    def alive(self) -> bool:
        """Manual deployments are always fine; a scheduled one needs a run in the API."""
        return not self.scheduled or bool(self.next_runs)


def _describe(schedule: object) -> str:
    cron = getattr(schedule, "cron", None)
    timezone = getattr(schedule, "timezone", None) or "UTC"
    if cron:
        return f"cron {cron} ({timezone})"
    interval = getattr(schedule, "interval", None)
    if interval is not None:
        return f"every {interval}"
    return str(getattr(schedule, "rrule", schedule))


def read_schedules(runs_per_deployment: int = 3) -> list[DeploymentSchedule]:
    """Every deployment on the server in PREFECT_API_URL with its active schedules and the next
    `runs_per_deployment` runs its scheduler has put in the API."""
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

    found: list[DeploymentSchedule] = []
    with get_client(sync_client=True) as client:
        flows = {f.id: f.name for f in client.read_flows()}
        for deployment in sorted(client.read_deployments(), key=lambda d: d.name):
            entry = DeploymentSchedule(f"{flows.get(deployment.flow_id, '?')}/{deployment.name}")
            entry.schedules = [_describe(s.schedule) for s in deployment.schedules if s.active]
            if entry.scheduled:
                runs = client.read_flow_runs(
                    deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
                    flow_run_filter=FlowRunFilter(
                        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
                    ),
                    sort=FlowRunSort.EXPECTED_START_TIME_ASC,
                    limit=runs_per_deployment,
                )
                entry.next_runs = [r.expected_start_time.astimezone(JST) for r in runs if r.expected_start_time]
            found.append(entry)
    return found


def wait_for_schedules(timeout: float, poll: float = 2.0) -> list[DeploymentSchedule]:
    """read_schedules(), again until every scheduled deployment has a run or `timeout` has passed
    (the scheduler service creates a new deployment's runs within seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        found = read_schedules()
        if all(d.alive for d in found) or time.monotonic() >= deadline:
            return found
        time.sleep(poll)


def jst(moment: datetime) -> str:
    """2026-12-10 (木) 06:00 JST"""
    local = moment.astimezone(JST)
    return f"{local:%Y-%m-%d} ({WEEKDAYS_JA[local.weekday()]}) {local:%H:%M} JST"
