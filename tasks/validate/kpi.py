"""The quality gate of KPI targets and actuals (suites expectations/kpi.py): the parsed rows plus the
context columns the suites check (catalogue unit, value needed, percentages, months inside the
year), validated once per kind in the batch."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from branchkpi.domain import kpis
from branchkpi.domain.target_rules import PREVIOUS_YEAR_COMPARATORS
from branchkpi.expectations import kpi as kpi_suites
from branchkpi.tasks.validate.gx import GateResult, merge, run_suite
from branchkpi.tasks.validate.initiatives import run_uptake_gate

_NEEDS_VALUE = ["ge", "le", "eq", "count_ge", "count_le", "single_bid_composite"]
_UNIT_OF = {k.id: k.unit for k in kpis.CATALOGUE}


def _with_row_id(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_row_index("row_id").with_columns(pl.col("row_id").cast(pl.Int64))


def _unit_expected() -> pl.Expr:
    return pl.col("kpi_id").replace_strict(_UNIT_OF, default=None, return_dtype=pl.String).alias("unit_expected")


def targets_frame(targets: pl.DataFrame) -> pl.DataFrame:
    return _with_row_id(targets).with_columns(
        _unit_expected(),
        target_value_missing=pl.col("comparator").is_in(_NEEDS_VALUE).fill_null(False)
        & pl.col("target_value").is_null(),
        pct_value=pl.when(
            (pl.col("unit") == "pct") & ~pl.col("comparator").is_in(list(PREVIOUS_YEAR_COMPARATORS)).fill_null(False)
        ).then(pl.col("target_value")),
    )


def actuals_frame(actuals: pl.DataFrame) -> pl.DataFrame:
    month = pl.col("period").str.extract(r"^\d{4}-(\d{2})$").cast(pl.Int32)
    year = pl.col("period").str.extract(r"^(\d{4})-\d{2}$").cast(pl.Int32)
    fiscal_year_of_month = pl.when(month < 4).then(year - 1).otherwise(year)  # fiscal.fiscal_year_of
    return _with_row_id(actuals).with_columns(
        _unit_expected(),
        pct_value=pl.when(pl.col("unit") == "pct").then(pl.col("value")),
        period_outside_fiscal_year=(month.is_not_null() & (fiscal_year_of_month != pl.col("fiscal_year"))).fill_null(
            False
        ),
    )


def run_kpi_gate(
    targets: pl.DataFrame,
    actuals: pl.DataFrame,
    data_docs_dir: Path,
    gx_dir: Path,
    run_name: str,
    lang: str = "ja",
    structure: pl.DataFrame | None = None,
    uptake: pl.DataFrame | None = None,
) -> GateResult:
    """Validate a batch's targets, actuals and plan structure (each kind present, once)."""
    gates = []
    if structure is not None and structure.height:
        gates.append(
            run_suite(
                _with_row_id(structure),
                kpi_suites.STRUCTURE_SUITE,
                kpi_suites.structure_rules(),
                data_docs_dir,
                gx_dir,
                run_name,
                lang,
            )
        )
    if targets.height:
        gates.append(
            run_suite(
                targets_frame(targets),
                kpi_suites.TARGETS_SUITE,
                kpi_suites.target_rules(),
                data_docs_dir,
                gx_dir,
                run_name,
                lang,
            )
        )
    if actuals.height:
        gates.append(
            run_suite(
                actuals_frame(actuals),
                kpi_suites.ACTUALS_SUITE,
                kpi_suites.actual_rules(),
                data_docs_dir,
                gx_dir,
                run_name,
                lang,
            )
        )
    if uptake is not None and uptake.height:  # NHI initiative uptake (取組状況): tasks/validate/initiatives.py
        gates.append(run_uptake_gate(uptake, data_docs_dir, gx_dir, run_name, lang))
    return merge(*gates)
