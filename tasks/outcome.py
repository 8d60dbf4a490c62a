"""What a run did with its batch (BatchOutcome): the files, the rows landed, loaded and quarantined,
the gate's counts and findings, and the status and message the CLI, the artifacts, the Prefect state
and the batch's row in ingest_batches all show."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from branchkpi.domain.findings import Finding
from branchkpi.tasks.kpi_replacements import replacement_line
from branchkpi.tasks.landing import LandedFile
from branchkpi.tasks.validate.gx import GateResult
from branchkpi.warehouse.kpi_loads import KpiLoadResult
from branchkpi.warehouse.loads import LoadResult


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
    skipped_sheets: list[str] = field(default_factory=list)  # sheets of a workbook that hold no table
    empty_sheets: list[str] = field(default_factory=list)  # a table's headers and no rows ("no rows")


@dataclass
class YearResult:
    """What a backfill did with one fiscal year."""

    fiscal_year: int
    status: str  # loaded, warned, unchanged, skipped or failed
    rows_loaded: int
    message: str
    inserted: int = 0
    replaced: int = 0
    unchanged: int = 0

    @classmethod
    def of_load(cls, fiscal_year: int, result: LoadResult, warnings: int) -> YearResult:
        inserted, replaced, unchanged = result.by_fiscal_year.get(fiscal_year, [0, 0, 0])
        loaded = inserted + replaced
        status = "warned" if warnings else ("loaded" if loaded else "unchanged")
        message = (
            f"FY{fiscal_year}: loaded {loaded} row(s) ({inserted} new, {replaced} replaced), "
            f"{unchanged} unchanged, {warnings} warning(s)"
        )
        return cls(fiscal_year, status, loaded, message, inserted, replaced, unchanged)

    @classmethod
    def of_outcome(cls, fiscal_year: int, outcome: BatchOutcome) -> YearResult:
        return cls(
            fiscal_year,
            outcome.status,
            outcome.rows_loaded,
            outcome.message,
            outcome.rows_inserted,
            outcome.rows_replaced,
            outcome.rows_unchanged,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "fiscal_year": self.fiscal_year,
            "status": self.status,
            "rows_loaded": self.rows_loaded,
            "message": self.message,
        }


FAILURE_WORDS = {
    "quality gate": "FAILED the quality gate",
    "no input": "FAILED: nothing to load",
    "rejected": "REJECTED at sign-off",
}


@dataclass
class BatchOutcome:
    """What a run did, for the CLI, the Prefect artifacts and the batch row."""

    batch_id: str
    period: str | None = None
    status: str = "running"  # running, no_input, then: loaded, warned, unchanged or failed
    message: str = ""
    # why a failed batch failed: "quality gate", "no input" or "error" (the warehouse lost, a disk full …)
    failure: str | None = None
    units: list[str] = field(default_factory=list)  # the units its rows are about, for alerts
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
    # a warned batch's sign-off (承認), when one was asked for: approved or rejected, by whom, why, when
    sign_off: str | None = None
    reviewer: str | None = None
    review_note: str | None = None
    reviewed_at: datetime | None = None
    # KPI rows that replaced stored ones (a target's figure, plan text or place): warehouse.kpi_loads
    replacements: list[dict[str, Any]] = field(default_factory=list)

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
        self.status, self.failure = "failed", "quality gate"
        whole_file = any(f.source_row is None for f in critical)
        self.rows_quarantined = self.rows_landed if whole_file else len({(f.file_name, f.source_row) for f in critical})
        self.message = (
            f"quality gate failed: {len(critical)} critical finding(s) in {len({f.file_name for f in critical})} "
            f"file(s); nothing of this batch was loaded. First: {critical[0]}"
        )

    @property
    def only_warned(self) -> bool:
        """The gate passed with warnings: what a reviewer signs off before the batch is published."""
        return not self.failed and any(f.severity == "warning" for f in self.findings)

    def record_sign_off(self, decision: str, reviewer: str, note: str, at: datetime) -> None:
        """The reviewer's answer. Rejected, the whole batch is quarantined with the note (a finding per
        file, as for a file refused whole) and nothing of it is published."""
        self.sign_off = "approved" if decision == "approve" else "rejected"
        self.reviewer, self.review_note, self.reviewed_at = reviewer, note, at
        if self.sign_off == "approved":
            return
        reason = f"rejected at sign-off by {reviewer}" + (f": {note}" if note else "")
        self.findings = [*self.findings, *(Finding(f.file_name, "sign_off_rejected", reason) for f in self.files)]
        self.status, self.failure, self.rows_quarantined = "failed", "rejected", self.rows_landed
        self.message = f"{reason}; nothing of this batch was loaded ({self.rows_landed} row(s) quarantined)"

    @property
    def sign_off_line(self) -> str | None:
        """承認 as the summary shows it: 承認 佐藤 (2021-04-15 10:02): 確認済み."""
        if self.sign_off is None:
            return None
        word = {"approved": "承認 approved", "rejected": "差戻し rejected"}[self.sign_off]
        when = f" ({self.reviewed_at:%Y-%m-%d %H:%M %Z})" if self.reviewed_at else ""
        return f"{word} by {self.reviewer}{when}" + (f": {self.review_note}" if self.review_note else "")

    def record_load(self, result: LoadResult) -> None:
        self.rows_inserted, self.rows_replaced = result.inserted, result.replaced
        self.rows_unchanged, self.totals_loaded = result.unchanged, result.totals_loaded
        warned = [f for f in self.findings if f.severity == "warning"]
        self.status = "warned" if warned else ("loaded" if self.rows_loaded or result.totals_loaded else "unchanged")
        self.message = (
            f"loaded {self.rows_loaded} row(s) ({result.inserted} new, {result.replaced} replaced), "
            f"{result.unchanged} unchanged, {len(warned)} warning(s)"
        ) + (f", approved by {self.reviewer}" if self.sign_off == "approved" else "")

    def record_years(self, result: LoadResult, warnings_by_year: dict[int, int]) -> None:
        """What the load did to each fiscal year, and how many warnings each year's rows drew."""
        for fiscal_year, (inserted, replaced, unchanged) in result.by_fiscal_year.items():
            self.fiscal_years[fiscal_year] = {
                "inserted": inserted,
                "replaced": replaced,
                "unchanged": unchanged,
                "warnings": warnings_by_year.get(fiscal_year, 0),
            }

    def for_fiscal_year(self, fiscal_year: int) -> BatchOutcome:
        """This batch as seen by one of its fiscal years (a backfill loads all its years as one batch)."""
        if self.failed or not self.fiscal_years:
            return self
        year = self.fiscal_years.get(fiscal_year)
        if year is None:
            return replace(
                self,
                status="unchanged",
                rows_inserted=0,
                rows_replaced=0,
                rows_unchanged=0,
                message=f"the files hold no rows of FY{fiscal_year}",
            )
        loaded = year["inserted"] + year["replaced"]
        status = "warned" if year["warnings"] else ("loaded" if loaded else "unchanged")
        message = (
            f"FY{fiscal_year}: loaded {loaded} row(s) ({year['inserted']} new, {year['replaced']} replaced), "
            f"{year['unchanged']} unchanged, {year['warnings']} warning(s)"
        )
        return replace(
            self,
            status=status,
            rows_inserted=year["inserted"],
            rows_replaced=year["replaced"],
            rows_unchanged=year["unchanged"],
            message=message,
        )

    def record_kpi_load(self, result: KpiLoadResult) -> None:
        self.rows_inserted = sum(c["inserted"] for c in result.counts.values())
        self.rows_replaced = sum(c["replaced"] for c in result.counts.values())
        self.rows_unchanged = sum(c["unchanged"] for c in result.counts.values())
        warned = [f for f in self.findings if f.severity == "warning"]
        self.status = "warned" if warned else ("loaded" if self.rows_loaded or result.units_added else "unchanged")
        parts = [f"{table} {c['inserted']} new, {c['replaced']} replaced" for table, c in result.counts.items()]
        self.replacements = result.replacements
        self.message = (
            f"loaded {self.rows_loaded} row(s) ({'; '.join(parts)}), {self.rows_unchanged} unchanged, "
            f"{result.units_added} new reporting unit(s), {len(warned)} warning(s)"
        )
        if self.replacements:
            self.message += f"; replaced: {replacement_line(self.replacements[0])}" + (
                f" and {len(self.replacements) - 1} more" if len(self.replacements) > 1 else ""
            )

    def record_previously_loaded(self, files: list[LandedFile]) -> None:
        """Every file was loaded before (same checksums): nothing to read, check or write."""
        self.status = "unchanged"
        self.files = [FileReport(f.file_name, f.sha256, f.size_bytes, previously_loaded=True) for f in files]
        self.message = f"all {len(files)} file(s) were loaded before (same checksums): nothing to do (force reloads)"

    def record_taken(self, paths: list[str]) -> None:
        """The files the run was given had left the landing folder: another run landed them first."""
        self.status = "unchanged"
        names = ", ".join(Path(p).name for p in paths)
        self.message = f"nothing to do: {names} had been landed by another run before this one"

    def record_no_input(self, period_label: str | None, kpi_rows: int, landing_dir: Path) -> None:
        """Nothing landed: fine for a month the warehouse has (its KPIs are republished), else a failure."""
        if period_label and kpi_rows:
            self.status = "unchanged"
            self.message = f"no new files; published the warehouse's KPIs of {period_label}"
        else:
            self.status, self.failure = "failed", "no input"
            missing = f"no data for {period_label} in the warehouse and " if period_label else ""
            self.message = f"{missing}no files given or waiting in {landing_dir}"

    def record_years_booked(self, years: list[YearResult], label: str) -> None:
        """A backfill's batch, from its years: failed if one failed, warned if one warned (its rows
        loaded with warnings), loaded if rows loaded, else unchanged; the message counts the years
        that really loaded rows."""
        self.rows_inserted = sum(y.inserted for y in years)
        self.rows_replaced = sum(y.replaced for y in years)
        self.rows_unchanged = sum(y.unchanged for y in years)
        failed = [y for y in years if y.status == "failed"]
        loaded = sum(y.rows_loaded > 0 for y in years)
        unchanged = sum(y.status in ("unchanged", "warned") and y.rows_loaded == 0 for y in years)
        skipped = sum(y.status == "skipped" for y in years)
        self.message = f"{label}: {loaded} loaded, " + (f"{unchanged} unchanged, " if unchanged else "")
        self.message += f"{skipped} skipped, {len(failed)} failed"
        if failed:
            self.message += f"; first failure FY{failed[0].fiscal_year}: {failed[0].message}"
            self.status, self.failure = "failed", self.failure or "year runs"
        elif any(y.status == "warned" for y in years):
            self.status = "warned"
        else:
            self.status = "loaded" if self.rows_loaded else "unchanged"

    def record_error(self, message: str) -> None:
        """The run met an error outside the data (the warehouse lost, a disk full, a file changed while read)."""
        self.status, self.failure, self.message = "failed", "error", message

    @property
    def status_line(self) -> str:
        """What happened, in a few words: a failed gate, nothing to load and an error are told apart."""
        if self.status == "failed":
            return FAILURE_WORDS.get(self.failure or "", "FAILED: the run stopped on an error")
        words = {
            "loaded": "loaded",
            "warned": "loaded with warnings",
            "unchanged": "nothing new to load",
            "no_input": "no input",
        }
        return words.get(self.status, self.status)

    def batch_row(self) -> dict[str, Any]:
        """The values of the batch's row in ingest_batches (warehouse.batches.finish_batch)."""
        return {
            "status": self.status,
            "period": self.period,
            "files": len(self.files),
            "rows_landed": self.rows_landed,
            "rows_inserted": self.rows_inserted,
            "rows_replaced": self.rows_replaced,
            "rows_unchanged": self.rows_unchanged,
            "rows_quarantined": self.rows_quarantined,
            "expectations_passed": self.expectations_passed,
            "expectations_warned": self.expectations_warned,
            "expectations_failed": self.expectations_failed,
            "data_docs_path": self.data_docs_path,
            "message": self.message,
            "sign_off": self.sign_off,
            "reviewer": self.reviewer,
            "review_note": self.review_note,
            "reviewed_at": self.reviewed_at,
        }

    @classmethod
    def from_batch_row(cls, row: dict[str, Any]) -> BatchOutcome:
        """What a run did, read back from its batch row (a run on a worker returns only its state)."""
        return cls(
            batch_id=row["id"],
            period=row["period"],
            status=row["status"],
            message=row["message"] or "",
            rows_inserted=row["rows_inserted"],
            rows_replaced=row["rows_replaced"],
            rows_unchanged=row["rows_unchanged"],
        )

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


def critical_by_fiscal_year(
    findings: list[Finding], observations: pl.DataFrame, fiscal_years: list[int]
) -> dict[int, str]:
    """The fiscal years that must not load, each with the first critical finding that blocks it: the
    year of the row a finding points at; every year of its file when it names no row (a file-level
    finding); every year when it is about the whole batch or its row's fiscal year did not parse."""
    critical = [f for f in findings if f.severity == "critical"]
    if not critical:
        return {}
    found = pl.DataFrame(
        [(i, f.file_id, f.source_row) for i, f in enumerate(critical)],
        schema={"finding": pl.Int64, "file_id": pl.Int64, "source_row": pl.Int64},
        orient="row",
    )
    rows = observations.select(pl.col("file_id").cast(pl.Int64), pl.col("source_row").cast(pl.Int64), "fiscal_year")
    by_row = found.filter(pl.col("source_row").is_not_null()).join(
        rows.unique(), on=["file_id", "source_row"], how="left"
    )
    by_file = found.filter(pl.col("source_row").is_null() & pl.col("file_id").is_not_null()).join(
        rows.select("file_id", "fiscal_year").drop_nulls().unique(), on="file_id", how="left"
    )
    attributed = pl.concat([by_row.select("finding", "fiscal_year"), by_file.select("finding", "fiscal_year")])
    everywhere = set(found.filter(pl.col("file_id").is_null())["finding"].to_list())
    everywhere |= set(attributed.filter(pl.col("fiscal_year").is_null())["finding"].to_list())
    first: dict[int, int] = {}
    for finding, year in attributed.drop_nulls().sort("finding").iter_rows():
        first.setdefault(int(year), int(finding))
    if everywhere:
        for year in fiscal_years:
            first[year] = min(first.get(year, len(critical)), min(everywhere))
    per_file = Counter(f.file_name for f in critical)
    return {
        year: (
            f"quality gate failed: {per_file[critical[first[year]].file_name]} critical finding(s) in "
            f"{critical[first[year]].file_name}; nothing of FY{year} was loaded. First: {critical[first[year]]}"
        )
        for year in fiscal_years
        if year in first
    }
