"""期間 and 時点 of KPI figures, every form README's "KPI files" section lists, the forms refused, and
the fiscal years a sheet name or title states (issue 27: what a row says twice must agree)."""

from __future__ import annotations

import pytest

from branchkpi.domain.kpi_periods import (
    AsOf,
    as_of_within,
    parse_as_of,
    parse_kpi_period,
    period_months,
    stated_fiscal_years,
)


@pytest.mark.parametrize(
    ("written", "period", "stated"),
    [
        ("", "FY", None),
        ("FY", "FY", None),
        ("fy", "FY", None),
        ("年度", "FY", None),
        ("通年", "FY", None),
        ("年間", "FY", None),
        ("年度末", "FY", None),
        ("Q1", "Q1", None),
        ("q2", "Q2", None),
        ("3Q", "Q3", None),
        ("第4四半期", "Q4", None),
        ("第１四半期", "Q1", None),
        ("4〜6月", "Q1", None),
        ("7月～9月", "Q2", None),
        ("10-12月", "Q3", None),
        ("1〜3月", "Q4", None),
        ("令和2年度", "FY", 2020),
        ("2020年度", "FY", 2020),
        ("FY2020", "FY", 2020),
        ("令和2年度第1四半期", "Q1", 2020),
        ("令和2年度 第2四半期", "Q2", 2020),
        ("R2Q3", "Q3", 2020),
        ("FY2020 Q4", "Q4", 2020),
        ("平成29年度4〜6月", "Q1", 2017),
        ("2020-09", "2020-09", None),
        ("2020/9", "2020-09", None),
        ("2020年9月", "2020-09", None),
        ("令和2年9月", "2020-09", None),
        ("R2.9", "2020-09", None),
        ("2020-09-30", "2020-09", None),
        ("9月", "2020-09", None),  # in the row's fiscal year (令和2年度)
        ("3月", "2021-03", None),
        ("3月末", "2021-03", None),
    ],
)
def test_periods(written: str, period: str, stated: int | None) -> None:
    read = parse_kpi_period(written, 2020)
    assert (read.period, read.stated_fiscal_year) == (period, stated)


@pytest.mark.parametrize("written", ["4", "12", "上半期", "5〜7月", "13月", "令和2年度上半期", "2020-09-15"])
def test_periods_refused(written: str) -> None:
    with pytest.raises(ValueError):
        parse_kpi_period(written, 2020)


def test_a_bare_month_needs_the_rows_fiscal_year() -> None:
    with pytest.raises(ValueError, match="年度"):
        parse_kpi_period("9月", None)


@pytest.mark.parametrize(
    ("written", "month", "names_year"),
    [
        ("令和3年3月末", "2021-03", None),
        ("令和3年3月末時点", "2021-03", None),
        ("令和3年3月末現在", "2021-03", None),
        ("平成29年6月時点", "2017-06", None),
        ("令和2年9月", "2020-09", None),
        ("令和2年9月診療分", "2020-09", None),
        ("2021-03-31", "2021-03", None),
        ("2021/3/31", "2021-03", None),
        ("2021年3月31日現在", "2021-03", None),
        ("R3.3.31", "2021-03", None),
        ("H29.6.30", "2017-06", None),
        ("令和2年度末", "2021-03", 2020),
        ("H29年度末", "2018-03", 2017),
        ("年度末", "2021-03", None),  # the row's own fiscal year's end
    ],
)
def test_as_of(written: str, month: str, names_year: int | None) -> None:
    read = parse_as_of(written, 2020)
    assert read is not None and (read.label, read.stated_fiscal_year) == (month, names_year)


@pytest.mark.parametrize("written", ["速報値", "令和3年2月30日", "令和3年13月", "3月末"])
def test_as_of_refused(written: str) -> None:
    with pytest.raises(ValueError):
        parse_as_of(written, 2020)


def test_as_of_inside_the_period() -> None:
    assert period_months(2020, "FY") == ((2020, 4), (2021, 3))
    assert period_months(2020, "Q4") == ((2021, 1), (2021, 3))
    assert as_of_within(2020, "FY", AsOf(2021, 3))
    assert not as_of_within(2020, "FY", AsOf(2020, 3))  # 令和2年3月末 belongs to 令和元年度
    assert as_of_within(2017, "Q1", AsOf(2017, 6)) and not as_of_within(2017, "Q1", AsOf(2017, 9))
    assert as_of_within(2020, "2020-09", AsOf(2020, 9)) and not as_of_within(2020, "2020-09", AsOf(2020, 10))
    assert not as_of_within(2020, "FY", AsOf(2020, 3, 2019))  # 令和元年度末 for a 令和2年度 figure
    # a month's first day closes the month before too: 令和3年4月1日現在 is the end of 令和2年度
    assert as_of_within(2020, "FY", parse_as_of("令和3年4月1日現在", 2020))  # type: ignore[arg-type]
    assert as_of_within(2020, "2020-04", parse_as_of("2020-04-01", 2020))  # type: ignore[arg-type]  # an Excel month
    assert not as_of_within(2020, "FY", parse_as_of("令和3年4月2日", 2020))  # type: ignore[arg-type]
    assert as_of_within(2019, "Q4", parse_as_of("2020-04-01", 2019))  # type: ignore[arg-type]
    assert parse_as_of("", 2020) is None and parse_as_of("-", 2020) is None


@pytest.mark.parametrize(
    ("label", "years"),
    [
        ("令和2年度 事業実績", (2020,)),
        ("R2実績", (2020,)),
        ("H30", (2018,)),
        ("2020年度 KPI", (2020,)),
        ("FY2020", (2020,)),
        ("平成29年度末目標（平成28年度比）", (2016, 2017)),
        ("実績", ()),
        ("令和3年3月末時点", ()),  # a date, not a fiscal year
        ("R2.4", ()),
        ("Sheet1", ()),
    ],
)
def test_fiscal_years_a_sheet_name_or_title_states(label: str, years: tuple[int, ...]) -> None:
    assert stated_fiscal_years(label) == years
