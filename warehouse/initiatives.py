"""NHI initiative uptake (取組状況 N/M市町村) in the warehouse: how a parsed batch's rows become
initiative_uptake rows (written by warehouse.kpi_loads with the targets and actuals, one transaction,
corrections audited in kpi_audit), and the reads of the `initiatives` command and the prefecture report:
the printed uptake, and each municipality's target setting (目標設定状況) as the loaded targets and
notes tell it."""

from __future__ import annotations

from typing import Any

import polars as pl
import sqlalchemy as sa

from branchkpi.warehouse import schema

UPTAKE_KEY = ["unit_key", "fiscal_year", "section_ja", "label_ja"]
UPTAKE_VALUES = ["adopted", "total", "pct_printed", "note", "position"]
COLLECTION_RATE = "nhi_collection_rate"  # 現年分の保険料(税)収納率, the municipal target


def uptake_rows(parsed: pl.DataFrame) -> pl.DataFrame:
    """The parsed uptake rows (tasks.parse.initiatives) as initiative_uptake's columns."""
    return parsed.select(
        unit_key="reporting_unit",
        fiscal_year="fiscal_year",
        section_ja="section_ja",
        label_ja="label_ja",
        adopted="adopted",
        total="total",
        pct_printed="pct_printed",
        note="note",
        position=pl.col("source_row").cast(pl.Int32),
        source_file_id="file_id",
    )


def uptake(engine: sa.Engine, prefecture_code: str, fiscal_year: int) -> list[dict[str, Any]]:
    """The printed uptake of a prefecture's fiscal year in the printed order, with the file it came from."""
    u, f = schema.initiative_uptake, schema.landed_files
    query = (
        sa.select(
            u.c.section_ja,
            u.c.label_ja,
            u.c.fiscal_year,
            u.c.adopted,
            u.c.total,
            u.c.pct_printed,
            u.c.note,
            f.c.file_name.label("source_file"),
        )
        .join(f, f.c.id == u.c.source_file_id)
        .where(u.c.unit_key == prefecture_code, u.c.fiscal_year == fiscal_year)
        .order_by(u.c.source_file_id, u.c.position)  # as printed
    )
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def municipal_target_setting(engine: sa.Engine, prefecture_code: str, fiscal_year: int) -> list[dict[str, Any]]:
    """Each municipality of the prefecture (reporting units of kind municipality) with its reported
    target_setting (set / not_set from the 備考 file, or NULL) and whether a collection-rate target other
    than 未設定 is loaded for the fiscal year or a later one (a plan's targets run several years ahead)."""
    r, t = schema.reporting_units, schema.kpi_targets
    has_target = (
        sa.select(sa.literal(1))
        .where(
            t.c.unit_key == r.c.key,
            t.c.kpi_id == COLLECTION_RATE,
            t.c.fiscal_year >= fiscal_year,
            t.c.comparator != "not_set",
        )
        .exists()
    )
    query = (
        sa.select(r.c.key, r.c.name_ja, r.c.target_setting, has_target.label("has_target"))
        .where(r.c.kind == "municipality", r.c.prefecture_code == prefecture_code)
        .order_by(r.c.key)
    )
    with engine.connect() as conn:
        return [{**r._mapping, "has_target": bool(r.has_target)} for r in conn.execute(query)]


def prefecture_units(engine: sa.Engine, prefecture_code: str) -> list[str]:
    """The reporting-unit keys of the prefecture's municipalities (33:倉敷市 …)."""
    r = schema.reporting_units
    query = sa.select(r.c.key).where(r.c.kind == "municipality", r.c.prefecture_code == prefecture_code)
    with engine.connect() as conn:
        return sorted(row.key for row in conn.execute(query))
