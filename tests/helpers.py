"""Test helpers that run the real flow and read the real warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from branchkpi.warehouse import reads, schema
from branchkpi.warehouse.engine import connect

from .conftest import SEED

KPI_SEED = [
    SEED / "kpi_plan_items.csv",
    SEED / "kpi_actuals.csv",
    SEED / "okayama_collection_rate_targets.csv",
    SEED / "okayama_collection_rate_notes.csv",
    SEED / "okayama_collection_rate_actuals.csv",
]


def ingest_kpi(*paths: Path, force: bool = False) -> tuple[Any, Any]:
    """Run the quarterly-kpi-actuals flow in-process; returns (final state, BatchOutcome)."""
    from branchkpi.flows.quarterly_kpi_actuals import quarterly_kpi_actuals

    state = quarterly_kpi_actuals(paths=[str(p) for p in paths], force=force, return_state=True)
    return state, state.result(raise_on_failure=False)


def run_monthly(*paths: Path, period: str | None = None) -> tuple[Any, Any]:
    """Run the monthly-branch-stats flow in-process; returns (final state, BatchOutcome)."""
    from branchkpi.flows.monthly_branch_stats import monthly_branch_stats

    state = monthly_branch_stats(period=period, paths=[str(p) for p in paths] or None, return_state=True)
    return state, state.result(raise_on_failure=False)


def counts(url: str) -> dict[str, int]:
    return reads.table_counts(connect(url))


def rows(url: str, table: sa.Table, *where: Any) -> list[dict[str, Any]]:
    with connect(url).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(table).where(*where))]


def stats_values(url: str) -> dict[tuple[str, str, int, int], float]:
    return {
        (r["region_code"], r["metric"], r["fiscal_year"], r["month"]): r["value"]
        for r in rows(url, schema.monthly_stats)
    }


def seed_values(path: Path) -> dict[tuple[str | None, str, int, int], float]:
    """The values of a tidy statistics file, keyed like stats_values."""
    import polars as pl

    from branchkpi.domain.regions import resolve_region

    return {
        (resolve_region(r["region"]), r["metric"], r["fiscal_year"], r["month"]): float(r["value"])
        for r in pl.read_csv(path).iter_rows(named=True)
    }


def artifacts(flow_run_id: object) -> dict[str, Any]:
    """The artifacts of a flow run by key, as dicts."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {a.key: a.model_dump() for a in found}


class Receiver:
    """A local webhook receiver (the alerts' HTTP endpoint): each POST's JSON body with the moment it
    arrived (wall clock, to compare with an event's time); answers `status`."""

    def __init__(self, status: int = 200) -> None:
        import json
        import threading
        import time
        from http.server import BaseHTTPRequestHandler, HTTPServer

        self.received: list[dict[str, Any]] = []
        self.arrived: list[float] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                outer.received.append(json.loads(self.rfile.read(length) or b"{}"))
                outer.arrived.append(time.time())
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/hook"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def texts(self) -> list[str]:
        return [str(m.get("text", "")) for m in self.received]

    def close(self) -> None:
        self._server.shutdown()
