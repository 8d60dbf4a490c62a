"""The quality gate of KPI targets and actuals (suites expectations/kpi.py): the parsed rows plus the
context columns the suites check (catalogue unit, value needed, percentages, months inside the
year), validated once per kind in the batch."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from branchkpi.domain import kpis
from branchkpi.domain.findings import Finding
from branchkpi.domain.target_rules import PREVIOUS_YEAR_COMPARATORS
from branchkpi.expectations import kpi as kpi_suites
from branchkpi.tasks.parse.batch import ParsedKpiBatch
from branchkpi.tasks.validate import kpi_context
from branchkpi.tasks.validate.gx import GateResult, merge, run_suite
from branchkpi.tasks.validate.initiatives import run_uptake_gate
from branchkpi.tasks.validate.kpi_names import NAMING_COLUMNS, resolve_names
from branchkpi.warehouse import kpi_gate_reads as kpi_reads

_NEEDS_VALUE = ["ge", "le", "eq", "count_ge", "count_le", "single_bid_composite"]
_UNIT_OF = {k.id: k.unit for k in kpis.CATALOGUE}


def _with_row_id(frame: pl.DataFrame) -> pl.DataFrame:
    missing = [c for c in NAMING_COLUMNS if c != "kpi_id_named" and c not in frame.columns]  # names not resolved
    frame = frame.with_columns(pl.lit(None, pl.String).alias(c) for c in missing)
    return frame.with_row_index("row_id").with_columns(pl.col("row_id").cast(pl.Int64))


def gate_inputs(batch: ParsedKpiBatch, engine: sa.Engine) -> tuple[ParsedKpiBatch, pl.DataFrame]:
    """What the gate needs from the warehouse, read once per batch: the batch with every KPI named by its
    plan's wording resolved against the units' loaded targets (tasks/validate/kpi_names.py), and the loaded
    actuals of the batch's units in its fiscal years and the year before (scale_jump)."""
    frames = (batch.targets, batch.actuals, batch.structure)
    units = sorted({u for f in frames for u in f["reporting_unit"].drop_nulls().unique().to_list()})
    by_text = any(
        f.filter(
            (pl.col("kpi_id").is_null() & (pl.col("kpi_raw") != ""))
            | (pl.col("kpi_text_ja").is_not_null() if "kpi_text_ja" in f.columns else pl.lit(False))
        ).height
        for f in frames
    )
    wordings = kpi_reads.loaded_wordings(engine, units) if by_text else pl.DataFrame(schema=kpi_reads.WORDINGS)
    batch = resolve_names(batch, wordings)
    years = {y for f in frames[:2] for y in f["fiscal_year"].drop_nulls().unique().to_list()}
    loaded = kpi_reads.loaded_actuals(engine, units, sorted(years | {y - 1 for y in years}))
    return batch, loaded


def _unit_expected() -> pl.Expr:
    return pl.col("kpi_id").replace_strict(_UNIT_OF, default=None, return_dtype=pl.String).alias("unit_expected")


def _figures(actuals: pl.DataFrame, loaded: pl.DataFrame | None, compared: pl.DataFrame) -> pl.DataFrame:
    stored = loaded if loaded is not None else pl.DataFrame(schema=kpi_reads.LOADED_ACTUALS)
    return kpi_context.figures(actuals, stored, compared["part"])


# a batch without actuals: nothing of its own to compare a target with
_NO_ACTUALS = {
    "part": pl.Int32,
    "reporting_unit": pl.String,
    "fiscal_year": pl.Int32,
    "period": pl.String,
    "kpi_id": pl.String,
    "unit": pl.String,
    "value": pl.Float64,
}


def targets_frame(
    targets: pl.DataFrame,
    actuals: pl.DataFrame | None = None,
    loaded_actuals: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The targets with the columns the suite checks: the unit the catalogue expects, whether a value
    is needed, the percentage to check against 0–100 and the KPI's range, its previous actual, and the
    fiscal year the sheet or title states."""
    needs_value = pl.col("comparator").is_in(_NEEDS_VALUE).fill_null(False)
    frame = _with_row_id(targets).with_columns(
        _unit_expected(),
        target_value_missing=needs_value & pl.col("target_value").is_null(),
        pct_value=pl.when(
            (pl.col("unit") == "pct") & ~pl.col("comparator").is_in(list(PREVIOUS_YEAR_COMPARATORS)).fill_null(False)
        ).then(pl.col("target_value")),
    )
    frame = kpi_context.with_plausible_range(frame, "target_value", pl.lit(False), needs_value)
    own = actuals if actuals is not None else pl.DataFrame(schema=_NO_ACTUALS)
    previous = _figures(own, loaded_actuals, targets)
    frame = kpi_context.with_previous(frame, previous, "target_value", pl.lit(12, pl.Int32))
    frame = frame.with_columns(scale_jump=pl.col("scale_jump") & needs_value)
    return kpi_context.with_stated_years(frame)


def actuals_frame(
    actuals: pl.DataFrame,
    loaded_actuals: pl.DataFrame | None = None,
    headers: dict[tuple[int, str], dict[str, str]] | None = None,
) -> pl.DataFrame:
    """The actuals with the columns the suite checks: as for targets, plus whether a month lies in the
    row's fiscal year, whether the 時点 lies in the period and the 期間 states the row's year, and the
    unit the figure's own cell says."""
    month = pl.col("period").str.extract(r"^\d{4}-(\d{2})$").cast(pl.Int32)
    year = pl.col("period").str.extract(r"^(\d{4})-\d{2}$").cast(pl.Int32)
    fiscal_year_of_month = pl.when(month < 4).then(year - 1).otherwise(year)  # fiscal.fiscal_year_of
    index = kpi_context.period_index(pl.col("period"))
    frame = _with_row_id(actuals).with_columns(
        _unit_expected(),
        pct_value=pl.when(pl.col("unit") == "pct").then(pl.col("value")),
        period_outside_fiscal_year=(month.is_not_null() & (fiscal_year_of_month != pl.col("fiscal_year"))).fill_null(
            False
        ),
        unit_disagrees=(pl.col("value_unit").is_not_null() & (pl.col("unit") != pl.col("value_unit"))).fill_null(False),
    )
    frame = kpi_context.with_plausible_range(frame, "value", index.fill_null(12) < 12, pl.lit(True))
    frame = kpi_context.with_previous(frame, _figures(actuals, loaded_actuals, actuals), "value", index)
    frame = kpi_context.headed(frame, headers or {}, {"年度": "fiscal_year", "期間": "period"})
    frame = kpi_context.with_stated_years(frame, pl.col("h_期間"))
    frame = kpi_context.with_as_of_agreement(frame, pl.col("h_年度"), pl.col("h_期間"))
    return frame.drop("h_年度", "h_期間")


def run_kpi_gate(
    targets: pl.DataFrame,
    actuals: pl.DataFrame,
    data_docs_dir: Path,
    gx_dir: Path,
    run_name: str,
    lang: str = "ja",
    structure: pl.DataFrame | None = None,
    uptake: pl.DataFrame | None = None,
    loaded_actuals: pl.DataFrame | None = None,
    headers: dict[tuple[int, str], dict[str, str]] | None = None,
) -> GateResult:
    """Validate a batch's targets, actuals and plan structure (each kind present, once). `loaded_actuals`:
    the warehouse's actuals of the batch's units and years and the year before
    (warehouse.kpi_gate_reads.loaded_actuals); `headers`: the files' headers, so findings name them."""
    suites = []
    if structure is not None and structure.height:
        suites.append((_with_row_id(structure), kpi_suites.STRUCTURE_SUITE, kpi_suites.structure_rules()))
    if targets.height:
        frame = targets_frame(targets, actuals, loaded_actuals)
        suites.append((frame, kpi_suites.TARGETS_SUITE, kpi_suites.target_rules()))
    if actuals.height:
        frame = actuals_frame(actuals, loaded_actuals, headers)
        suites.append((frame, kpi_suites.ACTUALS_SUITE, kpi_suites.actual_rules()))
    gates = [run_suite(frame, name, rules, data_docs_dir, gx_dir, run_name, lang) for frame, name, rules in suites]
    if uptake is not None and uptake.height:  # NHI initiative uptake (取組状況): tasks/validate/initiatives.py
        gates.append(run_uptake_gate(uptake, data_docs_dir, gx_dir, run_name, lang))
    gate = merge(*gates)
    gate.findings = as_headed(gate.findings, headers or {})
    return gate


# a finding's column (the suite's name for it) → the roles whose header the file wrote for it, in order
_SHOWN_AS = {
    "branch": ("branch", "municipality"),
    "fiscal_year": ("fiscal_year",),
    "kpi_id": ("kpi_id", "kpi_text_ja"),
    "unit": ("unit", "value", "target_text"),
    "value": ("value", "target_value", "target_text"),
    "target_value": ("target_value", "target_text"),
    "comparator": ("comparator", "target_text"),
    "period": ("period",),
    "as_of": ("as_of",),
    "group_ja": ("group_ja",),
    "item_ja": ("item_ja",),
}


def as_headed(findings: list[Finding], headers: dict[tuple[int, str], dict[str, str]]) -> list[Finding]:
    """Findings name the column as the sender headed it (`実績`, `時点`), not the suite's (`value`)."""
    out = []
    for f in findings:
        written = headers.get((f.file_id, f.sheet or ""), {}) if f.file_id is not None else {}
        roles = _SHOWN_AS.get(f.column_name or "", ())
        header = next((written[r] for r in roles if r in written), None)
        out.append(replace(f, column_name=header) if header else f)
    return out
