"""Cross-branch comparison of a KPI: each branch's deviation score (偏差値 = 50 + 10·(x − mean)/sd, the
population standard deviation, as in the association's incentive ranking) and its rank among the
branches that report the KPI for the fiscal year (1 = best; every ranked KPI is better higher)."""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from branchkpi.tasks.evaluate.picking import period_end_index
from branchkpi.warehouse import reads


def deviation_scores(values: pl.DataFrame) -> pl.DataFrame:
    """values: unit_key, value → adds deviation_score and rank (ties share the better rank)."""
    mean, sd = pl.col("value").mean(), pl.col("value").std(ddof=0)
    return values.with_columns(
        deviation_score=pl.when(sd > 0).then(50 + 10 * (pl.col("value") - mean) / sd).otherwise(50.0),
        rank=pl.col("value").rank(method="min", descending=True).cast(pl.Int32),
    ).sort("rank", "unit_key")


def rank_branches(engine: sa.Engine, kpi_id: str, fiscal_year: int) -> pl.DataFrame:
    """Every branch's latest figure of the KPI in the fiscal year, with its deviation score and rank."""
    frame = reads.branch_kpi_values(engine, kpi_id, fiscal_year)
    if frame.height == 0:
        return frame.with_columns(deviation_score=pl.lit(None, pl.Float64), rank=pl.lit(None, pl.Int32))
    latest = (
        frame.with_columns(_end=pl.col("period").map_elements(period_end_index, return_dtype=pl.Int32))
        .sort("unit_key", "_end", pl.col("period") == "FY")
        .group_by("unit_key", maintain_order=True)
        .last()
        .drop("_end")
    )
    return deviation_scores(latest)
