"""Item marks (an item's mark from its KPIs'), stock KPIs judged against the path from last year's end,
and the one wording table of the reasons in Japanese and English."""

from __future__ import annotations

from typing import Any

import pytest

from branchkpi.domain import kpis
from branchkpi.domain.plan_items import item_marks, item_status, with_item_marks
from branchkpi.domain.reasons import words
from branchkpi.domain.target_rules import Measurement, Target, judge, judge_in_year, stock_path


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["achieved", "missed", "not_evaluable"], "missed"),
        (["on_track", "at_risk", "on_track"], "at_risk"),
        (["missed", "at_risk"], "missed"),
        (["achieved", "not_evaluable"], "achieved"),  # a KPI not yet measurable does not pull the item down
        (["on_track", "not_evaluable", "not_evaluable"], "on_track"),
        (["not_evaluable", "not_evaluable"], "not_evaluable"),
    ],
)
def test_an_items_status_follows_the_documented_rule(statuses: list[str], expected: str) -> None:
    assert item_status(statuses) == expected


def _row(kpi_id: str, status: str, item: str, sub: str | None = None, position: int = 0) -> dict[str, Any]:
    return {
        "unit_key": "11",
        "unit_name": "saitama",
        "fiscal_year": 2017,
        "period": "Q1",
        "kpi_id": kpi_id,
        "status": status,
        "group_ja": "3 保健事業",
        "item_no": "(7)",
        "item_ja": item,
        "sub_item_no": "①" if sub else None,
        "sub_item_ja": sub,
        "position": position,
    }


def test_item_and_sub_item_marks_and_each_kpis_item_mark() -> None:
    rows = [
        _row("lifestyle_checkup_rate", "on_track", "特定健康診査等の推進", "特定健康診査", 1),
        _row("lifestyle_checkup_count", "at_risk", "特定健康診査等の推進", "特定健康診査", 2),
        _row("specific_health_guidance_rate", "on_track", "特定健康診査等の推進", "特定保健指導", 3),
        _row("specific_health_guidance_rate_insured", "not_evaluable", "特定健康診査等の推進", "特定保健指導", 4),
        _row("generic_drug_share", "not_evaluable", "ジェネリック医薬品の使用促進", None, 5),
        {**_row("pr_understanding_rate", "missed", ""), "item_ja": None, "group_ja": None, "item_no": None},
    ]
    items = item_marks(rows)
    listed = [(i["level"], i["item_ja"], i["sub_item_ja"], i["mark"], i["kpis"]) for i in items]
    assert listed == [  # plan order, the item before its sub-items; the unplaced KPI is in no item
        ("item", "特定健康診査等の推進", None, "△", 4),
        ("sub_item", "特定健康診査等の推進", "特定健康診査", "△", 2),
        ("sub_item", "特定健康診査等の推進", "特定保健指導", "○", 2),
        ("item", "ジェネリック医薬品の使用促進", None, "—", 1),
    ]
    marked = {r["kpi_id"]: r["item_mark"] for r in with_item_marks(rows)}
    assert marked["lifestyle_checkup_rate"] == "△"  # its own ○, its sub-item's △
    assert marked["specific_health_guidance_rate_insured"] == "○"  # no actual yet: the sub-item's mark
    assert marked["generic_drug_share"] == "—" and marked["pr_understanding_rate"] is None


def test_the_catalogue_says_flow_level_or_stock() -> None:
    assert {k.nature for k in kpis.CATALOGUE} == {"flow", "level", "stock"}
    assert kpis.BY_ID["health_committee_members"].stock and not kpis.BY_ID["health_committee_members"].cumulative
    assert kpis.BY_ID["lifestyle_checkup_count"].cumulative
    assert kpis.BY_ID["generic_drug_share"].nature == "level"


MEMBERS = Target("health_committee_members", "count_ge", "count", 3000)
LAST_MARCH = Measurement(2379, "count")


@pytest.mark.parametrize(
    ("actual", "months", "previous", "status"),
    [
        (2534.25, 3, LAST_MARCH, "on_track"),  # exactly on the path: 2,379 + (3,000 − 2,379) × 3/12
        (2534, 3, LAST_MARCH, "at_risk"),  # just below it
        (2933, 3, LAST_MARCH, "on_track"),  # ahead (Saitama, June 2017), though below the year-end 3,000
        (2933, 3, None, "at_risk"),  # no previous year-end actual: the target as is
        (3000, 3, None, "on_track"),
        (2800, 9, LAST_MARCH, "at_risk"),  # by December the path is at 2,844.75
    ],
)
def test_a_stock_is_judged_against_the_path_from_last_years_end(
    actual: float, months: int, previous: Measurement | None, status: str
) -> None:
    judgement = judge_in_year(
        MEMBERS, Measurement(actual, "count"), months, cumulative=False, previous_year_end=previous, stock=True
    )
    assert judgement.status == status, judgement.reason
    if previous is not None:
        assert judgement.threshold == pytest.approx(stock_path(3000, 2379, months))
        assert "前年度末 2,379人 から目標 3,000人 への按分" in judgement.reason_ja


def test_a_level_with_the_same_target_is_judged_as_is() -> None:
    level = judge_in_year(MEMBERS, Measurement(2933, "count"), 3, cumulative=False, previous_year_end=LAST_MARCH)
    assert level.status == "at_risk"  # without stock=True: 2,933 < 3,000


def test_reasons_come_from_one_wording_table_in_both_languages() -> None:
    missed = judge(Target("card_recovery_rate", "ge", "pct", 96.3), Measurement(95.82, "pct"))
    assert missed.reason_ja == "実績 95.82% は目標 96.30% 以上に届かず"  # the plan prints 96.30%: two places
    assert missed.reason == "actual 95.82 not ≥ target 96.30"
    assert missed.reason_in("en") == missed.reason and missed.reason_in("ja") == missed.reason_ja
    over = judge(Target("single_bid_tender_share", "le", "pct", 20), Measurement(25, "pct"))
    assert over.reason_ja == "実績 25.0% は目標 20.0% を上回る"
    no_actual = judge(Target("generic_drug_share", "ge", "pct", 80), None)
    assert (no_actual.reason, no_actual.reason_ja) == ("no actual for the period", "この期間の実績なし")
    yen = judge(Target("claim_review_effect_per_member_yen", "ge", "yen", 1200), Measurement(1234, "yen"))
    assert yen.reason_ja == "実績 1,234円 は目標 1,200円 以上"
    assert words("not_set_note", {"note": "R3年度から設定"}, "ja") == "目標未設定: R3年度から設定"
