"""Flow `quarterly-kpi-actuals`: land KPI targets and actuals (事業計画 KPI, 実績; NHI municipal
collection-rate files too) → parse → quality gate → load, inside one batch (flows.lifecycle), with the
same quarantine and audit rules as the monthly statistics. The steps are tasks in tasks.steps."""

from __future__ import annotations

from functools import partial

from prefect import flow
from prefect.runtime import flow_run
from prefect.states import State

from branchkpi.config import Settings, settings
from branchkpi.flows import lifecycle, sign_off
from branchkpi.tasks import coverage, steps
from branchkpi.tasks.landing import files_to_land
from branchkpi.tasks.outcome import BatchOutcome

FLOW_NAME = "quarterly-kpi-actuals"


def _run_name() -> str:
    label = flow_run.parameters.get("label")
    return f"kpi-actuals-{label}" if label else "kpi-actuals"


@flow(name=FLOW_NAME, flow_run_name=_run_name, persist_result=False)
def quarterly_kpi_actuals(
    paths: list[str] | None = None,
    label: str | None = None,
    warehouse_url: str | None = None,
    force: bool = False,
    require_approval: bool | None = None,
) -> State:
    """Ingest KPI plan targets and actuals.

    Args:
        paths: files or folders (CSV/.xlsx). Empty: every file waiting in the landing folder.
        label: what the batch is, for the run name, e.g. FY2020-Q1.
        warehouse_url: SQLAlchemy URL. Empty: BRANCHKPI_WAREHOUSE_URL or SQLite under ./var.
        force: parse, check and load files even when every one of them was loaded before (same
            checksum); by default such a batch is recorded as unchanged without reading them again.
        require_approval: a batch whose gate only warned waits for a reviewer's sign-off before it is
            published. Empty: BRANCHKPI_REQUIRE_APPROVAL (off).
    """
    cfg = settings()
    url = warehouse_url or cfg.warehouse_url
    approval = cfg.require_approval if require_approval is None else require_approval
    run = partial(_ingest, cfg=cfg, url=url, paths=paths, force=force, require_approval=approval)
    return lifecycle.batch_run(
        url, label, run, summary_key="kpi-actuals-summary", summary_title="KPI targets and actuals"
    )


def _ingest(
    outcome: BatchOutcome, cfg: Settings, url: str, paths: list[str] | None, force: bool, require_approval: bool = False
) -> None:
    landed = steps.land(files_to_land(paths, cfg.landing_dir), outcome.batch_id, url, cfg)
    if not landed:
        outcome.record_no_input(None, 0, cfg.landing_dir)
    elif not force and all(f.previously_loaded for f in landed):
        outcome.record_previously_loaded(landed)  # a re-run over loaded files: nothing to read
    else:
        batch, outcome.files = steps.parse_kpi(landed)
        landed = [f.without_content() for f in landed]  # parsed: the bytes are in the archive
        outcome.rows_landed, outcome.units = batch.rows, batch.raw_units
        batch, loaded_actuals = steps.kpi_gate_inputs(url, batch)
        gate = steps.kpi_quality_gate(batch, cfg, _run_name(), loaded_actuals)
        outcome.record_gate(batch.findings, gate)
        if require_approval and outcome.only_warned:
            sign_off.ask(outcome, cfg.approval_timeout)
        steps.quarantine(
            url, outcome.batch_id, outcome.findings, coverage.kpi_cells(batch.actuals) if outcome.failed else None
        )
        if not outcome.failed:
            outcome.record_kpi_load(steps.load_kpi_batch(url, batch, outcome.batch_id, [f.id for f in landed]))
