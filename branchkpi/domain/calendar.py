"""The reporting calendar (提出期限): when a month's statistics or a quarter's KPI actuals are due, in
business days of Asia/Tokyo. A business day (営業日) is Monday to Friday, not a Japanese public holiday
(jpholiday, which follows the 祝日法 including substitute and citizens' holidays) and not the year-end
closure (年末年始, 29 December – 3 January). The due rules are in reporting_calendar.toml beside this
module, overridable per reporting unit."""

from __future__ import annotations

import tomllib
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any, Literal

import jpholiday

from branchkpi.domain.fiscal import calendar_year_of

Kind = Literal["statistics", "kpi"]
QUARTER_END_MONTH = {"Q1": 6, "Q2": 9, "Q3": 12, "Q4": 3, "FY": 3}


def is_year_end_closure(day: date) -> bool:
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and not jpholiday.is_holiday(day) and not is_year_end_closure(day)


def nth_business_day_after(last_day: date, n: int) -> date:
    """The n-th business day after `last_day` (n = 1: the first business day after it)."""
    if n < 1:
        raise ValueError(f"business day must be >= 1, got {n}")
    day, counted = last_day, 0
    while counted < n:
        day += timedelta(days=1)
        if is_business_day(day):
            counted += 1
    return day


@cache
def rules() -> dict[str, Any]:
    text = resources.files("branchkpi.domain").joinpath("reporting_calendar.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def business_day_rule(kind: Kind, unit: str | None = None) -> int:
    """The N of 'due by the Nth business day' for this kind of data and unit (its override, or the default)."""
    table = rules()
    override = table.get("units", {}).get(unit or "", {}).get(kind, {})
    return int(override.get("business_day", table[kind]["business_day"]))


def _month_end(year: int, month: int) -> date:
    first_next = date(year + (month == 12), month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def statistics_due(fiscal_year: int, month: int, unit: str | None = None) -> date:
    """When a month's statistics are due: e.g. April 2020 (FY2020-04) by the 10th business day of May 2020."""
    return nth_business_day_after(
        _month_end(calendar_year_of(fiscal_year, month), month), business_day_rule("statistics", unit)
    )


def kpi_periods(unit_kind: str, unit: str | None = None) -> list[str]:
    """The KPI actuals a kind of reporting unit owes in a fiscal year (Q1–Q4 and FY for a branch, FY for
    a municipality), or its unit's override."""
    table = rules()
    override = table.get("units", {}).get(unit or "", {}).get("kpi", {}).get("periods")
    return list(override or table["kpi"]["periods"].get(unit_kind, ["FY"]))


def quarter_of_month(month: int) -> str:
    """The fiscal quarter a month's actual counts for (April–June: Q1 … January–March: Q4)."""
    return f"Q{(month - 4) % 12 // 3 + 1}"


def kpi_due(fiscal_year: int, period: str, unit: str | None = None) -> date:
    """When a quarter's (Q1–Q4) or the fiscal year's (FY) KPI actuals are due."""
    month = QUARTER_END_MONTH[period]
    return nth_business_day_after(
        _month_end(calendar_year_of(fiscal_year, month), month), business_day_rule("kpi", unit)
    )
