"""Flow `monthly-branch-stats`: land → parse → quality gate → load → KPIs, with a summary artifact.

Orchestration only: every step is a task from tasks.steps. The run is named after the period it
covers (monthly-stats-FY2020-04); without --period it is named after the latest month in the batch.
A batch that fails the gate ends the run Failed with the reason; warnings load and end Completed
under the state name "Warned"."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.events import emit_event
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State

from branchkpi import alerts, progress
from branchkpi.config import Settings, settings
from branchkpi.domain.fiscal import Period, parse_period
from branchkpi.domain.regions import BY_CODE, resolve_region
from branchkpi.tasks import report, steps, summary
from branchkpi.tasks.outcome import BatchOutcome, warnings_by_fiscal_year
from branchkpi.tasks.parse import select
from branchkpi.warehouse import reads
from branchkpi.warehouse.engine import connect, redacted

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
    """
    cfg = settings()
    url = warehouse_url or cfg.warehouse_url
    target: Period | None = parse_period(period) if period else None
    try:
        batch_id = steps.open_batch(url, target.label if target else None, _flow_run_id())
    except Exception as exc:  # the warehouse is unreachable: a clear Failed state, no batch to close
        return steps.run_failed(url, None, exc)
    outcome = BatchOutcome(batch_id=batch_id, period=target.label if target else None, status="no_input")
    try:
        return _ingest(cfg, url, target, outcome, paths, fiscal_years, regions, report_branches)
    except Exception as exc:  # warehouse lost mid-way, disk full, a file changed while read
        return steps.run_failed(url, outcome, exc)


def _ingest(
    cfg: Settings,
    url: str,
    target: Period | None,
    outcome: BatchOutcome,
    paths: list[str] | None,
    fiscal_years: list[int] | None,
    regions: list[str] | None,
    report_branches: list[str] | None,
) -> State:
    logger = get_run_logger()
    batch_id = outcome.batch_id
    progress.step(STEPS[0])
    inputs = steps.landing.expand_paths([Path(p) for p in paths] if paths else [cfg.landing_dir])
    landed = steps.land(inputs, batch_id, url, cfg) if inputs else []
    progress.step(STEPS[1])
    parsed, outcome.files = steps.parse_files(landed)
    if fiscal_years or regions:
        parsed = select(parsed, fiscal_years, [resolve_region(r) or r for r in regions or []])
    outcome.rows_landed = parsed.observations.height + parsed.reported_totals.height

    if landed:
        if target is None:
            target = _latest_period(parsed.observations)
            outcome.period = target.label if target else None
            if target:
                _rename_run(run_name(target.calendar_label))
        progress.step(STEPS[2])
        gate = steps.quality_gate(
            parsed.observations,
            url,
            cfg,
            run_name(target.calendar_label if target else None),
            target.fiscal_year if target else None,
        )
        outcome.record_gate(parsed.findings, gate)
        steps.quarantine(url, batch_id, outcome.findings)
        if not outcome.failed:
            progress.step(STEPS[3])
            result = steps.load_batch(url, parsed, batch_id, [f.id for f in landed])
            progress.step(STEPS[4])
            if result.fiscal_years:  # nothing changed, nothing to recompute
                outcome.kpi_rows = steps.compute_kpis(url, result.fiscal_years)
            outcome.record_load(result)
            outcome.record_years(result, warnings_by_fiscal_year(outcome.findings, parsed.observations))

    progress.step(STEPS[5])
    kpi_rows = _publish_kpis(outcome, url, target)
    requested = report_branches or list(cfg.report_branches)
    if requested and target is not None and outcome.status != "failed" and landed:
        in_batch = set(parsed.observations["region_code"].drop_nulls().unique().to_list())
        branches = report.branches_to_report(requested, None, in_batch)
        reports = steps.branch_reports(url, branches, target.fiscal_year, report.quarter_of(target.month), cfg,
                                       return_state=True)  # fmt: skip
        if not reports.is_completed():  # the data is loaded; a report that failed is only logged
            logger.warning("branch reports not written: %s", reports.message)
    if outcome.status == "no_input":
        outcome.record_no_input(target.label if target else None, kpi_rows, cfg.landing_dir)
    steps.close_batch(url, outcome)
    create_markdown_artifact(
        key="monthly-stats-summary",
        markdown=summary.markdown(outcome),
        description=summary.description(outcome.message),
    )
    logger.info("%s (warehouse %s)", outcome.message, redacted(url))
    if outcome.status == "failed":
        if landed:  # someone must look at the data: an event that automations turn into an alert
            units = sorted({BY_CODE[c].name_romaji for c in parsed.observations["region_code"].drop_nulls().unique()})
            emit_event(**alerts.quality_failed_event(
                batch_id, outcome.period, units, [f.file_name for f in landed], outcome.message, _flow_run_id()
            ))  # fmt: skip
        return Failed(message=outcome.message, data=outcome)
    if outcome.status == "warned":
        return Completed(message=outcome.message, data=outcome, name="Warned")
    return Completed(message=outcome.message, data=outcome)


def _latest_period(observations: Any) -> Period | None:
    keys = observations.select("fiscal_year", "month").drop_nulls()
    keys = keys.filter(keys["month"].is_between(1, 12))
    if keys.height == 0:
        return None
    return max(Period(int(fy), int(m)) for fy, m in keys.unique().iter_rows())


def _flow_run_id() -> str | None:
    run_id = flow_run.get_id()
    return str(run_id) if run_id else None


def _rename_run(name: str) -> None:
    from prefect.client.orchestration import get_client

    run_id = flow_run.get_id()
    if run_id:
        with get_client(sync_client=True) as client:
            client.update_flow_run(UUID(str(run_id)), name=name)


def _publish_kpis(outcome: BatchOutcome, url: str, target: Period | None) -> int:
    """The month's KPIs per region as a table artifact; returns the number of rows shown."""
    rows = []
    if target is not None and outcome.status != "failed":
        rows = reads.monthly_kpis(connect(url), fiscal_year=target.fiscal_year, month=target.month)
        if rows:
            create_table_artifact(
                key="monthly-kpis",
                table=summary.kpi_table(rows),
                description=f"KPIs of {target.label} ({target.calendar_label}) per region",
            )
    return len(rows)
