"""The scheduled runs from the reporting calendar (branchkpi.domain.run_days) and the Prefect schedules
made from them (branchkpi.flows.calendar_schedules): each period's due business days and pickup days,
Japanese holidays and the year-end closure skipped. The dates below were worked out by hand from a
calendar (祝日: 2020-05-04/05/06, 2026-11-03, 2026-11-23, 2027-01-01, 2027-01-11, 2027-02-11, 2027-02-23,
2027-03-22 (振替: 春分 21 is a Sunday), 2027-04-29, 2027-05-03/04/05, 2027-07-19; 年末年始 12/29–1/3)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from branchkpi.domain import calendar, run_days
from branchkpi.domain.run_days import JST


def days(*texts: str) -> tuple[date, ...]:
    return tuple(date.fromisoformat(t) for t in texts)


# calendar month → (the branches' due day, 全国's due day, every run day: due days, between, 5 pickups)
HAND = {
    "2020-04": (  # the example: April 2020 due by 2020-05-19 (the 10th business day of May)
        "2020-05-19",
        "2020-05-26",
        "2020-05-19 2020-05-20 2020-05-21 2020-05-22 2020-05-25 2020-05-26 2020-05-27 2020-05-28 2020-05-29 "
        "2020-06-01 2020-06-02",
    ),
    "2026-11": (  # the last pickup is 28 December: the year-end closure starts on the 29th
        "2026-12-14",
        "2026-12-21",
        "2026-12-14 2026-12-15 2026-12-16 2026-12-17 2026-12-18 2026-12-21 2026-12-22 2026-12-23 2026-12-24 "
        "2026-12-25 2026-12-28",
    ),
    "2026-12": (  # 1/1–1/3 closed, 1/11 成人の日
        "2027-01-18",
        "2027-01-25",
        "2027-01-18 2027-01-19 2027-01-20 2027-01-21 2027-01-22 2027-01-25 2027-01-26 2027-01-27 2027-01-28 "
        "2027-01-29 2027-02-01",
    ),
    "2027-01": (  # 2/11 建国記念の日, 2/23 天皇誕生日
        "2027-02-15",
        "2027-02-22",
        "2027-02-15 2027-02-16 2027-02-17 2027-02-18 2027-02-19 2027-02-22 2027-02-24 2027-02-25 2027-02-26 "
        "2027-03-01 2027-03-02",
    ),
    "2027-02": (  # 3/22 振替休日 (春分の日 3/21 is a Sunday)
        "2027-03-12",
        "2027-03-19",
        "2027-03-12 2027-03-15 2027-03-16 2027-03-17 2027-03-18 2027-03-19 2027-03-23 2027-03-24 2027-03-25 "
        "2027-03-26 2027-03-29",
    ),
    "2027-03": (  # 4/29 昭和の日 is after the last pickup
        "2027-04-14",
        "2027-04-21",
        "2027-04-14 2027-04-15 2027-04-16 2027-04-19 2027-04-20 2027-04-21 2027-04-22 2027-04-23 2027-04-26 "
        "2027-04-27 2027-04-28",
    ),
    "2027-04": (  # Golden Week 5/3–5/5: May's first business day is the 6th
        "2027-05-19",
        "2027-05-26",
        "2027-05-19 2027-05-20 2027-05-21 2027-05-24 2027-05-25 2027-05-26 2027-05-27 2027-05-28 2027-05-31 "
        "2027-06-01 2027-06-02",
    ),
    "2027-06": (  # 7/19 海の日
        "2027-07-14",
        "2027-07-22",
        "2027-07-14 2027-07-15 2027-07-16 2027-07-20 2027-07-21 2027-07-22 2027-07-23 2027-07-26 2027-07-27 "
        "2027-07-28 2027-07-29",
    ),
}


@pytest.mark.parametrize("period", sorted(HAND))
def test_a_months_runs_are_its_due_days_and_the_pickups_after(period: str) -> None:
    branches, national, every = HAND[period]
    runs = run_days.runs_of_period("monthly", period)
    assert runs is not None and runs.period == period
    assert runs.due_days == days(branches, national)
    assert runs.days == days(*every.split())
    assert runs.role(runs.days[0]) == "due" and runs.role(days(national)[0]) == "due"
    assert runs.role(runs.days[1]) == "pickup" and runs.role(runs.days[-1]) == "pickup"
    assert all(m.time() == time(18, 0) and m.utcoffset() == timedelta(hours=9) for m in runs.moments)


def test_every_run_day_is_a_business_day_and_none_falls_in_the_closure() -> None:
    start = date(2026, 12, 1)
    for deployment in ("monthly", "quarterly-actuals", "annual-evaluation", "freshness"):
        for runs in run_days.planned_runs(deployment, start, start + timedelta(days=800)):
            for day in runs.days:
                assert day.weekday() < 5 and calendar.is_business_day(day), (deployment, runs.period, day)
                assert not calendar.is_year_end_closure(day)


def test_without_pickups_a_month_runs_from_the_first_due_day_to_the_last() -> None:
    (runs,) = [
        r for r in run_days.monthly_runs(date(2020, 5, 1), date(2020, 5, 31), pickups=0) if r.period == "2020-04"
    ]
    assert runs.days == days("2020-05-19", "2020-05-20", "2020-05-21", "2020-05-22", "2020-05-25", "2020-05-26")
    assert run_days.run_days(days("2020-05-19"), 0) == days("2020-05-19")
    assert run_days.run_days(days("2020-05-19"), 2) == days("2020-05-19", "2020-05-20", "2020-05-21")


def test_quarters_fall_on_the_15th_business_day_after_they_close() -> None:
    q3 = run_days.runs_of_period("quarterly-actuals", "FY2026-Q3")  # Oct–Dec 2026
    assert q3 is not None and q3.due_days == days("2027-01-25")  # 1/4 … 1/8, 1/12 … 1/15, 1/18 … 1/22, 1/25
    assert q3.days == days("2027-01-25", "2027-01-26", "2027-01-27", "2027-01-28", "2027-01-29", "2027-02-01")
    q1 = run_days.runs_of_period("quarterly-actuals", "FY2020-Q1")
    assert q1 is not None and q1.due_days == days("2020-07-21")  # 7/1 … the 15th; 7/23–24 were holidays in 2020
    q4 = run_days.runs_of_period("quarterly-actuals", "FY2025-Q4")  # with the fiscal year's actuals
    assert q4 is not None and q4.due_days == days("2026-04-21") and q4.fiscal_year == 2025
    assert run_days.kpi_due_days(2025, "FY") == q4.due_days


def test_the_annual_evaluation_runs_when_the_years_actuals_are_due_at_19_00() -> None:
    runs = run_days.runs_of_period("annual-evaluation", "FY2025")
    assert runs is not None and runs.fiscal_year == 2025
    assert runs.due_days == days("2026-04-21")  # the 15th business day after 31 March 2026
    assert runs.days[0] == date(2026, 4, 21) and len(runs.days) == 6
    assert {m.time() for m in runs.moments} == {time(19, 0)}


def test_freshness_runs_on_every_business_day_at_9() -> None:
    (runs,) = run_days.planned_runs("freshness", date(2026, 12, 24), date(2027, 1, 13))
    assert runs.days == days(
        "2026-12-24",
        "2026-12-25",
        "2026-12-28",
        "2027-01-04",
        "2027-01-05",
        "2027-01-06",
        "2027-01-07",
        "2027-01-08",
        "2027-01-12",
        "2027-01-13",
    )
    assert runs.moments[0] == datetime(2026, 12, 24, 9, 0, tzinfo=JST)


@pytest.mark.parametrize(
    ("deployment", "day", "period"),
    [
        ("monthly", "2026-12-14", "2026-11"),
        ("monthly", "2026-12-28", "2026-11"),
        ("monthly", "2027-02-01", "2026-12"),
        ("monthly", "2026-12-29", None),  # the closure
        ("monthly", "2026-12-05", None),  # a Saturday
        ("monthly", "2026-12-11", None),  # before the 10th business day
        ("quarterly-actuals", "2027-01-25", "FY2026-Q3"),
        ("quarterly-actuals", "2027-04-28", "FY2026-Q4"),
        ("quarterly-actuals", "2027-03-01", None),
        ("annual-evaluation", "2026-04-24", "FY2025"),
        ("annual-evaluation", "2026-06-30", None),  # the old fixed date
    ],
)
def test_a_run_knows_its_period_from_its_day(deployment: str, day: str, period: str | None) -> None:
    found = run_days.period_at(deployment, date.fromisoformat(day))
    assert (found.period if found else None) == period


def test_every_planned_period_is_found_again_by_its_name() -> None:
    start = date(2026, 12, 5)
    for deployment in ("monthly", "quarterly-actuals", "annual-evaluation"):
        planned = run_days.planned_runs(deployment, start)
        assert planned, deployment
        for runs in planned:
            again = run_days.runs_of_period(deployment, runs.period)
            assert again is not None and set(runs.days) <= set(again.days), (deployment, runs.period)
    assert run_days.runs_of_period("monthly", "2026-13") is None
    assert run_days.runs_of_period("quarterly-actuals", "FY2026-Q5") is None
    with pytest.raises(ValueError, match="no calendar schedule"):
        run_days.planned_runs("backfill", start)


def test_planned_runs_start_from_the_day_given() -> None:
    runs = run_days.planned_runs("monthly", date(2026, 12, 22), date(2027, 1, 31))
    assert [r.period for r in runs] == ["2026-11", "2026-12"]
    assert runs[0].days == days("2026-12-22", "2026-12-23", "2026-12-24", "2026-12-25", "2026-12-28")
    assert runs[1].days[-1] == date(2027, 1, 29)  # 2/1 is past the end


def test_the_rules_come_from_the_calendar_file() -> None:
    assert run_days.pickup_business_days() == 5 and run_days.horizon_days() == 400
    assert run_days.run_time("monthly") == time(18, 0) and run_days.run_time("annual-evaluation") == time(19, 0)
    assert run_days.run_time("freshness") == time(9, 0)
    assert run_days.override_units("statistics") == ["national"] and run_days.override_units("kpi") == []
    assert run_days.jst_text(datetime(2026, 12, 14, 9, 0, tzinfo=JST)) == "2026-12-14 (月) 09:00 JST"


# --- the Prefect schedules made from them ----------------------------------------------------------


def test_the_rrule_lists_every_run_in_japan_time_and_prefect_reads_it_back() -> None:
    from prefect.client.schemas.schedules import RRuleSchedule

    from branchkpi.flows.calendar_schedules import calendar_rrule, moments_of

    start = date(2026, 12, 5)
    text = calendar_rrule("monthly", start)
    planned = [m for r in run_days.planned_runs("monthly", start) for m in r.moments]
    assert text.startswith("RDATE:20261214T180000,20261215T180000,") and "EXDATE" not in text
    assert moments_of(text, "RDATE") == set(planned)
    schedule = RRuleSchedule(rrule=text, timezone="Asia/Tokyo")  # Prefect's own validation (≤ 6,500 chars)
    fired = list(schedule.to_rrule())
    assert [m.astimezone(JST) for m in fired] == sorted(planned)


def test_retired_runs_are_an_exdate_prefect_leaves_out() -> None:
    from prefect.client.schemas.schedules import RRuleSchedule

    from branchkpi.flows.calendar_schedules import moments_of, rrule_text

    moments = [datetime(2026, 12, d, 18, 0, tzinfo=JST) for d in (14, 15, 16)]
    text = rrule_text(moments, {moments[1], datetime(2027, 1, 1, tzinfo=JST)})  # one not planned: ignored
    assert text == "RDATE:20261214T180000,20261215T180000,20261216T180000\nEXDATE:20261215T180000"
    assert moments_of(text, "EXDATE") == {moments[1]}
    fired = [m.astimezone(JST) for m in RRuleSchedule(rrule=text, timezone="Asia/Tokyo").to_rrule()]
    assert fired == [moments[0], moments[2]]
    # as Prefect's server gives the string back (a DTSTART line first)
    assert moments_of("DTSTART:20200101T000000\n" + text, "RDATE") == set(moments)


def test_a_schedule_never_passes_prefects_limit_on_an_rrule() -> None:
    from branchkpi.flows.calendar_schedules import MAX_RRULE_CHARS, moments_of, rrule_text

    many = [datetime(2026, 12, 14, 9, 0, tzinfo=JST) + timedelta(days=i) for i in range(600)]
    text = rrule_text(many)
    assert len(text) <= MAX_RRULE_CHARS
    kept = sorted(moments_of(text, "RDATE"))
    assert kept == many[: len(kept)] and len(kept) > 350  # the earliest are kept


def test_the_deploy_step_gives_each_calendar_deployment_its_rrule(monkeypatch: pytest.MonkeyPatch) -> None:
    from branchkpi.flows.calendar_schedules import FLOWS, deploy_step, parameters, step_key

    monkeypatch.delenv("PREFECT_API_URL", raising=False)  # no server: nothing retired to read back
    out = deploy_step()
    assert set(out) == {"monthly", "quarterly_actuals", "annual_evaluation", "freshness"}
    assert all(v.startswith("RDATE:") for v in out.values())
    assert step_key("quarterly-actuals") == "quarterly_actuals" and set(FLOWS) == {
        "monthly",
        "quarterly-actuals",
        "annual-evaluation",
        "freshness",
    }
    assert parameters("monthly") == {"until_complete": True} and parameters("freshness") == {}


def test_the_schedules_command_names_the_period_of_each_run() -> None:
    from branchkpi.flows.schedules import NextRun, run_period

    due = datetime(2026, 12, 14, 18, 0, tzinfo=JST)
    assert run_period("monthly-branch-stats/monthly", due) == ("FY2026-11", "due")
    assert run_period("monthly-branch-stats/monthly", due + timedelta(days=1)) == ("FY2026-11", "pickup")
    assert run_period("quarterly-kpi-actuals/quarterly-actuals", datetime(2027, 1, 25, 18, tzinfo=JST)) == (
        "FY2026-Q3",
        "due",
    )
    assert run_period("evaluate-targets/annual-evaluation", datetime(2027, 4, 22, 19, tzinfo=JST)) == (
        "FY2026",
        "pickup",
    )
    assert run_period("freshness/freshness", due) == ("", "")
    assert NextRun(due, "FY2026-11", "due").describe("ja") == "令和8年11月分 提出期限"
    assert NextRun(due, "FY2026-Q3", "pickup").describe("en") == "for FY2026-Q3 (pickup)"
    assert NextRun(due).describe("ja") == ""


def test_schedules_plan_prints_the_run_days_without_a_server() -> None:
    from typer.testing import CliRunner

    from branchkpi.cli import app

    result = CliRunner().invoke(app, ["schedules", "plan", "--from", "2026-12-02", "--days", "20"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "令和8年11月  (期限 2026-12-14, 2026-12-21)"
    assert lines[1] == "  2026-12-14 (月) 18:00 JST  提出期限" and lines[2] == "  2026-12-15 (火) 18:00 JST  追加取込"
    assert "  2026-12-21 (月) 18:00 JST  提出期限" in lines  # 全国's due day
    assert lines[-1] == "  2026-12-22 (火) 18:00 JST  追加取込" and len(lines) == 1 + 7  # to the 20th day
    result = CliRunner().invoke(
        app, ["schedules", "plan", "--deployment", "annual-evaluation", "--from", "2026-04-01", "--lang", "en"]
    )
    assert result.exit_code == 0 and result.output.splitlines()[0] == "FY2025  (due 2026-04-21)"
    result = CliRunner().invoke(app, ["schedules", "plan", "--deployment", "backfill"])
    assert result.exit_code == 1 and "one of monthly" in result.output
