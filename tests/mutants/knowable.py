"""Whether a rule can know a mutant, decided from what the file and its history print, by the documented
tolerances (docs/quality-gate.md), never by running the gate. A digit swap is knowable when a printed
前年同月比 or 合計 / 年度平均 covers the figure by more than its rounding, or the swap puts the figure or
a cross-metric ratio out of its documented range; two metrics' labels swapped when a range or ratio
breaks. Everything else a class can make is knowable by construction (a shape, a contradiction, a
duplicate, a scale)."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from branchkpi.domain import metrics
from branchkpi.tasks.validate.statistics import YOY_PRINTED_PRECISION

Key = tuple[str, str, int, int]  # region, metric, fiscal year, month


def values_of(observations: pl.DataFrame, history: pl.DataFrame | None) -> dict[Key, float]:
    """The figures the gate sees: the history, overwritten by the file's own."""
    out: dict[Key, float] = {}
    for frame in (history, observations):
        if frame is None or frame.height == 0:
            continue
        for r in frame.select("region_code", "metric", "fiscal_year", "month", "value").drop_nulls().iter_rows():
            out[(r[0], r[1], int(r[2]), int(r[3]))] = float(r[4])
    return out


def out_of_range(metric: str, region: str, value: float) -> bool:
    low, high = metrics.plausible_range(metric, region)
    return not low <= value <= high


def ratios_broken(values: Mapping[Key, float], region: str, fy: int, month: int) -> bool:
    """Whether any cross-metric ratio of that region's month lies outside its range."""
    for ratio in metrics.RATIOS:
        parts = [values.get((region, m, fy, month)) for m in ratio.metrics]
        if any(p is None for p in parts):
            continue
        numerator, *denominators = parts
        below = sum(d for d in denominators if d is not None)
        if below > 0 and numerator is not None:
            value = numerator * ratio.scale / below
            if not ratio.plausible[0] <= value <= ratio.plausible[1]:
                return True
    return False


def _yoy_breaks(value: float, prev: float, printed: float | None, unit: float) -> bool:
    if printed is None or prev <= 0:
        return False
    rounding = 100 * 0.5 * unit * (1 / prev + value / (prev * prev))
    return abs((value / prev - 1) * 100 - printed) > YOY_PRINTED_PRECISION / 2 + rounding + 1e-9


def digit_swap_knowable(
    key: Key, new: float, observations: pl.DataFrame, totals: pl.DataFrame, history: pl.DataFrame | None
) -> str | None:
    """The documented rule that covers a figure typed `new` instead of its value at `key`, or None."""
    region, metric, fy, month = key
    values = values_of(observations, history)
    old = values[key]
    if out_of_range(metric, region, new):
        return "value_plausible"
    if ratios_broken({**values, key: new}, region, fy, month):
        return "ratio"
    rows = {
        (r["region_code"], r["metric"], r["fiscal_year"], r["month"]): r
        for r in observations.select("region_code", "metric", "fiscal_year", "month", "yoy_pct_printed", "printed_unit")
        .drop_nulls(["region_code", "metric", "fiscal_year", "month"])
        .iter_rows(named=True)
    }
    own = rows.get(key, {})
    unit = float(own.get("printed_unit") or 1.0)
    prev = values.get((region, metric, fy - 1, month))
    if prev is not None and _yoy_breaks(new, prev, own.get("yoy_pct_printed"), unit):
        return "yoy_printed_matches"
    later = rows.get((region, metric, fy + 1, month))
    after = values.get((region, metric, fy + 1, month))
    if later and after is not None and _yoy_breaks(after, new, later.get("yoy_pct_printed"), unit):
        return "yoy_printed_matches"
    year = {m: v for (r, me, y, m), v in values.items() if (r, me, y) == (region, metric, fy)}
    printed = totals.filter(
        (pl.col("region_code") == region) & (pl.col("metric") == metric) & (pl.col("fiscal_year") == fy)
    )
    if len(year) == 12 and printed.height:
        total_unit = float(printed["printed_unit"].fill_null(1.0)[0])
        summed = metrics.BY_ID[metric].aggregation == "sum"
        change = abs(new - old) if summed else abs(new - old) / 12
        allowed = 0.5 * (12 * unit + total_unit) if summed else 0.5 * (unit + total_unit)
        if change > allowed + 1e-9:
            return "printed_total_matches_months" if summed else "printed_average_matches_months"
    return None


def relabelled_knowable(
    moved: Mapping[Key, float], observations: pl.DataFrame, history: pl.DataFrame | None
) -> str | None:
    """Whether figures read under other metrics (`moved`: key as now labelled → figure) break a range or
    a ratio."""
    values = {**values_of(observations, history), **moved}
    for (region, metric, fy, month), value in moved.items():
        if metric in metrics.INPUT_METRIC_IDS and out_of_range(metric, region, value):
            return "value_plausible"
        if ratios_broken(values, region, fy, month):
            return "ratio"
    return None
