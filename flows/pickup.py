"""A scheduled run of the reporting calendar (branchkpi.flows.calendar_schedules: a period's due days
and the pickup days after them; parameter `until_complete`). It works out its period from the calendar
and the day it was scheduled for, and lands what is waiting like any run. With nothing waiting it opens
no batch: it says whether the period is complete or who is still missing, and ends (the freshness flow
announces what is overdue, once). Once its period is complete, the period's remaining runs are left out
of the schedule (retired), so no pickup run follows."""

from __future__ import annotations

from datetime import datetime

from prefect import get_run_logger
from prefect.runtime import flow_run
from prefect.states import Completed, State

from branchkpi.domain import run_days
from branchkpi.domain.run_days import JST, PeriodRuns
from branchkpi.flows import calendar_schedules
from branchkpi.flows.alert_text import period_text
from branchkpi.flows.schedules import period_label
from branchkpi.tasks import steps
from branchkpi.tasks.status import ARRIVED


def scheduled_period(deployment: str, period: str | None = None) -> PeriodRuns | None:
    """The period the running flow run is for: the one it names (2026-11, FY2026-Q1, FY2025), else the
    calendar's period of the day it was scheduled for (its expected start, in Japan time); None when
    the calendar has no such period or no run that day."""
    if period:
        return run_days.runs_of_period(deployment, period)
    moment = flow_run.get_scheduled_start_time()
    day = moment.astimezone(JST).date() if isinstance(moment, datetime) else calendar_schedules.today_jst()
    return run_days.period_at(deployment, day)


def coverage_periods(runs: PeriodRuns) -> list[str]:
    """The coverage grid's periods a run owes: the month (2026-11), the quarter (and FY with Q4), FY."""
    if runs.deployment == "monthly":
        return [runs.period]
    if runs.deployment == "quarterly-actuals":
        quarter = runs.period[7:]
        return [quarter, "FY"] if quarter == "Q4" else [quarter]
    return ["FY"]


def _kind(runs: PeriodRuns) -> str:
    return "stats" if runs.deployment == "monthly" else "kpi"


def _missing(url: str, runs: PeriodRuns) -> tuple[list[str], int]:
    """(the units whose figures of the period are not in, how many units owe them)."""
    assert runs.fiscal_year is not None
    cells = steps.period_coverage(
        url, _kind(runs), runs.fiscal_year, coverage_periods(runs), calendar_schedules.today_jst()
    )
    return sorted({c["unit_ja"] for c in cells if c["status"] not in ARRIVED}), len({c["unit_ja"] for c in cells})


def _retire(runs: PeriodRuns) -> str:
    left_out = calendar_schedules.retire_period(runs)
    return f"; its {left_out} remaining run(s) retired" if left_out else ""


def retire_if_complete(url: str, runs: PeriodRuns) -> str | None:
    """After a scheduled run: its period complete, the period's remaining runs are retired."""
    missing, owed = _missing(url, runs)
    if missing:
        return None
    said = f"{period_text(period_label(runs), 'en')} is complete ({owed} units){_retire(runs)}"
    get_run_logger().info(said)
    return said


def nothing_waiting(url: str, runs: PeriodRuns) -> State:
    """A scheduled run that found no file: Completed, saying whether the period is complete."""
    missing, owed = _missing(url, runs)
    name = period_text(period_label(runs), "en")
    if not missing:
        message = f"{name}: complete ({owed} units), nothing waiting{_retire(runs)}"
    else:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        message = f"{name}: nothing waiting; {len(missing)} of {owed} units not in yet ({shown})"
    get_run_logger().info(message)
    return Completed(message=message)
