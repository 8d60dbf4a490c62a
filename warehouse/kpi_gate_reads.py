"""What the KPI gate reads from the warehouse: the plan wordings loaded with the units' targets (a KPI
named by its plan's wording resolves against them) and the actuals already loaded (a figure is
compared with its previous year's: scale_jump)."""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from branchkpi.warehouse import schema
from branchkpi.warehouse.frames import frame_schema, from_rows

# Beyond this many units a filter by unit would be a huge IN list: the fiscal years alone filter then.
_MAX_UNITS_FILTERED = 500

WORDINGS = frame_schema(schema.kpi_targets, "unit_key", "fiscal_year", "kpi_id", "kpi_text_ja")
LOADED_ACTUALS = frame_schema(schema.kpi_actuals, "unit_key", "fiscal_year", "period", "kpi_id", "unit", "value")


def _units(column: sa.ColumnElement[str], unit_keys: list[str] | None) -> list[sa.ColumnElement[bool]]:
    """The filter by unit: none for None (every unit) or for very many units."""
    if unit_keys is None:
        return []
    keys = sorted({k for k in unit_keys if k})
    return [column.in_(keys)] if len(keys) <= _MAX_UNITS_FILTERED else []


def loaded_wordings(engine: sa.Engine, unit_keys: list[str] | None) -> pl.DataFrame:
    """unit_key, fiscal_year, kpi_id, kpi_text_ja of every loaded target of these units (None: all) with a
    wording."""
    t = schema.kpi_targets
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.c.unit_key, t.c.fiscal_year, t.c.kpi_id, t.c.kpi_text_ja).where(
                t.c.kpi_text_ja.is_not(None), *_units(t.c.unit_key, unit_keys)
            )
        ).all()
    return from_rows(rows, WORDINGS)


def loaded_actuals(engine: sa.Engine, unit_keys: list[str] | None, fiscal_years: list[int]) -> pl.DataFrame:
    """unit_key, fiscal_year, period, kpi_id, unit, value of the loaded actuals of these units in these
    fiscal years."""
    a = schema.kpi_actuals
    years = sorted({y for y in fiscal_years if y is not None})
    if not years:
        return from_rows([], LOADED_ACTUALS)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(a.c.unit_key, a.c.fiscal_year, a.c.period, a.c.kpi_id, a.c.unit, a.c.value).where(
                a.c.fiscal_year.between(years[0], years[-1]), *_units(a.c.unit_key, unit_keys)
            )
        ).all()
    return from_rows(rows, LOADED_ACTUALS).filter(pl.col("fiscal_year").is_in(years))
