"""Ingest batches: one row in ingest_batches per run, opened first (so landed files and quarantined
rows can point at it) and closed with the outcome the run shows."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from branchkpi.findings import Finding
from warehouse import schema


@dataclass
class FileReport:
    file_name: str
    sha256: str
    size_bytes: int
    layout: str = ""
    encoding: str = ""
    rows: int = 0
    previously_loaded: bool = False
    error: str | None = None


@dataclass
class BatchOutcome:
    """What a run did, for the CLI, the Prefect artifacts and the batch row."""

    batch_id: str
    period: str | None = None
    status: str = "running"  # loaded, warned, unchanged, failed, no_input
    message: str = ""
    files: list[FileReport] = field(default_factory=list)
    rows_landed: int = 0
    rows_inserted: int = 0
    rows_replaced: int = 0
    rows_unchanged: int = 0
    rows_quarantined: int = 0
    totals_loaded: int = 0
    expectations_passed: int = 0
    expectations_warned: int = 0
    expectations_failed: int = 0
    data_docs_path: str | None = None
    kpi_rows: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    rule_summary: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rows_loaded(self) -> int:
        return self.rows_inserted + self.rows_replaced

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rows_loaded"] = self.rows_loaded
        data["findings"] = [str(f) for f in self.findings]
        return data


def start_batch(engine: sa.Engine, period: str | None, flow_run_id: str | None) -> str:
    batch_id = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(
            sa.insert(schema.ingest_batches).values(
                id=batch_id,
                started_at=datetime.now(UTC),
                status="running",
                period=period,
                flow_run_id=flow_run_id,
            )
        )
    return batch_id


def finish_batch(engine: sa.Engine, outcome: BatchOutcome) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.update(schema.ingest_batches)
            .where(schema.ingest_batches.c.id == outcome.batch_id)
            .values(
                finished_at=datetime.now(UTC),
                status=outcome.status,
                period=outcome.period,
                files=len(outcome.files),
                rows_landed=outcome.rows_landed,
                rows_inserted=outcome.rows_inserted,
                rows_replaced=outcome.rows_replaced,
                rows_unchanged=outcome.rows_unchanged,
                rows_quarantined=outcome.rows_quarantined,
                expectations_passed=outcome.expectations_passed,
                expectations_warned=outcome.expectations_warned,
                expectations_failed=outcome.expectations_failed,
                data_docs_path=outcome.data_docs_path,
                message=outcome.message[:4000],
            )
        )
