"""The 月報 table of one metric as numbers, laid out as the branch prints it: a row per month (4月 … 3月,
only up to the quarter in a quarterly report), a value and its 前年同月比 per fiscal year, and the
year's total or average. The HTML page formats these figures; the workbook writes them as they are."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from branchkpi.domain import metrics, regions
from branchkpi.tasks.report.gather import BranchReportData

Cell = tuple[float | None, float | None]  # (value, 前年同月比 %)


@dataclass
class MonthTable:
    metric: metrics.Metric
    months: list[tuple[int, list[Cell]]]  # (calendar month, a cell per fiscal year of data.years)
    totals: list[float | None]  # the year's total (sum) or average, None where a month is missing

    @property
    def summed(self) -> bool:
        return self.metric.aggregation == "sum"


def month_table(data: BranchReportData, metric: metrics.Metric) -> MonthTable:
    branch = data.stats.filter((pl.col("metric") == metric.id) & (pl.col("region_code") != regions.NATIONAL_CODE))
    cells = {(fy, m): (v, y) for fy, m, v, y in branch.select("fiscal_year", "month", "value", "yoy_pct").iter_rows()}
    months = [(month, [cells.get((fy, month), (None, None)) for fy in data.years]) for month in data.months_shown]
    totals: list[float | None] = []
    for fy in data.years:
        values = [cells[(fy, m)][0] for m in data.months_shown if (fy, m) in cells]
        if len(values) != len(data.months_shown) or any(v is None for v in values):
            totals.append(None)  # a total of the months there are would read as the year's: leave it out
            continue
        figures = [float(v) for v in values if v is not None]
        totals.append(sum(figures) if metric.aggregation == "sum" else sum(figures) / len(figures))
    return MonthTable(metric, months, totals)
