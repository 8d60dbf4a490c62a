"""A batch's files parsed together: every landed file of the run through its parser, an unreadable file
becoming a critical finding (the batch goes on, and fails the gate), the results joined into one frame
per kind. One call per batch, never a task per file."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from branchkpi.domain.findings import Finding
from branchkpi.tasks.landing import LandedFile
from branchkpi.tasks.outcome import FileReport
from branchkpi.tasks.parse.cells import FileParseError
from branchkpi.tasks.parse.files import parse_file
from branchkpi.tasks.parse.initiatives import empty_uptake
from branchkpi.tasks.parse.kpi import ParsedKpiFile, empty_actuals, empty_structure, empty_targets, parse_kpi_file
from branchkpi.tasks.parse.observations import ParsedFile, concat_parsed, empty_observations, empty_totals, select

log = logging.getLogger(__name__)


def _report(f: LandedFile) -> FileReport:
    return FileReport(f.file_name, f.sha256, f.size_bytes, previously_loaded=f.previously_loaded)


def parse_statistics(
    files: list[LandedFile], fiscal_years: list[int] | None = None, region_codes: list[str] | None = None
) -> tuple[ParsedFile, list[FileReport]]:
    """Every statistics file of the batch, optionally only some fiscal years and regions (a backfill's
    slice: rows whose year or region did not parse stay in, so the gate still reports them)."""
    parts: list[ParsedFile] = []
    reports: list[FileReport] = []
    for f in files:
        report = _report(f)
        try:
            parsed = parse_file(f)
        except FileParseError as exc:
            report.error = str(exc)
            parsed = ParsedFile(
                empty_observations(), empty_totals(), [Finding(f.file_name, "file_readable", str(exc), file_id=f.id)]
            )
        report.layout, report.encoding = parsed.layout, parsed.encoding
        report.skipped_sheets = parsed.skipped_sheets
        report.rows = parsed.observations.height + parsed.reported_totals.height
        reports.append(report)
        parts.append(parsed)
    batch = concat_parsed(parts)
    if fiscal_years or region_codes:
        batch = select(batch, fiscal_years, region_codes)
    return batch, reports


@dataclass
class ParsedKpiBatch:
    """All KPI rows of a batch, and the municipalities its files name."""

    targets: pl.DataFrame = field(default_factory=empty_targets)
    actuals: pl.DataFrame = field(default_factory=empty_actuals)
    units: dict[str, dict[str, Any]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    structure: pl.DataFrame = field(default_factory=empty_structure)  # 分野 / 項目 / 小項目 of the targets
    uptake: pl.DataFrame = field(default_factory=empty_uptake)  # NHI initiative uptake (取組状況)
    # (file_id, sheet) → each role's header as the file wrote it: findings name the sender's column
    headers: dict[tuple[int, str], dict[str, str]] = field(default_factory=dict)

    def add(self, parsed: ParsedKpiFile, file_id: int | None = None) -> None:
        self.targets = pl.concat([self.targets, parsed.targets])
        self.actuals = pl.concat([self.actuals, parsed.actuals])
        self.structure = pl.concat([self.structure, parsed.structure])
        self.uptake = pl.concat([self.uptake, parsed.uptake])
        self.findings += parsed.findings
        if file_id is not None:
            self.headers.update({(file_id, sheet): roles for sheet, roles in parsed.headers.items()})
        for unit in parsed.municipalities:
            known = self.units.setdefault(unit["key"], dict(unit))
            if unit.get("target_setting"):
                known.update(target_setting=unit["target_setting"], note_ja=unit["note_ja"])

    def unit_list(self) -> list[dict[str, Any]]:
        return list(self.units.values())

    @property
    def rows(self) -> int:
        return self.targets.height + self.actuals.height + self.plan_only_rows + self.uptake.height

    @property
    def plan_only_rows(self) -> int:
        """Structure rows of plan-structure files (a targets file's own structure is its target rows)."""
        return self.structure.join(self.targets, on=["file_id", "source_row"], how="anti").height

    @property
    def raw_units(self) -> list[str]:
        """The branches and municipalities as the files wrote them (for an alert)."""
        return sorted(
            set(
                self.targets["reporting_unit_raw"].to_list()
                + self.actuals["reporting_unit_raw"].to_list()
                + self.structure["reporting_unit_raw"].to_list()
            )
        )


# A fault of the reader itself (a polars type clash, a bug) on one file must not crash the run with a
# traceback that does not name the file: it becomes that file's finding, and the batch fails cleanly.
_READER_FAULTS = (pl.exceptions.PolarsError, ValueError, KeyError, IndexError, TypeError)


def parse_kpi_files(files: list[LandedFile]) -> tuple[ParsedKpiBatch, list[FileReport]]:
    """Every KPI file of the batch (targets, actuals, NHI notes)."""
    batch = ParsedKpiBatch()
    reports: list[FileReport] = []
    for f in files:
        report = _report(f)
        try:
            parsed = parse_kpi_file(f)
        except FileParseError as exc:
            report.error = str(exc)
            batch.findings.append(Finding(f.file_name, "file_readable", str(exc), file_id=f.id))
        except _READER_FAULTS as exc:
            log.exception("reading %s", f.file_name)
            report.error = f"could not be read ({type(exc).__name__}: {exc}); nothing of it was loaded"
            batch.findings.append(Finding(f.file_name, "file_readable", report.error, file_id=f.id))
        else:
            structure_only = parsed.structure.height if parsed.kind == "plan_structure" else 0
            report.layout = parsed.kind
            report.rows = parsed.targets.height + parsed.actuals.height + structure_only + parsed.uptake.height
            report.skipped_sheets, report.empty_sheets = parsed.skipped_sheets, parsed.empty_sheets
            batch.add(parsed, f.id)
        reports.append(report)
    return batch, reports
