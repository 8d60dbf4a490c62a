"""Loads of KPI targets and actuals: like the monthly statistics, idempotent, corrective with an
audit trail (kpi_audit: previous values, their file, the batch and time that replaced them), and one
transaction per batch. Municipalities named by a file become reporting units."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl
import sqlalchemy as sa

from branchkpi.warehouse import schema
from branchkpi.warehouse.batches import mark_files_loaded
from branchkpi.warehouse.bulk import bulk_write, upsert
from branchkpi.warehouse.engine import write_transaction
from branchkpi.warehouse.frames import frame_schema
from branchkpi.warehouse.initiatives import UPTAKE_KEY, UPTAKE_VALUES, uptake_rows

TARGET_KEY = ["unit_key", "fiscal_year", "kpi_id"]
TARGET_VALUES = ["comparator", "target_value", "unit", "target_text", "kpi_text_ja", "target_note", "organization"]
ACTUAL_KEY = ["unit_key", "fiscal_year", "period", "kpi_id"]
ACTUAL_VALUES = ["value", "unit", "as_of", "note"]
STRUCTURE_VALUES = ["group_ja", "item_no", "item_ja", "sub_item_no", "sub_item_ja", "position", "note"]


@dataclass
class KpiLoadResult:
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # table → inserted/replaced/unchanged
    units_added: int = 0
    fiscal_years: list[int] = field(default_factory=list)
    # every row that replaced a stored one: table, key, and each changed column's old and new value
    # (a target's plan text or its place in the plan too); the audit (kpi_audit) keeps the same
    replacements: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rows_loaded(self) -> int:
        return sum(c["inserted"] + c["replaced"] for c in self.counts.values())


def _write(
    conn: sa.Connection,
    table: sa.Table,
    frame: pl.DataFrame,
    key: list[str],
    values: list[str],
    batch_id: str,
    now: datetime,
    replacements: list[dict[str, Any]] | None = None,
) -> dict[str, int]:
    if frame.height == 0:
        return {"inserted": 0, "replaced": 0, "unchanged": 0}
    if frame.select(pl.struct(key).n_unique()).item() < frame.height:  # a key given twice: the last row counts
        frame = frame.unique(subset=key, keep="last", maintain_order=True)
    cols = [table.c[c] for c in (*key, *values, "source_file_id")]
    rows = conn.execute(
        sa.select(*cols).where(
            table.c.fiscal_year.in_(frame["fiscal_year"].unique().to_list()),
            table.c.unit_key.in_(frame["unit_key"].unique().to_list()),
        )
    ).all()
    existing = pl.DataFrame(rows, orient="row", schema=frame_schema(table, *(c.name for c in cols))).rename(
        {c: f"old_{c}" for c in (*values, "source_file_id")}
    )
    stamp = {"batch_id": batch_id, "loaded_at": now}
    if existing.height == 0:  # nothing of these years and units yet: every row is new (no join, no copy)
        bulk_write(conn, sa.insert(table), frame.select(*key, *values, "source_file_id"), stamp)
        return {"inserted": frame.height, "replaced": 0, "unchanged": 0}
    joined = frame.join(existing, on=key, how="left")
    is_new = pl.col("old_source_file_id").is_null()
    differs = pl.any_horizontal([~pl.col(c).eq_missing(pl.col(f"old_{c}")) for c in values])
    new_rows, changed = joined.filter(is_new), joined.filter(~is_new & differs)
    if changed.height:
        audit = [
            {
                "table_name": table.name,
                "row_key": json.dumps({k: r[k] for k in key}, ensure_ascii=False),
                "previous": json.dumps({c: r[f"old_{c}"] for c in values}, ensure_ascii=False),
                "new": json.dumps({c: r[c] for c in values}, ensure_ascii=False),
                "previous_source_file_id": r["old_source_file_id"],
                "new_source_file_id": r["source_file_id"],
                "batch_id": batch_id,
                "replaced_at": now,
            }
            for r in changed.iter_rows(named=True)
        ]
        bulk_write(conn, sa.insert(schema.kpi_audit), audit)
        if replacements is not None:
            replacements += [
                {
                    "table": table.name,
                    "key": {k: r[k] for k in key},
                    "changed": {c: (r[f"old_{c}"], r[c]) for c in values if r[f"old_{c}"] != r[c]},
                }
                for r in changed.iter_rows(named=True)
            ]
    # the new rows are inserted as they are (the write lock is held since `existing` was read), the
    # changed ones replace theirs
    columns = [*key, *values, "source_file_id"]
    bulk_write(conn, sa.insert(table), new_rows.select(columns), stamp)
    upsert(conn, table, changed.select(columns), key, stamp)
    unchanged = joined.height - new_rows.height - changed.height
    return {"inserted": new_rows.height, "replaced": changed.height, "unchanged": unchanged}


def _add_units(conn: sa.Connection, municipalities: list[dict[str, Any]]) -> int:
    """New municipalities are inserted; a notes file may set target_setting / note_ja of known ones."""
    if not municipalities:
        return 0
    known = {r.key: r for r in conn.execute(sa.select(schema.reporting_units))}
    new = [m for m in municipalities if m["key"] not in known]
    if new:
        conn.execute(sa.insert(schema.reporting_units), new)
    for m in municipalities:
        old = known.get(m["key"])
        if (
            old is not None
            and m.get("target_setting")
            and (old.target_setting, old.note_ja)
            != (
                m["target_setting"],
                m["note_ja"],
            )
        ):
            conn.execute(
                sa.update(schema.reporting_units)
                .where(schema.reporting_units.c.key == m["key"])
                .values(target_setting=m["target_setting"], note_ja=m["note_ja"])
            )
    return len(new)


def load_kpi_batch(
    engine: sa.Engine,
    targets: pl.DataFrame,
    actuals: pl.DataFrame,
    municipalities: list[dict[str, Any]],
    batch_id: str,
    file_ids: list[int],
    structure: pl.DataFrame | None = None,
    uptake: pl.DataFrame | None = None,
) -> KpiLoadResult:
    """One transaction: the municipalities the files name, then targets, actuals and the plan structure
    (分野 / 項目 / 小項目 of the targets), each upserted with its replaced values audited."""
    now = datetime.now(UTC)
    result = KpiLoadResult()
    t = targets.select(
        unit_key="reporting_unit",
        fiscal_year="fiscal_year",
        kpi_id="kpi_id",
        comparator="comparator",
        target_value="target_value",
        unit="unit",
        target_text="target_text",
        kpi_text_ja="kpi_text_ja",
        target_note="target_note",
        organization="organization",
        source_file_id="file_id",
    )
    a = actuals.select(
        unit_key="reporting_unit",
        fiscal_year="fiscal_year",
        period="period",
        kpi_id="kpi_id",
        value="value",
        unit="unit",
        as_of="as_of",
        note="note",
        source_file_id="file_id",
    )
    with write_transaction(engine) as conn:
        result.units_added = _add_units(conn, municipalities)
        result.counts["kpi_targets"] = _write(
            conn, schema.kpi_targets, t, TARGET_KEY, TARGET_VALUES, batch_id, now, result.replacements
        )
        result.counts["kpi_actuals"] = _write(
            conn, schema.kpi_actuals, a, ACTUAL_KEY, ACTUAL_VALUES, batch_id, now, result.replacements
        )
        if structure is not None and structure.height:
            s = structure.select(
                unit_key="reporting_unit",
                fiscal_year="fiscal_year",
                kpi_id="kpi_id",
                group_ja="group_ja",
                item_no="item_no",
                item_ja="item_ja",
                sub_item_no="sub_item_no",
                sub_item_ja="sub_item_ja",
                position="position",
                note="structure_note",
                source_file_id="file_id",
            )
            result.counts["kpi_plan_structure"] = _write(
                conn, schema.kpi_plan_structure, s, TARGET_KEY, STRUCTURE_VALUES, batch_id, now, result.replacements
            )
        if uptake is not None and uptake.height:  # NHI initiative uptake (取組状況 N/M市町村)
            result.counts["initiative_uptake"] = _write(
                conn, schema.initiative_uptake, uptake_rows(uptake), UPTAKE_KEY, UPTAKE_VALUES, batch_id, now
            )
        mark_files_loaded(conn, file_ids, batch_id)
    years = set(t["fiscal_year"].to_list()) | set(a["fiscal_year"].to_list())
    if structure is not None:
        years |= set(structure["fiscal_year"].to_list())
    result.fiscal_years = sorted(years)
    return result
