"""The report's KPIs in the plan's printed structure: field (分野) → item (項目) → sub-item (小項目), each
with the mark the branch prints for it, as the published 事業計画実施状況 and 事業実績 do.

Each evaluation row says where its KPI sits (group_ja, item_no, item_ja, sub_item_no, sub_item_ja, and
its `position` in the printed plan) and the mark of the smallest item or sub-item that holds it
(item_mark); those keys are None where the plan's structure is not loaded, and such KPIs come last,
under their catalogue group. The marks of items and sub-items are domain.plan_items' rule."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from branchkpi.domain import kpis, plan_items

_KPI_ORDER = {k.id: i for i, k in enumerate(kpis.CATALOGUE)}
_LAST = 10_000


@dataclass
class PlanNode:
    """An item or a sub-item: its number and heading as printed, its mark (an item's covers its
    sub-items' KPIs too), and the KPIs directly in it."""

    no: str | None
    name: str | None
    rows: list[dict[str, Any]] = field(default_factory=list)
    children: list[PlanNode] = field(default_factory=list)  # an item's sub-items
    mark: str | None = None

    @property
    def label(self) -> str:
        return " ".join(p for p in (self.no, self.name) if p)

    @property
    def all_rows(self) -> list[dict[str, Any]]:
        return self.rows + [r for child in self.children for r in child.rows]


@dataclass
class PlanField:
    """A field of the plan (基盤的保険者機能関係 …), or a catalogue group for KPIs without a known place."""

    name: str
    known: bool  # False: KPIs whose place in the plan is not loaded, under their catalogue group
    items: list[PlanNode] = field(default_factory=list)

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [r for item in self.items for r in item.all_rows]


def placed(row: dict[str, Any]) -> bool:
    return bool(row.get("group_ja"))


def plan_fields(rows: list[dict[str, Any]]) -> list[PlanField]:
    """The rows as the plan prints them: fields, items and sub-items in the plan's order (the KPIs'
    positions; else their printed numbers, else the catalogue's order); the KPIs of an item before its
    sub-items, so the item's mark stands next to the KPIs it judges."""
    marks = {_mark_key(m): m["mark"] for m in plan_items.item_marks([r for r in rows if placed(r)])}
    fields: dict[str, PlanField] = {}
    for row in rows:
        if not placed(row):
            continue
        plan_field = fields.setdefault(row["group_ja"], PlanField(row["group_ja"], True))
        item = _node(plan_field.items, row.get("item_no"), row.get("item_ja"))
        sub_no, sub_name = row.get("sub_item_no"), row.get("sub_item_ja")
        target = _node(item.children, sub_no, sub_name) if (sub_no or sub_name) else item
        target.rows.append(row)
    ordered = sorted(fields.values(), key=lambda f: (_first_position(f.rows), _ordinal(f.name), _first_kpi(f.rows)))
    for plan_field in ordered:
        plan_field.items.sort(key=_node_order)
        for item in plan_field.items:
            item.children.sort(key=_node_order)
            item.mark = marks.get((plan_field.name, item.no, item.name))
            for sub in item.children:
                sub.mark = marks.get((plan_field.name, item.no, item.name, sub.no, sub.name))
    unplaced: dict[str, PlanField] = {}
    for row in rows:
        if not placed(row):
            group = row.get("group") or kpis.GROUPS.get(getattr(kpis.BY_ID.get(row["kpi_id"]), "group", ""), "")
            plan_field = unplaced.setdefault(group, PlanField(group, False, [PlanNode(None, None)]))
            plan_field.items[0].rows.append(row)
    return ordered + list(unplaced.values())


def _node(nodes: list[PlanNode], no: str | None, name: str | None) -> PlanNode:
    for node in nodes:
        if (node.no, node.name) == (no or None, name or None):
            return node
    nodes.append(PlanNode(no or None, name or None))
    return nodes[-1]


def _mark_key(item: dict[str, Any]) -> tuple[Any, ...]:
    key = tuple(item[k] or None for k in ("group_ja", "item_no", "item_ja"))
    if item["level"] == "sub_item":
        key += (item["sub_item_no"] or None, item["sub_item_ja"] or None)
    return key


def _node_order(node: PlanNode) -> tuple[float, int, int]:
    return _first_position(node.all_rows), _ordinal(node.no or ""), _first_kpi(node.all_rows)


def _first_position(rows: list[dict[str, Any]]) -> float:
    return min((float(r["position"]) for r in rows if r.get("position") is not None), default=float("inf"))


def _first_kpi(rows: list[dict[str, Any]]) -> int:
    return min((_KPI_ORDER.get(r["kpi_id"], _LAST) for r in rows), default=_LAST)


_LEADING_NUMBER = re.compile(r"^[(（]?(\d+)")


def _ordinal(text: str) -> int:
    """The number a heading is printed with: 2, 3., (1), （1）, ①, 1・保険運営の企画 (full-width digits too);
    headings without one sort after the numbered ones."""
    text = unicodedata.normalize("NFKC", text.strip())  # NFKC: ① → 1, （１） → (1)
    match = _LEADING_NUMBER.match(text)
    return int(match.group(1)) if match else _LAST
