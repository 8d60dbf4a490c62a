"""The coverage grid (提出状況): for a fiscal year, every branch and 全国 against every month, each cell
one of loaded, warned, replaced (a correction arrived), missing (past due, nothing loaded) or not_due,
with its due date from the reporting calendar (branchkpi.domain.calendar) and how many of the six
metrics are in. Statistics are due from all 47 branches and 全国, so a branch that sent nothing is
`missing`, not absent from the grid."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import sqlalchemy as sa

from branchkpi.domain import calendar, metrics, regions
from branchkpi.domain.fiscal import FISCAL_MONTHS, calendar_year_of
from branchkpi.warehouse import reads

STATUSES = ("loaded", "warned", "quarantined", "replaced", "missing", "not_due")
MARKS = {
    "ja": {"loaded": "済", "warned": "警", "quarantined": "隔", "replaced": "差", "missing": "未着", "not_due": "・"},
    "en": {"loaded": "ok", "warned": "warn", "quarantined": "quar", "replaced": "corr", "missing": "MISSING",
           "not_due": "."},
}  # fmt: skip


def unit_name(region_code: str) -> str:
    return "national" if region_code == regions.NATIONAL_CODE else regions.BY_CODE[region_code].name_romaji


def statistics_grid(
    loaded: pl.DataFrame, replaced: pl.DataFrame, fiscal_year: int, as_of: date
) -> list[dict[str, Any]]:
    """One row per unit and month, units in JIS order with 全国 first, months April to March."""
    have = {(r["region_code"], r["month"]): r for r in loaded.iter_rows(named=True)}
    corrected = set(replaced.select("region_code", "month").iter_rows())
    rows = []
    codes = [regions.NATIONAL_CODE, *sorted(c for c in regions.BY_CODE if c != regions.NATIONAL_CODE)]
    for code in codes:
        unit = unit_name(code)
        for month in FISCAL_MONTHS:
            due = calendar.statistics_due(fiscal_year, month, unit)
            cell = have.get((code, month))
            if cell is not None:
                status = "replaced" if (code, month) in corrected else "warned" if cell["warned"] else "loaded"
            else:
                status = "missing" if as_of > due else "not_due"
            rows.append({
                "unit": unit, "unit_ja": regions.BY_CODE[code].name_ja, "kind": "stats", "fiscal_year": fiscal_year,
                "period": f"{calendar_year_of(fiscal_year, month)}-{month:02d}", "status": status,
                "due": due.isoformat(), "metrics": cell["metrics"] if cell else 0,
                "metrics_expected": len(metrics.INPUT_METRIC_IDS),
            })  # fmt: skip
    return rows


KINDS = ("stats", "kpi")


def grid(engine: sa.Engine, kind: str, fiscal_year: int, as_of: date) -> list[dict[str, Any]]:
    """The coverage grid of a fiscal year as of a day: the reads and the cells, one dict per unit and
    period (unit, unit_ja, kind, fiscal_year, period, status, due, metrics, metrics_expected)."""
    if kind == "stats":
        loaded, replaced = reads.statistics_coverage(engine, fiscal_year)
        return statistics_grid(loaded, replaced, fiscal_year, as_of)
    raise ValueError(f"coverage kind {kind!r}: one of {', '.join(KINDS)}")


def grid_table(rows: list[dict[str, Any]], lang: str = "ja") -> tuple[list[str], list[dict[str, Any]]]:
    """The grid as a table: a row per unit, a column per month (4月 … 3月), each cell its mark."""
    marks = MARKS[lang]
    months = list(dict.fromkeys(r["period"] for r in rows))
    headers = ["unit", *(f"{int(p[5:])}月" if lang == "ja" else p for p in months)]
    table: dict[str, dict[str, Any]] = {}
    for r in rows:
        line = table.setdefault(r["unit"], {"unit": r["unit_ja"] if lang == "ja" else r["unit"]})
        column = headers[1 + months.index(r["period"])]
        line[column] = marks[r["status"]]
    return headers, list(table.values())
