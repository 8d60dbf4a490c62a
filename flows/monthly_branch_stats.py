"""Flow `monthly-branch-stats` (月報): land the month's statistics → parse → quality gate → load →
KPIs → publish, inside one batch (flows.lifecycle). The steps are tasks in tasks.steps."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import polars as pl
from prefect import flow
from prefect.runtime import flow_run
from prefect.states import State

from branchkpi.config import Settings, settings
from branchkpi.domain.fiscal import Period, parse_period
from branchkpi.domain.regions import BY_CODE, resolve_region
from branchkpi.flows import artifacts, lifecycle, pickup, progress, reports, sign_off
from branchkpi.tasks import arrivals, coverage, steps
from branchkpi.tasks.landing import files_to_land, taken_from_landing
from branchkpi.tasks.outcome import BatchOutcome, warnings_by_fiscal_year
from branchkpi.tasks.report import gather as report
from branchkpi.warehouse import reads
from branchkpi.warehouse.engine import connect

FLOW_NAME = "monthly-branch-stats"
STEPS = ("landing files", "parsing", "quality gate", "loading", "computing KPIs", "publishing")


def run_name(period: str | None) -> str:
    if period:
        return f"monthly-stats-{parse_period(period).label}"
    return "monthly-stats-ingest"


def _generate_run_name() -> str:
    years = flow_run.parameters.get("fiscal_years") or []
    if len(years) > 1:  # a backfill's years as one batch
        return f"monthly-stats-FY{min(years)}-FY{max(years)}"
    return run_name(flow_run.parameters.get("period"))


@flow(name=FLOW_NAME, flow_run_name=_generate_run_name, persist_result=False, log_prints=False)
def monthly_branch_stats(
    period: str | None = None,
    paths: list[str] | None = None,
    warehouse_url: str | None = None,
    fiscal_years: list[int] | None = None,
    regions: list[str] | None = None,
    report_branches: list[str] | None = None,
    require_approval: bool | None = None,
    until_complete: bool = False,
    background_reports: bool = False,
) -> State:
    """Ingest the month's branch statistics (月報) and compute the KPIs.

    Args:
        period: calendar month the run is for, YYYY-MM (e.g. 2020-04 = FY2020 April; 2021-01 =
            FY2020 January). Empty: the latest month found in the files.
        paths: files or folders to ingest. Empty: every file waiting in the landing folder.
        warehouse_url: SQLAlchemy URL. Empty: BRANCHKPI_WAREHOUSE_URL or SQLite under ./var.
        fiscal_years: load only these fiscal years of the files (a backfill's slice). Empty: all.
        regions: load only these regions, as JIS codes (35) or names. Empty: all.
        report_branches: branches whose KPI report (statistics with charts, KPIs, rank) is written for
            the run's period and attached to it; "all" for every branch in the batch. Empty:
            BRANCHKPI_REPORT_BRANCHES (none by default).
        require_approval: a batch whose gate only warned waits for a reviewer's sign-off (approve /
            reject in the UI) before it is published. Empty: BRANCHKPI_REQUIRE_APPROVAL (off).
        until_complete: a run of the reporting calendar's schedule (a month's due and pickup days):
            its month is `period`, else the calendar's for the day it was scheduled for; with no file
            waiting it opens no batch and says who is still missing; once the month is complete, its
            remaining pickup runs are retired.
        background_reports: write those reports after the run, in a process of their own, when the
            Prefect server outlives this process (the CLI asks for it); they are attached to this run
            seconds later (flows/reports.py). Default: in the run.
    """
    cfg = settings()
    url = warehouse_url or cfg.warehouse_url
    target = parse_period(period) if period else None
    # a run of the reporting calendar's schedule: its month from the day it was scheduled for
    scheduled = pickup.scheduled_period("monthly", period) if until_complete and not (paths or fiscal_years) else None
    if scheduled and target is None:
        target = parse_period(scheduled.period)
        lifecycle.rename_run(run_name(scheduled.period))
    if scheduled and not arrivals.waiting_files(cfg.landing_dir, "statistics"):
        return pickup.nothing_waiting(url, scheduled)
    codes = [resolve_region(r) or r for r in regions or []]
    run = partial(
        _ingest,
        cfg=cfg,
        url=url,
        target=target,
        paths=paths,
        fiscal_years=fiscal_years,
        regions=codes,
        report_branches=report_branches or list(cfg.report_branches),
        require_approval=cfg.require_approval if require_approval is None else require_approval,
        background_reports=background_reports,
    )
    state = lifecycle.batch_run(
        url,
        target.label if target else None,
        run,
        summary_key="monthly-stats-summary",
        summary_title="Monthly branch statistics",
        due_kind=None if fiscal_years else "stats",
    )
    if scheduled and not state.is_failed():
        pickup.retire_if_complete(url, scheduled)
    return state


def _ingest(
    outcome: BatchOutcome,
    cfg: Settings,
    url: str,
    target: Period | None,
    paths: list[str] | None,
    fiscal_years: list[int] | None,
    regions: list[str],
    report_branches: list[str],
    require_approval: bool = False,
    background_reports: bool = False,
) -> None:
    progress.step(STEPS[0])
    # given files (the landing sensor's send, a command's), else the statistics waiting in the landing
    # folder (its KPI files are the quarterly-actuals flow's)
    files = files_to_land(paths, cfg.landing_dir) if paths else arrivals.waiting_files(cfg.landing_dir, "statistics")
    if paths and all(taken_from_landing(Path(p), cfg.landing_dir) for p in paths):
        outcome.record_taken(paths)  # every one of them was landed by another run meanwhile
        return
    landed = steps.land(files, outcome.batch_id, url, cfg)
    progress.step(STEPS[1])
    parsed, outcome.files = steps.parse_files(landed, fiscal_years, regions)
    outcome.rows_landed = parsed.observations.height + parsed.reported_totals.height
    in_batch = set(parsed.observations["region_code"].drop_nulls().unique().to_list())
    outcome.units = sorted(BY_CODE[c].name_romaji for c in in_batch)
    if landed:
        if target is None and (target := _latest_period(parsed.observations)) is not None:
            outcome.period = target.label
            lifecycle.rename_run(run_name(target.calendar_label))
        progress.step(STEPS[2])
        gate = steps.quality_gate(
            parsed.observations,
            url,
            cfg,
            run_name(target.calendar_label if target else None),
            target.fiscal_year if target else None,
            parsed.headers,
            parsed.reported_totals,
        )
        outcome.record_gate(parsed.findings, gate)
        if require_approval and outcome.only_warned:
            sign_off.ask(outcome, cfg.approval_timeout)
        refused = coverage.statistics_cells(parsed.observations) if outcome.failed else None
        steps.quarantine(url, outcome.batch_id, outcome.findings, refused)
        if not outcome.failed:
            progress.step(STEPS[3])
            result = steps.load_batch(url, parsed, outcome.batch_id, [f.id for f in landed])
            progress.step(STEPS[4])
            if result.fiscal_years:  # nothing changed, nothing to recompute
                outcome.kpi_rows = steps.compute_kpis(url, result.fiscal_years)
            outcome.record_load(result)
            outcome.record_years(result, warnings_by_fiscal_year(outcome.findings, parsed.observations))
    progress.step(STEPS[5])
    kpi_rows = []
    if target is not None and not outcome.failed:
        kpi_rows = reads.monthly_kpis(connect(url), fiscal_year=target.fiscal_year, month=target.month)
        artifacts.publish_month_kpis(kpi_rows, target.label, cfg.report_lang)
    if report_branches and target is not None and not outcome.failed and landed:
        branches = report.branches_to_report(report_branches, None, in_batch)
        # the reports of the quarter the month completes
        quarter = report.quarter_of(target.month)
        reports.attach_reports(url, branches, target.fiscal_year, quarter, cfg, background_reports)
    if outcome.status == "no_input":
        outcome.record_no_input(target.label if target else None, len(kpi_rows), cfg.landing_dir)


def _latest_period(observations: pl.DataFrame) -> Period | None:
    keys = observations.select("fiscal_year", "month").drop_nulls()
    keys = keys.filter(keys["month"].is_between(1, 12))
    if keys.height == 0:
        return None
    return max(Period(int(fy), int(m)) for fy, m in keys.unique().iter_rows())
