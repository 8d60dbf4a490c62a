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
        pl.DataFrame(loaded or None, orient="row",
                     schema={"region_code": pl.String, "month": pl.Int32, "metrics": pl.Int32, "warned": pl.Int32}),
        pl.DataFrame(replaced or None, orient="row", schema={"region_code": pl.String, "month": pl.Int32}),
    )  # fmt: skip


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
