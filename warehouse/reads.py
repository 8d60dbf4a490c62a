"""Reads: what the gate, the KPI refresh, ranking, reports, artifacts and the CLI read from the
warehouse, as frames typed from the schema (warehouse.frames) or as rows."""

from __future__ import annotations

from typing import Any

import polars as pl
import sqlalchemy as sa

from branchkpi.domain.fiscal import fiscal_month_index
from branchkpi.warehouse import schema
from branchkpi.warehouse.frames import STATISTICS, frame_schema, from_rows

MONTHLY_COLUMNS = [
    "region",
    "region_ja",
    "metric",
    "fiscal_year",
    "month",
    "value",
    "yoy_pct",
    "yoy_pct_printed",
    "fytd_months",
    "fytd_total",
    "fytd_average",
    "fytd_yoy_pct",
    "share_of_national_pct",
]


def monthly_kpis(
    engine: sa.Engine,
    region_code: str | None = None,
    fiscal_year: int | None = None,
    month: int | None = None,
    metric: str | None = None,
) -> list[dict[str, Any]]:
    k, r, s = schema.monthly_kpis, schema.regions, schema.monthly_stats
    query = (
        sa.select(
            r.c.name_romaji.label("region"),
            r.c.name_ja.label("region_ja"),
            k.c.metric,
            k.c.fiscal_year,
            k.c.month,
            k.c.value,
            k.c.yoy_pct,
            s.c.yoy_pct_printed,
            k.c.fytd_months,
            k.c.fytd_total,
            k.c.fytd_average,
            k.c.fytd_yoy_pct,
            k.c.share_of_national_pct,
        )
        .join(r, r.c.code == k.c.region_code)
        .outerjoin(
            s,
            sa.and_(
                s.c.region_code == k.c.region_code,
                s.c.metric == k.c.metric,
                s.c.fiscal_year == k.c.fiscal_year,
                s.c.month == k.c.month,
            ),
        )
    )
    if region_code is not None:
        query = query.where(k.c.region_code == region_code)
    if fiscal_year is not None:
        query = query.where(k.c.fiscal_year == fiscal_year)
    if month is not None:
        query = query.where(k.c.month == month)
    if metric is not None:
        query = query.where(k.c.metric == metric)
    with engine.connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(query)]
    rows.sort(
        key=lambda d: (
            d["region"] != "national",
            d["region"],
            d["metric"],
            d["fiscal_year"],
            fiscal_month_index(d["month"]),
        )
    )
    return rows


def table_counts(engine: sa.Engine) -> dict[str, int]:
    """Row count of every table: the proof that nothing was lost or half-loaded."""
    with engine.connect() as conn:
        return {
            t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
            for t in schema.metadata.sorted_tables
        }


def latest_period(engine: sa.Engine) -> tuple[int, int] | None:
    """The latest (fiscal_year, month) in the curated statistics."""
    s = schema.monthly_stats
    fiscal_order = sa.case((s.c.month >= 4, s.c.month - 3), else_=s.c.month + 9)
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(s.c.fiscal_year, s.c.month).order_by(s.c.fiscal_year.desc(), fiscal_order.desc()).limit(1)
        ).first()
    return (int(row.fiscal_year), int(row.month)) if row else None


def statistics(
    conn: sa.Connection | sa.Engine, first_fy: int, last_fy: int, region_codes: list[str] | None = None
) -> pl.DataFrame:
    """The curated monthly values of fiscal years first_fy..last_fy (region_code, metric, fiscal_year,
    month, value), optionally of some regions only."""
    t = schema.monthly_stats
    query = sa.select(*(t.c[c] for c in STATISTICS)).where(t.c.fiscal_year.between(first_fy, last_fy))
    if region_codes is not None:
        query = query.where(t.c.region_code.in_(region_codes))
    if isinstance(conn, sa.Engine):
        with conn.connect() as c:
            return from_rows(c.execute(query).all(), STATISTICS)
    return from_rows(conn.execute(query).all(), STATISTICS)


_REPORT_STATS = frame_schema(schema.monthly_kpis, "metric", "region_code", "fiscal_year", "month", "value", "yoy_pct")


def monthly_kpi_series(
    engine: sa.Engine, region_codes: list[str], first_fy: int, last_fy: int, metric_ids: list[str]
) -> pl.DataFrame:
    """Month-by-month values and 前年同月比 of some regions and metrics (a branch report's charts)."""
    k = schema.monthly_kpis
    query = sa.select(*(k.c[c] for c in _REPORT_STATS)).where(
        k.c.region_code.in_(region_codes), k.c.fiscal_year.between(first_fy, last_fy), k.c.metric.in_(metric_ids)
    )
    with engine.connect() as conn:
        return from_rows(conn.execute(query).all(), _REPORT_STATS)


_BRANCH_VALUES = {
    **frame_schema(schema.kpi_actuals, "unit_key"),
    **frame_schema(schema.reporting_units, "name_ja", "name_romaji"),
    **frame_schema(schema.kpi_actuals, "period", "value"),
}


def branch_kpi_values(engine: sa.Engine, kpi_id: str, fiscal_year: int) -> pl.DataFrame:
    """Every branch's actuals of a KPI in a fiscal year (all periods): unit_key, name_ja, name_romaji,
    period, value."""
    a, u = schema.kpi_actuals, schema.reporting_units
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(a.c.unit_key, u.c.name_ja, u.c.name_romaji, a.c.period, a.c.value)
            .join(u, u.c.key == a.c.unit_key)
            .where(a.c.kpi_id == kpi_id, a.c.fiscal_year == fiscal_year, u.c.kind == "branch")
        ).all()
    return from_rows(rows, _BRANCH_VALUES)


def kpi_texts(engine: sa.Engine, unit_key: str, fiscal_year: int) -> dict[str, str]:
    """The plan's own sentence per KPI (kpi_text_ja), where the unit's target file gave one."""
    t = schema.kpi_targets
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.c.kpi_id, t.c.kpi_text_ja).where(
                t.c.unit_key == unit_key, t.c.fiscal_year == fiscal_year, t.c.kpi_text_ja.is_not(None)
            )
        ).all()
    return {kpi_id: text for kpi_id, text in rows}


def target_fiscal_years(engine: sa.Engine) -> list[int]:
    """The fiscal years that have KPI targets, oldest first."""
    t = schema.kpi_targets
    with engine.connect() as conn:
        return [int(r[0]) for r in conn.execute(sa.select(t.c.fiscal_year).distinct().order_by(t.c.fiscal_year))]


def municipality_keys(engine: sa.Engine, name_ja: str) -> list[str]:
    """The reporting-unit keys of the municipalities of this name (33:倉敷市; one per prefecture)."""
    u = schema.reporting_units
    with engine.connect() as conn:
        query = sa.select(u.c.key).where(u.c.kind == "municipality", u.c.name_ja == name_ja).order_by(u.c.key)
        return [r.key for r in conn.execute(query)]


def statistics_coverage(engine: sa.Engine, fiscal_year: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """What a fiscal year holds per region and month: (region_code, month, metrics: how many of the
    six are in, warned: a batch that loaded them warned), and the (region_code, month) a correction
    replaced (monthly_stats_audit). One query each."""
    s, b, a = schema.monthly_stats, schema.ingest_batches, schema.monthly_stats_audit
    warned = sa.func.max(sa.case((b.c.status == "warned", 1), else_=0))
    with engine.connect() as conn:
        loaded = conn.execute(
            sa.select(s.c.region_code, s.c.month, sa.func.count(sa.distinct(s.c.metric)), warned)
            .join(b, b.c.id == s.c.batch_id)
            .where(s.c.fiscal_year == fiscal_year)
            .group_by(s.c.region_code, s.c.month)
        ).all()
        replaced = conn.execute(
            sa.select(a.c.region_code, a.c.month).where(a.c.fiscal_year == fiscal_year).distinct()
        ).all()
    loaded_frame = pl.DataFrame(
        [tuple(r) for r in loaded] or None,
        orient="row",
        schema={"region_code": pl.String, "month": pl.Int32, "metrics": pl.Int32, "warned": pl.Int32},
    )
    replaced_frame = pl.DataFrame(
        [tuple(r) for r in replaced] or None, orient="row", schema={"region_code": pl.String, "month": pl.Int32}
    )
    return loaded_frame, replaced_frame
