"""Reads for the coverage grid beyond the statistics' own (reads.statistics_coverage): what a fiscal
year holds of KPI actuals per reporting unit and period, and the cells refused batches would have
filled (refused_cells). One query each."""

from __future__ import annotations

import json

import polars as pl
import sqlalchemy as sa

from branchkpi.warehouse import schema


def refused_cells(engine: sa.Engine, kind: str, fiscal_year: int) -> set[tuple[str, str]]:
    """(unit, period) of the cells a refused batch of this kind would have filled in the fiscal year."""
    r = schema.refused_cells
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(r.c.unit, r.c.period).where(r.c.kind == kind, r.c.fiscal_year == fiscal_year).distinct()
        ).all()
    return {(unit, period) for unit, period in rows}


def kpi_units(engine: sa.Engine, fiscal_year: int) -> pl.DataFrame:
    """The reporting units with targets in the fiscal year (unit_key, kind, name_ja, name_romaji) and
    how many KPIs they have targets for (kpis)."""
    u, t = schema.reporting_units, schema.kpi_targets
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(u.c.key, u.c.kind, u.c.name_ja, u.c.name_romaji, sa.func.count(sa.distinct(t.c.kpi_id)))
            .join(t, t.c.unit_key == u.c.key)
            .where(t.c.fiscal_year == fiscal_year)
            .group_by(u.c.key, u.c.kind, u.c.name_ja, u.c.name_romaji)
        ).all()
    schema_ = {
        "unit_key": pl.String,
        "kind": pl.String,
        "name_ja": pl.String,
        "name_romaji": pl.String,
        "kpis": pl.Int32,
    }
    return pl.DataFrame([tuple(r) for r in rows] or None, orient="row", schema=schema_)


def kpi_actuals_held(engine: sa.Engine, fiscal_year: int) -> tuple[pl.DataFrame, set[tuple[str, str]]]:
    """The fiscal year's KPI actuals of targeted KPIs as (unit_key, period, kpi_id, warned: the batch
    that loaded it warned), and the (unit_key, period) a correction replaced (kpi_audit)."""
    a, b, t, audit = schema.kpi_actuals, schema.ingest_batches, schema.kpi_targets, schema.kpi_audit
    targeted = (t.c.unit_key == a.c.unit_key) & (t.c.fiscal_year == a.c.fiscal_year) & (t.c.kpi_id == a.c.kpi_id)
    with engine.connect() as conn:
        held = conn.execute(  # only the KPIs the unit has a target for count
            sa.select(a.c.unit_key, a.c.period, a.c.kpi_id, sa.case((b.c.status == "warned", 1), else_=0))
            .join(b, b.c.id == a.c.batch_id)
            .join(t, targeted)
            .where(a.c.fiscal_year == fiscal_year)
        ).all()
        keys = conn.execute(sa.select(audit.c.row_key).where(audit.c.table_name == a.name)).scalars().all()
    replaced = set()
    for text in keys:
        key = json.loads(text)
        if key.get("fiscal_year") == fiscal_year:
            replaced.add((str(key["unit_key"]), str(key["period"])))
    frame = pl.DataFrame(
        [tuple(r) for r in held] or None,
        orient="row",
        schema={"unit_key": pl.String, "period": pl.String, "kpi_id": pl.String, "warned": pl.Int32},
    )
    return frame, replaced
