"""Files through the real parse and the real gate, in-process and batched: every file is parsed on its
own (one batch each, as `branchkpi ingest` would), its validation frames built against its own history
(none, or the real series as the warehouse would hold it), and all frames are validated together, one
Great Expectations run per suite (every rule is row-wise, so a finding belongs to its file alone)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import polars as pl

from branchkpi.domain.findings import Finding
from branchkpi.tasks.parse.batch import parse_statistics
from branchkpi.tasks.parse.observations import ParsedFile
from branchkpi.tasks.validate import statistics, totals
from branchkpi.warehouse import frames

from .files import SEED, landed


@dataclass(frozen=True)
class Case:
    name: str
    content: bytes
    history: bool = False  # validated against the real series in the warehouse


@dataclass
class Outcome:
    parsed: ParsedFile
    error: str | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def critical(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "critical"]

    @property
    def refused(self) -> bool:
        return self.error is not None or bool(self.critical)

    @property
    def rules(self) -> list[str]:
        return sorted({f.rule for f in self.critical})


@cache
def real_series() -> pl.DataFrame:
    """The real figures as the warehouse holds them once loaded (region_code, metric, fiscal_year, month,
    value)."""
    path = SEED / "branch_monthly_stats.csv"
    parsed, _ = parse_statistics([landed(0, path.name, path.read_bytes())])
    return parsed.observations.select(frames.STATISTICS.keys()).cast(frames.STATISTICS)  # type: ignore[arg-type]


def check(cases: list[Case], workdir: Path | None = None) -> list[Outcome]:
    """Every case parsed, its rows told apart by `_case`; one validation frame for all of them (each
    case against its own history: `frame_with_context(..., batches=("_case",))`), the printed totals'
    frame per case, and the gate's two suites run once each over them."""
    outcomes: list[Outcome] = []
    observations: list[pl.DataFrame] = []
    histories: list[pl.DataFrame] = []
    printed: list[pl.DataFrame] = []
    for i, case in enumerate(cases):
        parsed, reports = parse_statistics([landed(i, case.name, case.content)])
        outcomes.append(Outcome(parsed, reports[0].error, list(parsed.findings)))
        if parsed.observations.height:
            observations.append(parsed.observations.with_columns(_case=pl.lit(i, pl.Int64)))
            if case.history:
                histories.append(real_series().with_columns(_case=pl.lit(i, pl.Int64)))
        if parsed.reported_totals.height:
            history = real_series() if case.history else None
            printed.append(totals.frame_with_months(parsed.reported_totals, parsed.observations, history))
    monthly: list[pl.DataFrame] = []
    if observations:
        every = pl.concat(observations, how="vertical_relaxed")
        stored = (
            pl.concat(histories)
            if histories
            else frames.empty(frames.STATISTICS).with_columns(_case=pl.lit(0, pl.Int64))
        )
        monthly.append(statistics.frame_with_context(every, stored, batches=("_case",)))
    folder = workdir or Path(tempfile.mkdtemp(prefix="mutants-"))
    for suite, parts in (("monthly", monthly), ("printed", printed)):
        if not parts:
            continue
        frame = pl.concat(parts, how="vertical_relaxed").with_columns(row_id=pl.int_range(pl.len(), dtype=pl.Int64))
        docs, store = folder / "data_docs", folder / "gx"
        if suite == "monthly":
            gate = statistics.run_gate(frame, docs, store, "mutants", lang="en")
        else:
            gate = totals.run_gate(frame, docs, store, "mutants", lang="en")
        for finding in gate.findings:
            if finding.file_id is not None:
                outcomes[finding.file_id].findings.append(finding)
    return outcomes
