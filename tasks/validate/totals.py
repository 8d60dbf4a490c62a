"""The printed fiscal-year figures (合計 / 年度平均) against the months they sum or average, batch and
warehouse together (suite expectations/printed_totals.py): `validation_frame` adds the months' sum and
mean and how far the printed figure is from them beyond rounding; `run_gate` validates that frame once."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import sqlalchemy as sa

from branchkpi.domain import metrics
from branchkpi.expectations import printed_totals
from branchkpi.tasks.validate import plausibility
from branchkpi.tasks.validate.gx import GateResult, run_suite
from branchkpi.warehouse import reads

MONTHS = 12
GROUP = ["region_code", "metric", "fiscal_year"]
MONTH_KEY = [*GROUP, "month"]


def validation_frame(reported_totals: pl.DataFrame, observations: pl.DataFrame, engine: sa.Engine) -> pl.DataFrame:
    """The printed totals with row_id, the sum and mean of their fiscal year's months (the batch's
    value where it has one, else the warehouse's) and the excess of the printed figure over rounding."""
    years = reported_totals["fiscal_year"].drop_nulls().unique().to_list()
    stored = reads.statistics(engine, min(years), max(years)) if years else None
    return frame_with_months(reported_totals, observations, stored)


def frame_with_months(
    reported_totals: pl.DataFrame, observations: pl.DataFrame, stored: pl.DataFrame | None
) -> pl.DataFrame:
    """validation_frame on the stored months given as a frame: a pure function of the batch and history."""
    totals = reported_totals.with_row_index("row_id").with_columns(pl.col("row_id").cast(pl.Int64))
    unit = pl.col("printed_unit").fill_null(1.0) if "printed_unit" in observations.columns else pl.lit(1.0)
    batch = (
        observations.select(*MONTH_KEY, "value", unit.alias("printed_unit"))
        .drop_nulls()
        .unique(subset=MONTH_KEY, keep="last")
    )
    if stored is not None:
        stored = stored.select(*MONTH_KEY, "value").with_columns(printed_unit=pl.lit(1.0))
    months = batch if stored is None else pl.concat([stored.join(batch, on=MONTH_KEY, how="anti"), batch])
    per_year = months.group_by(GROUP).agg(
        months_in=pl.col("month").n_unique(),
        months_sum=pl.col("value").sum(),
        months_mean=pl.col("value").mean(),
        _months_rounding=pl.col("printed_unit").sum(),  # × 0.5 below: each month rounded to its last digit
    )
    summed = [m.id for m in metrics.METRICS if m.aggregation == "sum"]
    complete = pl.col("months_in") == MONTHS
    rounding = printed_totals.ROUNDING
    own = pl.col("printed_unit").fill_null(1.0) if "printed_unit" in totals.columns else pl.lit(1.0)
    totals = plausibility.range_columns(totals, fiscal_year_figures=True)
    return (
        totals.join(per_year, on=GROUP, how="left")
        .with_columns(
            printed_sum_excess=pl.when(complete & pl.col("metric").is_in(summed)).then(
                (pl.col("value") - pl.col("months_sum")).abs() - rounding * (pl.col("_months_rounding") + own) - 1e-9
            ),
            printed_mean_excess=pl.when(complete & ~pl.col("metric").is_in(summed)).then(
                (pl.col("value") - pl.col("months_mean")).abs()
                - rounding * (pl.col("_months_rounding") / MONTHS + own)
                - 1e-9
            ),
        )
        .drop("_months_rounding")
    )


def run_gate(frame: pl.DataFrame, data_docs_dir: Path, gx_dir: Path, run_name: str, lang: str = "ja") -> GateResult:
    """Validate a batch's printed totals once; a finding names the total's row, column and value."""
    return run_suite(frame, printed_totals.SUITE_NAME, printed_totals.rules(), data_docs_dir, gx_dir, run_name, lang)
