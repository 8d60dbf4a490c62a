"""The plausible ranges and cross-metric ratios of the domain catalogue (branchkpi.domain.metrics) are
what their docstring says they are: derived from the real series in data/sample/seed by the documented
formula, each spanning less than ×1,000, holding every real figure and every synthetic one; and the
scale_jump context of the gate finds a figure ×10 against its history, not its neighbours."""

from __future__ import annotations

import math

import polars as pl
import pytest

from branchkpi.domain import metrics
from branchkpi.synthetic.stats import read_real_stats, synth_monthly_stats
from branchkpi.tasks.validate import plausibility

from ..conftest import TIDY_SEED

REAL = read_real_stats(TIDY_SEED).rename({"region": "region_code"})


def outward(value: float, up: bool) -> float:
    """Rounded outward to two significant digits."""
    exponent = 10 ** (math.floor(math.log10(value)) - 1)
    return (math.ceil if up else math.floor)(value / exponent - 1e-9 * (1 if up else -1)) * exponent


def seed_range(metric: str, national: bool) -> tuple[float, float]:
    values = REAL.filter((pl.col("metric") == metric) & ((pl.col("region_code") == "00") == national))["value"]
    return float(values.min()), float(values.max())  # type: ignore[arg-type]


@pytest.mark.parametrize("metric", [m.id for m in metrics.METRICS])
def test_ranges_are_derived_from_the_real_series(metric: str) -> None:
    m = metrics.BY_ID[metric]
    low, high = seed_range(metric, national=True)
    assert m.plausible_national == (outward(low / 3, False), outward(high * 3, True))
    if m.capped_by_national:
        assert m.plausible_branch == (outward(low / 1000, False), outward(high / 2, True))
    else:
        assert m.plausible_branch == (outward(low / 2, False), outward(high * 2, True))


@pytest.mark.parametrize("metric", [m.id for m in metrics.METRICS])
def test_every_range_holds_the_real_figures_and_catches_a_thousandfold_slip(metric: str) -> None:
    m = metrics.BY_ID[metric]
    for national, (low, high) in ((True, m.plausible_national), (False, m.plausible_branch)):
        real_low, real_high = seed_range(metric, national)
        assert low <= real_low and real_high <= high
        assert high / low < 1000  # any figure inside, ×1,000 or ÷1,000, lands outside
    national_low, national_high = seed_range(metric, True)
    assert national_high * 10 > m.plausible_national[1] and national_low / 10 < m.plausible_national[0]


def test_the_ratios_hold_the_real_series_and_refuse_the_swaps() -> None:
    framed = plausibility.ratio_columns(REAL, REAL)
    for ratio in metrics.RATIOS:
        values = framed[f"ratio_{ratio.id}"].drop_nulls()
        assert values.len() > 0
        low, high = ratio.plausible
        assert low <= values.min() and values.max() <= high  # type: ignore[operator]
    dependents = framed["ratio_dependents_per_insured"].drop_nulls()
    assert (1 / dependents).min() > metrics.RATIOS[0].plausible[1]  # 被保険者数 ↔ 被扶養者数 swapped


@pytest.mark.parametrize("years", [range(2005, 2021), range(1995, 2027)])
def test_synthetic_statistics_are_plausible(years: range) -> None:
    synthetic = synth_monthly_stats(read_real_stats(TIDY_SEED), years).rename({"region": "region_code"})
    assert plausibility.range_columns(synthetic).filter(pl.col("plausible_excess") > 0).height == 0
    framed = plausibility.ratio_columns(synthetic, synthetic)
    for ratio in metrics.RATIOS:
        column = framed[f"ratio_{ratio.id}"]
        assert column.is_between(*ratio.plausible).fill_null(True).all(), ratio.id


def scale_jumps(batch: pl.DataFrame, stored: pl.DataFrame) -> pl.DataFrame:
    frame = batch.with_row_index("row_id").with_columns(pl.col("row_id").cast(pl.Int64))
    return plausibility.scale_jump_columns(frame, frame, stored)


def test_scale_jump_names_the_odd_month_and_uses_history() -> None:
    year = REAL.filter((pl.col("region_code") == "35") & (pl.col("metric") == "insured_persons"))
    fy2019 = year.filter(pl.col("fiscal_year") == 2019)
    one_wrong = fy2019.with_columns(
        value=pl.when(pl.col("month") == 7).then(pl.col("value") * 10).otherwise(pl.col("value"))
    )
    empty = REAL.head(0)
    flagged = scale_jumps(one_wrong, empty).filter(pl.col("scale_jump").is_not_null())
    assert flagged["month"].to_list() == [7]  # June and August are not named for their neighbour
    whole = fy2019.with_columns(pl.col("value") * 100)
    assert scale_jumps(whole, empty)["scale_jump"].null_count() == 12  # self-consistent: history knows
    against = scale_jumps(whole, year.filter(pl.col("fiscal_year") != 2019))
    assert against["scale_jump"].null_count() == 0 and (against["scale_jump"].log10().round(0) == 2).all()
    assert scale_jumps(fy2019, year)["scale_jump"].null_count() == 12  # the real series moves nowhere near ×5
