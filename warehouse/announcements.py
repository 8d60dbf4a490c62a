"""What the freshness flow has announced: each unit and period it called overdue (announced once, not
every weekday) and when it arrived late. Table overdue_announcements."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from branchkpi.warehouse import schema
from branchkpi.warehouse.engine import write_transaction

KEY = ("kind", "unit", "fiscal_year", "period")


def announced(engine: sa.Engine, kind: str, fiscal_years: list[int]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The announcements of these fiscal years by (kind, unit, fiscal_year, period)."""
    t = schema.overdue_announcements
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t).where(t.c.kind == kind, t.c.fiscal_year.in_(fiscal_years))).mappings()
        return {tuple(r[k] for k in KEY): dict(r) for r in rows}


def record_overdue(engine: sa.Engine, cells: list[dict[str, Any]], flow_run_id: str | None) -> None:
    """Remember the cells just announced overdue (one INSERT for all)."""
    if not cells:
        return
    now = datetime.now(UTC)
    rows = [
        {**{k: c[k] for k in KEY}, "due": date.fromisoformat(c["due"]), "announced_at": now, "flow_run_id": flow_run_id}
        for c in cells
    ]
    with write_transaction(engine) as conn:
        conn.execute(sa.insert(schema.overdue_announcements), rows)


def record_arrived(engine: sa.Engine, cells: list[dict[str, Any]]) -> None:
    """Mark announced cells as arrived (their arrived-late event was emitted)."""
    if not cells:
        return
    t = schema.overdue_announcements
    now = datetime.now(UTC)
    statement = sa.update(t).where(*(t.c[k] == sa.bindparam(f"k_{k}") for k in KEY)).values(arrived_at=now)
    with write_transaction(engine) as conn:
        conn.execute(statement, [{f"k_{k}": c[k] for k in KEY} for c in cells])
