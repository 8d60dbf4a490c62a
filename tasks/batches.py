"""Ingest batches: one row in ingest_batches per run, opened first (so landed files and quarantined
rows can point at it) and closed with the outcome the run shows."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from branchkpi.domain.findings import Finding
from branchkpi.tasks.landing import LandedFile
from branchkpi.tasks.load import LoadResult
from branchkpi.tasks.load_kpi import KpiLoadResult
from branchkpi.tasks.validate import GateResult
from branchkpi.warehouse import schema


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
    status: str = "running"  # running, no_input, then: loaded, warned, unchanged or failed
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
    # per fiscal year of the batch: inserted, replaced, unchanged, warnings (a backfill books each year)
    fiscal_years: dict[int, dict[str, int]] = field(default_factory=dict)

    @property
    def rows_loaded(self) -> int:
        return self.rows_inserted + self.rows_replaced

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def record_gate(self, parse_findings: list[Finding], gate: GateResult) -> None:
        """Take the parse findings and the gate's result; a critical one fails the batch."""
        self.findings = parse_findings + gate.findings
        self.rule_summary = gate.rule_summary
        self.expectations_passed = gate.expectations_passed
        self.expectations_warned = gate.expectations_warned
        self.expectations_failed = gate.expectations_failed + sum(f.severity == "critical" for f in parse_findings)
        self.data_docs_path = gate.data_docs_path
        critical = [f for f in self.findings if f.severity == "critical"]
        if not critical:
            self.status = "running"
            return
        self.status = "failed"
        whole_file = any(f.source_row is None for f in critical)
        self.rows_quarantined = self.rows_landed if whole_file else len({(f.file_name, f.source_row) for f in critical})
        self.message = (
            f"quality gate failed: {len(critical)} critical finding(s) in {len({f.file_name for f in critical})} "
            f"file(s); nothing of this batch was loaded. First: {critical[0]}"
        )

    def record_load(self, result: LoadResult) -> None:
        self.rows_inserted, self.rows_replaced = result.inserted, result.replaced
        self.rows_unchanged, self.totals_loaded = result.unchanged, result.totals_loaded
        warned = [f for f in self.findings if f.severity == "warning"]
        self.status = "warned" if warned else ("loaded" if self.rows_loaded or result.totals_loaded else "unchanged")
        self.message = (
            f"loaded {self.rows_loaded} row(s) ({result.inserted} new, {result.replaced} replaced), "
            f"{result.unchanged} unchanged, {len(warned)} warning(s)"
        )

    def record_years(self, result: LoadResult, warnings_by_year: dict[int, int]) -> None:
        """What the load did to each fiscal year, and how many warnings each year's rows drew."""
        for fiscal_year, (inserted, replaced, unchanged) in result.by_fiscal_year.items():
            self.fiscal_years[fiscal_year] = {"inserted": inserted, "replaced": replaced, "unchanged": unchanged,
                                              "warnings": warnings_by_year.get(fiscal_year, 0)}  # fmt: skip

    def for_fiscal_year(self, fiscal_year: int) -> BatchOutcome:
        """This batch as seen by one of its fiscal years (a backfill loads all its years as one batch)."""
        if self.failed or not self.fiscal_years:
            return self
        year = self.fiscal_years.get(fiscal_year)
        if year is None:
            return replace(self, status="unchanged", rows_inserted=0, rows_replaced=0, rows_unchanged=0,
                           message=f"the files hold no rows of FY{fiscal_year}")  # fmt: skip
        loaded = year["inserted"] + year["replaced"]
        status = "warned" if year["warnings"] else ("loaded" if loaded else "unchanged")
        message = (f"FY{fiscal_year}: loaded {loaded} row(s) ({year['inserted']} new, {year['replaced']} replaced), "
                   f"{year['unchanged']} unchanged, {year['warnings']} warning(s)")  # fmt: skip
        return replace(self, status=status, rows_inserted=year["inserted"], rows_replaced=year["replaced"],
                       rows_unchanged=year["unchanged"], message=message)  # fmt: skip

    def record_kpi_load(self, result: KpiLoadResult) -> None:
        self.rows_inserted = sum(c["inserted"] for c in result.counts.values())
        self.rows_replaced = sum(c["replaced"] for c in result.counts.values())
        self.rows_unchanged = sum(c["unchanged"] for c in result.counts.values())
        warned = [f for f in self.findings if f.severity == "warning"]
        self.status = "warned" if warned else ("loaded" if self.rows_loaded or result.units_added else "unchanged")
        parts = [f"{table} {c['inserted']} new, {c['replaced']} replaced" for table, c in result.counts.items()]
        self.message = (
            f"loaded {self.rows_loaded} row(s) ({'; '.join(parts)}), {self.rows_unchanged} unchanged, "
            f"{result.units_added} new reporting unit(s), {len(warned)} warning(s)"
        )

    def record_previously_loaded(self, files: list[LandedFile]) -> None:
        """Every file was loaded before (same checksums): nothing to read, check or write."""
        self.status = "unchanged"
        self.files = [FileReport(f.file_name, f.sha256, f.size_bytes, previously_loaded=True) for f in files]
        self.message = f"all {len(files)} file(s) were loaded before (same checksums): nothing to do (force reloads)"

    def record_no_input(self, period_label: str | None, kpi_rows: int, landing_dir: Path) -> None:
        """Nothing landed: fine for a month the warehouse has (its KPIs are republished), else a failure."""
        if period_label and kpi_rows:
            self.status = "unchanged"
            self.message = f"no new files; published the warehouse's KPIs of {period_label}"
        else:
            self.status = "failed"
            missing = f"no data for {period_label} in the warehouse and " if period_label else ""
            self.message = f"{missing}no files given or waiting in {landing_dir}"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rows_loaded"] = self.rows_loaded
        data["findings"] = [str(f) for f in self.findings]
        return data


def warnings_by_fiscal_year(findings: list[Finding], observations: pl.DataFrame) -> dict[int, int]:
    """Warnings per fiscal year, through the rows they point at; a warning about a whole file (no
    row) counts for every fiscal year that file holds."""
    warned = [(f.file_id, f.source_row) for f in findings if f.severity == "warning"]
    if not warned or observations.height == 0:
        return {}
    rows = observations.select("file_id", "source_row", "fiscal_year").drop_nulls("fiscal_year").unique()
    found = pl.DataFrame(warned, schema={"file_id": pl.Int64, "source_row": pl.Int64}, orient="row")
    by_row = found.filter(pl.col("source_row").is_not_null()).join(rows, on=["file_id", "source_row"])
    by_file = found.filter(pl.col("source_row").is_null()).join(
        rows.select("file_id", "fiscal_year").unique(), on="file_id"
    )
    counted = pl.concat([by_row.select("fiscal_year"), by_file.select("fiscal_year")]).group_by("fiscal_year").len()
    return {int(fy): int(n) for fy, n in counted.iter_rows()}


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
