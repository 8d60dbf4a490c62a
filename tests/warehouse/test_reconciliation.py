"""Reconciliation with the printed figures, as gate rules: the printed 合計 / 年度平均 against the twelve
months (within the publisher's rounding: the real 保険給付費 totals differ by up to ±2), and the 47
branches' sum against 全国. A figure typed wrong is refused naming its row, column and value; the
untouched real files pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from branchkpi.domain import regions
from branchkpi.synthetic.stats import read_real_stats, synth_monthly_stats, write_by_fiscal_year
from branchkpi.tasks.landing import LandedFile
from branchkpi.tasks.parse import files as parse
from branchkpi.tasks.parse.observations import ParsedFile
from branchkpi.tasks.validate import gx, totals
from branchkpi.tasks.validate import statistics as validate

from ..conftest import LAYOUT_SEED, TIDY_SEED

# the rules are polars over frames and the months are read with the same Core select on both dialects
# (tests/warehouse/test_gate.py reads the context from PostgreSQL too): SQLite is enough here
pytestmark = pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)


def parsed(path: Path, replace: tuple[str, str] | None = None) -> ParsedFile:
    content = path.read_bytes()
    if replace:
        assert replace[0].encode() in content
        content = content.replace(replace[0].encode(), replace[1].encode(), 1)
    return parse.parse_file(LandedFile(5, "0" * 64, path.name, path, len(content), False, content))


def gate(files: list[ParsedFile], engine: Any, bk_home: Path) -> gx.GateResult:
    """The monthly statistics suite and the printed-totals suite, as the quality-gate task runs them."""
    observations = pl.concat([p.observations for p in files])
    printed = pl.concat([p.reported_totals for p in files])
    docs, store = bk_home / "data_docs", bk_home / "gx"
    monthly = validate.run_gate(validate.validation_frame(observations, engine), docs, store, "reconcile")
    frame = totals.validation_frame(printed, observations, engine)
    return gx.merge(monthly, totals.run_gate(frame, docs, store, "reconcile"))


def test_the_real_printed_totals_reconcile_with_their_months(engine: Any, bk_home: Path) -> None:
    files = [parsed(p) for p in sorted(LAYOUT_SEED.glob("*.csv"))]
    printed = pl.concat([p.reported_totals for p in files])
    assert printed.height == 8  # 合計 of 保険給付費, 山口 and 全国, FY2017–FY2020
    frame = totals.validation_frame(printed, pl.concat([p.observations for p in files]), engine)
    gaps = (frame["value"] - frame["months_sum"]).abs()
    assert gaps.max() == 2  # the publisher's own rounding (全国 FY2019: 6,327,830 printed, 6,327,828 summed)
    result = gate(files, engine, bk_home)
    assert result.passed and not result.critical and {f.rule for f in result.warnings} == {"yoy_jump"}


def test_a_month_typed_wrong_is_refused_at_the_total_too(engine: Any, bk_home: Path) -> None:
    """山口 保険給付費 April FY2017, 5,390 typed 5,930, its printed 前年同月比 copied right: the YoY and the
    合計 both give it away."""
    file = parsed(LAYOUT_SEED / "yamaguchi_insurance_benefits.csv", ('"5,390"', '"5,930"'))
    result = gate([file], engine, bk_home)
    assert not result.passed
    total = [f for f in result.critical if f.rule == "printed_total_matches_months"]
    assert [(f.file_name, f.source_row, f.column_name, f.value_text) for f in total] == [
        ("yamaguchi_insurance_benefits.csv", 14, "29年度", "69,294")
    ]
    assert "months_sum=69,834" in total[0].reason and "yamaguchi insurance_benefits" in total[0].reason
    assert [f.source_row for f in result.critical if f.rule == "yoy_printed_matches"] == [2]


def test_a_total_typed_wrong_is_refused_and_the_months_pass(engine: Any, bk_home: Path) -> None:
    file = parsed(LAYOUT_SEED / "national_insurance_benefits.csv", ('"5,987,480"', '"5,987,840"'))
    result = gate([file], engine, bk_home)
    assert [(f.rule, f.source_row, f.column_name, f.value_text) for f in result.critical] == [
        ("printed_total_matches_months", 14, "30年度", "5,987,840")
    ]


def test_a_partial_year_total_is_not_checked(engine: Any, bk_home: Path, tmp_path: Path) -> None:
    text = (LAYOUT_SEED / "yamaguchi_insurance_benefits.csv").read_text(encoding="utf-8").splitlines()
    partial = tmp_path / "yamaguchi_insurance_benefits.csv"
    partial.write_text("\n".join([*text[:7], text[-1]]) + "\n", encoding="utf-8")  # 4月–9月 and the 合計
    file = parsed(partial)
    frame = totals.validation_frame(file.reported_totals, file.observations, engine)
    assert frame["printed_sum_excess"].null_count() == frame.height
    assert not [f for f in gate([file], engine, bk_home).findings if f.rule.startswith("printed_")]


def test_an_average_is_checked_against_the_mean(engine: Any, bk_home: Path, tmp_path: Path) -> None:
    """A tidy file with 年度平均 rows: 被保険者数 is a stock, its year is the months' mean."""
    seed = pl.read_csv(TIDY_SEED, infer_schema=False).filter(
        (pl.col("region") == "yamaguchi") & (pl.col("metric") == "insured_persons") & (pl.col("fiscal_year") == "2019")
    )
    mean = round(seed["value"].cast(pl.Float64).mean())  # type: ignore[arg-type]
    average = seed.head(1).with_columns(month=pl.lit("年度平均"), value=pl.lit(str(mean)), yoy_pct_printed=pl.lit(""))
    good = tmp_path / "good.csv"
    pl.concat([seed, average]).write_csv(good)
    assert gate([parsed(good)], engine, bk_home).passed
    bad = tmp_path / "bad.csv"
    pl.concat([seed, average.with_columns(value=pl.lit(str(mean + 2)))]).write_csv(bad)
    hits = [f for f in gate([parsed(bad)], engine, bk_home).critical if f.rule == "printed_average_matches_months"]
    assert [(f.source_row, f.value_text) for f in hits] == [(14, str(mean + 2))]


def test_the_47_branches_sum_to_national(engine: Any, bk_home: Path, tmp_path: Path) -> None:
    stats = synth_monthly_stats(read_real_stats(TIDY_SEED), [2020]).filter(pl.col("metric") == "insured_persons")
    (clean,) = write_by_fiscal_year(stats, tmp_path / "clean")
    assert gate([parsed(clean)], engine, bk_home).passed
    # 群馬 (10) in May typed 5,000 persons high: within every range, but no longer 全国's part
    gunma_may = (pl.col("region") == "10") & (pl.col("month") == 5)
    (typo,) = write_by_fiscal_year(
        stats.with_columns(value=pl.when(gunma_may).then(pl.col("value") + 5000).otherwise(pl.col("value"))),
        tmp_path / "typo",
    )
    result = gate([parsed(typo)], engine, bk_home)
    hits = [f for f in result.critical if f.rule == "branches_sum_to_national"]
    national_may = stats.filter((pl.col("region") == regions.NATIONAL_CODE) & (pl.col("month") == 5))
    assert len(hits) == 1 and float(hits[0].value_text or "nan") == national_may["value"][0]  # 全国's cell
    assert "national" in hits[0].reason and "branches_sum=" in hits[0].reason
