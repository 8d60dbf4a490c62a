"""Freshness: what is newly past due is announced once, what was announced and has arrived is told once."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from branchkpi.tasks.freshness import compare, past_due, watched_fiscal_years


def cell(unit: str, period: str, status: str) -> dict[str, Any]:
    return {"kind": "stats", "unit": unit, "fiscal_year": 2020, "period": period, "status": status, "due": "2020-05-22"}


def test_a_cell_is_announced_overdue_once_and_arrived_late_once() -> None:
    cells = [
        cell("yamaguchi", "2020-04", "missing"),
        cell("okayama", "2020-04", "loaded"),
        cell("tokyo", "2020-05", "not_due"),
        cell("saitama", "2020-04", "quarantined"),
    ]
    new, arrived = compare(cells, {})
    assert [c["unit"] for c in new] == ["yamaguchi"] and arrived == []
    announced: dict[tuple[Any, ...], dict[str, Any]] = {
        ("stats", "yamaguchi", 2020, "2020-04"): {"arrived_at": None},
        ("stats", "saitama", 2020, "2020-04"): {"arrived_at": None},
    }
    assert compare(cells, announced) == ([], [])  # announced already; a quarantined cell has not arrived
    cells[0]["status"] = "warned"
    assert compare(cells, announced)[1] == [cells[0]]
    announced[("stats", "yamaguchi", 2020, "2020-04")]["arrived_at"] = datetime.now(UTC)
    assert compare(cells, announced) == ([], [])
    assert past_due(cells) == []


def test_the_watched_years_are_this_fiscal_year_and_the_last() -> None:
    assert watched_fiscal_years(date(2021, 5, 10)) == [2020, 2021]
    assert watched_fiscal_years(date(2021, 3, 31)) == [2019, 2020]


def test_every_flow_is_named_in_the_crash_alert() -> None:
    import ast
    from pathlib import Path

    from branchkpi.flows import automations

    names = []
    for path in Path(automations.__file__).parent.glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "FLOW_NAME" for t in node.targets):
                names.append(ast.literal_eval(node.value))
    assert sorted(names) == sorted(automations.FLOW_NAMES)
