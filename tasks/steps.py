"""The pipeline's steps as Prefect tasks: one decorator and one call each, so a flow reads as the list
of its steps and each step carries the retry policy it needs. Data work is batched: one call parses
every file of the batch, one runs the gate, one loads, one computes: never a task per file or row.

Results hold DataFrames and GX objects, so none is persisted (persist_result=False). Steps that touch
the warehouse retry on transient database errors (a locked SQLite, a dropped PostgreSQL connection;
BRANCHKPI_DB_RETRY_DELAYS) and on nothing else: a bad value must fail at once, not three times."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar
from uuid import UUID

import polars as pl
from prefect import Task, task
from prefect.client.schemas.objects import TaskRun
from prefect.states import State

from branchkpi.config import Settings, db_retry_delays
from branchkpi.domain.findings import Finding
from branchkpi.tasks import compute, evaluate, failures, freshness, landing
from branchkpi.tasks.memory import release_freed_memory
from branchkpi.tasks.outcome import BatchOutcome, FileReport
from branchkpi.tasks.parse.batch import ParsedKpiBatch, parse_kpi_files, parse_statistics
from branchkpi.tasks.parse.observations import Headers, ParsedFile
from branchkpi.tasks.report import gather
from branchkpi.tasks.validate import gx, kpi, statistics, totals
from branchkpi.warehouse import batches, kpi_loads, loads
from branchkpi.warehouse.engine import connect

if TYPE_CHECKING:  # the report's writers are imported when a report is written (openpyxl, jinja2: 0.5 s)
    from branchkpi.tasks.report.html import WrittenReport

RETRY_DELAYS: list[float] = db_retry_delays()  # part of each warehouse task's definition
failures.quiet_tracebacks()

P = ParamSpec("P")
R = TypeVar("R")


def is_transient_db_error(_task: Any, _task_run: TaskRun, state: State) -> bool:
    """Retry only what a retry can cure: a locked or unreachable warehouse, not a full disk or a bad value."""
    try:
        state.result()
    except Exception as exc:
        return failures.is_transient(exc)
    return False


def warehouse_task(name: str) -> Callable[[Callable[P, R]], Task[P, R]]:
    """A task that writes or reads the warehouse: retried on transient database errors only, and its
    database and disk errors told in one clear line (failures.explained) instead of a driver's text."""

    def decorate(fn: Callable[P, R]) -> Task[P, R]:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def explained(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                url = signature.bind_partial(*args, **kwargs).arguments.get("warehouse_url")
                clear = failures.explained(exc, url if isinstance(url, str) else None)
                if clear is exc:
                    raise
                raise clear from exc

        return task(
            name=name,
            retries=len(RETRY_DELAYS),
            retry_delay_seconds=RETRY_DELAYS or 0,
            retry_condition_fn=is_transient_db_error,
            persist_result=False,
        )(explained)

    return decorate


def _flow_run_has_ended(flow_run_id: str) -> bool:
    """Whether Prefect knows the flow run as finished (crashed, failed, cancelled, completed)."""
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(UUID(flow_run_id)).state
    except Exception:  # unknown to this API (another server, the ephemeral API of a dead process)
        return False
    return state is not None and state.is_final()


# --- every batch ---------------------------------------------------------------------------------


@warehouse_task(name="open-batch")
def open_batch(warehouse_url: str, period: str | None, flow_run_id: str | None) -> str:
    """Open the run's batch, first closing batches that runs which died left open."""
    engine = connect(warehouse_url)
    batches.abandon_dead_batches(engine, _flow_run_has_ended)
    return batches.start_batch(engine, period, flow_run_id)


@warehouse_task(name="land-files")
def land(paths: list[Path], batch_id: str, warehouse_url: str, cfg: Settings) -> list[landing.LandedFile]:
    return landing.land_files(paths, batch_id, connect(warehouse_url), cfg)


@warehouse_task(name="quarantine-rows")
def quarantine(
    warehouse_url: str, batch_id: str, findings: list[Finding], refused_cells: list[dict[str, Any]] | None = None
) -> int:
    """The batch's findings, and the coverage cells it would have filled when it is refused."""
    return loads.quarantine(connect(warehouse_url), batch_id, findings, refused_cells)


@warehouse_task(name="close-batch")
def close_batch(warehouse_url: str, outcome: BatchOutcome) -> None:
    batches.finish_batch(connect(warehouse_url), outcome.batch_id, outcome.batch_row())


# --- monthly statistics ----------------------------------------------------------------------------


@task(name="parse-files", persist_result=False)
def parse_files(
    files: list[landing.LandedFile], fiscal_years: list[int] | None = None, region_codes: list[str] | None = None
) -> tuple[ParsedFile, list[FileReport]]:
    """Parse every landed statistics file of the batch; a file that cannot be read becomes a finding."""
    return parse_statistics(files, fiscal_years, region_codes)


@warehouse_task(name="quality-gate")
def quality_gate(
    observations: pl.DataFrame,
    warehouse_url: str,
    cfg: Settings,
    run_name: str,
    as_of_fiscal_year: int | None,
    headers: Headers | None = None,
    reported_totals: pl.DataFrame | None = None,
) -> gx.GateResult:
    """The batch's validation (and, when its files print 合計 / 年度平均, the reconciliation of those
    with the months); its findings name the headers as each file wrote them (`headers`)."""
    engine = connect(warehouse_url)
    frame = statistics.validation_frame(observations, engine, as_of_fiscal_year)
    gate = statistics.run_gate(frame, cfg.data_docs_dir, cfg.gx_dir, run_name, cfg.yoy_warn_pct, cfg.report_lang)
    del frame
    if reported_totals is not None and reported_totals.height:
        printed = totals.validation_frame(reported_totals, observations, engine)
        gate = gx.merge(gate, totals.run_gate(printed, cfg.data_docs_dir, cfg.gx_dir, run_name, cfg.report_lang))
    gate.findings = statistics.as_headed(gate.findings, headers or {})
    release_freed_memory(observations.height)
    return gate


@warehouse_task(name="load-batch")
def load_batch(warehouse_url: str, parsed: ParsedFile, batch_id: str, file_ids: list[int]) -> loads.LoadResult:
    return loads.load_statistics(
        connect(warehouse_url), parsed.observations, parsed.reported_totals, batch_id, file_ids
    )


@warehouse_task(name="compute-kpis")
def compute_kpis(warehouse_url: str, fiscal_years: list[int]) -> dict[str, int]:
    return compute.refresh_kpis(connect(warehouse_url), fiscal_years)


# --- KPI targets and actuals -----------------------------------------------------------------------


@task(name="parse-kpi-files", persist_result=False)
def parse_kpi(files: list[landing.LandedFile]) -> tuple[ParsedKpiBatch, list[FileReport]]:
    """Parse every KPI file of the batch; an unreadable file becomes a critical finding."""
    parsed = parse_kpi_files(files)
    release_freed_memory(parsed[0].rows)
    return parsed


@warehouse_task(name="kpi-names-and-history")
def kpi_gate_inputs(warehouse_url: str, batch: ParsedKpiBatch) -> tuple[ParsedKpiBatch, pl.DataFrame]:
    """The batch with KPIs named by a plan's wording resolved, and the loaded actuals it is compared with."""
    return kpi.gate_inputs(batch, connect(warehouse_url))


@task(name="kpi-quality-gate", persist_result=False)
def kpi_quality_gate(
    batch: ParsedKpiBatch, cfg: Settings, run_name: str, loaded_actuals: pl.DataFrame | None = None
) -> gx.GateResult:
    gate = kpi.run_kpi_gate(
        batch.targets,
        batch.actuals,
        cfg.data_docs_dir,
        cfg.gx_dir,
        run_name,
        cfg.report_lang,
        structure=batch.structure,
        uptake=batch.uptake,
        loaded_actuals=loaded_actuals,
        headers=batch.headers,
    )
    release_freed_memory(batch.rows)
    return gate


@warehouse_task(name="load-kpi-batch")
def load_kpi_batch(
    warehouse_url: str, batch: ParsedKpiBatch, batch_id: str, file_ids: list[int]
) -> kpi_loads.KpiLoadResult:
    return kpi_loads.load_kpi_batch(
        connect(warehouse_url),
        batch.targets,
        batch.actuals,
        batch.unit_list(),
        batch_id,
        file_ids,
        structure=batch.structure,
        uptake=batch.uptake,
    )


@warehouse_task(name="evaluate-targets")
def evaluate_targets(
    warehouse_url: str,
    fiscal_years: list[int],
    quarter: int | None,
    unit_keys: list[str] | None,
    flow_run_id: str | None,
    force: bool = False,
) -> list[evaluate.Evaluation]:
    return evaluate.run_evaluations(connect(warehouse_url), fiscal_years, quarter, unit_keys, flow_run_id, force)


@warehouse_task(name="branch-reports")
def branch_reports(
    warehouse_url: str, branches: list[str], fiscal_year: int, quarter: int | None, cfg: Settings
) -> list[tuple[WrittenReport, gather.BranchReportData]]:
    """Write each branch's KPI report under var/reports, as HTML and as an Excel workbook (one task for all).
    Each comes back with what it was made from: the run page shows the same content (flows/report_page)."""
    from branchkpi.tasks.report import html as report_html
    from branchkpi.tasks.report import xlsx as report_xlsx

    out_dir = cfg.reports_dir / (f"FY{fiscal_year}" + (f"-Q{quarter}" if quarter else ""))
    written = []
    for branch in branches:
        data = gather.gather(connect(warehouse_url), branch, fiscal_year, quarter)
        report = report_html.write_report(data, out_dir, cfg.report_lang)
        report.xlsx = report_xlsx.write_workbook(data, out_dir, cfg.report_lang)
        written.append((report, data))
    return written


# --- backfills -------------------------------------------------------------------------------------


@warehouse_task(name="read-backfill-log")
def backfilled_years(warehouse_url: str, years: list[int], scope: str, digest: str) -> set[int]:
    return batches.backfilled_years(connect(warehouse_url), years, scope, digest)


@warehouse_task(name="book-backfilled-year")
def book_year(
    warehouse_url: str, fiscal_year: int, scope: str, digest: str, batch_id: str, status: str, rows_loaded: int
) -> None:
    batches.record_backfilled_year(connect(warehouse_url), fiscal_year, scope, digest, batch_id, status, rows_loaded)


@warehouse_task(name="read-year-run")
def outcome_of_run(warehouse_url: str, flow_run_id: str) -> BatchOutcome | None:
    """What a fanned-out year's run did, from its batch row (a worker returns only the run's state)."""
    row = batches.batch_of_run(connect(warehouse_url), flow_run_id)
    return BatchOutcome.from_batch_row(row) if row else None


# --- freshness -------------------------------------------------------------------------------------


@warehouse_task(name="check-freshness")
def check_freshness(warehouse_url: str, kind: str, as_of: date, flow_run_id: str | None) -> freshness.Freshness:
    """The coverage grid of the watched fiscal years against the calendar and what was announced."""
    return freshness.check(connect(warehouse_url), kind, as_of, flow_run_id)


@warehouse_task(name="past-due-data")
def past_due(warehouse_url: str, kind: str, as_of: date) -> list[dict[str, Any]]:
    """The cells past due with nothing loaded (a run that found no file asks)."""
    years = freshness.watched_fiscal_years(as_of)
    return freshness.past_due(freshness.grid_cells(connect(warehouse_url), kind, years, as_of))


@warehouse_task(name="period-coverage")
def period_coverage(warehouse_url: str, kind: str, fiscal_year: int, periods: list[str], as_of: date) -> list[dict]:
    """The coverage cells of some periods of a fiscal year (2026-11; Q4 and FY): is a period complete?"""
    from branchkpi.tasks import coverage

    return [c for c in coverage.grid(connect(warehouse_url), kind, fiscal_year, as_of) if c["period"] in periods]
