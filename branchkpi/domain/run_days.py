"""When the scheduled runs fire (定例実行日), worked out from the reporting calendar: for each period a
deployment is for, the business days it runs on. Those are the period's due days (the earliest unit's
due date through the latest unit's: the branches' 月報 by the 10th business day, 全国's by the 15th)
and then the next business days, up to `pickup_business_days` of them (追加取込: a send that comes
late is loaded without anyone starting a run). A run that finds its period complete retires the rest.

- monthly: a calendar month's statistics (period 2026-11), due in the month after it.
- quarterly-actuals: a quarter's KPI actuals (FY2026-Q1); the fourth quarter's runs also take the
  fiscal year's (FY) actuals, due the same days.
- annual-evaluation: the closed fiscal year (FY2025), on the days its FY actuals are due.
- freshness: every business day (no period).

Everything here is plain dates (Asia/Tokyo): the Prefect schedules are made from it in
branchkpi.flows.calendar_schedules. The rules are the [schedules] table of reporting_calendar.toml."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from branchkpi.domain import calendar
from branchkpi.domain.fiscal import calendar_year_of, fiscal_year_of

JST = ZoneInfo("Asia/Tokyo")
WEEKDAYS_JA = "月火水木金土日"
DEPLOYMENTS = ("monthly", "quarterly-actuals", "annual-evaluation", "freshness")
QUARTERS = ("Q1", "Q2", "Q3", "Q4")


@dataclass(frozen=True)
class PeriodRuns:
    """The runs of one deployment for one period: its due days and every day it runs on."""

    deployment: str  # monthly, quarterly-actuals, annual-evaluation, freshness
    period: str  # 2026-11 (a calendar month), FY2026-Q1, FY2025; "" for freshness
    fiscal_year: int | None
    due_days: tuple[date, ...]  # the distinct due dates of the units (sorted)
    days: tuple[date, ...]  # the business days it runs on (sorted): the due days, the days between, pickups
    at: time = field(default=time(18, 0))

    @property
    def moments(self) -> list[datetime]:
        return [datetime.combine(d, self.at, tzinfo=JST) for d in self.days]

    def role(self, day: date) -> str:
        """due: a unit's due day; pickup: a day after the first due day that is no unit's due day."""
        return "due" if day in self.due_days else "pickup"


def schedule_rules() -> dict[str, Any]:
    return dict(calendar.rules().get("schedules", {}))


def pickup_business_days() -> int:
    n = int(schedule_rules().get("pickup_business_days", 5))
    if n < 0:
        raise ValueError(f"pickup_business_days must be >= 0, got {n}")
    return n


def horizon_days() -> int:
    return int(schedule_rules().get("horizon_days", 400))


def run_time(deployment: str) -> time:
    """The time of day a deployment runs ("18:00" in [schedules.at]), Asia/Tokyo."""
    default = "09:00" if deployment == "freshness" else "18:00"
    text = str(schedule_rules().get("at", {}).get(deployment, default))
    hours, _, minutes = text.partition(":")
    return time(int(hours), int(minutes or 0))


def override_units(kind: calendar.Kind) -> list[str]:
    """The units with a due rule of their own for this kind of data ([units.national.statistics], …)."""
    return sorted(unit for unit, table in calendar.rules().get("units", {}).items() if kind in table)


def statistics_due_days(year: int, month: int) -> tuple[date, ...]:
    """The distinct due dates of a calendar month's statistics over the units: the default rule's and
    each overriding unit's (2020-04: 2020-05-19 for the branches, 2020-05-26 for 全国)."""
    fiscal_year = fiscal_year_of(year, month)
    units: list[str | None] = [None, *override_units("statistics")]
    return tuple(sorted({calendar.statistics_due(fiscal_year, month, unit) for unit in units}))


def kpi_due_days(fiscal_year: int, period: str) -> tuple[date, ...]:
    """The distinct due dates of a quarter's (Q1–Q4) or the fiscal year's (FY) KPI actuals."""
    units: list[str | None] = [None, *override_units("kpi")]
    return tuple(sorted({calendar.kpi_due(fiscal_year, period, unit) for unit in units}))


def run_days(due_days: tuple[date, ...], pickups: int) -> tuple[date, ...]:
    """Every business day from the first due day through the `pickups`-th business day after the last."""
    first, last = min(due_days), max(due_days)
    end = calendar.nth_business_day_after(last, pickups) if pickups else last
    days, day = [], first
    while day <= end:
        if calendar.is_business_day(day):
            days.append(day)
        day += timedelta(days=1)
    return tuple(days)


def _months(first: date, last: date) -> Iterator[tuple[int, int]]:
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _within(runs: PeriodRuns, start: date, end: date) -> bool:
    return any(start <= d <= end for d in runs.days)


def monthly_runs(start: date, end: date, pickups: int | None = None) -> list[PeriodRuns]:
    """The monthly deployment's periods with a run day from `start` to `end` (inclusive)."""
    pickups = pickup_business_days() if pickups is None else pickups
    found = []
    # a month's runs fall in the month after it (or, with pickups, the one after that)
    for year, month in _months(start - timedelta(days=100), end):
        due = statistics_due_days(year, month)
        runs = PeriodRuns(
            "monthly",
            f"{year}-{month:02d}",
            fiscal_year_of(year, month),
            due,
            run_days(due, pickups),
            run_time("monthly"),
        )
        if _within(runs, start, end):
            found.append(runs)
    return found


def _fiscal_years(start: date, end: date) -> range:
    return range(fiscal_year_of(start.year, start.month) - 1, fiscal_year_of(end.year, end.month) + 1)


def quarterly_runs(start: date, end: date, pickups: int | None = None) -> list[PeriodRuns]:
    """The quarterly-actuals deployment's quarters with a run day from `start` to `end`; Q4's runs also
    take in the fiscal year's actuals (their due days joined)."""
    pickups = pickup_business_days() if pickups is None else pickups
    found = []
    for fiscal_year in _fiscal_years(start, end):
        for quarter in QUARTERS:
            due = kpi_due_days(fiscal_year, quarter)
            if quarter == "Q4":
                due = tuple(sorted({*due, *kpi_due_days(fiscal_year, "FY")}))
            runs = PeriodRuns(
                "quarterly-actuals",
                f"FY{fiscal_year}-{quarter}",
                fiscal_year,
                due,
                run_days(due, pickups),
                run_time("quarterly-actuals"),
            )
            if _within(runs, start, end):
                found.append(runs)
    return found


def annual_runs(start: date, end: date, pickups: int | None = None) -> list[PeriodRuns]:
    """The annual evaluation of each closed fiscal year, on the days its FY actuals are due and after."""
    pickups = pickup_business_days() if pickups is None else pickups
    found = []
    for fiscal_year in _fiscal_years(start, end):
        due = kpi_due_days(fiscal_year, "FY")
        runs = PeriodRuns(
            "annual-evaluation",
            f"FY{fiscal_year}",
            fiscal_year,
            due,
            run_days(due, pickups),
            run_time("annual-evaluation"),
        )
        if _within(runs, start, end):
            found.append(runs)
    return found


def freshness_runs(start: date, end: date) -> list[PeriodRuns]:
    """The check of what is late, on every business day from `start` to `end`."""
    days, day = [], start
    while day <= end:
        if calendar.is_business_day(day):
            days.append(day)
        day += timedelta(days=1)
    return [PeriodRuns("freshness", "", None, (), tuple(days), run_time("freshness"))] if days else []


def _maker(deployment: str) -> Callable[[date, date], list[PeriodRuns]]:
    makers: dict[str, Callable[[date, date], list[PeriodRuns]]] = {
        "monthly": monthly_runs,
        "quarterly-actuals": quarterly_runs,
        "annual-evaluation": annual_runs,
        "freshness": freshness_runs,
    }
    if deployment not in makers:
        raise ValueError(f"no calendar schedule for deployment {deployment!r}: one of {', '.join(DEPLOYMENTS)}")
    return makers[deployment]


def period_at(deployment: str, day: date) -> PeriodRuns | None:
    """The period a deployment's run on `day` is for (the earliest, should two periods share the day),
    or None when the calendar gives no run that day."""
    found = [runs for runs in _maker(deployment)(day, day) if day in runs.days]
    return found[0] if found else None


def runs_of_period(deployment: str, period: str) -> PeriodRuns | None:
    """The calendar's runs of one period (2026-11, FY2026-Q1, FY2025), or None for no such period."""
    try:
        if deployment == "monthly":
            year, month = int(period[:4]), int(period[5:7])
            anchor = date(year, month, 1)
        elif deployment == "quarterly-actuals":
            fiscal_year, quarter = int(period[2:6]), QUARTERS.index(period[7:])
            first_month = 4 + 3 * quarter if quarter < 3 else 1  # the quarter's first month
            anchor = date(calendar_year_of(fiscal_year, first_month), first_month, 1)
        elif deployment == "annual-evaluation":
            anchor = date(int(period[2:6]) + 1, 3, 31)
        else:
            return None
    except (ValueError, IndexError):
        return None
    found = [r for r in _maker(deployment)(anchor, anchor + timedelta(days=200)) if r.period == period]
    return found[0] if found else None


def planned_runs(deployment: str, start: date, end: date | None = None) -> list[PeriodRuns]:
    """A deployment's periods and run days from `start` through `end` (default: the horizon), each
    period keeping only its days from `start` on."""
    end = end or start + timedelta(days=horizon_days())
    out = []
    for runs in _maker(deployment)(start, end):
        days = tuple(d for d in runs.days if start <= d <= end)
        out.append(PeriodRuns(runs.deployment, runs.period, runs.fiscal_year, runs.due_days, days, runs.at))
    return out


def period_of_month(period: str) -> tuple[int, int]:
    """2026-11 → (fiscal year 2026, month 11); 2027-01 → (2026, 1)."""
    year, month = int(period[:4]), int(period[5:7])
    return fiscal_year_of(year, month), month


def month_start(period: str) -> date:
    fiscal_year, month = period_of_month(period)
    return date(calendar_year_of(fiscal_year, month), month, 1)


def jst_text(moment: datetime) -> str:
    """2026-12-14 (月) 18:00 JST: a moment as the schedules print it, in Japan time with the weekday."""
    local = moment.astimezone(JST)
    return f"{local:%Y-%m-%d} ({WEEKDAYS_JA[local.weekday()]}) {local:%H:%M} JST"
