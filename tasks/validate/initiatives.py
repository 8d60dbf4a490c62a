"""The quality gate of NHI initiative uptake (取組状況, suite expectations/initiatives.py): the parsed
rows plus the context columns the suite checks: the percentage computed from adopted/total, whether the
printed one is readable and agrees with it at the printed precision."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from branchkpi.expectations import initiatives as uptake_suite
from branchkpi.tasks.validate.gx import GateResult, run_suite

# a float's own error must not fail an exact half (1/8 = 12.5 printed 13 or 12)
_EPSILON = 1e-9


def computed_pct() -> pl.Expr:
    """adopted/total in %, where both are known and total is above 0."""
    total = pl.col("total")
    return pl.when(total > 0).then(pl.col("adopted") * 100.0 / total)


def uptake_frame(uptake: pl.DataFrame) -> pl.DataFrame:
    computed = computed_pct()
    half_unit = 0.5 * pl.lit(10.0).pow(-pl.col("pct_decimals").cast(pl.Float64))
    off = (computed - pl.col("pct_printed")).abs() > half_unit + _EPSILON
    return (
        uptake.with_row_index("row_id")
        .with_columns(pl.col("row_id").cast(pl.Int64))
        .with_columns(
            pct_unreadable=(pl.col("pct_printed_raw") != "") & pl.col("pct_printed").is_null(),
            pct_inconsistent=off.fill_null(False),
            computed_pct=computed.round(2).cast(pl.String),  # shown in the finding as it reads: 74.07
        )
    )


def run_uptake_gate(
    uptake: pl.DataFrame, data_docs_dir: Path, gx_dir: Path, run_name: str, lang: str = "ja"
) -> GateResult:
    """Validate a batch's initiative uptake rows (one GX run over all of them)."""
    return run_suite(
        uptake_frame(uptake),
        uptake_suite.UPTAKE_SUITE,
        uptake_suite.uptake_rules(),
        data_docs_dir,
        gx_dir,
        run_name,
        lang,
    )
