"""Freshness (提出状況の監視): which cells of the coverage grid are past due with nothing loaded, which
of them are newly so (not yet announced), and which announced ones have since arrived. The freshness
flow announces each unit and period once (branchkpi.data.overdue) and again when it arrives
(branchkpi.data.arrived-late); a monthly run that finds no file asks the same question."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa

from branchkpi.domain.fiscal import current_fiscal_year
from branchkpi.tasks import coverage
from branchkpi.warehouse import announcements

ARRIVED = ("loaded", "warned", "replaced")  # a quarantined cell has not arrived: its rows were refused


@dataclass
class Freshness:
    kind: str
    as_of: date
    cells: list[dict[str, Any]] = field(default_factory=list)
    newly_overdue: list[dict[str, Any]] = field(default_factory=list)
    arrived_late: list[dict[str, Any]] = field(default_factory=list)

    @property
    def missing(self) -> list[dict[str, Any]]:
        return past_due(self.cells)


def watched_fiscal_years(as_of: date) -> list[int]:
    """The fiscal year of the day and the one before: March's statistics and the FY actuals of a
    closed year fall due in the next one."""
    this = current_fiscal_year(as_of)
    return [this - 1, this]


def past_due(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in cells if c["status"] == "missing"]


def _key(cell: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(cell[k] for k in announcements.KEY)


def compare(
    cells: list[dict[str, Any]], announced: dict[tuple[Any, ...], dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(cells past due and not yet announced, announced cells that have arrived since)."""
    new = [c for c in past_due(cells) if _key(c) not in announced]
    arrived = [
        c for c in cells if c["status"] in ARRIVED and _key(c) in announced and announced[_key(c)]["arrived_at"] is None
    ]
    return new, arrived


def grid_cells(engine: sa.Engine, kind: str, fiscal_years: list[int], as_of: date) -> list[dict[str, Any]]:
    return [cell for fy in fiscal_years for cell in coverage.grid(engine, kind, fy, as_of)]


def check(engine: sa.Engine, kind: str, as_of: date, flow_run_id: str | None) -> Freshness:
    """The grid of the watched years against what was announced; records what is announced now."""
    years = watched_fiscal_years(as_of)
    result = Freshness(kind, as_of, grid_cells(engine, kind, years, as_of))
    result.newly_overdue, result.arrived_late = compare(result.cells, announcements.announced(engine, kind, years))
    announcements.record_overdue(engine, result.newly_overdue, flow_run_id)
    announcements.record_arrived(engine, result.arrived_late)
    return result
