"""One target judged by branchkpi.domain.target_rules itself (the specification), its figures already
picked (tasks/evaluate/picking.py): the comparators and cases the frame expressions leave to it
(tasks/evaluate/by_frame.py), and the 【未設定】 units. Gives the row as an evaluation lists it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from branchkpi.domain import kpis
from branchkpi.domain.target_rules import (
    MARKS,
    Judgement,
    Measurement,
    RuleError,
    Target,
    TenderCounts,
    judge,
    judge_in_year,
)

PLACE = ("group_ja", "item_no", "item_ja", "sub_item_no", "sub_item_ja", "position")


@dataclass(frozen=True)
class Figure:
    value: float
    unit: str
    period: str
    index: int


def figure(row: dict[str, Any], prefix: str) -> Figure | None:
    if row[f"{prefix}_index"] is None:
        return None
    return Figure(row[f"{prefix}_value"], row[f"{prefix}_unit"], row[f"{prefix}_period"], row[f"{prefix}_index"])


def evaluate_one(
    row: dict[str, Any],
    tender_counts: dict[tuple[str, int, str], float],
    units: dict[str, dict[str, Any]],
    quarter: int | None,
    upto: int,
    period_label: str,
) -> dict[str, Any]:
    """One target, its figures already picked: actual (latest up to the period's end), the previous
    year at its end (year_end) and at the point the actual was measured (at_point)."""
    kpi = kpis.BY_ID.get(row["kpi_id"])
    cumulative, stock = bool(kpi and kpi.cumulative), bool(kpi and kpi.stock)
    unit_key, kpi_id, fiscal_year = row["unit_key"], row["kpi_id"], row["fiscal_year"]
    actual = figure(row, "actual")
    year_end, at_point = figure(row, "year_end"), figure(row, "at_point")
    previous = year_end if actual is None or quarter is None or not cumulative else at_point
    share = None
    complete_year = year_end is not None and year_end.index == 12 and year_end.value > 0
    if actual is not None and cumulative and at_point and year_end and complete_year and at_point.index < 12:
        share = at_point.value / year_end.value  # the previous year's profile up to this point
    tenders = None
    if row["comparator"] == "single_bid_composite":
        general = tender_counts.get((unit_key, fiscal_year, "general_competitive_tender_count"))
        single = tender_counts.get((unit_key, fiscal_year, "single_bid_tender_count"))
        if general is not None and single is not None:
            tenders = TenderCounts(int(general), int(single))
    try:
        target = Target(kpi_id, row["comparator"], row["unit"], row["target_value"])
        actual_m = Measurement(actual.value, actual.unit) if actual else None
        previous_m = Measurement(previous.value, previous.unit) if previous else None
        if quarter is None:
            judgement = judge(target, actual_m, previous_m, tenders)
        else:
            # a stock's path starts at the previous fiscal year's closing figure (March or FY), nothing earlier
            closing = year_end if year_end is not None and year_end.index == 12 else None
            judgement = judge_in_year(
                target,
                actual_m,
                actual.index if actual else upto,
                cumulative,
                previous_m,
                share,
                tenders,
                previous_year_end=Measurement(closing.value, closing.unit) if closing else None,
                stock=stock,
            )
    except RuleError as exc:
        judgement = Judgement("not_evaluable", "rule_error", {"message": str(exc)})
    unit = units.get(unit_key, {"key": unit_key, "name_ja": unit_key, "name_romaji": None})
    return as_row(
        unit,
        fiscal_year,
        period_label,
        kpi_id,
        row["comparator"],
        row["target_value"],
        row["target_text"],
        row["unit"],
        actual,
        previous,
        judgement,
        row,
    )


def as_row(
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
    place: dict[str, Any],
) -> dict[str, Any]:
    """One judgement as an evaluation lists it; `place`: its place in the plan (分野 / 項目 / 小項目)."""
    kpi = kpis.BY_ID.get(kpi_id)
    return {
        "unit_key": unit["key"],
        "unit_name": unit.get("name_romaji") or unit["name_ja"],
        "fiscal_year": fiscal_year,
        "period": period,
        "kpi_id": kpi_id,
        "group": kpis.GROUPS[kpi.group] if kpi else "",
        "comparator": comparator or "not_set",
        "target_value": target_value,
        "target_text": target_text,
        "unit": measure,
        "actual": actual.value if actual else None,
        "actual_period": actual.period if actual else None,
        "previous": previous.value if previous else None,
        "previous_period": previous.period if previous else None,
        "threshold": judgement.threshold,
        "status": judgement.status,
        "mark": MARKS[judgement.status],
        "reason": judgement.reason,
        "reason_ja": judgement.reason_ja,
        "inputs": judgement.inputs,
        **{c: place.get(c) for c in PLACE},
        "item_mark": None,
    }
