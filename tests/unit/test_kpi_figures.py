"""A figure is in its KPI's unit, or refused (issue 27): targets as printed with separators and unit
words, the plausible range of every percentage KPI (a fraction of a figure inside it falls outside), and
the factor against the previous year's actual that only a scale or typing error explains."""

from __future__ import annotations

import polars as pl
import pytest

from branchkpi.domain import kpis
from branchkpi.domain.kpi_ranges import PCT_RANGES, SCALE_JUMP_FACTOR, plausible_range, scale_factor

from ..conftest import SEED


@pytest.mark.parametrize(
    ("printed", "comparator", "value", "unit"),
    [
        ("96.30%以上", "ge", 96.3, "pct"),
        ("96.9%以上とする。", "ge", 96.9, "pct"),
        ("20%以下", "le", 20.0, "pct"),
        ("100%とする", "eq", 100.0, "pct"),
        ("100%", "ge", 100.0, "pct"),
        ("1,100事業所以上", "ge", 1100.0, "count"),
        ("3,000人以上", "ge", 3000.0, "count"),
        ("3,000名以上", "ge", 3000.0, "count"),
        ("200社", "ge", 200.0, "count"),
        ("225,000人", "ge", 225000.0, "count"),
        ("150円", "ge", 150.0, "yen"),
        ("対前年度以上", "ge_prev_year", None, None),
        ("対前年度以下", "le_prev_year", None, None),
        ("前年度を上回る", "gt_prev_year", None, None),
        ("【未設定】", "not_set", None, None),
        ("実施する", "done", None, None),
    ],
)
def test_targets_as_printed(printed: str, comparator: str, value: float | None, unit: str | None) -> None:
    assert kpis.parse_target_text(printed) == (comparator, value, unit)


@pytest.mark.parametrize("printed", ["1,10事業所以上", "96..3%以上", "九十%以上", "20%くらい"])
def test_targets_not_understood(printed: str) -> None:
    with pytest.raises(ValueError):
        kpis.parse_target_text(printed)


def test_every_range_leaves_no_room_for_a_fraction() -> None:
    for kpi_id, (low, high) in PCT_RANGES.items():
        assert kpis.BY_ID[kpi_id].unit == "pct", kpi_id
        assert 0 <= low < high <= 100, kpi_id
        if low > 0:  # any figure in the range, divided by 100, falls below it
            assert high / 100 < low, kpi_id


def test_a_flow_starts_at_zero_during_the_year() -> None:
    assert plausible_range("lifestyle_checkup_rate").low == 15.0  # type: ignore[union-attr]
    assert plausible_range("lifestyle_checkup_rate", in_year=True).low == 0.0  # type: ignore[union-attr]
    assert plausible_range("card_recovery_rate", in_year=True).low == 60.0  # type: ignore[union-attr]  # a level
    assert plausible_range("lifestyle_checkup_count") is None and plausible_range(None) is None


def test_the_published_figures_lie_in_their_ranges() -> None:
    actuals = pl.read_csv(SEED / "kpi_actuals.csv", infer_schema=False)
    targets = pl.read_csv(SEED / "kpi_plan_items.csv", infer_schema=False).filter(pl.col("target_value") != "")
    okayama = pl.read_csv(SEED / "okayama_collection_rate_targets.csv", infer_schema=False).filter(
        pl.col("target_value") != ""
    )
    figures = [
        *actuals.select("kpi_id", "value", "period").rows(),
        *targets.select("kpi_id", "target_value", pl.lit("FY")).rows(),
        *[("nhi_collection_rate", v, "FY") for v in okayama["target_value"]],
    ]
    checked = 0
    for kpi_id, value, period in figures:
        bounds = plausible_range(kpi_id, in_year=period != "FY" and not period.endswith("-03"))
        if bounds is not None:
            assert bounds.low <= float(value) <= bounds.high, (kpi_id, value)
            checked += 1
    assert checked > 80


def test_synthetic_figures_lie_in_their_ranges() -> None:
    from branchkpi.synthetic.kpis import synth_branch_kpis, synth_municipal_kpis

    real = pl.read_csv(SEED / "kpi_actuals.csv", infer_schema=False).with_columns(pl.col("value").cast(pl.Float64))
    targets, actuals = synth_branch_kpis(real, range(2005, 2021))
    m_targets, m_actuals = synth_municipal_kpis([], range(2019, 2021))
    for frame, column in (
        (targets, "target_value"),
        (m_targets, "target_value"),
        (actuals, "value"),
        (m_actuals, "value"),
    ):
        spans = frame.group_by("kpi_id").agg(low=pl.col(column).min(), high=pl.col(column).max())
        for kpi_id, low, high in spans.rows():
            bounds = plausible_range(kpi_id, in_year=column == "value")
            assert bounds is not None and bounds.low <= low and high <= bounds.high, (kpi_id, low, high)


def test_scale_jump_factor() -> None:
    assert scale_factor(0.9582, 95.92) == pytest.approx(0.00999, rel=1e-3)  # a fraction for a percentage
    assert scale_factor(9582, 95.92) == pytest.approx(99.9, rel=1e-3)  # a lost decimal point
    assert scale_factor(96, 9.0) == pytest.approx(10.67, rel=1e-3)  # 9.6 typed 96
    assert scale_factor(203, 137) is None  # 新規宣言事業所数: the largest real change, ×1.5
    assert scale_factor(0, 95.92) is None and scale_factor(95.82, None) is None
    assert SCALE_JUMP_FACTOR == 5.0
