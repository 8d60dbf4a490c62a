"""Flow `quarterly-kpi-actuals`: land KPI targets and actuals (事業計画 KPI, 実績; NHI municipal
collection-rate files too) → parse → quality gate → load, inside one batch (flows.lifecycle), with the
same quarantine and audit rules as the monthly statistics. The steps are tasks in tasks.steps."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from prefect import flow
from prefect.runtime import flow_run
from prefect.states import State

from branchkpi.config import Settings, settings
from branchkpi.domain import fiscal
from branchkpi.flows import lifecycle, pickup, sign_off
from branchkpi.flows.evaluate_targets import run_scope
from branchkpi.tasks import arrivals, coverage, steps
from branchkpi.tasks.landing import files_to_land, taken_from_landing
from branchkpi.tasks.outcome import BatchOutcome
from branchkpi.tasks.parse.batch import ParsedKpiBatch

FLOW_NAME = "quarterly-kpi-actuals"


def _run_name() -> str:
    """The name a run starts with; once its files are read it is named by what they hold (loaded_name)."""
    label = flow_run.parameters.get("label")
    return f"kpi-{label}" if label else "kpi-actuals"


def loaded_period(batch: ParsedKpiBatch) -> str | None:
    """The period a batch of KPI files holds, as a label: FY2020-Q1 (one year's actuals of one quarter,
    with or without that year's targets), FY2020 (a year), FY2019–FY2020 (several); None for nothing."""
    frames = [batch.targets, batch.actuals, batch.structure, batch.uptake]
    years = sorted({y for f in frames for y in f["fiscal_year"].drop_nulls().unique().to_list()})
    if not years:
        return None
    if len(years) > 1:
        return f"FY{years[0]}–FY{years[-1]}"
    quarters = {_quarter(p) for p in batch.actuals["period"].drop_nulls().unique().to_list()}
    if len(quarters) == 1 and None not in quarters:
        return f"FY{years[0]}-Q{quarters.pop()}"
    return f"FY{years[0]}"


def _quarter(period: str) -> int | None:
    """Q1 → 1; 2020-09 → 2 (July–September); FY → None."""
    if period.startswith("Q") and period[1:].isdigit():
        return int(period[1:])
    if len(period) == 7 and period[4] == "-" and period[5:].isdigit():
        return (fiscal.fiscal_month_index(int(period[5:])) - 1) // 3 + 1
    return None


def loaded_name(batch: ParsedKpiBatch) -> str | None:
    """kpi-FY2020-Q1-yamaguchi: the run named by the period and the units its files load (up to three
    named, then -N-units, as evaluate's runs)."""
    period = loaded_period(batch)
    if period is None:
        return None
    frames = [batch.targets, batch.actuals, batch.structure, batch.uptake]
    units = sorted({u for f in frames for u in f["reporting_unit"].drop_nulls().unique().to_list()})
    return f"kpi-{period.replace('–', '-')}{run_scope(units)}".replace(":", "-")


@flow(name=FLOW_NAME, flow_run_name=_run_name, persist_result=False)
def quarterly_kpi_actuals(
    paths: list[str] | None = None,
    label: str | None = None,
    warehouse_url: str | None = None,
    force: bool = False,
    require_approval: bool | None = None,
    until_complete: bool = False,
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
        until_complete: a run of the reporting calendar's schedule (a quarter's due and pickup days;
            the fourth quarter's take the fiscal year's actuals too): its quarter is `label`
            (FY2026-Q1), else the calendar's for the day it was scheduled for; with no file waiting
            it opens no batch and says who is still missing; once the quarter is complete, its
            remaining pickup runs are retired.
    """
    cfg = settings()
    url = warehouse_url or cfg.warehouse_url
    # a run of the reporting calendar's schedule: its quarter from the day it was scheduled for
    scheduled = pickup.scheduled_period("quarterly-actuals", label) if until_complete and not paths else None
    if scheduled and not label:
        label = scheduled.period
        lifecycle.rename_run(f"kpi-{label}")
    if scheduled and not arrivals.waiting_files(cfg.landing_dir, "kpi"):
        return pickup.nothing_waiting(url, scheduled)
    approval = cfg.require_approval if require_approval is None else require_approval
    run = partial(_ingest, cfg=cfg, url=url, paths=paths, force=force, require_approval=approval)
    state = lifecycle.batch_run(
        url, label, run, summary_key="kpi-actuals-summary", summary_title="KPI targets and actuals"
    )
    if scheduled and not state.is_failed():
        pickup.retire_if_complete(url, scheduled)
    return state


def _ingest(
    outcome: BatchOutcome, cfg: Settings, url: str, paths: list[str] | None, force: bool, require_approval: bool = False
) -> None:
    if paths and all(taken_from_landing(Path(p), cfg.landing_dir) for p in paths):
        outcome.record_taken(paths)  # every one of them was landed by another run meanwhile
        return
    # given files (the landing sensor's send, a command's), else the KPI files waiting in the landing folder
    files = files_to_land(paths, cfg.landing_dir) if paths else arrivals.waiting_files(cfg.landing_dir, "kpi")
    landed = steps.land(files, outcome.batch_id, url, cfg)
    if not landed:
        outcome.record_no_input(None, 0, cfg.landing_dir)
    elif not force and all(f.previously_loaded for f in landed):
        outcome.record_previously_loaded(landed)  # a re-run over loaded files: nothing to read
    else:
        batch, outcome.files = steps.parse_kpi(landed)
        landed = [f.without_content() for f in landed]  # parsed: the bytes are in the archive
        outcome.rows_landed, outcome.units = batch.rows, batch.raw_units
        name = loaded_name(batch) or _run_name()
        if name != _run_name():
            lifecycle.rename_run(name)
        outcome.period = outcome.period or loaded_period(batch)
        batch, loaded_actuals = steps.kpi_gate_inputs(url, batch)
        gate = steps.kpi_quality_gate(batch, cfg, name, loaded_actuals)
        outcome.record_gate(batch.findings, gate)
        if require_approval and outcome.only_warned:
            sign_off.ask(outcome, cfg.approval_timeout)
        steps.quarantine(
            url, outcome.batch_id, outcome.findings, coverage.kpi_cells(batch.actuals) if outcome.failed else None
        )
        if not outcome.failed:
            outcome.record_kpi_load(steps.load_kpi_batch(url, batch, outcome.batch_id, [f.id for f in landed]))
