"""What cannot be true, with or without history: context columns of the statistics' validation frame.

- `plausible_excess`: how far a figure lies outside its metric's plausible range for its kind of region
  (全国, a branch; branchkpi.domain.metrics), ≤ 0 inside; `plausible_range` says the range.
- `ratio_<id>`: each cross-metric ratio of branchkpi.domain.metrics.RATIOS for the row's region and
  month (batch and warehouse together), on the rows of the metrics it is made of.
- `scale_jump`: the factor between a figure and its history when only a scale or typing error explains
  it (×10, ×100, ×1,000 and their inverses: a factor of SCALE_FACTOR or more, which no month of the real
  series comes near), against the same unit's figure already stored for that month, the previous and
  next month, and the same month a year before and after. A figure in the warehouse passed the gate, so
  one of them that says so is enough; figures of the same batch must all say so (one wrong month in a
  batch is then the row named, not its neighbours).
"""

from __future__ import annotations

import polars as pl

from branchkpi.domain import metrics
from branchkpi.domain.regions import NATIONAL_CODE

KEY = ["region_code", "metric", "fiscal_year", "month"]
# ≥ ×5 or ≤ ÷5 against history: the real series move at most 16 % in a year (保険給付費, spring 2020)
SCALE_FACTOR = 5.0


def _figure(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.4g}"


def range_columns(frame: pl.DataFrame, fiscal_year_figures: bool = False) -> pl.DataFrame:
    """plausible_excess (the value's distance outside its range, ≤ 0 inside) and plausible_range; of a
    printed fiscal-year figure with `fiscal_year_figures` (a 合計 of a summed metric: 12 months' range)."""

    def scaled(m: metrics.Metric, bounds: tuple[float, float]) -> tuple[float, float]:
        n = 12 if fiscal_year_figures and m.aggregation == "sum" else 1
        return bounds[0] * n, bounds[1] * n

    low_n = {m.id: scaled(m, m.plausible_national)[0] for m in metrics.METRICS}
    high_n = {m.id: scaled(m, m.plausible_national)[1] for m in metrics.METRICS}
    low_b = {m.id: scaled(m, m.plausible_branch)[0] for m in metrics.METRICS}
    high_b = {m.id: scaled(m, m.plausible_branch)[1] for m in metrics.METRICS}
    national = pl.col("region_code") == NATIONAL_CODE
    metric = pl.col("metric")
    low = (
        pl.when(national)
        .then(metric.replace_strict(low_n, default=None))
        .otherwise(metric.replace_strict(low_b, default=None))
    )
    high = (
        pl.when(national)
        .then(metric.replace_strict(high_n, default=None))
        .otherwise(metric.replace_strict(high_b, default=None))
    )
    text = {
        (m.id, kind): "{}–{}".format(*(_figure(b) for b in scaled(m, bounds)))
        for m in metrics.METRICS
        for kind, bounds in (("00", m.plausible_national), ("branch", m.plausible_branch))
    }
    kind = pl.when(national).then(pl.lit("00")).otherwise(pl.lit("branch"))
    return frame.with_columns(
        plausible_excess=pl.when(pl.col("region_code").is_not_null()).then(
            pl.max_horizontal(low.cast(pl.Float64) - pl.col("value"), pl.col("value") - high.cast(pl.Float64))
        ),
        plausible_range=pl.concat_str(metric, pl.lit("|"), kind).replace_strict(
            {f"{m}|{k}": v for (m, k), v in text.items()}, default=None
        ),
    )


def ratio_columns(frame: pl.DataFrame, combined: pl.DataFrame, by: list[str] | None = None) -> pl.DataFrame:
    """ratio_<id> for every RATIOS entry, from the region's month in the batch and warehouse together,
    on the batch rows of the metrics the ratio is made of (`by`: columns telling batches apart)."""
    needed = sorted({m for r in metrics.RATIOS for m in r.metrics})
    month = ["region_code", "fiscal_year", "month", *(by or [])]
    wide = combined.filter(pl.col("metric").is_in(needed)).pivot(on="metric", index=month, values="value")
    for m in needed:
        if m not in wide.columns:
            wide = wide.with_columns(pl.lit(None, pl.Float64).alias(m))
    for ratio in metrics.RATIOS:
        denominator = pl.sum_horizontal(*(pl.col(d) for d in ratio.denominators))
        known = pl.all_horizontal(*(pl.col(m).is_not_null() for m in ratio.metrics)) & (denominator > 0)
        values = wide.select(
            *month,
            pl.when(known).then(pl.col(ratio.numerator) * ratio.scale / denominator).alias(f"ratio_{ratio.id}"),
        )
        frame = frame.join(values, on=month, how="left").with_columns(
            pl.when(pl.col("metric").is_in(ratio.metrics)).then(pl.col(f"ratio_{ratio.id}")).alias(f"ratio_{ratio.id}")
        )
    return frame


def _month_index(fiscal_year: pl.Expr, month: pl.Expr) -> pl.Expr:
    """Months counted in order: April of FY2020 follows March of FY2019."""
    return fiscal_year.cast(pl.Int64) * 12 + (month.cast(pl.Int64) - 4) % 12


def scale_jump_columns(
    frame: pl.DataFrame, batch: pl.DataFrame, existing: pl.DataFrame, by: list[str] | None = None
) -> pl.DataFrame:
    """scale_jump (value ÷ the reference, when only a scale or typing error explains it) and
    scale_jump_reference (which figure it was compared with); `by`: columns telling batches apart."""
    by = by or []
    key = [*KEY, *by]
    existing = existing.select(*key, "value")
    stored = existing.select(*key, pl.col("value").alias("_ref"))
    in_batch = batch.select(*key, "value").drop_nulls().unique(subset=key, keep="last")
    history = pl.concat(
        [
            existing.join(in_batch, on=key, how="anti").with_columns(_src=pl.lit("stored")),
            in_batch.with_columns(_src=pl.lit("batch")),
        ],
        how="vertical",
    ).select(
        "region_code",
        "metric",
        *by,
        _month_index(pl.col("fiscal_year"), pl.col("month")).alias("_t"),
        pl.col("fiscal_year").alias("_rfy"),
        pl.col("month").alias("_rm"),
        pl.col("value").alias("_ref"),
        "_src",
    )
    rows = frame.select("row_id", *key, "value").with_columns(_t=_month_index(pl.col("fiscal_year"), pl.col("month")))
    refs = [
        rows.join(stored, on=key, how="inner").select(
            "row_id",
            "value",
            "_ref",
            _src=pl.lit("stored"),
            _what=pl.lit("the figure stored for this month"),
        )
    ]
    for shift, what in ((-1, "the month before"), (1, "the month after"), (-12, "a year before"), (12, "a year after")):
        joined = rows.with_columns(_t=pl.col("_t") + shift).join(history, on=["region_code", "metric", "_t", *by])
        refs.append(
            joined.select(
                "row_id",
                "value",
                "_ref",
                "_src",
                _what=pl.format("{} ({}-{})", pl.lit(what), pl.col("_rfy"), pl.col("_rm")),
            )
        )
    ratio = pl.col("value") / pl.col("_ref")
    scaled = (ratio >= SCALE_FACTOR) | (ratio <= 1 / SCALE_FACTOR)
    checked = (
        pl.concat(refs, how="vertical")
        .filter((pl.col("_ref") > 0) & (pl.col("value") > 0))
        .with_columns(_ratio=ratio, _scaled=scaled, _stored=pl.col("_src") == "stored")
    )
    verdict = (
        checked.group_by("row_id")
        .agg(
            _any_stored=(pl.col("_scaled") & pl.col("_stored")).any(),
            _all=pl.col("_scaled").all(),
            _first=pl.col("_ratio").filter(pl.col("_scaled")).first(),
            _about=pl.format("{} {}", pl.col("_what"), pl.col("_ref").round(0).cast(pl.Int64))
            .filter(pl.col("_scaled"))
            .first(),
        )
        .filter(pl.col("_any_stored") | pl.col("_all"))
        .select("row_id", scale_jump=pl.col("_first"), scale_jump_reference=pl.col("_about"))
    )
    return frame.join(verdict, on="row_id", how="left")
