"""KPIs from the curated monthly statistics, with polars over whole frames.

Per region × metric × month: 前年同月比 (yoy_pct), fiscal-year-to-date total and average (年度累計) and
their YoY against the same months a year before, the national value and the branch's share of it.
Per fiscal year: months present, 合計 (total), average, the metric's fiscal-year figure (total for
flows, average for stocks) and its YoY. Two derived metrics: members (加入者 = 被保険者 + 被扶養者)
and insurance benefits per member (yen)."""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from branchkpi.domain import metrics
from branchkpi.domain.regions import NATIONAL_CODE
from branchkpi.warehouse import loads, reads
from branchkpi.warehouse.engine import write_transaction
from branchkpi.warehouse.frames import STATS_KEY

KEY = STATS_KEY


def with_derived_metrics(stats: pl.DataFrame) -> pl.DataFrame:
    """Add members and insurance_benefits_per_member_yen rows where their inputs are present."""
    wide = stats.filter(pl.col("metric").is_in(["insured_persons", "dependents", "insurance_benefits"])).pivot(
        on="metric", index=["region_code", "fiscal_year", "month"], values="value"
    )
    for m in ("insured_persons", "dependents", "insurance_benefits"):
        if m not in wide.columns:
            wide = wide.with_columns(pl.lit(None, pl.Float64).alias(m))
    members = pl.col("insured_persons") + pl.col("dependents")
    derived = (
        wide.select(
            "region_code",
            "fiscal_year",
            "month",
            members=members,
            insurance_benefits_per_member_yen=pl.col("insurance_benefits")
            * metrics.INSURANCE_BENEFITS_YEN_PER_UNIT
            / members,
        )
        .unpivot(index=["region_code", "fiscal_year", "month"], variable_name="metric", value_name="value")
        .drop_nulls("value")
    )
    return pl.concat([stats, derived.select(stats.columns)], how="vertical_relaxed")


def monthly_kpis(stats: pl.DataFrame) -> pl.DataFrame:
    """One row per region × metric × fiscal year × month with every monthly KPI."""
    capped = [m.id for m in metrics.BY_ID.values() if m.capped_by_national]
    sums = [m.id for m in metrics.BY_ID.values() if m.aggregation == "sum"]
    frame = (
        with_derived_metrics(stats)
        .with_columns(_fm=((pl.col("month") - 4) % 12 + 1))
        .sort("region_code", "metric", "fiscal_year", "_fm")
        .with_columns(
            fytd_months=pl.col("value").cum_count().over("region_code", "metric", "fiscal_year").cast(pl.Int16),
            fytd_total=pl.col("value").cum_sum().over("region_code", "metric", "fiscal_year"),
        )
        .with_columns(fytd_average=pl.col("fytd_total") / pl.col("fytd_months"))
    )
    previous = frame.select(
        "region_code",
        "metric",
        (pl.col("fiscal_year") + 1).alias("fiscal_year"),
        "month",
        prev_year_value=pl.col("value"),
        _prev_fytd_months=pl.col("fytd_months"),
        _prev_fytd_total=pl.col("fytd_total"),
        _prev_fytd_average=pl.col("fytd_average"),
    )
    national = frame.filter(pl.col("region_code") == NATIONAL_CODE).select(
        "metric", "fiscal_year", "month", national_value=pl.col("value")
    )
    is_sum = pl.col("metric").is_in(sums)
    fytd_now = pl.when(is_sum).then(pl.col("fytd_total")).otherwise(pl.col("fytd_average"))
    fytd_prev = pl.when(is_sum).then(pl.col("_prev_fytd_total")).otherwise(pl.col("_prev_fytd_average"))
    return (
        frame.join(previous, on=KEY, how="left")
        .join(national, on=["metric", "fiscal_year", "month"], how="left")
        .with_columns(
            yoy_pct=_pct_change(pl.col("value"), pl.col("prev_year_value")),
            fytd_yoy_pct=pl.when(pl.col("_prev_fytd_months") == pl.col("fytd_months")).then(
                _pct_change(fytd_now, fytd_prev)
            ),
            share_of_national_pct=pl.when(pl.col("metric").is_in(capped) & (pl.col("national_value") > 0)).then(
                pl.col("value") / pl.col("national_value") * 100
            ),
        )
        .select(
            *KEY,
            "value",
            "prev_year_value",
            "yoy_pct",
            "fytd_months",
            "fytd_total",
            "fytd_average",
            "fytd_yoy_pct",
            "national_value",
            "share_of_national_pct",
        )
        .sort(KEY)
    )


def fiscal_year_kpis(stats: pl.DataFrame) -> pl.DataFrame:
    """One row per region × metric × fiscal year: 合計, average, the fiscal-year figure and its YoY."""
    capped = [m.id for m in metrics.BY_ID.values() if m.capped_by_national]
    sums = [m.id for m in metrics.BY_ID.values() if m.aggregation == "sum"]
    years = (
        with_derived_metrics(stats)
        .group_by("region_code", "metric", "fiscal_year")
        .agg(months=pl.len().cast(pl.Int16), total=pl.col("value").sum(), average=pl.col("value").mean())
        .with_columns(
            complete=pl.col("months") == 12,
            value=pl.when(pl.col("metric").is_in(sums)).then(pl.col("total")).otherwise(pl.col("average")),
        )
    )
    previous = years.filter(pl.col("complete")).select(
        "region_code", "metric", (pl.col("fiscal_year") + 1).alias("fiscal_year"), prev_year_value=pl.col("value")
    )
    national = years.filter(pl.col("region_code") == NATIONAL_CODE).select(
        "metric", "fiscal_year", national=pl.col("value")
    )
    return (
        years.join(previous, on=["region_code", "metric", "fiscal_year"], how="left")
        .join(national, on=["metric", "fiscal_year"], how="left")
        .with_columns(
            prev_year_value=pl.when(pl.col("complete")).then(pl.col("prev_year_value")),
        )
        .with_columns(
            yoy_pct=_pct_change(pl.col("value"), pl.col("prev_year_value")),
            share_of_national_pct=pl.when(pl.col("metric").is_in(capped) & (pl.col("national") > 0)).then(
                pl.col("value") / pl.col("national") * 100
            ),
        )
        .select(
            "region_code",
            "metric",
            "fiscal_year",
            "months",
            "complete",
            "total",
            "average",
            "value",
            "prev_year_value",
            "yoy_pct",
            "share_of_national_pct",
        )
        .sort("region_code", "metric", "fiscal_year")
    )


def _pct_change(now: pl.Expr, before: pl.Expr) -> pl.Expr:
    return pl.when(before > 0).then((now / before - 1) * 100)


def refresh_kpis(engine: sa.Engine, fiscal_years: list[int]) -> dict[str, int]:
    """Recompute the KPI tables for these fiscal years and the year after each (whose YoY depends
    on them), replacing their rows in one transaction under the write lock. Returns row counts
    written per table."""
    if not fiscal_years:
        return {"monthly_kpis": 0, "fiscal_year_kpis": 0}
    first, last = min(fiscal_years), max(fiscal_years) + 1
    with write_transaction(engine) as conn:
        stats = reads.statistics(conn, first - 1, last)
        monthly = monthly_kpis(stats).filter(pl.col("fiscal_year").is_between(first, last))
        yearly = fiscal_year_kpis(stats).filter(pl.col("fiscal_year").is_between(first, last))
        loads.replace_kpis(conn, first, last, monthly, yearly)
    return {"monthly_kpis": monthly.height, "fiscal_year_kpis": yearly.height}
