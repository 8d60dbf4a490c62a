"""Reads for reports, the CLI and artifacts."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from branchkpi.domain.fiscal import fiscal_month_index
from branchkpi.warehouse import schema

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
