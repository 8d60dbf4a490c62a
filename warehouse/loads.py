"""Loads of the monthly statistics into the curated tables: idempotent, corrective, all-or-nothing;
the quarantine; and the KPI tables' refresh.

A batch is written in one transaction: new values are inserted, changed values replace the old ones
and the old ones go to `monthly_stats_audit` (which file, its checksum via landed_files, when), equal
values are left alone. Ingesting the same file twice therefore changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl
import sqlalchemy as sa

from branchkpi.domain.findings import Finding
from branchkpi.warehouse import schema
from branchkpi.warehouse.batches import mark_files_loaded
from branchkpi.warehouse.bulk import bulk_write, upsert
from branchkpi.warehouse.engine import write_transaction
from branchkpi.warehouse.frames import STATS_KEY, frame_schema, from_rows

KEY = STATS_KEY
TOTALS_KEY = ["region_code", "metric", "fiscal_year"]
_EXISTING = frame_schema(
    schema.monthly_stats,
    *KEY,
    old_value="value",
    old_yoy="yoy_pct_printed",
    old_file_id="source_file_id",
    old_batch_id="batch_id",
    old_loaded_at="loaded_at",
)
_EXISTING_TOTALS = frame_schema(schema.reported_fiscal_year_totals, *TOTALS_KEY, _value="value", _yoy="yoy_pct_printed")


@dataclass
class LoadResult:
    inserted: int
    replaced: int
    unchanged: int
    totals_loaded: int
    fiscal_years: list[int]
    # per fiscal year: [inserted, replaced, unchanged], so a backfill can book each year of one batch
    by_fiscal_year: dict[int, list[int]] = field(default_factory=dict)


def _existing(conn: sa.Connection, batch: pl.DataFrame) -> pl.DataFrame:
    t = schema.monthly_stats
    fys = batch["fiscal_year"].unique().to_list()
    regions = batch["region_code"].unique().to_list()
    rows = conn.execute(
        sa.select(
            t.c.region_code,
            t.c.metric,
            t.c.fiscal_year,
            t.c.month,
            t.c.value,
            t.c.yoy_pct_printed,
            t.c.source_file_id,
            t.c.batch_id,
            t.c.loaded_at,
        ).where(t.c.fiscal_year.in_(fys), t.c.region_code.in_(regions))
    ).all()
    return from_rows(rows, _EXISTING)


def _changed_totals(conn: sa.Connection, reported_totals: pl.DataFrame) -> pl.DataFrame:
    """Printed fiscal-year totals that are new or differ from what the warehouse holds."""
    totals = reported_totals.unique(subset=TOTALS_KEY, keep="last")
    if totals.height == 0:
        return totals
    t = schema.reported_fiscal_year_totals
    rows = conn.execute(
        sa.select(t.c.region_code, t.c.metric, t.c.fiscal_year, t.c.value, t.c.yoy_pct_printed).where(
            t.c.fiscal_year.in_(totals["fiscal_year"].unique().to_list())
        )
    ).all()
    existing = from_rows(rows, _EXISTING_TOTALS)
    return (
        totals.join(existing, on=TOTALS_KEY, how="left")
        .filter(~pl.col("value").eq_missing(pl.col("_value")) | ~pl.col("yoy_pct_printed").eq_missing(pl.col("_yoy")))
        .drop("_value", "_yoy")
    )


def load_statistics(
    engine: sa.Engine,
    observations: pl.DataFrame,
    reported_totals: pl.DataFrame,
    batch_id: str,
    file_ids: list[int],
) -> LoadResult:
    """Write a batch that passed the gate. Raises on database errors; nothing is half-written."""
    now = datetime.now(UTC)
    batch = observations.select(
        *KEY, "value", pl.col("yoy_pct_printed"), pl.col("file_id").alias("source_file_id")
    ).unique(subset=KEY, keep="last")
    with write_transaction(engine) as conn:
        existing = _existing(conn, batch) if batch.height else _existing(conn, batch.head(0))
        joined = batch.join(existing, on=KEY, how="left")
        is_new = pl.col("old_value").is_null()
        changed = ~is_new & (
            (pl.col("value") != pl.col("old_value")) | ~pl.col("yoy_pct_printed").eq_missing(pl.col("old_yoy"))
        )
        new_rows = joined.filter(is_new)
        changed_rows = joined.filter(changed)
        unchanged = joined.height - new_rows.height - changed_rows.height
        if changed_rows.height:
            audit = changed_rows.select(
                *KEY,
                previous_value=pl.col("old_value"),
                previous_yoy_pct_printed=pl.col("old_yoy"),
                previous_source_file_id=pl.col("old_file_id"),
                previous_batch_id=pl.col("old_batch_id"),
                previous_loaded_at=pl.col("old_loaded_at"),
                new_value=pl.col("value"),
                new_source_file_id=pl.col("source_file_id"),
            )
            bulk_write(conn, sa.insert(schema.monthly_stats_audit), audit, {"batch_id": batch_id, "replaced_at": now})
        columns = [*KEY, "value", "yoy_pct_printed", "source_file_id"]
        writes = pl.concat([new_rows, changed_rows]).select(columns)
        stamp = {"batch_id": batch_id, "loaded_at": now}
        # new rows inserted as they are (the write lock is held since `existing` was read), changed ones replace theirs
        bulk_write(conn, sa.insert(schema.monthly_stats), new_rows.select(columns), stamp)
        upsert(conn, schema.monthly_stats, changed_rows.select(columns), KEY, stamp)

        totals = _changed_totals(conn, reported_totals).select(
            *TOTALS_KEY,
            "value",
            "yoy_pct_printed",
            source_file_id=pl.col("file_id"),
        )
        upsert(conn, schema.reported_fiscal_year_totals, totals, TOTALS_KEY, stamp)

        stale = _years_with_stale_kpis(conn, batch["fiscal_year"].unique().to_list())
        mark_files_loaded(conn, file_ids, batch_id)
    touched = pl.concat([writes.select("fiscal_year"), totals.select("fiscal_year")])
    per_year = joined.group_by("fiscal_year").agg(
        inserted=is_new.sum(), replaced=changed.sum(), unchanged=(~is_new & ~changed).sum()
    )
    return LoadResult(
        inserted=new_rows.height,
        replaced=changed_rows.height,
        unchanged=unchanged,
        totals_loaded=totals.height,
        fiscal_years=sorted(set(touched["fiscal_year"].unique().to_list()) | set(stale)),
        by_fiscal_year={int(fy): [int(i), int(r), int(u)] for fy, i, r, u in per_year.iter_rows()},
    )


def _years_with_stale_kpis(conn: sa.Connection, fiscal_years: list[int]) -> list[int]:
    """Fiscal years of the batch whose statistics were loaded after their KPIs were computed, or
    that have statistics but no KPIs: a run died between its load and its KPI step (SIGKILL, the
    warehouse lost). Recomputing them here is how the next run over the same files completes the
    batch, although it finds every value unchanged."""
    if not fiscal_years:
        return []
    stats, kpis = schema.monthly_stats, schema.fiscal_year_kpis
    loaded: dict[int, datetime] = dict(
        conn.execute(
            sa.select(stats.c.fiscal_year, sa.func.max(stats.c.loaded_at))
            .where(stats.c.fiscal_year.in_(fiscal_years))
            .group_by(stats.c.fiscal_year)
        )
        .tuples()
        .all()
    )
    computed: dict[int, datetime] = dict(
        conn.execute(
            sa.select(kpis.c.fiscal_year, sa.func.min(kpis.c.computed_at))
            .where(kpis.c.fiscal_year.in_(fiscal_years))
            .group_by(kpis.c.fiscal_year)
        )
        .tuples()
        .all()
    )
    return sorted(int(fy) for fy, at in loaded.items() if fy not in computed or computed[fy] < at)


def quarantine(
    engine: sa.Engine, batch_id: str, findings: list[Finding], refused_cells: list[dict[str, Any]] | None = None
) -> int:
    """Record every finding of a batch (critical and warnings) in quarantined_rows and, when the batch
    is refused, the coverage cells (kind, unit, fiscal_year, period) it would have filled: one write each."""
    if not findings:
        return 0
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = [{**f.as_row(), "batch_id": batch_id, "quarantined_at": now} for f in findings]
    with engine.begin() as conn:
        conn.execute(sa.insert(schema.quarantined_rows), rows)
        if refused_cells:
            conn.execute(sa.insert(schema.refused_cells), [{**c, "batch_id": batch_id} for c in refused_cells])
    return len(rows)


def replace_kpis(conn: sa.Connection, first: int, last: int, monthly: pl.DataFrame, yearly: pl.DataFrame) -> None:
    """Replace the KPI tables' rows of fiscal years first..last (inside the caller's write transaction)."""
    now = datetime.now(UTC)
    for table in (schema.monthly_kpis, schema.fiscal_year_kpis):
        conn.execute(sa.delete(table).where(table.c.fiscal_year.between(first, last)))
    if monthly.height:
        bulk_write(conn, sa.insert(schema.monthly_kpis), monthly, {"computed_at": now})
    if yearly.height:
        bulk_write(conn, sa.insert(schema.fiscal_year_kpis), yearly, {"computed_at": now})
