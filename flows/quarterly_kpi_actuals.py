"""Flow `quarterly-kpi-actuals`: land KPI targets and actuals (事業計画 KPI, 実績; NHI municipal
collection-rate files too) → parse → quality gate → load, with the same quarantine and audit rules as
the monthly statistics. Orchestration only: the steps are tasks in tasks.steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.events import emit_event
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State

from branchkpi import alerts
from branchkpi.config import Settings, settings
from branchkpi.tasks import steps, summary
from branchkpi.tasks.outcome import BatchOutcome

FLOW_NAME = "quarterly-kpi-actuals"


def _run_name() -> str:
    label = flow_run.parameters.get("label")
    return f"kpi-actuals-{label}" if label else "kpi-actuals"


@flow(name=FLOW_NAME, flow_run_name=_run_name, persist_result=False)
def quarterly_kpi_actuals(
    paths: list[str] | None = None, label: str | None = None, warehouse_url: str | None = None, force: bool = False
) -> State:
    """Ingest KPI plan targets and actuals.

    Args:
        paths: files or folders (CSV/.xlsx). Empty: every file waiting in the landing folder.
        label: what the batch is, for the run name, e.g. FY2020-Q1.
        warehouse_url: SQLAlchemy URL. Empty: BRANCHKPI_WAREHOUSE_URL or SQLite under ./var.
        force: parse, check and load files even when every one of them was loaded before (same
            checksum); by default such a batch is recorded as unchanged without reading them again.
    """
    cfg = settings()
    url = warehouse_url or cfg.warehouse_url
    run_id = flow_run.get_id()
    try:
        batch_id = steps.open_batch(url, label, str(run_id) if run_id else None)
    except Exception as exc:  # the warehouse is unreachable: a clear Failed state, no batch to close
        return steps.run_failed(url, None, exc)
    outcome = BatchOutcome(batch_id=batch_id, period=label, status="no_input")
    try:
        return _ingest(cfg, url, label, outcome, paths, force, run_id)
    except Exception as exc:  # warehouse lost mid-way, disk full, a file changed while read
        return steps.run_failed(url, outcome, exc)


def _ingest(
    cfg: Settings, url: str, label: str | None, outcome: BatchOutcome, paths: list[str] | None, force: bool, run_id: Any
) -> State:
    batch_id = outcome.batch_id
    inputs = steps.landing.expand_paths([Path(p) for p in paths] if paths else [cfg.landing_dir])
    landed = steps.land(inputs, batch_id, url, cfg) if inputs else []
    if landed and not force and all(f.previously_loaded for f in landed):
        outcome.record_previously_loaded(landed)  # a re-run over loaded files: nothing to read
    elif landed:
        batch, outcome.files = steps.parse_kpi_files(landed)
        landed = [f.without_content() for f in landed]  # parsed: the bytes are in the archive
        outcome.rows_landed = batch.rows
        gate = steps.kpi_quality_gate(batch, cfg, _run_name())
        outcome.record_gate(batch.findings, gate)
        steps.quarantine(url, batch_id, outcome.findings)
        if not outcome.failed:
            outcome.record_kpi_load(steps.load_kpi_batch(url, batch, batch_id, [f.id for f in landed]))
    else:
        outcome.record_no_input(None, 0, cfg.landing_dir)
    steps.close_batch(url, outcome)
    create_markdown_artifact(
        key="kpi-actuals-summary",
        markdown=summary.markdown(outcome, title="KPI targets and actuals"),
        description=summary.description(outcome.message),
    )
    get_run_logger().info(outcome.message)
    if outcome.failed:
        if landed:
            units = sorted(
                set(batch.targets["reporting_unit_raw"].to_list() + batch.actuals["reporting_unit_raw"].to_list())
            )
            emit_event(**alerts.quality_failed_event(
                batch_id, label, units, [f.file_name for f in landed], outcome.message, run_id
            ))  # fmt: skip
        return Failed(message=outcome.message, data=outcome)
    return Completed(message=outcome.message, data=outcome, name="Warned" if outcome.status == "warned" else None)
