"""A backfill's years on the workers: one run of the `backfill-year` deployment (the monthly flow) per
fiscal year, all submitted at once so that every worker of the pool takes some; the backfill waits for
them and books what each year's run did, read back from its batch row."""

from __future__ import annotations

import time
from collections.abc import Callable
from uuid import UUID

from prefect import get_run_logger
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.runtime import flow_run

from branchkpi.flows.monthly_branch_stats import FLOW_NAME as MONTHLY_FLOW
from branchkpi.flows.monthly_branch_stats import run_name
from branchkpi.tasks import steps
from branchkpi.tasks.outcome import YearResult

YEAR_DEPLOYMENT = f"{MONTHLY_FLOW}/backfill-year"  # prefect.yaml
POLL_SECONDS = 2.0
NO_WORKER_WARNING_SECONDS = 60.0


def run_years(
    years: list[int],
    archived: list[str],
    child_url: str | None,
    regions: list[str] | None,
    url: str,
    book: Callable[[YearResult], None],
) -> None:
    """Submit one backfill-year run per fiscal year at once, then wait for the workers to finish them."""
    logger = get_run_logger()
    parent = flow_run.get_id()
    pending: dict[UUID, int] = {}
    for fiscal_year in years:
        period = f"{fiscal_year + 1}-03"  # March closes the fiscal year
        parameters = {
            "period": period,
            "paths": archived,
            "warehouse_url": child_url,
            "fiscal_years": [fiscal_year],
            "regions": regions,
        }
        run: FlowRun = run_deployment(  # type: ignore[assignment]
            YEAR_DEPLOYMENT,
            parameters=parameters,
            flow_run_name=run_name(period),
            timeout=0,  # submit only: the workers pick the runs up
            idempotency_key=f"{parent}:FY{fiscal_year}" if parent else None,  # a retried backfill submits no twins
            tags=["backfill"],
        )
        pending[run.id] = fiscal_year
    logger.info("submitted %d fiscal year(s) to %s; waiting for the workers", len(years), YEAR_DEPLOYMENT)
    started, warn_at = time.monotonic(), time.monotonic() + NO_WORKER_WARNING_SECONDS
    with get_client(sync_client=True) as client:
        while pending:
            time.sleep(POLL_SECONDS)
            states = {run_id: client.read_flow_run(run_id).state for run_id in pending}
            for run_id, state in states.items():
                if state is not None and state.is_final():
                    fiscal_year = pending.pop(run_id)
                    outcome = steps.outcome_of_run(url, str(run_id))
                    if outcome is not None:
                        book(YearResult.of_outcome(fiscal_year, outcome))
                    elif state.is_completed():  # no batch: the worker wrote to another warehouse
                        book(
                            YearResult(
                                fiscal_year,
                                "failed",
                                0,
                                (
                                    "the run finished but left no batch in this warehouse: do the workers use the same "
                                    "warehouse (BRANCHKPI_WAREHOUSE_URL or BRANCHKPI_WAREHOUSE_SECRET)?"
                                ),
                            )
                        )
                    else:  # the run crashed before it opened its batch
                        book(YearResult(fiscal_year, "failed", 0, f"{state.name}: {state.message}"))
            if time.monotonic() > warn_at and all(s is None or s.is_scheduled() for s in states.values()):
                logger.warning(
                    "no worker has taken a run for %.0f s: is a worker of pool branchkpi running?",
                    time.monotonic() - started,
                )
                warn_at += NO_WORKER_WARNING_SECONDS
