"""What a table's rows say against what its file name, sheet name and lines say (parse.context): a file
that states a fiscal year, a month, a region or a metric in two places must state the same, or it is
refused naming both (`年度 C2 '令和2年度' (FY2020) vs 対象年月 D5 '2019年4月' (FY2019)`).

- A fiscal year stated outside the table is the table's latest fiscal year (a title 令和2年度 over the
  months of FY2019 is last year's template with the year updated, or the reverse).
- A month stated outside the table (`令和2年4月分`, a sheet `令和2年10月`, `3月末現在`) is its latest month.
- A branch named outside the table is the only branch in it (全国 may stand beside it); 全国 named alone
  over a table of one branch contradicts it.
- A metric named outside the table (`◆被保険者数`, `yamaguchi_dependents.csv`) is one of its metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from branchkpi.domain import fiscal
from branchkpi.domain.regions import NATIONAL_CODE
from branchkpi.tasks.parse.context import Statement, TableContext, contradiction

# (row of the table, aspect) → the place of the cell that states it: `対象年月 D5 '2019年4月'`
Describe = Callable[[dict[str, Any], str], str]


def check_table(rows: pl.DataFrame, ctx: TableContext, describe: Describe) -> None:
    """Raise FileParseError when the table's rows (region_code, metric, fiscal_year, month, …) contradict
    what the context states."""
    if rows.height == 0:
        return
    _fiscal_year(rows, ctx, describe)
    _month(rows, ctx, describe)
    _region(rows, ctx, describe)
    _metric(rows, ctx, describe)


def _fiscal_year(rows: pl.DataFrame, ctx: TableContext, describe: Describe) -> None:
    stated = ctx.fiscal_year()
    known = rows.filter(pl.col("fiscal_year").is_not_null())
    if stated is None or known.height == 0:
        return
    latest = known["fiscal_year"].max()
    if latest != stated.value:
        row = known.filter(pl.col("fiscal_year") == latest).row(0, named=True)
        raise contradiction("fiscal year", stated, Statement("fiscal_year", latest, describe(row, "fiscal_year")))


def _month(rows: pl.DataFrame, ctx: TableContext, describe: Describe) -> None:
    monthly = rows.filter(pl.col("fiscal_year").is_not_null() & pl.col("month").is_between(1, 12))
    if monthly.height == 0:
        return
    ordered = monthly.with_columns(_i=(pl.col("month") - 4) % 12).sort("fiscal_year", "_i")
    row = ordered.row(ordered.height - 1, named=True)
    latest = fiscal.Period(int(row["fiscal_year"]), int(row["month"]))
    period = ctx.period()
    if period is not None and period.value != latest:
        raise contradiction("month", period, Statement("period", latest, describe(row, "month")))
    month = ctx.month() if period is None else None
    if month is not None and month.value != latest.month:
        raise contradiction("month", month, Statement("month", latest.month, describe(row, "month")))


def _region(rows: pl.DataFrame, ctx: TableContext, describe: Describe) -> None:
    stated = ctx.region()
    codes = set(rows["region_code"].drop_nulls().unique().to_list())
    if stated is None or not codes:
        return
    if stated.value != NATIONAL_CODE:
        others = codes - {stated.value, NATIONAL_CODE}
    else:
        others = codes if len(codes) == 1 and NATIONAL_CODE not in codes else set()
    if others:
        other = sorted(others)[0]
        row = rows.filter(pl.col("region_code") == other).row(0, named=True)
        raise contradiction("region", stated, Statement("region", other, describe(row, "region")))


def _metric(rows: pl.DataFrame, ctx: TableContext, describe: Describe) -> None:
    allowed, stated = ctx.metrics()
    present = set(rows["metric"].drop_nulls().unique().to_list())
    if stated is None or not present or present & allowed:
        return
    other = sorted(present)[0]
    row = rows.filter(pl.col("metric") == other).row(0, named=True)
    raise contradiction("metric", stated, Statement("metric", other, describe(row, "metric")))
