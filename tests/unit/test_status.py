"""The one screen of `branchkpi status` (tasks.status): a period is complete, partial, overdue or not
due from its coverage cells; the screen reads in Japanese by default and in English, as tables and as
the freshness run's Markdown artifact."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest

from branchkpi.tasks.coverage import statistics_grid
from branchkpi.tasks.status import Status, markdown, period_status, period_text, sections, summarize


def cell(status: str, due: str = "2020-05-19", unit: str = "yamaguchi", unit_ja: str = "山口") -> dict:
    return {
        "kind": "stats",
        "fiscal_year": 2020,
        "period": "2020-04",
        "status": status,
        "due": due,
        "unit": unit,
        "unit_ja": unit_ja,
    }


@pytest.mark.parametrize(
    ("statuses", "as_of", "expected"),
    [
        (["loaded", "warned", "replaced"], "2020-06-01", "complete"),
        (["loaded", "missing"], "2020-06-01", "overdue"),
        (["missing", "missing"], "2020-06-01", "overdue"),
        (["loaded", "quarantined"], "2020-06-01", "overdue"),  # refused and past due
        (["loaded", "quarantined"], "2020-05-10", "partial"),  # refused, a good copy may still come
        (["loaded", "not_due"], "2020-05-10", "partial"),
        (["not_due", "not_due"], "2020-05-10", "not_due"),
        (["quarantined"], "2020-05-10", "not_due"),
        ([], "2020-05-10", "not_due"),
    ],
)
def test_a_periods_status(statuses: list[str], as_of: str, expected: str) -> None:
    assert period_status([cell(s) for s in statuses], date.fromisoformat(as_of)) == expected


def grid(as_of: date) -> list[dict]:
    loaded = pl.DataFrame(
        [("35", 4, 6, 0), ("00", 4, 6, 0), ("35", 5, 6, 1)],
        orient="row",
        schema={"region_code": pl.String, "month": pl.Int32, "metrics": pl.Int32, "warned": pl.Int32},
    )
    replaced = pl.DataFrame(schema={"region_code": pl.String, "month": pl.Int32})
    return statistics_grid(loaded, replaced, 2020, as_of)


def test_the_grid_summed_up_per_period() -> None:
    rows = summarize(grid(date(2020, 6, 20)), date(2020, 6, 20))
    assert [r["period"] for r in rows] == [f"2020-{m:02d}" for m in range(4, 13)] + ["2021-01", "2021-02", "2021-03"]
    april, may, june = rows[:3]
    assert (april["status"], april["arrived"], april["expected"], april["due"]) == ("overdue", 2, 48, "2020-05-19")
    assert len(april["late_units"]) == 46 and "hokkaido" in april["late_units"] and "北海道" in april["late_units_ja"]
    assert "national" not in april["late_units"]
    # May: the branches were due on 2020-06-12, 全国 on 2020-06-19: 全国's is late too by the 20th
    assert may["status"] == "overdue" and "national" in may["late_units"] and may["arrived"] == 1
    assert june["status"] == "not_due" and june["late_units"] == []


def test_a_complete_period() -> None:
    cells = [cell("loaded", unit=f"u{i}", unit_ja=f"単位{i}") for i in range(3)]
    (row,) = summarize(cells, date(2020, 6, 1))
    assert row["status"] == "complete" and row["arrived"] == row["expected"] == 3 and row["late_units"] == []


@pytest.mark.parametrize(
    ("kind", "period", "ja", "en"),
    [
        ("stats", "2020-04", "令和2年4月", "2020-04"),
        ("stats", "2021-01", "令和3年1月", "2021-01"),
        ("kpi", "Q1", "令和2年度第1四半期", "FY2020-Q1"),
        ("kpi", "FY", "令和2年度", "FY2020"),
    ],
)
def test_periods_as_a_planning_officer_reads_them(kind: str, period: str, ja: str, en: str) -> None:
    assert period_text(kind, 2020, period, "ja") == ja
    assert period_text(kind, 2020, period, "en") == en


def status() -> Status:
    as_of = date(2020, 6, 20)
    return Status(
        as_of,
        [2020],
        summarize(grid(as_of), as_of),
        deployments=[
            {
                "name": "monthly-branch-stats/monthly",
                "last": {"run": "monthly-stats-FY2020-05", "state": "Warned", "at": "2020-06-15T09:00:00+00:00"},
                "next": {
                    "at": "2020-07-14T09:00:00+00:00",
                    "period": "FY2020-06",
                    "role": "due",
                    "period_text": {"ja": "令和2年6月", "en": "FY2020-06"},
                },
            },
            {"name": "backfill/backfill", "last": None, "next": None},
        ],
        landing_dir="/srv/landing",
        waiting=[
            {"name": "a|b.csv", "kind": "statistics", "size": 12345, "modified": "2020-06-20T01:00:00+00:00"},
            {"name": "again.csv", "kind": "kpi", "size": 10, "modified": None, "loaded_batch": "b-1"},
        ],
        notes=["Prefect API: unreachable"],
    )


def test_the_screen_in_japanese() -> None:
    found = sections(status(), "ja")
    assert [s.title for s in found] == ["月報（統計）", "KPI 実績", "実行", "着信フォルダ /srv/landing: 2 件"]
    stats, kpi, runs, landing = found
    assert stats.headers == ["期間", "状況", "着/全", "期限", "未着"]
    assert stats.rows[0][:4] == ["令和2年4月", "期限超過", "2/48", "2020-05-19"]
    assert stats.rows[0][4].startswith("北海道, 青森, 岩手, 宮城, 秋田 ほか 41")
    assert stats.rows[2][1] == "期限前" and kpi.rows == []
    assert runs.rows[0] == [
        "monthly-branch-stats/monthly",
        "Warned 2020-06-15 (月) 18:00 JST",
        "2020-07-14 (火) 18:00 JST",
        "令和2年6月分 提出期限",
    ]
    assert runs.rows[1] == ["backfill/backfill", "なし", "なし", ""]
    assert landing.rows[0][:3] == ["a|b.csv", "月報", "12,345"] and landing.rows[1][4] == "読込済みの写し（取込不要）"


def test_the_screen_in_english() -> None:
    stats, _, runs, landing = sections(status(), "en")
    assert stats.title == "Monthly statistics" and stats.rows[0][:2] == ["2020-04", "overdue"]
    assert stats.rows[0][4].startswith("hokkaido, aomori") and "+41 more" in stats.rows[0][4]
    assert runs.rows[0][3] == "FY2020-06 due" and landing.title == "Landing folder /srv/landing: 2 file(s)"


def test_the_markdown_artifact() -> None:
    text = markdown(status(), "ja")
    assert text.startswith("# 提出状況と実行予定 — 令和2年度 (2020-06-20 (土) 現在)\n")
    assert (
        "## 月報（統計）\n\n| 期間 | 状況 | 着/全 | 期限 | 未着 |\n|---|---|---|---|---|\n| 令和2年4月 | 期限超過 |"
        in text
    )
    assert "## KPI 実績\n\nなし\n" in text
    assert "| a\\|b.csv | 月報 |" in text  # a | in a file name does not break the table
    assert text.rstrip().endswith("- Prefect API: unreachable")
    assert markdown(status(), "en").startswith(
        "# What is in, what is late, what runs next — FY2020 (as of 2020-06-20 (Sat))"
    )


def test_the_status_as_json() -> None:
    data = json.loads(json.dumps(status().as_dict()))
    assert data["as_of"] == "2020-06-20" and data["fiscal_years"] == [2020]
    assert data["periods"][0]["status"] == "overdue" and data["deployments"][0]["next"]["role"] == "due"
