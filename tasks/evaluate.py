"""Evaluate every target of the plan for a fiscal year (closed: ○ achieved / × missed) or a quarter
(in the year: ○ on_track / △ at_risk), with — not_evaluable and the reason wherever a mark cannot be
given. Every run is stored with its inputs (evaluation_runs, kpi_evaluations), so a changed mark can
be explained later.

Which actual counts: for the fiscal year, the FY figure, else the latest dated one of the year (e.g.
generic_drug_share measured on September claims); for quarter q, the latest figure up to the end of
that quarter (Q1…Qq or a month). The previous year's figure is taken at the same point for
cumulative KPIs and at the year's end for level KPIs."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from branchkpi import kpis
from branchkpi.fiscal import fiscal_month_index
from branchkpi.target_rules import MARKS, Judgement, Measurement, RuleError, Target, TenderCounts, judge, judge_in_year
from warehouse import schema

COLUMNS = [
    "unit_key", "unit_name", "fiscal_year", "period", "kpi_id", "group", "comparator", "target_value",
    "target_text", "unit", "actual", "actual_period", "previous", "previous_period", "threshold", "status",
    "mark", "reason",
]  # fmt: skip
_ORDER = {"missed": 0, "at_risk": 1, "not_evaluable": 2, "on_track": 3, "achieved": 4}


class Evaluation:
    """One evaluation run: its id and one row per target (and per 【未設定】 unit).

    A plain class on purpose: Prefect walks every list, dict and dataclass a task or flow returns
    (looking for futures), which costs seconds for the 100,000 rows of a prefecture's
    municipalities; it does not look inside other objects."""

    __slots__ = ("evaluation_id", "rows")

    def __init__(self, evaluation_id: str, rows: list[dict[str, Any]]) -> None:
        self.evaluation_id = evaluation_id
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)


def period_end_index(period: str) -> int:
    """How many months of the fiscal year a period covers: FY 12, Qn 3n, YYYY-MM its fiscal month."""
    if period == "FY":
        return 12
    if period.startswith("Q"):
        return 3 * int(period[1:])
    return fiscal_month_index(int(period[5:7]))


@dataclass(frozen=True)
class Figure:
    value: float
    unit: str
    period: str

    @property
    def index(self) -> int:
        return period_end_index(self.period)


def _pick(figures: list[Figure], upto: int) -> Figure | None:
    """The latest figure up to month `upto` of the year (FY beats Q4 and March)."""
    eligible = [f for f in figures if f.index <= upto]
    return max(eligible, key=lambda f: (f.index, f.period == "FY")) if eligible else None


def evaluate(
    engine: sa.Engine, fiscal_year: int, quarter: int | None = None, unit_keys: list[str] | None = None
) -> list[dict[str, Any]]:
    """Judge every target of the units (all units with targets when None) for the period."""
    upto = 12 if quarter is None else 3 * quarter
    period_label = "FY" if quarter is None else f"Q{quarter}"
    t, a, u = schema.kpi_targets, schema.kpi_actuals, schema.reporting_units
    with engine.connect() as conn:
        target_query = sa.select(t).where(t.c.fiscal_year == fiscal_year)
        if unit_keys:
            target_query = target_query.where(t.c.unit_key.in_(unit_keys))
        targets = [dict(r._mapping) for r in conn.execute(target_query)]
        units = {r.key: dict(r._mapping) for r in conn.execute(sa.select(u))}
        keys = unit_keys or sorted({row["unit_key"] for row in targets})
        actual_rows = conn.execute(
            sa.select(a.c.unit_key, a.c.fiscal_year, a.c.period, a.c.kpi_id, a.c.value, a.c.unit).where(
                a.c.unit_key.in_(keys), a.c.fiscal_year.in_([fiscal_year, fiscal_year - 1])
            )
        ).all()
    figures: dict[tuple[str, int, str], list[Figure]] = {}
    for r in actual_rows:
        figures.setdefault((r.unit_key, r.fiscal_year, r.kpi_id), []).append(Figure(r.value, r.unit, r.period))

    results: list[dict[str, Any]] = []
    for row in targets:
        results.append(_evaluate_one(row, figures, units, fiscal_year, quarter, upto, period_label))
    # NHI units that report no target at all (【未設定】) are listed as such
    with_target = {row["unit_key"] for row in targets}
    for key in keys:
        unit = units.get(key)
        if unit and unit["target_setting"] == "not_set" and key not in with_target:
            reason = "target not set (未設定)" + (f": {unit['note_ja']}" if unit["note_ja"] else "")
            results.append(_row(unit, fiscal_year, period_label, "nhi_collection_rate", None, None, None, "pct",
                                None, None, Judgement("not_evaluable", reason)))  # fmt: skip
    results.sort(key=lambda r: (_ORDER[r["status"]], r["unit_key"], r["kpi_id"]))
    return results


def _evaluate_one(
    row: dict[str, Any],
    figures: dict[tuple[str, int, str], list[Figure]],
    units: dict[str, dict[str, Any]],
    fiscal_year: int,
    quarter: int | None,
    upto: int,
    period_label: str,
) -> dict[str, Any]:
    kpi = kpis.BY_ID.get(row["kpi_id"])
    cumulative = bool(kpi and kpi.cumulative)
    unit_key, kpi_id = row["unit_key"], row["kpi_id"]
    now_figures = figures.get((unit_key, fiscal_year, kpi_id), [])
    before = figures.get((unit_key, fiscal_year - 1, kpi_id), [])
    actual = _pick(now_figures, upto)
    previous = _pick(before, 12) if actual is None or quarter is None or not cumulative else _pick(before, actual.index)
    share = None
    if actual is not None and cumulative:
        at_point, year_end = _pick(before, actual.index), _pick(before, 12)
        if at_point and year_end and year_end.index == 12 and year_end.value > 0 and at_point.index < 12:
            share = at_point.value / year_end.value
    tenders = None
    if row["comparator"] == "single_bid_composite":
        general = _pick(figures.get((unit_key, fiscal_year, "general_competitive_tender_count"), []), upto)
        single = _pick(figures.get((unit_key, fiscal_year, "single_bid_tender_count"), []), upto)
        if general and single:
            tenders = TenderCounts(int(general.value), int(single.value))
    try:
        target = Target(kpi_id, row["comparator"], row["unit"], row["target_value"])
        actual_m = Measurement(actual.value, actual.unit) if actual else None
        previous_m = Measurement(previous.value, previous.unit) if previous else None
        if quarter is None:
            judgement = judge(target, actual_m, previous_m, tenders)
        else:
            judgement = judge_in_year(
                target, actual_m, actual.index if actual else upto, cumulative, previous_m, share, tenders
            )
    except RuleError as exc:
        judgement = Judgement("not_evaluable", str(exc))
    unit = units.get(unit_key, {"key": unit_key, "name_ja": unit_key, "name_romaji": None})
    return _row(unit, fiscal_year, period_label, kpi_id, row["comparator"], row["target_value"],
                row["target_text"], row["unit"], actual, previous, judgement)  # fmt: skip


def _row(
    unit: dict[str, Any],
    fiscal_year: int,
    period: str,
    kpi_id: str,
    comparator: str | None,
    target_value: float | None,
    target_text: str | None,
    measure: str,
    actual: Figure | None,
    previous: Figure | None,
    judgement: Judgement,
) -> dict[str, Any]:
    kpi = kpis.BY_ID.get(kpi_id)
    return {
        "unit_key": unit["key"], "unit_name": unit.get("name_romaji") or unit["name_ja"],
        "fiscal_year": fiscal_year, "period": period, "kpi_id": kpi_id,
        "group": kpis.GROUPS[kpi.group] if kpi else "", "comparator": comparator or "not_set",
        "target_value": target_value, "target_text": target_text, "unit": measure,
        "actual": actual.value if actual else None, "actual_period": actual.period if actual else None,
        "previous": previous.value if previous else None, "previous_period": previous.period if previous else None,
        "threshold": judgement.threshold, "status": judgement.status, "mark": MARKS[judgement.status],
        "reason": judgement.reason, "inputs": judgement.inputs,
    }  # fmt: skip


def store(
    engine: sa.Engine, rows: list[dict[str, Any]], fiscal_year: int, quarter: int | None, flow_run_id: str | None
) -> str:
    """Keep the run and every judgement with its inputs; returns the run id."""
    run_id = str(uuid.uuid4())
    counts = {s: sum(r["status"] == s for r in rows) for s in _ORDER}
    with engine.begin() as conn:
        conn.execute(
            sa.insert(schema.evaluation_runs).values(
                id=run_id, created_at=datetime.now(UTC), flow_run_id=flow_run_id, fiscal_year=fiscal_year,
                quarter=quarter, scope=",".join(sorted({r["unit_key"] for r in rows}))[:4000], evaluated=len(rows),
                **counts,
            )
        )  # fmt: skip
        if rows:
            conn.execute(
                sa.insert(schema.kpi_evaluations),
                [
                    {
                        "run_id": run_id, **{k: r[k] for k in (
                            "unit_key", "kpi_id", "fiscal_year", "period", "comparator", "target_value", "unit",
                            "actual", "actual_period", "previous", "previous_period", "threshold", "status",
                            "mark", "reason")},
                        "inputs": json.dumps(r["inputs"], ensure_ascii=False, default=str),
                    }
                    for r in rows
                ],
            )  # fmt: skip
    return run_id
