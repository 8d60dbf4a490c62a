"""The quality gate of monthly statistics (suite expectations/monthly_stats.py): `validation_frame`
adds the context each rule needs, from the batch and the warehouse, as columns; `run_gate` validates
that frame once."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from branchkpi.domain import metrics
from branchkpi.domain.findings import Finding
from branchkpi.domain.regions import BRANCHES, NATIONAL_CODE
from branchkpi.expectations import monthly_stats
from branchkpi.tasks.parse.observations import Headers
from branchkpi.tasks.validate import plausibility
from branchkpi.tasks.validate.gx import GateResult, run_suite
from branchkpi.warehouse import frames, reads

KEY = monthly_stats.KEY_COLUMNS
YOY_PRINTED_PRECISION = 0.1  # 前年同月比 is printed to one decimal
# the 47 branches' sum against 全国: each of the 48 printed figures is rounded to a unit (±0.5)
BRANCH_SUM_TOLERANCE = 0.5 * (len(BRANCHES) + 1)


def _existing_stats(engine: sa.Engine, fiscal_years: list[int]) -> pl.DataFrame:
    """Curated values around the batch's fiscal years (one query)."""
    if not fiscal_years:
        return frames.empty(frames.STATISTICS)
    return reads.statistics(engine, min(fiscal_years) - 1, max(fiscal_years) + 1)


def validation_frame(
    observations: pl.DataFrame, engine: sa.Engine, as_of_fiscal_year: int | None = None
) -> pl.DataFrame:
    """The batch rows with row_id and the context columns the suite checks, the warehouse's figures
    around the batch's fiscal years read once."""
    fiscal_years = observations["fiscal_year"].drop_nulls().unique().to_list()
    return frame_with_context(observations, _existing_stats(engine, fiscal_years), as_of_fiscal_year)


def frame_with_context(
    observations: pl.DataFrame,
    existing: pl.DataFrame,
    as_of_fiscal_year: int | None = None,
    batches: tuple[str, ...] = (),
) -> pl.DataFrame:
    """validation_frame on the stored figures given as a frame (region_code, metric, fiscal_year, month,
    value): a pure function of the batch and its history. `batches`: columns of both frames that tell
    several batches apart, each validated against its own history in one call (the mutation tests)."""
    by = list(batches)
    key = [*KEY, *by]
    batch = observations.with_row_index("row_id").with_columns(pl.col("row_id").cast(pl.Int64))
    if "printed_unit" not in batch.columns:
        batch = batch.with_columns(printed_unit=pl.lit(1.0))
    batch = batch.with_columns(pl.col("printed_unit").fill_null(1.0))
    usable = batch.filter(pl.all_horizontal(pl.col(*KEY, "value").is_not_null())).select(*key, "value", "printed_unit")
    usable = usable.unique(subset=key, keep="last")
    stored = existing.select(*key, "value").with_columns(printed_unit=pl.lit(1.0))
    combined = pl.concat([stored.join(usable, on=key, how="anti"), usable], how="vertical")

    fy_months = combined.group_by("region_code", "metric", "fiscal_year", *by).agg(
        pl.col("month").n_unique().alias("_months")
    )
    latest = combined.group_by("region_code", "metric", *by).agg(pl.col("fiscal_year").max().alias("_latest_fy"))
    fy_months = (
        fy_months.join(latest, on=["region_code", "metric", *by])
        .with_columns(
            months_missing_in_closed_fy=pl.when(
                (pl.col("fiscal_year") < pl.col("_latest_fy"))
                | (pl.col("fiscal_year") < (as_of_fiscal_year if as_of_fiscal_year is not None else -1))
            )
            .then(12 - pl.col("_months"))
            .otherwise(0)
            .cast(pl.Int64)
        )
        .select("region_code", "metric", "fiscal_year", *by, "months_missing_in_closed_fy")
    )

    capped = [m.id for m in metrics.METRICS if m.capped_by_national]
    national = combined.filter(pl.col("region_code") == NATIONAL_CODE).select(
        "metric", "fiscal_year", "month", *by, pl.col("value").alias("national_value")
    )

    inputs = combined.filter(
        pl.col("metric").is_in(["insurance_benefits", "insured_persons", "dependents", "medical_cost_per_capita_yen"])
    ).pivot(on="metric", index=["region_code", "fiscal_year", "month", *by], values="value")
    for m in ("insurance_benefits", "insured_persons", "dependents", "medical_cost_per_capita_yen"):
        if m not in inputs.columns:
            inputs = inputs.with_columns(pl.lit(None, pl.Float64).alias(m))
    ratio = inputs.select(
        "region_code",
        "fiscal_year",
        "month",
        *by,
        pl.lit("medical_cost_per_capita_yen").alias("metric"),
        (
            pl.col("insurance_benefits")
            * metrics.INSURANCE_BENEFITS_YEN_PER_UNIT
            / (pl.col("insured_persons") + pl.col("dependents"))
            / pl.col("medical_cost_per_capita_yen")
        ).alias("benefits_to_medical_cost_ratio"),
    )

    previous = combined.select(
        "region_code",
        "metric",
        (pl.col("fiscal_year") + 1).alias("fiscal_year"),
        "month",
        *by,
        pl.col("value").alias("_prev_value"),
        pl.col("printed_unit").alias("_prev_unit"),
    )

    branch_sums = _branch_sums(combined, capped, batch, by)

    frame = (
        batch.join(fy_months, on=["region_code", "metric", "fiscal_year", *by], how="left", nulls_equal=False)
        .join(national, on=["metric", "fiscal_year", "month", *by], how="left")
        .join(ratio, on=["region_code", "metric", "fiscal_year", "month", *by], how="left")
        .join(previous, on=key, how="left")
        .join(branch_sums, on=key, how="left")
        .with_columns(
            months_missing_in_closed_fy=pl.col("months_missing_in_closed_fy").fill_null(0),
            national_value=pl.when(pl.col("metric").is_in(capped) & (pl.col("region_code") != NATIONAL_CODE)).then(
                pl.col("national_value")
            ),
            yoy_pct_computed=pl.when(pl.col("_prev_value") > 0).then(
                (pl.col("value") / pl.col("_prev_value") - 1) * 100
            ),
            benefits_to_medical_cost_ratio=pl.col("benefits_to_medical_cost_ratio").fill_nan(None),
            # every row of a key counted, the batch's own copies (two rows for one month: both named)
            copies_in_batch=pl.when(pl.all_horizontal(pl.col(*KEY).is_not_null()))
            .then(pl.len().over(key))
            .otherwise(1)
            .cast(pl.Int64),
        )
        .with_columns(yoy_printed_excess=_yoy_printed_excess())
        .drop("_prev_value", "_prev_unit")
        .sort("row_id")
    )
    frame = plausibility.range_columns(frame)
    frame = plausibility.ratio_columns(frame, combined, by)
    return plausibility.scale_jump_columns(frame, batch, existing, by).sort("row_id")


def _branch_sums(combined: pl.DataFrame, capped: list[str], batch: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """For each count or sum metric and month where all 47 branches and 全国 are in (batch and
    warehouse together), the branches' sum (branches_sum) and how far 全国 is from it beyond the
    rounding of the 48 printed figures (national_sum_excess, ≤ 0 when they agree). Keyed to the rows
    that answer for it: the batch's 全国 row, or, when 全国 came earlier, the batch's branch rows."""
    group = ["metric", "fiscal_year", "month", *by]
    rows = combined.filter(pl.col("metric").is_in(capped))
    national = rows.filter(pl.col("region_code") == NATIONAL_CODE).select(
        *group, pl.col("value").alias("_national"), pl.col("printed_unit").alias("_national_unit")
    )
    sums = (
        rows.filter(pl.col("region_code") != NATIONAL_CODE)
        .group_by(group)
        .agg(
            pl.col("value").sum().alias("branches_sum"),
            pl.col("region_code").n_unique().alias("_branches"),
            (0.5 * pl.col("printed_unit")).sum().alias("_rounding"),
        )
        .filter(pl.col("_branches") == len(BRANCHES))
        .join(national, on=group)
        .with_columns(
            national_sum_excess=(pl.col("_national") - pl.col("branches_sum")).abs()
            - pl.max_horizontal(pl.lit(BRANCH_SUM_TOLERANCE), pl.col("_rounding") + 0.5 * pl.col("_national_unit"))
        )
    )
    in_batch = batch.filter(pl.col("metric").is_in(capped)).select(*KEY, *by).drop_nulls().unique()
    national_in_batch = in_batch.filter(pl.col("region_code") == NATIONAL_CODE).select(group)
    answering = pl.concat(
        [
            in_batch.filter(pl.col("region_code") == NATIONAL_CODE),
            in_batch.filter(pl.col("region_code") != NATIONAL_CODE).join(national_in_batch, on=group, how="anti"),
        ]
    )
    return answering.join(sums.select(*group, "branches_sum", "national_sum_excess"), on=group)


def _yoy_printed_excess() -> pl.Expr:
    """How far the printed 前年同月比 is from the one the figures give, beyond what rounding explains
    (≤ 0 when they agree). The publisher prints one decimal computed from unrounded figures, so a
    difference of half a unit of that precision (0.05 point) passes, plus what the rounding of the two
    printed figures (±0.5 each) can move the ratio: 100 · 0.5 · (1/prev + value/prev²). The known
    half-way cases of the real series (≤ 0.052 point) pass; a figure typed wrong with its printed YoY
    copied right does not (260,511 typed 206,511: 20.8 points). A figure printed in a larger unit (千人)
    is rounded to that unit's last printed digit (its printed_unit): the rounding scales with it."""
    value, prev = pl.col("value"), pl.col("_prev_value")
    # a figure printed in 千人 to one decimal is rounded to 100 persons: its printed_unit
    unit = pl.max_horizontal(pl.col("printed_unit"), pl.col("_prev_unit").fill_null(1.0))
    rounding = 100 * 0.5 * unit * (1 / prev + value / (prev * prev))
    gap = (pl.col("yoy_pct_computed") - pl.col("yoy_pct_printed")).abs()
    return pl.when(prev > 0).then(gap - YOY_PRINTED_PRECISION / 2 - rounding - 1e-9)


def run_gate(
    frame: pl.DataFrame,
    data_docs_dir: Path,
    gx_dir: Path,
    run_name: str,
    yoy_warn_pct: float = 10.0,
    lang: str = "ja",
) -> GateResult:
    """Validate a batch of monthly statistics once; return findings for every failed row."""
    rule_list = monthly_stats.rules(yoy_warn_pct)
    return run_suite(frame, monthly_stats.SUITE_NAME, rule_list, data_docs_dir, gx_dir, run_name, lang)


def as_headed(findings: list[Finding], headers: Headers) -> list[Finding]:
    """Findings about a region, fiscal year or month name the column as the sender headed it (`年月`,
    `対象月`, `Period`), not the warehouse's column (`fiscal_year`)."""
    if not headers:
        return findings
    out = []
    for f in findings:
        written = headers.get((f.file_id, f.sheet), {}).get(f.column_name or "")
        out.append(replace(f, column_name=written) if written else f)
    return out
