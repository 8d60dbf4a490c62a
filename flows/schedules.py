"""Whether the schedules are alive: each deployment's schedule and the runs the Prefect server's
scheduler has created for it, in Japan time.

A deployment that shows its cron in the UI proves nothing: only the scheduler service creates the
runs a worker picks up, and when it fails (as prefect 3.8.8's did under SQLAlchemy 2.1) it says so in
the server's log alone. So `branchkpi schedules` (and `make server`, which calls it) reads the
scheduled runs themselves, and says plainly when a scheduled deployment has none. Each run says which
period it is for and whether that day is a due day or a pickup day, from the reporting calendar
(branchkpi.domain.run_days.period_at: what the run itself works out)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from branchkpi.domain import run_days
from branchkpi.flows.alert_text import Lang, period_text

JST = run_days.JST
WEEKDAYS_JA = run_days.WEEKDAYS_JA
ROLES = {"due": ("提出期限", "due"), "pickup": ("追加取込", "pickup")}


@dataclass(frozen=True)
class NextRun:
    """A scheduled run: when, for which period (FY2026-11, FY2026-Q1, FY2025; empty: none) and on which
    kind of day (due: a unit's due day; pickup: a business day after it, for late sends)."""

    at: datetime  # JST
    period: str = ""
    role: str = ""

    def describe(self, lang: Lang = "ja") -> str:
        if not self.period:
            return ""
        role = ROLES.get(self.role, (self.role, self.role))[0 if lang == "ja" else 1]
        name = period_text(self.period, lang)
        return f"{name}分 {role}" if lang == "ja" else f"for {name} ({role})"


def run_period(deployment: str, at: datetime) -> tuple[str, str]:
    """(period label, due | pickup) of a calendar deployment's run at `at`, from the reporting calendar
    (FY2026-11 for the monthly run of November 2026's statistics, FY2026-Q1, FY2025); ("", "") for
    other deployments and days the calendar gives no run."""
    name = deployment.rpartition("/")[2]
    if name not in run_days.DEPLOYMENTS or name == "freshness":
        return "", ""
    day = at.astimezone(JST).date()
    runs = run_days.period_at(name, day)
    if runs is None:
        return "", ""
    return period_label(runs), runs.role(day)


def period_label(runs: run_days.PeriodRuns) -> str:
    """The period as alert_text.period_text reads it: FY2026-11 (a month), FY2026-Q1, FY2025."""
    if runs.deployment == "monthly":
        return f"FY{runs.fiscal_year}-{runs.period[5:7]}"
    return runs.period


@dataclass
class DeploymentSchedule:
    """One deployment: its schedules as written and its next scheduled runs (earliest first)."""

    name: str  # flow/deployment, as `prefect deployment run` takes it
    schedules: list[str] = field(default_factory=list)  # "cron 0 9 * * 1-5 (Asia/Tokyo)"; empty: started by hand
    runs: list[NextRun] = field(default_factory=list)  # the next scheduled runs, earliest first

    @property
    def next_runs(self) -> list[datetime]:  # in JST
        return [r.at for r in self.runs]

    @property
    def scheduled(self) -> bool:
        return bool(self.schedules)

    @property
    def alive(self) -> bool:
        """Manual deployments are always fine; a scheduled one needs a run in the API."""
        return not self.scheduled or bool(self.next_runs)


def describe(schedules: list[Any]) -> list[str]:
    """The active schedules as a person reads them; a calendar schedule (an RDATE list) by its count."""
    return [_describe(s.schedule) for s in schedules]


def _describe(schedule: object) -> str:
    cron = getattr(schedule, "cron", None)
    timezone = getattr(schedule, "timezone", None) or "UTC"
    if cron:
        return f"cron {cron} ({timezone})"
    interval = getattr(schedule, "interval", None)
    if interval is not None:
        return f"every {interval}"
    rrule = str(getattr(schedule, "rrule", schedule))
    lines = {line.partition(":")[0]: line.partition(":")[2] for line in rrule.splitlines()}
    if "RDATE" in lines:  # the reporting calendar's dates (branchkpi.flows.calendar_schedules)
        planned = len(lines["RDATE"].split(","))
        retired = len(lines["EXDATE"].split(",")) if lines.get("EXDATE") else 0
        return f"reporting calendar: {planned - retired} runs" + (f" ({retired} retired)" if retired else "")
    return rrule


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
            entry.schedules = describe([s for s in deployment.schedules if s.active])
            if entry.scheduled:
                runs = client.read_flow_runs(
                    deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
                    flow_run_filter=FlowRunFilter(
                        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
                    ),
                    sort=FlowRunSort.EXPECTED_START_TIME_ASC,
                    limit=runs_per_deployment,
                )
                for r in runs:
                    if r.expected_start_time:
                        at = r.expected_start_time.astimezone(JST)
                        entry.runs.append(NextRun(at, *run_period(entry.name, at)))
            found.append(entry)
    return found


def wait_for_schedules(timeout: float, poll: float = 2.0, runs_per_deployment: int = 3) -> list[DeploymentSchedule]:
    """read_schedules(), again until every scheduled deployment has a run or `timeout` has passed
    (the scheduler service creates a new deployment's runs within seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        found = read_schedules(runs_per_deployment)
        if all(d.alive for d in found) or time.monotonic() >= deadline:
            return found
        time.sleep(poll)


def jst(moment: datetime) -> str:
    """2026-12-14 (月) 18:00 JST"""
    return run_days.jst_text(moment)
