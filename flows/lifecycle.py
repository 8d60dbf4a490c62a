"""The batch lifecycle, one piece for every flow that opens a batch (monthly statistics, KPI files,
backfill, a backfill's fiscal-year runs): open the batch, run the flow's steps, always close the batch
with what really happened, publish its summary, map the outcome to Completed / Warned / Failed with
its message, and emit the failure event that automations turn into an alert.

An error outside the data (the warehouse lost, a disk full, a file changed while read) still closes
the batch as failed when the warehouse answers; when it does not, the next run marks it abandoned."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

from prefect import get_run_logger
from prefect.events import emit_event
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State

from branchkpi.config import settings
from branchkpi.flows import alerts, artifacts
from branchkpi.tasks import failures, steps
from branchkpi.tasks.outcome import BatchOutcome
from branchkpi.warehouse.engine import redacted

Steps = Callable[[BatchOutcome], None]


def flow_run_id() -> str | None:
    run_id = flow_run.get_id()
    return str(run_id) if run_id else None


def rename_run(name: str) -> None:
    """Rename the running flow run (a monthly run learns its month from its files)."""
    from prefect.client.orchestration import get_client

    run_id = flow_run_id()
    if run_id:
        with get_client(sync_client=True) as client:
            client.update_flow_run(UUID(run_id), name=name)


def batch_run(
    warehouse_url: str,
    period: str | None,
    run_steps: Steps,
    *,
    summary_key: str,
    summary_title: str,
    data: Callable[[BatchOutcome], Any] = lambda outcome: outcome,
    due_kind: str | None = None,
) -> State:
    """Open a batch, run the flow's steps on its outcome, close it; the run's final state.
    `data` is what the state carries as its result (the outcome, or a backfill's years); `due_kind`
    (stats, kpi) is the data the run is expected to find: finding no file while some is past due alerts.
    Whatever fails, someone hears of it: a failed gate, no input while data is due, and an error outside
    the data (the warehouse unreachable before the batch opens, a disk full) each emit their event."""
    logger = get_run_logger()
    try:
        batch_id = steps.open_batch(warehouse_url, period, flow_run_id())
    except Exception as exc:  # the warehouse is unreachable: a clear Failed state, no batch to close
        message = _clear(exc, warehouse_url)
        logger.error(message)
        _emit(alerts.run_failed_event(_flow_name(), message, flow_run_id()))
        return Failed(message=message, data=None)
    outcome = BatchOutcome(batch_id=batch_id, period=period, status="no_input")
    try:
        run_steps(outcome)
        steps.close_batch(warehouse_url, outcome)
    except Exception as exc:  # warehouse lost mid-way, disk full, a file changed while read
        outcome.record_error(_clear(exc, warehouse_url))
        try:
            steps.close_batch.fn(warehouse_url, outcome)  # once, without retries: it has failed already
        except Exception as close_error:
            logger.warning(
                "could not close batch %s (%s); the next run marks it abandoned",
                batch_id,
                failures.explained(close_error, warehouse_url),
            )
        logger.error(outcome.message)
        _emit(alerts.run_failed_event(_flow_name(), outcome.message, flow_run_id()))
        return Failed(message=outcome.message, data=data(outcome))
    artifacts.publish_batch_summary(outcome, summary_key, summary_title, settings().report_lang)
    logger.info("%s (warehouse %s)", outcome.message, redacted(warehouse_url))
    if outcome.failed and outcome.failure == "quality gate":  # someone must look at the data
        _emit(
            alerts.quality_failed_event(
                batch_id,
                outcome.period,
                outcome.units,
                [f.file_name for f in outcome.files],
                outcome.findings,
                flow_run_id(),
                outcome.rows_quarantined,
            )
        )
    elif outcome.failure == "no input" and due_kind:
        _alert_if_data_is_due(warehouse_url, due_kind)
    return final_state(outcome, data(outcome))


def _alert_if_data_is_due(warehouse_url: str, kind: str) -> None:
    """No file came: silent unless the calendar says something is past due and not loaded."""
    state = steps.past_due(warehouse_url, kind, date.today(), return_state=True)
    if not state.is_completed():
        get_run_logger().warning("could not read what is past due: %s", state.message)
        return
    past = state.result()
    if past:
        get_run_logger().warning("no input while %d period(s) of %s data are past due", len(past), kind)
        _emit(alerts.no_input_event(_flow_name(), past, str(settings().landing_dir), flow_run_id()))


def _flow_name() -> str:
    return str(flow_run.get_flow_name() or "branchkpi")


def _emit(event: dict[str, Any]) -> None:
    emit_event(**event)


def final_state(outcome: BatchOutcome, data: Any) -> State:
    if outcome.failed:
        return Failed(message=outcome.message, data=data)
    if outcome.status == "warned":
        return Completed(message=outcome.message, data=data, name="Warned")
    return Completed(message=outcome.message, data=data)


def _clear(exc: BaseException, warehouse_url: str) -> str:
    clear = failures.explained(exc, warehouse_url)
    return f"{type(clear).__name__}: {clear}"
