"""The books of every run: ingest batches (one row per run, opened first so landed files and
quarantined rows can point at it, closed with what the run did), landed files and the backfill log."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from branchkpi.warehouse import schema
from branchkpi.warehouse.bulk import upsert
from branchkpi.warehouse.engine import write_transaction

# the columns of ingest_batches a closing run sets (besides finished_at)
BATCH_OUTCOME_COLUMNS = (
    "status",
    "period",
    "files",
    "rows_landed",
    "rows_inserted",
    "rows_replaced",
    "rows_unchanged",
    "rows_quarantined",
    "expectations_passed",
    "expectations_warned",
    "expectations_failed",
    "data_docs_path",
    "message",
    "sign_off",
    "reviewer",
    "review_note",
    "reviewed_at",
)
MESSAGE_LIMIT = 4000


def runner_id() -> str:
    """Which process runs a batch: host:pid (recorded so a dead one's batch can be recognised)."""
    return f"{socket.gethostname()}:{os.getpid()}"


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
                runner=runner_id(),
            )
        )
    return batch_id


def finish_batch(engine: sa.Engine, batch_id: str, outcome: Mapping[str, Any]) -> None:
    """Close a batch with what its run did (the BATCH_OUTCOME_COLUMNS of `outcome`)."""
    values = {c: outcome[c] for c in BATCH_OUTCOME_COLUMNS}
    values["message"] = (values["message"] or "")[:MESSAGE_LIMIT]
    with engine.begin() as conn:
        conn.execute(
            sa.update(schema.ingest_batches)
            .where(schema.ingest_batches.c.id == batch_id)
            .values(finished_at=datetime.now(UTC), **values)
        )


def batch_of_run(engine: sa.Engine, flow_run_id: str) -> dict[str, Any] | None:
    """The latest batch a flow run opened, as a row (None when it opened none)."""
    t = schema.ingest_batches
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(t).where(t.c.flow_run_id == flow_run_id).order_by(t.c.started_at.desc()).limit(1)
        ).first()
    return dict(row._mapping) if row is not None else None


def _process_is_gone(runner: str | None) -> bool:
    """True when `runner` (host:pid) names a process on this host that no longer exists. A process
    on another host cannot be checked from here: such a batch is left to its own host's next run
    (or to the Prefect flow-run check)."""
    host, _, pid = (runner or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, owned by another user
        return False
    return False


# curated and derived tables whose rows name the batch that wrote them
_BATCH_TABLES = ("monthly_stats", "reported_fiscal_year_totals", "kpi_targets", "kpi_actuals")


def abandon_dead_batches(engine: sa.Engine, run_has_ended: Callable[[str], bool] | None = None) -> list[str]:
    """Close the batches that were left "running" by a run that cannot finish them any more: its
    process is gone (SIGKILL, power loss: checked by pid on this host) or its Prefect flow run has
    ended (crashed, or failed while the warehouse was unreachable). They become "abandoned", with
    what they had committed. Loads are one transaction, so an abandoned batch either wrote all of
    its rows or none of them; the files it landed stay in the archive, and the next run over the
    same files loads whatever is missing. Returns the abandoned batch ids."""
    t = schema.ingest_batches
    with engine.connect() as conn:
        running = conn.execute(sa.select(t.c.id, t.c.runner, t.c.flow_run_id).where(t.c.status == "running")).all()
    ended = run_has_ended or (lambda _flow_run_id: False)
    dead = [r.id for r in running if _process_is_gone(r.runner) or (r.flow_run_id and ended(r.flow_run_id))]
    for batch_id in dead:
        with engine.begin() as conn:
            written = 0
            for name in _BATCH_TABLES:
                table = schema.metadata.tables[name]
                written += conn.execute(
                    sa.select(sa.func.count()).select_from(table).where(table.c.batch_id == batch_id)
                ).scalar_one()
            conn.execute(
                sa.update(t)
                .where(t.c.id == batch_id, t.c.status == "running")
                .values(
                    status="abandoned",
                    finished_at=datetime.now(UTC),
                    message=(
                        "abandoned: the run stopped before closing its batch (process killed or warehouse lost); "
                        + (f"its load had committed {written} row(s) whole" if written else "nothing of it was loaded")
                        + "; its landed files stay archived and a re-run loads what is missing"
                    ),
                )
            )
    return dead


# --- landed files ----------------------------------------------------------------------------------


@dataclass
class FileRegistration:
    """A landed file's row, looked up under the warehouse's write lock: two runs landing the same file
    at once register it once (the second finds the first one's row)."""

    conn: sa.Connection
    existing: Any  # the landed_files row, or None for a file never seen

    def add(self, sha256: str, file_name: str, archive_path: str, size_bytes: int, batch_id: str) -> int:
        result = self.conn.execute(
            sa.insert(schema.landed_files).values(
                sha256=sha256,
                file_name=file_name,
                archive_path=archive_path,
                size_bytes=size_bytes,
                landed_at=datetime.now(UTC),
                first_batch_id=batch_id,
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]


@contextmanager
def file_registration(engine: sa.Engine, sha256: str) -> Iterator[FileRegistration]:
    with write_transaction(engine) as conn:
        row = conn.execute(sa.select(schema.landed_files).where(schema.landed_files.c.sha256 == sha256)).first()
        yield FileRegistration(conn, row)


def loaded_checksums(engine: sa.Engine, sha256s: list[str]) -> dict[str, str]:
    """Of these checksums, those of files already loaded, each with the batch that loaded it (the
    landing sensor announces no run for them)."""
    if not sha256s:
        return {}
    t = schema.landed_files
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.c.sha256, t.c.loaded_batch_id).where(t.c.sha256.in_(sha256s), t.c.loaded_batch_id.is_not(None))
        )
        return {r.sha256: r.loaded_batch_id for r in rows}


def mark_files_loaded(conn: sa.Connection, file_ids: list[int], batch_id: str) -> None:
    """Inside a load's transaction: these files have passed the gate and are loaded (the first time)."""
    if file_ids:
        conn.execute(
            sa.update(schema.landed_files)
            .where(schema.landed_files.c.id.in_(file_ids), schema.landed_files.c.loaded_batch_id.is_(None))
            .values(loaded_batch_id=batch_id)
        )


# --- the backfill log ------------------------------------------------------------------------------


def backfilled_years(engine: sa.Engine, years: list[int], scope: str, digest: str) -> set[int]:
    """The fiscal years a backfill already loaded for this scope from the same files."""
    t = schema.backfill_log
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.c.fiscal_year).where(t.c.fiscal_year.in_(years), t.c.scope == scope, t.c.files_digest == digest)
        )
        return {int(r.fiscal_year) for r in rows}


def record_backfilled_year(
    engine: sa.Engine, fiscal_year: int, scope: str, digest: str, batch_id: str, status: str, rows_loaded: int
) -> None:
    with engine.begin() as conn:
        upsert(
            conn,
            schema.backfill_log,
            [
                {
                    "fiscal_year": fiscal_year,
                    "scope": scope,
                    "files_digest": digest,
                    "batch_id": batch_id,
                    "status": status,
                    "rows_loaded": rows_loaded,
                    "completed_at": datetime.now(UTC),
                }
            ],
            ["fiscal_year", "scope", "files_digest"],
        )
