"""Flow `backfill`: load a range of prior fiscal years (optionally some branches) from a set of files,
one fiscal year at a time, each as its own monthly-branch-stats run (gate, load and KPIs per year).

Resumable and idempotent: a fiscal year already loaded from the same files (same checksums) for the
same branches is skipped unless `force`; a re-run after an interruption continues where it stopped.
Progress shows as a Prefect progress artifact and, in the CLI, as a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, update_progress_artifact
from prefect.states import Completed, Failed, State

from branchkpi import progress
from branchkpi.config import settings
from flows.monthly_branch_stats import monthly_branch_stats
from tasks import backfills, steps
from tasks.batches import BatchOutcome
from tasks.summary import cell

FLOW_NAME = "backfill"


@flow(name=FLOW_NAME, flow_run_name="backfill-FY{from_fy}-FY{to_fy}", persist_result=False)
def backfill(
    from_fy: int,
    to_fy: int,
    paths: list[str] | None = None,
    branches: list[str] | None = None,
    force: bool = False,
    warehouse_url: str | None = None,
) -> State:
    """Backfill fiscal years from_fy..to_fy.

    Args:
        from_fy: first fiscal year (e.g. 2017 = 平成29年度).
        to_fy: last fiscal year, inclusive.
        paths: files or folders holding those years' statistics. Empty: the landing folder.
        branches: only these branches (JIS code, 山口 or yamaguchi); the national total is always kept.
        force: reload years already loaded from the same files.
        warehouse_url: SQLAlchemy URL. Empty: BRANCHKPI_WAREHOUSE_URL or SQLite under ./var.
    """
    if to_fy < from_fy:
        raise ValueError(f"to_fy {to_fy} is before from_fy {from_fy}")
    cfg = settings()
    url = warehouse_url or cfg.warehouse_url
    batch_id = steps.open_batch(url, f"FY{from_fy}-FY{to_fy}", None)
    inputs = steps.landing.expand_paths([Path(p) for p in paths] if paths else [cfg.landing_dir])
    if not inputs:
        return Failed(message=f"nothing to backfill: no files given or waiting in {cfg.landing_dir}")
    landed = steps.land(inputs, batch_id, url, cfg)  # archived once; each year reads the archive
    archived = [str(f.archive_path) for f in landed]
    digest = backfills.files_digest([f.sha256 for f in landed])
    scope = backfills.scope_of(branches)
    regions = backfills.regions_of(branches)
    years = list(range(from_fy, to_fy + 1))
    done = set() if force else backfills.completed_years(url, years, scope, digest)
    description = f"FY{from_fy}–FY{to_fy}"
    tracker: UUID = create_progress_artifact(progress=0.0, key="backfill-progress", description=description)  # type: ignore[assignment]
    results: list[dict[str, Any]] = []
    for i, fiscal_year in enumerate(years, start=1):
        if fiscal_year in done:
            results.append({"fiscal_year": fiscal_year, "status": "skipped", "rows_loaded": 0,
                            "message": "already loaded from the same files"})  # fmt: skip
        else:
            state = monthly_branch_stats(
                period=f"{fiscal_year + 1}-03", paths=archived, warehouse_url=url, fiscal_years=[fiscal_year],
                regions=regions, return_state=True,
            )  # fmt: skip
            outcome = state.result(raise_on_failure=False)
            if isinstance(outcome, BatchOutcome):
                results.append({"fiscal_year": fiscal_year, "status": outcome.status,
                                "rows_loaded": outcome.rows_loaded, "message": outcome.message})  # fmt: skip
                if not outcome.failed:
                    backfills.record(url, fiscal_year, scope, digest, outcome)
            else:  # the run crashed: say so and go on with the next year
                results.append({"fiscal_year": fiscal_year, "status": "failed", "rows_loaded": 0,
                                "message": f"{state.name}: {state.message or outcome}"})  # fmt: skip
        update_progress_artifact(artifact_id=tracker, progress=100.0 * i / len(years))
        progress.step(f"FY{fiscal_year}", channel="backfill")
    failed = [r for r in results if r["status"] == "failed"]
    lines = ["# Backfill", "", "| fiscal year | status | rows loaded | note |", "|---|---|---|---|"]
    lines += [f"| FY{r['fiscal_year']} | {r['status']} | {r['rows_loaded']} | {cell(r['message'])} |" for r in results]
    create_markdown_artifact(key="backfill-summary", markdown="\n".join(lines))
    message = (
        f"FY{from_fy}–FY{to_fy}: {sum(r['status'] not in ('skipped', 'failed') for r in results)} loaded, "
        f"{sum(r['status'] == 'skipped' for r in results)} skipped, {len(failed)} failed"
    )
    get_run_logger().info(message)
    if failed:
        return Failed(message=message + f"; first failure FY{failed[0]['fiscal_year']}: {failed[0]['message']}",
                      data=results)  # fmt: skip
    return Completed(message=message, data=results)
