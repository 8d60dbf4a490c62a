"""Bookkeeping of backfills: which fiscal years were loaded from which files for which branches."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import sqlalchemy as sa

from branchkpi.domain.regions import NATIONAL_CODE, resolve_region
from branchkpi.tasks.batches import BatchOutcome
from branchkpi.warehouse import schema
from branchkpi.warehouse.engine import connect, upsert


def files_digest(sha256s: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(sha256s)).encode()).hexdigest()


def regions_of(branches: list[str] | None) -> list[str] | None:
    """JIS codes of the branches, plus the national total (the gate compares branches with it)."""
    if not branches:
        return None
    codes = []
    for b in branches:
        code = resolve_region(b)
        if code is None:
            raise ValueError(f"unknown branch {b!r}: use a JIS code, 山口 or yamaguchi")
        codes.append(code)
    return sorted({*codes, NATIONAL_CODE})


def scope_of(branches: list[str] | None) -> str:
    codes = regions_of(branches)
    return ",".join(codes) if codes else "all"


def completed_years(url: str, years: list[int], scope: str, digest: str) -> set[int]:
    t = schema.backfill_log
    with connect(url).connect() as conn:
        rows = conn.execute(
            sa.select(t.c.fiscal_year).where(t.c.fiscal_year.in_(years), t.c.scope == scope, t.c.files_digest == digest)
        )
        return {int(r.fiscal_year) for r in rows}


def outcome_of_run(url: str, flow_run_id: str) -> BatchOutcome | None:
    """What a monthly-branch-stats run did, read back from its batch row (a run on a worker returns
    nothing to the backfill but its state). None when the run never opened a batch."""
    t = schema.ingest_batches
    with connect(url).connect() as conn:
        row = conn.execute(
            sa.select(t).where(t.c.flow_run_id == flow_run_id).order_by(t.c.started_at.desc()).limit(1)
        ).first()
    if row is None:
        return None
    return BatchOutcome(
        batch_id=row.id, period=row.period, status=row.status, message=row.message or "",
        rows_inserted=row.rows_inserted, rows_replaced=row.rows_replaced, rows_unchanged=row.rows_unchanged,
    )  # fmt: skip


def record(url: str, fiscal_year: int, scope: str, digest: str, outcome: BatchOutcome) -> None:
    with connect(url).begin() as conn:
        upsert(
            conn,
            schema.backfill_log,
            [{"fiscal_year": fiscal_year, "scope": scope, "files_digest": digest, "batch_id": outcome.batch_id,
              "status": outcome.status, "rows_loaded": outcome.rows_loaded, "completed_at": datetime.now(UTC)}],
            ["fiscal_year", "scope", "files_digest"],
        )  # fmt: skip
