"""Flow `backfill`: load a range of prior fiscal years (optionally some branches) from a set of files:
the years still to load as one monthly-branch-stats batch (one gate, one load, one KPI refresh), and
year by year only if that batch fails the gate, so the good years load and the bad one is named.

Resumable and idempotent: a fiscal year already loaded from the same files (same checksums) for the
same branches is skipped unless `force`; a re-run after an interruption continues where it stopped.
Progress shows as a Prefect progress artifact and, in the CLI, as a progress bar.

With `fan_out`, every year becomes a run of the `backfill-year` deployment instead of a subflow in
this process, so that all the workers of the pool share the backfill; this flow waits for them and
keeps the books. Years may then load in any order: the KPI refresh of a year also recomputes the
next one under the warehouse write lock, so the result is the same as loading them in order."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, update_progress_artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State

from branchkpi import progress
from branchkpi.config import settings
from branchkpi.flows.monthly_branch_stats import FLOW_NAME as MONTHLY_FLOW
from branchkpi.flows.monthly_branch_stats import monthly_branch_stats, run_name
from branchkpi.tasks import backfills, steps
from branchkpi.tasks.outcome import BatchOutcome
from branchkpi.tasks.summary import cell
from branchkpi.warehouse import batches
from branchkpi.warehouse.engine import connect, redacted

FLOW_NAME = "backfill"
YEAR_DEPLOYMENT = f"{MONTHLY_FLOW}/backfill-year"  # prefect.yaml
POLL_SECONDS = 2.0
NO_WORKER_WARNING_SECONDS = 60.0


@flow(name=FLOW_NAME, flow_run_name="backfill-FY{from_fy}-FY{to_fy}", persist_result=False)
def backfill(
    from_fy: int,
    to_fy: int,
    paths: list[str] | None = None,
    branches: list[str] | None = None,
    force: bool = False,
    warehouse_url: str | None = None,
    fan_out: bool = False,
) -> State:
    """Backfill fiscal years from_fy..to_fy.

    Args:
        from_fy: first fiscal year (e.g. 2017 = 平成29年度).
        to_fy: last fiscal year, inclusive.
        paths: files or folders holding those years' statistics. Empty: the landing folder.
        branches: only these branches (JIS code, 山口 or yamaguchi); the national total is always kept.
        force: reload years already loaded from the same files.
        warehouse_url: SQLAlchemy URL. Empty: BRANCHKPI_WAREHOUSE_URL or SQLite under ./var.
        fan_out: run each year as a run of the backfill-year deployment, so that every worker of
            the pool takes some (needs the deployments and at least one worker; the files must be
            where the workers can read them).
    """
    if to_fy < from_fy:
        raise ValueError(f"to_fy {to_fy} is before from_fy {from_fy}")
    cfg = settings()
    url = warehouse_url or cfg.warehouse_url
    run_id = flow_run.get_id()
    batch_id = steps.open_batch(url, f"FY{from_fy}-FY{to_fy}", str(run_id) if run_id else None)
    inputs = steps.landing.expand_paths([Path(p) for p in paths] if paths else [cfg.landing_dir])
    if not inputs:
        return Failed(message=f"nothing to backfill: no files given or waiting in {cfg.landing_dir}")
    landed = steps.land(inputs, batch_id, url, cfg)  # archived once; each year reads the archive
    archived = [str(f.archive_path) for f in landed]
    digest = backfills.files_digest([f.sha256 for f in landed])
    scope = backfills.scope_of(branches)
    regions = backfills.regions_of(branches)
    years = list(range(from_fy, to_fy + 1))
    done = set() if force else batches.backfilled_years(connect(url), years, scope, digest)
    description = f"FY{from_fy}–FY{to_fy}"
    tracker: UUID = create_progress_artifact(progress=0.0, key="backfill-progress", description=description)  # type: ignore[assignment]
    todo = [y for y in years if y not in done]
    finished: dict[int, dict[str, Any]] = {
        y: {"fiscal_year": y, "status": "skipped", "rows_loaded": 0, "message": "already loaded from the same files"}
        for y in done
    }  # fmt: skip

    def finish(fiscal_year: int, outcome: BatchOutcome | None, state: State | None) -> None:
        finished[fiscal_year] = _year_result(fiscal_year, outcome, state)
        if outcome is not None and not outcome.failed:
            batches.record_backfilled_year(connect(url), fiscal_year, scope, digest, outcome.batch_id,
                                           outcome.status, outcome.rows_loaded)  # fmt: skip
        update_progress_artifact(artifact_id=tracker, progress=100.0 * len(finished) / len(years))
        progress.step(f"FY{fiscal_year}", channel="backfill")

    for fiscal_year in sorted(done):
        progress.step(f"FY{fiscal_year}", channel="backfill")
    # a URL with a password never becomes a run parameter (the API stores those): runs resolve it
    # themselves, from BRANCHKPI_WAREHOUSE_URL or the Secret block, as this run did
    child_url = url if redacted(url) == url else None
    if fan_out:
        _fan_out(todo, archived, child_url, regions, url, finish)
    elif todo:
        _in_process(todo, archived, child_url, regions, finish)
    update_progress_artifact(artifact_id=tracker, progress=100.0)
    results = [finished[y] for y in years]
    failed = [r for r in results if r["status"] == "failed"]
    lines = ["# Backfill", "", "| fiscal year | status | rows loaded | note |", "|---|---|---|---|"]
    lines += [f"| FY{r['fiscal_year']} | {r['status']} | {r['rows_loaded']} | {cell(r['message'])} |" for r in results]
    message = (
        f"FY{from_fy}–FY{to_fy}: {sum(r['status'] not in ('skipped', 'failed') for r in results)} loaded, "
        f"{sum(r['status'] == 'skipped' for r in results)} skipped, {len(failed)} failed"
    )
    create_markdown_artifact(key="backfill-summary", markdown="\n".join(lines), description=message)
    get_run_logger().info(message)
    if failed:
        return Failed(message=message + f"; first failure FY{failed[0]['fiscal_year']}: {failed[0]['message']}",
                      data=results)  # fmt: skip
    return Completed(message=message, data=results)


def _year_result(fiscal_year: int, outcome: BatchOutcome | None, state: State | None) -> dict[str, Any]:
    if outcome is None:  # no batch: the run crashed first, or (fanned out) wrote to another warehouse
        if state is not None and state.is_completed():
            reason = ("the run finished but left no batch in this warehouse: do the workers use the same "
                      "warehouse (BRANCHKPI_WAREHOUSE_URL or BRANCHKPI_WAREHOUSE_SECRET)?")  # fmt: skip
        else:
            reason = f"{state.name}: {state.message}" if state else "no run"
        return {"fiscal_year": fiscal_year, "status": "failed", "rows_loaded": 0, "message": reason}
    return {"fiscal_year": fiscal_year, "status": outcome.status, "rows_loaded": outcome.rows_loaded,
            "message": outcome.message}  # fmt: skip


def _in_process(
    years: list[int],
    archived: list[str],
    child_url: str | None,
    regions: list[str] | None,
    finish: Callable[[int, BatchOutcome | None, State | None], None],
) -> None:
    """All the years as one monthly-branch-stats batch (one parse, one gate, one load, one KPI
    refresh: the cost of a subflow is paid once, not per year). If that batch fails the gate, the
    years are run one by one, so that the good years load and the report names the bad one."""

    def run(fiscal_years: list[int]) -> tuple[BatchOutcome | None, State]:
        state = monthly_branch_stats(
            period=f"{fiscal_years[-1] + 1}-03", paths=archived, warehouse_url=child_url,
            fiscal_years=fiscal_years, regions=regions, return_state=True,
        )  # fmt: skip
        outcome = state.result(raise_on_failure=False)
        return (outcome if isinstance(outcome, BatchOutcome) else None), state

    outcome, state = run(years)
    if len(years) > 1 and (outcome is None or outcome.failed):
        get_run_logger().warning(
            "FY%d–FY%d as one batch failed (%s); loading the years one by one", years[0], years[-1], state.message
        )
        for fiscal_year in years:
            year_outcome, year_state = run([fiscal_year])
            finish(fiscal_year, year_outcome, year_state)
        return
    for fiscal_year in years:
        finish(fiscal_year, outcome.for_fiscal_year(fiscal_year) if outcome else None, state)


def _fan_out(
    years: list[int],
    archived: list[str],
    child_url: str | None,
    regions: list[str] | None,
    url: str,
    finish: Callable[[int, BatchOutcome | None, State | None], None],
) -> None:
    """Submit one backfill-year run per fiscal year at once, then wait for the workers to finish them."""
    if not years:
        return
    logger = get_run_logger()
    parent = flow_run.get_id()
    pending: dict[UUID, int] = {}
    for fiscal_year in years:
        period = f"{fiscal_year + 1}-03"  # March closes the fiscal year
        parameters = {"period": period, "paths": archived, "warehouse_url": child_url,
                      "fiscal_years": [fiscal_year], "regions": regions}  # fmt: skip
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
                    row = batches.batch_of_run(connect(url), str(run_id))
                    finish(pending.pop(run_id), BatchOutcome.from_batch_row(row) if row else None, state)
            if time.monotonic() > warn_at and all(s is None or s.is_scheduled() for s in states.values()):
                logger.warning(
                    "no worker has taken a run for %.0f s: is a worker of pool branchkpi running?",
                    time.monotonic() - started,
                )
                warn_at += NO_WORKER_WARNING_SECONDS
