"""What `branchkpi status` and the freshness run's `status` artifact show, gathered: the coverage grids
of the warehouse summed up per period (tasks.status), each deployment's last run and next scheduled run
from the Prefect API, and the files waiting in the landing folder. A part that cannot be read (no
Prefect server, a warehouse down) becomes a note on the screen instead of an error."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

from branchkpi.config import settings
from branchkpi.flows.alert_text import period_text
from branchkpi.flows.schedules import read_schedules
from branchkpi.tasks import arrivals, coverage
from branchkpi.tasks.freshness import watched_fiscal_years
from branchkpi.tasks.status import Status, summarize
from branchkpi.warehouse.batches import loaded_checksums
from branchkpi.warehouse.engine import connect, redacted

FINAL_OR_ACTIVE = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED", "RUNNING", "PENDING", "PAUSED", "CANCELLING")


def gather(
    as_of: date, fiscal_year: int | None = None, warehouse_url: str | None = None, with_prefect: bool = True
) -> Status:
    """The status as of a day. With a fiscal year: its periods; without: this fiscal year's and the
    previous one's that are not complete (March's statistics and the year's actuals fall due in the next)."""
    cfg = settings()
    url = warehouse_url or cfg.warehouse_url
    years = [fiscal_year] if fiscal_year else watched_fiscal_years(as_of)
    status = Status(as_of, years, landing_dir=str(cfg.landing_dir))
    engine = None
    try:
        engine = connect(url)
        cells = [c for kind in coverage.KINDS for fy in years for c in coverage.grid(engine, kind, fy, as_of)]
        periods = summarize(cells, as_of)
        if fiscal_year is None:  # the previous year only where something is still owed
            periods = [p for p in periods if p["fiscal_year"] == years[-1] or p["status"] != "complete"]
        status.periods = periods
    except Exception as exc:
        status.notes.append(f"warehouse {redacted(url)}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    status.waiting = _waiting(cfg.landing_dir, engine)
    if with_prefect:
        try:
            status.deployments = deployments()
        except Exception as exc:
            status.notes.append(f"Prefect API: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    return status


def _waiting(landing_dir: Any, engine: Any) -> list[dict[str, Any]]:
    files: list[dict[str, Any]] = []
    for path in arrivals.waiting_files(landing_dir):
        try:
            content = path.read_bytes()
            modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        except FileNotFoundError:  # landed by a run meanwhile
            continue
        files.append(
            {
                "name": path.name,
                "path": str(path),
                "kind": arrivals.file_kind(path, content),
                "size": len(content),
                "modified": modified.isoformat(),
                "sha256": hashlib.sha256(content).hexdigest(),
            }
        )
    loaded: dict[str, str] = {}
    if engine is not None and files:
        try:
            loaded = loaded_checksums(engine, [f["sha256"] for f in files])
        except Exception:
            loaded = {}
    for f in files:
        f["loaded_batch"] = loaded.get(f["sha256"])
    return files


def deployments() -> list[dict[str, Any]]:
    """Every deployment: its last run (state, when) and its next scheduled run (when, for which period)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    upcoming = {d.name: d for d in read_schedules(1)}
    out = []
    with get_client(sync_client=True) as client:
        flows = {f.id: f.name for f in client.read_flows()}
        for deployment in sorted(client.read_deployments(), key=lambda d: d.name):
            name = f"{flows.get(deployment.flow_id, '?')}/{deployment.name}"
            last = client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType(s) for s in FINAL_OR_ACTIVE]))
                ),
                sort=FlowRunSort.EXPECTED_START_TIME_DESC,
                limit=1,
            )
            entry: dict[str, Any] = {"name": name, "last": None, "next": None}
            if last:
                run = last[0]
                at = run.start_time or run.expected_start_time
                entry["last"] = {"run": run.name, "state": run.state_name, "at": at.isoformat() if at else None}
            scheduled = upcoming.get(name)
            if scheduled and scheduled.runs:
                nxt = scheduled.runs[0]
                entry["next"] = {
                    "at": nxt.at.isoformat(),
                    "period": nxt.period,
                    "role": nxt.role,
                    "period_text": {lang: period_text(nxt.period, lang) for lang in ("ja", "en")} if nxt.period else {},
                }
            out.append(entry)
    return out
