"""The pipeline's steps as Prefect tasks. Each wraps a plain function from this package; the flows in
flows/ only call these. Data work is batched: one task call parses every file of the batch, one runs
the gate, one loads, one computes: never a task per file or per row.

Results hold DataFrames and GX objects, so none is persisted (persist_result=False). Steps that touch
the warehouse retry on transient database errors (OperationalError: locked SQLite, dropped
PostgreSQL connection) and on nothing else: a bad value must fail at once, not three times."""

from __future__ import annotations

import ctypes
import functools
import gc
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import polars as pl
from prefect import Task, task
from prefect.client.schemas.objects import TaskRun
from prefect.states import State

from branchkpi.config import Settings, db_retry_delays
from branchkpi.domain.findings import Finding
from branchkpi.expectations import kpi as kpi_suites
from branchkpi.tasks import (
    compute,
    evaluate,
    failures,
    landing,
    parse,
    parse_kpi,
    report,
    report_html,
    validate,
    validate_kpi,
)
from branchkpi.tasks.labels import Labels
from branchkpi.tasks.outcome import BatchOutcome, FileReport
from branchkpi.warehouse import kpi_loads, loads
from branchkpi.warehouse.batches import abandon_dead_batches, finish_batch, start_batch
from branchkpi.warehouse.engine import connect
from branchkpi.warehouse.kpi_loads import KpiLoadResult

RETRY_DELAYS: list[float] = db_retry_delays()  # part of each warehouse task's definition
failures.quiet_tracebacks()


@dataclass
class ParsedKpiBatch:
    """All KPI rows of a batch, and the municipalities its files name."""

    targets: pl.DataFrame = field(default_factory=parse_kpi.empty_targets)
    actuals: pl.DataFrame = field(default_factory=parse_kpi.empty_actuals)
    units: dict[str, dict[str, Any]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def add(self, parsed: parse_kpi.ParsedKpiFile) -> None:
        self.targets = pl.concat([self.targets, parsed.targets])
        self.actuals = pl.concat([self.actuals, parsed.actuals])
        self.findings += parsed.findings
        for unit in parsed.municipalities:
            known = self.units.setdefault(unit["key"], dict(unit))
            if unit.get("target_setting"):
                known.update(target_setting=unit["target_setting"], note_ja=unit["note_ja"])

    def unit_list(self) -> list[dict[str, Any]]:
        return list(self.units.values())

    @property
    def rows(self) -> int:
        return self.targets.height + self.actuals.height


def release_freed_memory() -> None:
    """After a step that held a whole batch: collect its garbage and hand the freed heap pages back to
    the OS (glibc keeps them otherwise, and the next step's peak would sit on top of this one's).
    Measured on the municipal benchmark: about 60 MiB less peak RSS. A no-op where libc is not glibc."""
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _glibc() -> Any:
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _glibc()

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


def abandon_batches(warehouse_url: str) -> list[str]:
    """Close batches left running by runs that died (see batches.abandon_dead_batches)."""
    return abandon_dead_batches(connect(warehouse_url), _flow_run_has_ended)


def _flow_run_has_ended(flow_run_id: str) -> bool:
    """Whether Prefect knows the flow run as finished (crashed, failed, cancelled, completed)."""
    from uuid import UUID

    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(UUID(flow_run_id)).state
    except Exception:  # unknown to this API (another server, the ephemeral API of a dead process)
        return False
    return state is not None and state.is_final()


def run_failed(warehouse_url: str, outcome: BatchOutcome | None, exc: BaseException) -> State:
    """End a run that met an error outside the data (warehouse lost, disk full, a file changed while
    read): close its batch as failed when the warehouse still answers, and return the Failed state
    with one clear message. When it does not answer, the next run marks the batch abandoned."""
    from prefect import get_run_logger
    from prefect.states import Failed

    clear = failures.explained(exc, warehouse_url)
    message = f"{type(clear).__name__}: {clear}"
    logger = get_run_logger()
    if outcome is not None:
        outcome.status, outcome.message = "failed", message
        try:
            finish_batch(connect(warehouse_url), outcome.batch_id, outcome.batch_row())
        except Exception as close_error:
            logger.warning("could not close batch %s (%s); the next run marks it abandoned",
                           outcome.batch_id, failures.explained(close_error, warehouse_url))  # fmt: skip
    logger.error(message)
    return Failed(message=message, data=outcome)


@warehouse_task(name="open-batch")
def open_batch(warehouse_url: str, period: str | None, flow_run_id: str | None) -> str:
    """Open the run's batch, first closing batches that runs which died left open."""
    abandon_batches(warehouse_url)
    return start_batch(connect(warehouse_url), period, flow_run_id)


@warehouse_task(name="land-files")
def land(paths: list[Path], batch_id: str, warehouse_url: str, cfg: Settings) -> list[landing.LandedFile]:
    return landing.land_files(paths, batch_id, connect(warehouse_url), cfg)


@task(name="parse-files", persist_result=False)
def parse_files(files: list[landing.LandedFile]) -> tuple[parse.ParsedFile, list[FileReport]]:
    """Parse every landed file of the batch; a file that cannot be read becomes a critical finding."""
    parts: list[parse.ParsedFile] = []
    reports: list[FileReport] = []
    for f in files:
        report = FileReport(f.file_name, f.sha256, f.size_bytes, previously_loaded=f.previously_loaded)
        try:
            parsed = parse.parse_file(f)
        except parse.FileParseError as exc:
            report.error = str(exc)
            parsed = parse.ParsedFile(
                parse.empty_observations(),
                parse.empty_totals(),
                [Finding(f.file_name, "file_readable", str(exc), file_id=f.id)],
            )
        report.layout, report.encoding = parsed.layout, parsed.encoding
        report.rows = parsed.observations.height + parsed.reported_totals.height
        reports.append(report)
        parts.append(parsed)
    return parse.concat_parsed(parts), reports


@warehouse_task(name="quality-gate")
def quality_gate(
    observations: pl.DataFrame, warehouse_url: str, cfg: Settings, run_name: str, as_of_fiscal_year: int | None
) -> validate.GateResult:
    frame = validate.validation_frame(observations, connect(warehouse_url), as_of_fiscal_year)
    gate = validate.run_gate(frame, cfg.data_docs_dir, cfg.gx_dir, run_name, cfg.yoy_warn_pct)
    del frame
    release_freed_memory()
    return gate


@warehouse_task(name="quarantine-rows")
def quarantine(warehouse_url: str, batch_id: str, findings: list[Finding]) -> int:
    return loads.quarantine(connect(warehouse_url), batch_id, findings)


@warehouse_task(name="load-batch")
def load_batch(warehouse_url: str, parsed: parse.ParsedFile, batch_id: str, file_ids: list[int]) -> loads.LoadResult:
    return loads.load_statistics(
        connect(warehouse_url), parsed.observations, parsed.reported_totals, batch_id, file_ids
    )


@warehouse_task(name="compute-kpis")
def compute_kpis(warehouse_url: str, fiscal_years: list[int]) -> dict[str, int]:
    return compute.refresh_kpis(connect(warehouse_url), fiscal_years)


@warehouse_task(name="close-batch")
def close_batch(warehouse_url: str, outcome: BatchOutcome) -> None:
    finish_batch(connect(warehouse_url), outcome.batch_id, outcome.batch_row())


@task(name="parse-kpi-files", persist_result=False)
def parse_kpi_files(files: list[landing.LandedFile]) -> tuple[ParsedKpiBatch, list[FileReport]]:
    """Parse every KPI file of the batch; an unreadable file becomes a critical finding."""
    batch = ParsedKpiBatch()
    reports: list[FileReport] = []
    for f in files:
        report = FileReport(f.file_name, f.sha256, f.size_bytes, previously_loaded=f.previously_loaded)
        try:
            parsed = parse_kpi.parse_kpi_file(f)
            report.layout, report.rows = parsed.kind, parsed.targets.height + parsed.actuals.height
            batch.add(parsed)
        except parse.FileParseError as exc:
            report.error = str(exc)
            batch.findings.append(Finding(f.file_name, "file_readable", str(exc), file_id=f.id))
        reports.append(report)
    release_freed_memory()
    return batch, reports


@warehouse_task(name="kpi-quality-gate")
def kpi_quality_gate(batch: ParsedKpiBatch, cfg: Settings, run_name: str) -> validate.GateResult:
    gates = []
    if batch.targets.height:
        frame = validate_kpi.targets_frame(batch.targets)
        gates.append(validate.run_suite(frame, kpi_suites.TARGETS_SUITE, kpi_suites.target_rules(),
                                        cfg.data_docs_dir, cfg.gx_dir, run_name))  # fmt: skip
    if batch.actuals.height:
        frame = validate_kpi.actuals_frame(batch.actuals)
        gates.append(validate.run_suite(frame, kpi_suites.ACTUALS_SUITE, kpi_suites.actual_rules(),
                                        cfg.data_docs_dir, cfg.gx_dir, run_name))  # fmt: skip
    release_freed_memory()
    return validate.merge(*gates)


@warehouse_task(name="load-kpi-batch")
def load_kpi_batch(warehouse_url: str, batch: ParsedKpiBatch, batch_id: str, file_ids: list[int]) -> KpiLoadResult:
    return kpi_loads.load_kpi_batch(
        connect(warehouse_url), batch.targets, batch.actuals, batch.unit_list(), batch_id, file_ids
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
) -> list[report_html.WrittenReport]:
    """Write each branch's KPI report under var/reports and attach it to the run as a link artifact
    (Prefect's UI shows it on the run's Artifacts tab); one task for all of them."""
    from prefect.artifacts import create_link_artifact

    out_dir = cfg.reports_dir / (f"FY{fiscal_year}" + (f"-Q{quarter}" if quarter else ""))
    labels = Labels(cfg.report_lang)
    written = []
    for branch in branches:
        data = report.gather(connect(warehouse_url), branch, fiscal_year, quarter)
        result = report_html.write_report(data, out_dir, cfg.report_lang)
        title = labels["quarterly_title" if quarter else "annual_title"]
        create_link_artifact(
            key=f"branch-report-{data.name_romaji}",
            link=result.html.as_uri(),
            link_text=f"{data.name_ja} {labels.period(fiscal_year, quarter)} {title}",
            description=f"{result.targets} targets: {result.missed} missed, {result.at_risk} at risk; "
            f"{len(result.charts)} charts. File: {result.html}",
        )
        written.append(result)
    return written
