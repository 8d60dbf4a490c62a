"""Synthetic data at scale: consistent with the real series, branches summing to the national total,
1,741 municipalities, repeatable (the data alone; the flows take it in flows/test_synthetic_pipeline.py)."""

from __future__ import annotations

import polars as pl
import pytest

from branchkpi.domain import regions
from branchkpi.synthetic.kpis import municipalities, synth_municipal_kpis
from branchkpi.synthetic.stats import ADDITIVE, read_real_stats, synth_monthly_stats

from ..conftest import SEED, TIDY_SEED

YEARS = range(2014, 2022)  # before, across and after the real FY2017–FY2020


@pytest.fixture(scope="module")
def stats() -> pl.DataFrame:
    return synth_monthly_stats(read_real_stats(TIDY_SEED), YEARS)


def test_every_region_month_and_metric(stats: pl.DataFrame) -> None:
    assert stats.height == len(YEARS) * 48 * 12 * 6
    assert stats.select(pl.struct("region", "fiscal_year", "month", "metric").is_unique().all()).item()
    assert set(stats["region"]) == {b.code for b in regions.BRANCHES} | {regions.NATIONAL_CODE}
    assert stats["value"].min() > 0  # type: ignore[operator]


def test_branches_sum_to_the_national_total(stats: pl.DataFrame) -> None:
    additive = stats.filter(pl.col("metric").is_in(ADDITIVE))
    branches = additive.filter(pl.col("region") != regions.NATIONAL_CODE).group_by("metric", "fiscal_year", "month")
    national = additive.filter(pl.col("region") == regions.NATIONAL_CODE).drop("region", "unit")
    joined = branches.agg(pl.col("value").sum().alias("branch_sum")).join(
        national, on=["metric", "fiscal_year", "month"]
    )
    assert joined.height == len(ADDITIVE) * len(YEARS) * 12
    assert (joined["branch_sum"] - joined["value"]).abs().max() < 1e-6


def test_remuneration_is_the_insured_weighted_mean(stats: pl.DataFrame) -> None:
    wide = stats.pivot(on="metric", index=["region", "fiscal_year", "month"], values="value")
    pay = "avg_standard_monthly_remuneration_yen"
    branches = (
        wide.filter(pl.col("region") != regions.NATIONAL_CODE)
        .group_by("fiscal_year", "month")
        .agg(((pl.col(pay) * pl.col("insured_persons")).sum() / pl.col("insured_persons").sum()).alias("weighted"))
    )
    national = wide.filter(pl.col("region") == regions.NATIONAL_CODE).select("fiscal_year", "month", pay)
    joined = branches.join(national, on=["fiscal_year", "month"])
    assert ((joined["weighted"] - joined[pay]).abs() / joined[pay]).max() < 1e-4  # branch values are whole yen


def test_the_real_series_is_kept(stats: pl.DataFrame) -> None:
    real = read_real_stats(TIDY_SEED)
    kept = real.join(stats, on=["region", "fiscal_year", "month", "metric"], how="left")
    assert kept.height == real.height == 576
    assert (kept["value"] == kept["value_right"]).all()


def test_fixed_seed_repeats(stats: pl.DataFrame) -> None:
    real = read_real_stats(TIDY_SEED)
    assert synth_monthly_stats(real, YEARS).equals(stats)
    assert not synth_monthly_stats(real, YEARS, seed=7).equals(stats)


def test_1741_municipalities_under_their_prefectures() -> None:
    okayama = pl.read_csv(SEED / "okayama_collection_rate_notes.csv")["municipality_ja"].to_list()
    units = municipalities(okayama)
    assert units.height == 1741
    assert units.select(pl.struct("prefecture", "municipality").is_unique().all()).item()
    assert set(okayama) <= set(units.filter(pl.col("prefecture") == "33")["municipality"])
    counts = dict(units.group_by("prefecture").len().iter_rows())
    assert counts["01"] == 179 and counts["13"] == 62 and counts["33"] == 27
    targets, actuals = synth_municipal_kpis(okayama, range(2019, 2021))
    assert targets.height == 1741 * 2 * 4 and actuals.height == 4 * targets.height
    assert actuals["value"].is_between(0, 100).all()
