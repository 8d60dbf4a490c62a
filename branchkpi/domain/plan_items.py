"""Item marks (項目ごとの評価): a branch's status report (事業計画実施状況) and results report (事業実績)
print one mark per item or sub-item of the plan, not per KPI; this derives that mark from the marks of
the KPIs the item holds (docs/kpi-evaluation.md, "Item marks"):

- × when any KPI of the item is missed;
- else △ when any is at risk;
- else ○ when at least one is judged (achieved or on track) and every judged one is;
- — when none can be judged yet: a KPI not yet measurable (no actual, 未設定) never pulls an item down.

An item's mark covers every KPI under it, its sub-items' too; a sub-item's only its own. A KPI's
`item_mark` is the mark of the smallest item or sub-item that holds it; a KPI whose place in the plan
is not known has none."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from branchkpi.domain.target_rules import MARKS

ITEM_FIELDS = ("group_ja", "item_no", "item_ja", "sub_item_no", "sub_item_ja")
_JUDGED = ("achieved", "on_track")


def item_status(statuses: Iterable[str]) -> str:
    """The status an item prints, from its KPIs' statuses (missed > at_risk > judged > not evaluable)."""
    seen = set(statuses)
    for status in ("missed", "at_risk"):
        if status in seen:
            return status
    judged = seen & set(_JUDGED)
    if not judged:
        return "not_evaluable"
    return "achieved" if "achieved" in judged else "on_track"


def _item_key(row: dict[str, Any]) -> tuple[Any, ...] | None:
    if not row.get("item_ja"):
        return None
    return (row["unit_key"], row["fiscal_year"], row["period"], row.get("group_ja"), row.get("item_no"), row["item_ja"])


def _sub_item_key(row: dict[str, Any]) -> tuple[Any, ...] | None:
    item = _item_key(row)
    if item is None or not (row.get("sub_item_ja") or row.get("sub_item_no")):
        return None
    return (*item, row.get("sub_item_no"), row.get("sub_item_ja"))


def item_marks(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per item and per sub-item that holds a KPI of `rows`, in plan order (the order of the
    KPIs' `position`, items before their sub-items): unit, period, field, item, sub-item, `level`
    (item or sub_item), `status`, `mark`, how many KPIs it holds and how many of each status, and the
    KPI ids."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in sorted(rows, key=_plan_order):
        for key in (_item_key(row), _sub_item_key(row)):
            if key is not None:
                groups.setdefault(key, []).append(row)
    out = []
    for key, members in groups.items():
        first = members[0]
        level = "sub_item" if len(key) > 6 else "item"
        status = item_status(m["status"] for m in members)
        out.append(
            {
                "unit_key": first["unit_key"],
                "unit_name": first.get("unit_name"),
                "fiscal_year": first["fiscal_year"],
                "period": first["period"],
                "group_ja": first.get("group_ja"),
                "item_no": first.get("item_no"),
                "item_ja": first["item_ja"],
                "sub_item_no": first.get("sub_item_no") if level == "sub_item" else None,
                "sub_item_ja": first.get("sub_item_ja") if level == "sub_item" else None,
                "level": level,
                "status": status,
                "mark": MARKS[status],
                "kpis": len(members),
                **{s: sum(m["status"] == s for m in members) for s in MARKS},
                "kpi_ids": [m["kpi_id"] for m in members],
            }
        )
    return out


def with_item_marks(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`rows` with each KPI's `item_mark`: the mark of its sub-item when it sits under one, else of its
    item; None when its place in the plan is not known."""
    marks: dict[tuple[Any, ...], str] = {}
    for item in item_marks(rows):
        key: tuple[Any, ...] = (
            item["unit_key"],
            item["fiscal_year"],
            item["period"],
            item["group_ja"],
            item["item_no"],
            item["item_ja"],
        )
        if item["level"] == "sub_item":
            key = (*key, item["sub_item_no"], item["sub_item_ja"])
        marks[key] = item["mark"]
    for row in rows:
        held = _sub_item_key(row) or _item_key(row)
        row["item_mark"] = marks.get(held) if held is not None else None
    return rows


def _plan_order(row: dict[str, Any]) -> tuple[Any, ...]:
    position = row.get("position")
    return (row["unit_key"], row["fiscal_year"], row["period"], position is None, position or 0, row["kpi_id"])
