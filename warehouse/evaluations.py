"""Evaluations in the warehouse: what an evaluation reads (targets, actuals, reporting units), the
digest of those inputs, and the evaluation runs stored with every judgement (evaluation_runs,
kpi_evaluations), so an unchanged year's evaluation is reused and a changed mark can be explained."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl
import sqlalchemy as sa

from branchkpi.domain import kpis
from branchkpi.domain.target_rules import STATUS_ORDER
from branchkpi.warehouse import schema
from branchkpi.warehouse.bulk import bulk_write
from branchkpi.warehouse.frames import frame_schema, read_frame

TARGETS = frame_schema(
    schema.kpi_targets, "unit_key", "fiscal_year", "kpi_id", "comparator", "target_value", "unit", "target_text"
)
PLACES = frame_schema(
    schema.kpi_plan_structure, "group_ja", "item_no", "item_ja", "sub_item_no", "sub_item_ja", "position"
)
ACTUALS = frame_schema(schema.kpi_actuals, "unit_key", "fiscal_year", "kpi_id", "period", "value", "unit")
# a judgement as stored (kpi_evaluations without its run id and inputs)
ROW_COLUMNS = [
    "unit_key",
    "kpi_id",
    "fiscal_year",
    "period",
    "comparator",
    "target_value",
    "unit",
    "actual",
    "actual_period",
    "previous",
    "previous_period",
    "threshold",
    "status",
    "mark",
    "reason",
    "reason_ja",
    *PLACES,
    "item_mark",
]
SCOPE_LIMIT = 4000


@dataclass(frozen=True)
class EvaluationInputs:
    targets: pl.DataFrame  # TARGETS of the years, with their place in the plan (PLACES, NULL when not known)
    actuals: pl.DataFrame  # ACTUALS of the years and the years before them
    units: dict[str, dict[str, Any]]  # every reporting unit by key


def read_inputs(engine: sa.Engine, fiscal_years: list[int], unit_keys: list[str] | None) -> EvaluationInputs:
    t, a, u, s = schema.kpi_targets, schema.kpi_actuals, schema.reporting_units, schema.kpi_plan_structure
    years = sorted(set(fiscal_years))
    placed = (s.c.unit_key == t.c.unit_key) & (s.c.fiscal_year == t.c.fiscal_year) & (s.c.kpi_id == t.c.kpi_id)
    target_query = (
        sa.select(*(t.c[c] for c in TARGETS), *(s.c[c] for c in PLACES))
        .join(s, placed, isouter=True)
        .where(t.c.fiscal_year.in_(years))
    )
    actual_query = sa.select(*(a.c[c] for c in ACTUALS)).where(
        a.c.fiscal_year.in_(sorted({*years, *(y - 1 for y in years)}))
    )
    if unit_keys:
        target_query = target_query.where(t.c.unit_key.in_(unit_keys))
        actual_query = actual_query.where(a.c.unit_key.in_(unit_keys))
    with engine.connect() as conn:
        targets = read_frame(conn, target_query, {**TARGETS, **PLACES})
        actuals = read_frame(conn, actual_query, ACTUALS)
        units = {r.key: r._asdict() for r in conn.execute(sa.select(u))}
    return EvaluationInputs(targets, actuals, units)


def inputs_digests(
    engine: sa.Engine, fiscal_years: list[int], quarter: int | None, unit_keys: list[str] | None, rules_digest: str
) -> dict[int, str]:
    """Per fiscal year, a digest of everything its evaluation reads: which batches wrote how many of
    its targets and of its and the previous year's actuals (every load that changes a row stamps it
    with its batch), the reporting units, the period, the scope and the rules (`rules_digest`: their
    source code)."""
    t, a, u = schema.kpi_targets, schema.kpi_actuals, schema.reporting_units
    years = sorted(set(fiscal_years))
    loads: dict[tuple[str, int], list[str]] = {}
    with engine.connect() as conn:
        for name, table, wanted in (
            ("targets", t, years),
            ("places", schema.kpi_plan_structure, years),
            ("actuals", a, sorted({*years, *(y - 1 for y in years)})),
        ):
            query = (
                sa.select(table.c.fiscal_year, table.c.batch_id, sa.func.count(), sa.func.max(table.c.loaded_at))
                .where(table.c.fiscal_year.in_(wanted))
                .group_by(table.c.fiscal_year, table.c.batch_id)
                .order_by(table.c.fiscal_year, table.c.batch_id)
            )
            if unit_keys:
                query = query.where(table.c.unit_key.in_(unit_keys))
            for fiscal_year, batch_id, count, loaded_at in conn.execute(query):
                loads.setdefault((name, fiscal_year), []).append(f"{batch_id}:{count}:{loaded_at}")
        unit_rows = conn.execute(
            sa.select(
                u.c.key, u.c.name_ja, u.c.name_romaji, u.c.prefecture_code, u.c.target_setting, u.c.note_ja
            ).order_by(u.c.key)
        ).all()
    units = hashlib.sha256(repr([tuple(r) for r in unit_rows]).encode()).hexdigest()
    scope = ",".join(sorted(unit_keys)) if unit_keys else "*"
    digests = {}
    for y in years:
        parts = [
            rules_digest,
            f"q={quarter}",
            scope,
            units,
            *loads.get(("targets", y), []),
            "|",
            *loads.get(("places", y), []),
            "|",
            *loads.get(("actuals", y), []),
            "|",
            *loads.get(("actuals", y - 1), []),
        ]
        digests[y] = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return digests


@dataclass(frozen=True)
class StoredRun:
    run_id: str
    fiscal_year: int
    counts: dict[str, int]  # per status


def reusable_runs(engine: sa.Engine, digests: dict[int, str], quarter: int | None) -> dict[int, StoredRun]:
    """The latest stored evaluation of each fiscal year made from exactly the same inputs."""
    r = schema.evaluation_runs
    found: dict[int, StoredRun] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(r)
            .where(r.c.fiscal_year.in_(list(digests)), r.c.inputs_digest.in_(list(digests.values())))
            .order_by(r.c.created_at)
        ).all()
    for row in rows:  # oldest first: the latest wins
        if digests.get(row.fiscal_year) == row.inputs_digest and row.quarter == quarter:
            found[row.fiscal_year] = StoredRun(row.id, row.fiscal_year, {s: getattr(row, s) for s in STATUS_ORDER})
    return found


def stored_rows(engine: sa.Engine, evaluation_id: str) -> list[dict[str, Any]]:
    """The rows of a stored evaluation run, in the shape an evaluation gives them (missed first)."""
    e, t, u = schema.kpi_evaluations, schema.kpi_targets, schema.reporting_units
    query = (
        sa.select(e, u.c.name_ja, u.c.name_romaji, t.c.target_text)
        .join(u, u.c.key == e.c.unit_key, isouter=True)
        .join(
            t,
            (t.c.unit_key == e.c.unit_key) & (t.c.fiscal_year == e.c.fiscal_year) & (t.c.kpi_id == e.c.kpi_id),
            isouter=True,
        )
        .where(e.c.run_id == evaluation_id)
    )
    rows = []
    with engine.connect() as conn:
        for r in conn.execute(query):
            kpi = kpis.BY_ID.get(r.kpi_id)
            rows.append(
                {
                    **{c: getattr(r, c) for c in ROW_COLUMNS},
                    "unit_name": r.name_romaji or r.name_ja or r.unit_key,
                    "group": kpis.GROUPS[kpi.group] if kpi else "",
                    "target_text": r.target_text,
                    "inputs": json.loads(r.inputs),
                }
            )
    rows.sort(key=lambda r: (STATUS_ORDER[r["status"]], r["unit_key"], r["kpi_id"]))
    return rows


def store(
    engine: sa.Engine,
    rows: pl.DataFrame,
    counts: dict[str, int],
    fiscal_year: int,
    quarter: int | None,
    flow_run_id: str | None,
    inputs_digest: str | None = None,
) -> str:
    """Keep the run and every judgement (a frame of ROW_COLUMNS and `inputs`, the JSON of what the
    judgement read) in one bulk write; returns the run's id."""
    run_id = str(uuid.uuid4())
    units = rows["unit_key"].unique().sort().to_list()
    with engine.begin() as conn:
        conn.execute(
            sa.insert(schema.evaluation_runs).values(
                id=run_id,
                created_at=datetime.now(UTC),
                flow_run_id=flow_run_id,
                fiscal_year=fiscal_year,
                quarter=quarter,
                scope=",".join(units)[:SCOPE_LIMIT],
                evaluated=rows.height,
                inputs_digest=inputs_digest,
                **counts,
            )
        )
        if rows.height:
            bulk_write(conn, sa.insert(schema.kpi_evaluations), rows.select(*ROW_COLUMNS, "inputs"), {"run_id": run_id})
    return run_id
