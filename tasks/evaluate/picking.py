"""The figures a target is judged on, picked over whole frames: its actual (the latest figure up to the
period's end: for the fiscal year the FY figure, else the latest dated one of the year), the previous
year's figure at the year's end and at the point the actual was measured, and the tender counts the
single-bid rule reads."""

from __future__ import annotations

import polars as pl

from branchkpi.domain.fiscal import fiscal_month_index
from branchkpi.warehouse.evaluations import EvaluationInputs

KEY = ["unit_key", "fiscal_year", "kpi_id"]
TENDERS = ("general_competitive_tender_count", "single_bid_tender_count")
FIGURE = {"value": pl.Float64, "unit": pl.String, "period": pl.String, "index": pl.Int32}


def period_end_index(period: str) -> int:
    """How many months of the fiscal year a period covers: FY 12, Qn 3n, YYYY-MM its fiscal month."""
    if period == "FY":
        return 12
    if period.startswith("Q"):
        return 3 * int(period[1:])
    return fiscal_month_index(int(period[5:7]))


def period_end_index_expr() -> pl.Expr:
    """period_end_index over a column (the same rule, for whole frames)."""
    period = pl.col("period")
    month = period.str.slice(5, 2).cast(pl.Int32, strict=False)
    return (
        pl.when(period == "FY")
        .then(12)
        .when(period.str.starts_with("Q"))
        .then(3 * period.str.slice(1).cast(pl.Int32, strict=False))
        .otherwise((month - 4) % 12 + 1)  # fiscal.fiscal_month_index
        .cast(pl.Int32)
    )


def latest(figures: pl.DataFrame, by: list[str], upto: int | str) -> pl.DataFrame:
    """Per group, the latest figure up to month `upto` (a number, or a column of the frame) of the
    year: the highest period index, FY beating Q4 and March."""
    limit = pl.col(upto) if isinstance(upto, str) else pl.lit(upto)
    return (
        figures.filter(pl.col("index") <= limit)
        .sort("index", "is_fy")
        .group_by(by)
        .agg(pl.col(*FIGURE).last())  # within a group, polars keeps the sorted order
    )


def prefixed(frame: pl.DataFrame, prefix: str) -> pl.DataFrame:
    return frame.rename({c: f"{prefix}_{c}" for c in FIGURE})


def pick(inputs: EvaluationInputs, upto: int) -> tuple[pl.DataFrame, dict[tuple[str, int, str], float]]:
    """Every target (a target_row each) with its actual_*, year_end_* and at_point_* figures (value,
    unit, period, index; NULL when there is none), and the tender counts by (unit, year, KPI)."""
    figures = inputs.actuals.with_columns(index=period_end_index_expr(), is_fy=pl.col("period") == "FY")
    targets = inputs.targets.with_row_index("target_row").with_columns(previous_year=pl.col("fiscal_year") - 1)
    now = prefixed(latest(figures, KEY, upto), "actual")
    year_end = prefixed(latest(figures, KEY, 12), "year_end").rename({"fiscal_year": "previous_year"})
    picked = targets.join(now, on=KEY, how="left").join(
        year_end, on=["unit_key", "previous_year", "kpi_id"], how="left"
    )
    # the previous year at the point the actual was measured (cumulative KPIs in the year)
    before = (
        picked.filter(pl.col("actual_index").is_not_null())
        .select("target_row", "unit_key", "previous_year", "kpi_id", "actual_index")
        .join(figures.rename({"fiscal_year": "previous_year"}), on=["unit_key", "previous_year", "kpi_id"])
    )
    at_point = prefixed(latest(before, ["target_row"], "actual_index"), "at_point")
    tenders = latest(figures.filter(pl.col("kpi_id").is_in(TENDERS)), KEY, upto)
    tender_counts = {(k, fy, kpi): v for k, fy, kpi, v in tenders.select(*KEY, "value").iter_rows()}
    return picked.join(at_point, on="target_row", how="left"), tender_counts
