"""The coverage grid (提出状況): for a fiscal year, every unit against every period, each cell one of
loaded, warned, quarantined (a batch with these rows was refused and nothing good has come since),
replaced (a correction arrived), missing (past due, nothing loaded) or not_due, with its due date from
the reporting calendar (branchkpi.domain.calendar) and how many of the unit's metrics or KPIs are in.

- stats: the 47 branches and 全国 by month (4月 … 3月); statistics are due from all of them, so a
  branch that sent nothing is `missing`, not absent from the grid.
- kpi: the reporting units with targets in the year (branches, municipalities) by Q1–Q4 and FY, as
  far as their kind owes them (reporting_calendar.toml: a municipality reports its year only); a
  month's actual counts for its quarter."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import sqlalchemy as sa

from branchkpi.domain import calendar, metrics, regions
from branchkpi.domain.fiscal import FISCAL_MONTHS, calendar_year_of
from branchkpi.warehouse import coverage as held
from branchkpi.warehouse import reads

STATUSES = ("loaded", "warned", "quarantined", "replaced", "missing", "not_due")
MARKS = {
    "ja": {"loaded": "済", "warned": "警", "quarantined": "隔", "replaced": "差", "missing": "未着", "not_due": "・"},
    "en": {
        "loaded": "ok",
        "warned": "warn",
        "quarantined": "quar",
        "replaced": "corr",
        "missing": "MISSING",
        "not_due": ".",
    },
}


def unit_name(region_code: str) -> str:
    return "national" if region_code == regions.NATIONAL_CODE else regions.BY_CODE[region_code].name_romaji


def _status(have: bool, warned: bool, corrected: bool, refused: bool, due: date, as_of: date) -> str:
    if have:
        return "replaced" if corrected else "warned" if warned else "loaded"
    if refused:
        return "quarantined"
    return "missing" if as_of > due else "not_due"


def month_period(fiscal_year: int, month: int) -> str:
    return f"{calendar_year_of(fiscal_year, month)}-{month:02d}"


def statistics_grid(
    loaded: pl.DataFrame,
    replaced: pl.DataFrame,
    fiscal_year: int,
    as_of: date,
    refused: set[tuple[str, str]] | None = None,
) -> list[dict[str, Any]]:
    """One row per unit and month, units in JIS order with 全国 first, months April to March;
    `refused`: the (unit, period) cells of refused batches."""
    refused = refused or set()
    have = {(r["region_code"], r["month"]): r for r in loaded.iter_rows(named=True)}
    corrected = set(replaced.select("region_code", "month").iter_rows())
    rows = []
    codes = [regions.NATIONAL_CODE, *sorted(c for c in regions.BY_CODE if c != regions.NATIONAL_CODE)]
    for code in codes:
        unit = unit_name(code)
        for month in FISCAL_MONTHS:
            due = calendar.statistics_due(fiscal_year, month, unit)
            cell, period = have.get((code, month)), month_period(fiscal_year, month)
            status = _status(
                cell is not None,
                bool(cell and cell["warned"]),
                (code, month) in corrected,
                (unit, period) in refused,
                due,
                as_of,
            )
            rows.append(
                {
                    "unit": unit,
                    "unit_ja": regions.BY_CODE[code].name_ja,
                    "kind": "stats",
                    "fiscal_year": fiscal_year,
                    "period": period,
                    "status": status,
                    "due": due.isoformat(),
                    "metrics": cell["metrics"] if cell else 0,
                    "metrics_expected": len(metrics.INPUT_METRIC_IDS),
                }
            )
    return rows


def kpi_unit_name(unit_key: str, kind: str, name_romaji: str | None) -> str:
    """romaji for a branch, `national`, the unit key (33:倉敷市) for a municipality."""
    if kind == "national" or unit_key == regions.NATIONAL_CODE:
        return "national"
    return name_romaji if kind == "branch" and name_romaji else unit_key


def kpi_period(period: str) -> str:
    """The grid column an actual fills: FY and Q1–Q4 as they are, a month (2020-09) its quarter."""
    return calendar.quarter_of_month(int(period[5:])) if len(period) == 7 and period[4] == "-" else period


def kpi_grid(
    units: pl.DataFrame,
    actuals: pl.DataFrame,
    replaced: set[tuple[str, str]],
    fiscal_year: int,
    as_of: date,
    refused: set[tuple[str, str]] | None = None,
) -> list[dict[str, Any]]:
    """One row per reporting unit with targets and period it owes (branches first, in JIS order, then
    municipalities by key), Q1–Q4 then FY; `metrics` counts the unit's KPIs with an actual there."""
    refused = refused or set()
    by_cell: dict[tuple[str, str], dict[str, Any]] = {}
    for r in actuals.iter_rows(named=True):
        held = by_cell.setdefault((r["unit_key"], kpi_period(r["period"])), {"kpis": set(), "warned": False})
        held["kpis"].add(r["kpi_id"])
        held["warned"] |= bool(r["warned"])
    corrected = {(key, kpi_period(period)) for key, period in replaced}
    order = units.sort(pl.col("kind") != "branch", "unit_key")
    rows = []
    for u in order.iter_rows(named=True):
        unit = kpi_unit_name(u["unit_key"], u["kind"], u["name_romaji"])
        for period in calendar.kpi_periods(u["kind"], unit):
            due = calendar.kpi_due(fiscal_year, period, unit)
            cell = by_cell.get((u["unit_key"], period))
            status = _status(
                cell is not None,
                bool(cell and cell["warned"]),
                (u["unit_key"], period) in corrected,
                (unit, period) in refused,
                due,
                as_of,
            )
            rows.append(
                {
                    "unit": unit,
                    "unit_ja": u["name_ja"],
                    "kind": "kpi",
                    "fiscal_year": fiscal_year,
                    "period": period,
                    "status": status,
                    "due": due.isoformat(),
                    "metrics": len(cell["kpis"]) if cell else 0,
                    "metrics_expected": u["kpis"],
                }
            )
    return rows


def statistics_cells(observations: pl.DataFrame, fiscal_years: list[int] | None = None) -> list[dict[str, Any]]:
    """The grid cells (kind, unit, fiscal_year, period) a batch of statistics covers (of these years)."""
    keys = observations.select("region_code", "fiscal_year", "month").drop_nulls().unique()
    if fiscal_years is not None:
        keys = keys.filter(pl.col("fiscal_year").is_in(fiscal_years))
    return [
        {"kind": "stats", "unit": unit_name(code), "fiscal_year": fy, "period": month_period(fy, month)}
        for code, fy, month in keys.sort("region_code", "fiscal_year", "month").iter_rows()
        if code in regions.BY_CODE and 1 <= month <= 12
    ]


def kpi_cells(actuals: pl.DataFrame) -> list[dict[str, Any]]:
    """The grid cells a batch of KPI actuals covers; a municipality is named by its unit key."""
    keys = actuals.select("reporting_unit", "fiscal_year", "period").drop_nulls().unique()
    cells = {
        (
            kpi_unit_name(
                key,
                "branch" if key in regions.BY_CODE else "municipality",
                regions.BY_CODE[key].name_romaji if key in regions.BY_CODE else None,
            ),
            fy,
            kpi_period(period),
        )
        for key, fy, period in keys.iter_rows()
    }
    return [{"kind": "kpi", "unit": u, "fiscal_year": fy, "period": p} for u, fy, p in sorted(cells)]


KINDS = ("stats", "kpi")


def grid(engine: sa.Engine, kind: str, fiscal_year: int, as_of: date) -> list[dict[str, Any]]:
    """The coverage grid of a fiscal year as of a day: the reads and the cells, one dict per unit and
    period (unit, unit_ja, kind, fiscal_year, period, status, due, metrics, metrics_expected)."""
    if kind == "stats":
        loaded, replaced = reads.statistics_coverage(engine, fiscal_year)
        return statistics_grid(loaded, replaced, fiscal_year, as_of, held.refused_cells(engine, kind, fiscal_year))
    if kind == "kpi":
        actuals, corrected = held.kpi_actuals_held(engine, fiscal_year)
        return kpi_grid(
            held.kpi_units(engine, fiscal_year),
            actuals,
            corrected,
            fiscal_year,
            as_of,
            held.refused_cells(engine, kind, fiscal_year),
        )
    raise ValueError(f"coverage kind {kind!r}: one of {', '.join(KINDS)}")


def grid_table(rows: list[dict[str, Any]], lang: str = "ja") -> tuple[list[str], list[dict[str, Any]]]:
    """The grid as a table: a row per unit, a column per month (4月 … 3月), each cell its mark."""
    marks = MARKS[lang]
    months = list(dict.fromkeys(r["period"] for r in rows))
    order = {p: i for i, p in enumerate(("Q1", "Q2", "Q3", "Q4", "FY"))}
    months.sort(key=lambda p: order.get(p, -1))  # KPI periods in their order; months keep theirs
    headers = ["unit", *(_period_heading(p, lang) for p in months)]
    table: dict[str, dict[str, Any]] = {}
    for r in rows:
        line = table.setdefault(r["unit"], {"unit": r["unit_ja"] if lang == "ja" else r["unit"]})
        column = headers[1 + months.index(r["period"])]
        line[column] = marks[r["status"]]
    # a period a unit does not owe (a municipality's quarters) is left blank
    return headers, [{h: line.get(h, "") for h in headers} for line in table.values()]


def _period_heading(period: str, lang: str) -> str:
    if len(period) == 7 and period[4] == "-":
        return f"{int(period[5:])}月" if lang == "ja" else period
    if lang == "ja":
        return "年度" if period == "FY" else f"第{period[1]}四半期"
    return period
