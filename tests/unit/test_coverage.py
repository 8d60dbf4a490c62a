"""The coverage grid from what a fiscal year holds: every branch and 全国 for every month, past due
and nothing loaded is missing, a correction is replaced, marks in Japanese."""

from __future__ import annotations

from datetime import date

import polars as pl

from branchkpi.tasks.coverage import grid_table, statistics_grid


def frames(
    loaded: list[tuple[str, int, int, int]], replaced: list[tuple[str, int]]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    return (
        pl.DataFrame(
            loaded or None,
            orient="row",
            schema={"region_code": pl.String, "month": pl.Int32, "metrics": pl.Int32, "warned": pl.Int32},
        ),
        pl.DataFrame(replaced or None, orient="row", schema={"region_code": pl.String, "month": pl.Int32}),
    )


def test_every_unit_and_month_is_in_the_grid() -> None:
    loaded, replaced = frames([("35", 4, 6, 0), ("35", 5, 6, 1), ("35", 6, 3, 0), ("00", 4, 6, 0)], [("35", 6)])
    rows = statistics_grid(loaded, replaced, 2020, as_of=date(2020, 7, 13))
    assert len(rows) == 48 * 12
    cell = {(r["unit"], r["period"]): r for r in rows}
    assert cell[("yamaguchi", "2020-04")]["status"] == "loaded" and cell[("yamaguchi", "2020-04")]["metrics"] == 6
    assert cell[("yamaguchi", "2020-05")]["status"] == "warned"
    assert cell[("yamaguchi", "2020-06")]["status"] == "replaced" and cell[("yamaguchi", "2020-06")]["metrics"] == 3
    # May was due on 2020-06-12 (10th business day of June): a branch that sent nothing is missing
    assert (cell[("hokkaido", "2020-05")]["status"], cell[("hokkaido", "2020-05")]["due"]) == ("missing", "2020-06-12")
    # June is due on 2020-07-14: not yet on the 13th
    assert cell[("hokkaido", "2020-06")]["status"] == "not_due"
    assert cell[("national", "2020-05")]["status"] == "missing"  # 全国 is due too (its own, later rule)
    assert rows[0]["unit"] == "national" and rows[-1]["period"] == "2021-03"


def test_the_table_reads_in_japanese_or_english() -> None:
    loaded, replaced = frames([("35", 4, 6, 0)], [])
    rows = statistics_grid(loaded, replaced, 2020, as_of=date(2021, 5, 10))
    headers, table = grid_table(rows, "ja")
    assert headers[:3] == ["unit", "4月", "5月"] and headers[-1] == "3月"
    yamaguchi = next(r for r in table if r["unit"] == "山口")
    assert (yamaguchi["4月"], yamaguchi["5月"]) == ("済", "未着")
    headers, table = grid_table(rows, "en")
    assert next(r for r in table if r["unit"] == "yamaguchi")["2020-04"] == "ok"


def test_a_refused_batch_leaves_its_cells_quarantined_until_a_good_copy_loads() -> None:
    from branchkpi.tasks.coverage import statistics_cells

    observations = pl.DataFrame(
        {"region_code": ["35", "35", "00", None], "fiscal_year": [2020, 2020, 2020, 2020], "month": [4, 5, 4, 6]},
        schema={"region_code": pl.String, "fiscal_year": pl.Int32, "month": pl.Int32},
    )
    cells = statistics_cells(observations)
    assert [(c["unit"], c["period"]) for c in cells] == [
        ("national", "2020-04"),
        ("yamaguchi", "2020-04"),
        ("yamaguchi", "2020-05"),
    ]
    refused = {(c["unit"], c["period"]) for c in cells}
    loaded, replaced = frames([("35", 5, 6, 0)], [])  # May came again, good, and loaded
    rows = statistics_grid(loaded, replaced, 2020, date(2020, 7, 13), refused)
    cell = {(r["unit"], r["period"]): r["status"] for r in rows}
    assert cell[("yamaguchi", "2020-04")] == cell[("national", "2020-04")] == "quarantined"
    assert cell[("yamaguchi", "2020-05")] == "loaded"
    assert statistics_cells(observations, [2019]) == []
    _, table = grid_table(rows, "ja")
    assert next(r for r in table if r["unit"] == "山口")["4月"] == "隔"


def _kpi_units() -> pl.DataFrame:
    return pl.DataFrame(
        [
            ("33:倉敷市", "municipality", "倉敷市", None, 1),
            ("11", "branch", "埼玉", "saitama", 12),
            ("35", "branch", "山口", "yamaguchi", 10),
        ],
        orient="row",
        schema={
            "unit_key": pl.String,
            "kind": pl.String,
            "name_ja": pl.String,
            "name_romaji": pl.String,
            "kpis": pl.Int32,
        },
    )


def test_the_kpi_grid_has_quarters_and_the_year_as_each_unit_owes_them() -> None:
    from branchkpi.tasks.coverage import kpi_cells, kpi_grid

    actuals = pl.DataFrame(
        [
            ("11", "2017-04", "service_standard_rate", 0),
            ("11", "Q1", "lifestyle_checkup_rate", 0),
            ("11", "Q2", "lifestyle_checkup_rate", 1),
            ("35", "Q1", "mail_application_rate", 0),
            ("33:倉敷市", "FY", "nhi_collection_rate", 0),
        ],
        orient="row",
        schema={"unit_key": pl.String, "period": pl.String, "kpi_id": pl.String, "warned": pl.Int32},
    )
    rows = kpi_grid(_kpi_units(), actuals, {("35", "Q1")}, 2017, date(2017, 11, 1), {("yamaguchi", "Q2")})
    cell = {(r["unit"], r["period"]): r for r in rows}
    assert [r["unit"] for r in rows][:5] == ["saitama"] * 5 and rows[-1]["unit"] == "33:倉敷市"
    # a branch owes Q1–Q4 and FY; a municipality its year only
    assert [r["period"] for r in rows if r["unit"] == "yamaguchi"] == ["Q1", "Q2", "Q3", "Q4", "FY"]
    assert [r["period"] for r in rows if r["unit"] == "33:倉敷市"] == ["FY"]
    saitama_q1 = cell[("saitama", "Q1")]
    assert (saitama_q1["status"], saitama_q1["metrics"], saitama_q1["metrics_expected"]) == ("loaded", 2, 12)
    assert saitama_q1["due"] == "2017-07-24"  # the 15th business day after 30 June 2017 (17 July: 海の日)
    assert cell[("saitama", "Q2")]["status"] == "warned"
    assert cell[("yamaguchi", "Q1")]["status"] == "replaced"
    assert cell[("yamaguchi", "Q2")]["status"] == "quarantined"
    # Q2 was due on 2017-10-23: 埼玉 sent it; the FY is not due before April
    assert cell[("saitama", "Q3")]["status"] == "not_due" and cell[("saitama", "FY")]["status"] == "not_due"
    assert cell[("33:倉敷市", "FY")]["status"] == "loaded" and cell[("33:倉敷市", "FY")]["unit_ja"] == "倉敷市"
    headers, table = grid_table(rows, "ja")
    assert headers == ["unit", "第1四半期", "第2四半期", "第3四半期", "第4四半期", "年度"]
    kurashiki = next(r for r in table if r["unit"] == "倉敷市")
    assert (kurashiki["第1四半期"], kurashiki["年度"]) == ("", "済")  # not owed: blank
    late = {
        (r["unit"], r["period"]): r["status"]
        for r in kpi_grid(_kpi_units(), actuals.head(0), set(), 2017, date(2018, 5, 1))
    }
    assert late[("yamaguchi", "Q1")] == late[("yamaguchi", "FY")] == late[("33:倉敷市", "FY")] == "missing"
    refused = kpi_cells(
        pl.DataFrame({"reporting_unit": ["11", "33:倉敷市"], "fiscal_year": [2017, 2017], "period": ["2017-08", "FY"]})
    )
    assert refused == [
        {"kind": "kpi", "unit": "33:倉敷市", "fiscal_year": 2017, "period": "FY"},
        {"kind": "kpi", "unit": "saitama", "fiscal_year": 2017, "period": "Q2"},
    ]
