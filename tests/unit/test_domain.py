"""Fiscal years, eras, months, regions, metrics and printed numbers: examples and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from branchkpi.domain import fiscal, labels, metrics, numbers, regions

# --- fiscal years and eras ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("令和元年度", 2019),
        ("令和2年度", 2020),
        ("R2", 2020),
        ("r2", 2020),
        ("R元", 2019),
        ("H30", 2018),
        ("平成29年度", 2017),
        ("平成31年度", 2019),
        ("2年度", 2020),
        ("1年度", 2019),
        ("30年度", 2018),
        ("29年度", 2017),
        ("２年度", 2020),
        ("FY2020", 2020),
        ("2020年度", 2020),
        (2020, 2020),
        ("2020", 2020),
        ("2020.0", 2020),
        ("令和 3 年度", 2021),
    ],
)
def test_parse_fiscal_year_examples(text: object, expected: int) -> None:
    assert fiscal.parse_fiscal_year(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "令和0年度", "99年度", "2年", "FY", "13月", True])
def test_parse_fiscal_year_rejects(text: object) -> None:
    with pytest.raises(ValueError):
        fiscal.parse_fiscal_year(text)


@given(st.integers(min_value=1, max_value=30))
def test_heisei_and_reiwa_round_trip(era_year: int) -> None:
    assert fiscal.parse_fiscal_year(f"平成{era_year}年度") == 1988 + era_year
    assert fiscal.parse_fiscal_year(f"H{era_year}") == 1988 + era_year
    assert fiscal.parse_fiscal_year(f"令和{era_year}年度") == 2018 + era_year
    assert fiscal.parse_fiscal_year(f"R{era_year}") == 2018 + era_year


def test_heisei_31_is_reiwa_1() -> None:
    assert fiscal.parse_fiscal_year("平成31年度") == fiscal.parse_fiscal_year("令和元年度") == 2019


@given(st.integers(min_value=1990, max_value=2090), st.integers(min_value=1, max_value=12))
def test_month_belongs_to_fiscal_year_that_began_the_april_before(year: int, month: int) -> None:
    fy = fiscal.fiscal_year_of(year, month)
    assert fy == (year if month >= 4 else year - 1)
    assert fiscal.calendar_year_of(fy, month) == year
    period = fiscal.parse_period(f"{year}-{month:02d}")
    assert (period.fiscal_year, period.month, period.calendar_year) == (fy, month, year)


def test_period_labels_and_order() -> None:
    january = fiscal.parse_period("2021-01")
    assert january.label == "FY2020-01"
    assert fiscal.parse_period("令和3年1月") == january
    assert fiscal.parse_period("2020-04") < fiscal.parse_period("2020-12") < january < fiscal.parse_period("2021-04")
    with pytest.raises(ValueError, match="2020-13"):
        fiscal.parse_period("2020-13")


@pytest.mark.parametrize(
    ("text", "year"),
    [
        ("2021", 2021),
        ("2021年", 2021),
        ("令和3年", 2021),
        ("R3", 2021),
        ("平成31年", 2019),
        ("令和元年", 2019),
        ("２０２１", 2021),
    ],
)
def test_parse_calendar_year(text: str, year: int) -> None:
    assert fiscal.parse_calendar_year(text) == year


@pytest.mark.parametrize("text", ["21", "元年", "abc", "2021年度x"])
def test_parse_calendar_year_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        fiscal.parse_calendar_year(text)


@pytest.mark.parametrize(("text", "month"), [("4月", 4), ("４月", 4), ("12", 12), (3, 3), ("1 月", 1)])
def test_parse_month(text: object, month: int) -> None:
    assert fiscal.parse_month(text) == month


@pytest.mark.parametrize("text", ["13月", "0", "abc", "", "13"])
def test_parse_month_rejects(text: object) -> None:
    with pytest.raises(ValueError):
        fiscal.parse_month(text)


# --- regions and metrics ----------------------------------------------------------------------


def test_47_branches_and_national() -> None:
    assert len(regions.BRANCHES) == 47
    assert [r.code for r in regions.BRANCHES] == [f"{i:02d}" for i in range(1, 48)]
    assert regions.NATIONAL.code == "00"


@pytest.mark.parametrize(
    "text", ["yamaguchi", "Yamaguchi", "山口", "山口県", "山口支部", "35", 35, "35.0", "YAMAGUCHI", "山口 "]
)
def test_region_forms(text: object) -> None:
    assert regions.resolve_region(text) == "35"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("全国", "00"),
        ("national", "00"),
        ("北海道", "01"),
        ("東京都", "13"),
        ("大阪府", "27"),
        ("京都府", "26"),
        ("1", "01"),
        ("47", "47"),
        ("okinawa", "47"),
    ],
)
def test_region_other_forms(text: str, code: str) -> None:
    assert regions.resolve_region(text) == code


@pytest.mark.parametrize("text", ["48", "0", "yamaguchi-shi", "", "山", None])
def test_unknown_region(text: object) -> None:
    assert regions.resolve_region(text) is None


@given(st.sampled_from(regions.ALL_REGIONS))
def test_every_region_resolves_by_each_name(region: regions.Region) -> None:
    for form in (region.code, region.name_ja, region.name_romaji, region.name_romaji.upper()):
        assert regions.resolve_region(form) == region.code


@pytest.mark.parametrize(
    ("text", "metric"),
    [
        ("◆被保険者数", "insured_persons"),
        ("被扶養者数", "dependents"),
        ("事業所数", "establishments"),
        ("1人あたり医療費（入院+入院外+歯科）", "medical_cost_per_capita_yen"),
        ("１人当たり医療費", "medical_cost_per_capita_yen"),
        ("平均標準報酬月額", "avg_standard_monthly_remuneration_yen"),
        ("保険給付費", "insurance_benefits"),
        ("insured_persons", "insured_persons"),
        ("Insured persons", "insured_persons"),
    ],
)
def test_metric_names(text: str, metric: str) -> None:
    assert metrics.resolve_metric(text) == metric


def test_metric_in_file_names() -> None:
    assert metrics.metric_named_in("yamaguchi_dependents.csv") == "dependents"
    assert metrics.metric_named_in("national_insured_persons") == "insured_persons"
    assert metrics.metric_named_in("山口_被扶養者数_令和2年度.xlsx") == "dependents"
    assert metrics.metric_named_in("report.csv") is None
    # a word that merely contains a metric's name is not that metric
    assert metrics.metric_named_in("任意継続被保険者数.csv") is None
    assert metrics.near_metric("任意継続被保険者数") == "insured_persons"


@pytest.mark.parametrize(
    "text", ["◆任意継続被保険者数", "被保険者数（任意継続）", "前期高齢者被保険者数", "被扶養者数内訳", "現金給付費"]
)
def test_a_label_that_contains_a_metric_is_not_it(text: str) -> None:
    assert metrics.resolve_metric(text) is None


@pytest.mark.parametrize(
    ("text", "units_", "factor"),
    [
        ("被保険者数（人）", ("人",), 1),
        ("保険給付費（単位：百万円）", ("百万円",), 1),
        ("被保険者数（千人）", ("千人",), 1000),
        ("保険給付費（千円）", ("千円",), 0.001),
        ("平均標準報酬月額（千円）", ("千円",), 1000),
        ("前年同月比（％）", ("%",), None),
        ("保険給付費 百万円", ("百万円",), 1),
    ],
)
def test_units_in_labels(text: str, units_: tuple[str, ...], factor: float | None) -> None:
    """A unit in a header is applied by the unit table (header_synonyms.md, Units) where it fits."""
    from branchkpi.domain import units as unit_table

    label = labels.label(text)
    assert label.units == units_
    assert metrics.resolve_metric(text) or labels.column_role(text)
    metric = metrics.resolve_metric(text)
    if metric:
        assert unit_table.factor(metric, units_[0]) == pytest.approx(factor)
        assert unit_table.unit_problem(metric, units_) is None


def test_every_metrics_own_unit_is_in_the_unit_table() -> None:
    """The unit words the seed and the synthetic data write in their unit column state the stored unit."""
    from branchkpi.domain import units as unit_table

    for metric in metrics.METRICS:
        assert unit_table.factor(metric.id, metric.unit) == 1, metric.unit
    assert unit_table.states_no_unit("as printed, unit not stated")


@pytest.mark.parametrize(
    ("metric", "word"),
    [
        ("insured_persons", "円"),
        ("avg_standard_monthly_remuneration_yen", "千人"),
        ("establishments", "%"),
        ("avg_standard_monthly_remuneration_yen", "百万円"),
        ("insured_persons", "千円"),
    ],
)
def test_a_unit_that_does_not_fit_its_metric_is_refused(metric: str, word: str) -> None:
    from branchkpi.domain import units as unit_table

    assert unit_table.factor(metric, word) is None
    assert "does not fit" in (unit_table.unit_problem(metric, (word,)) or "")


def test_the_synonym_table_is_the_one_the_parsers_read() -> None:
    """header_synonyms.md is both the documentation and the data: every row is read, each synonym has
    one role, and the headers the issue names are in it."""
    roles = labels.column_roles()
    for header, role in [
        ("対象年月", "period"),
        ("年月", "period"),
        ("期間", "period"),
        ("Period", "period"),
        ("対象月", "month"),
        ("月", "month"),
        ("区分", "region"),
        ("支部", "region"),
        ("都道府県", "region"),
        ("前年同月比（％）", "yoy_pct_printed"),
        ("対前年同月比", "yoy_pct_printed"),
        ("備考", "note"),
    ]:
        assert labels.column_role(header) == role, header
    rows = labels.section("Columns")
    assert len(roles) == len({labels.key(s) for _, s in rows}) == len(rows)


@pytest.mark.parametrize(
    ("text", "fiscal_year", "month"),
    [
        ("2020-04-01", 2020, 4),
        ("2020/04/01", 2020, 4),
        ("令和2年4月1日", 2020, 4),
        ("R3.1.31", 2020, 1),
        ("2021-02-28", 2020, 2),
        ("2020-04-01 00:00:00", 2020, 4),
        ("H31.4.1", 2019, 4),
    ],
)
def test_periods_as_dates(text: str, fiscal_year: int, month: int) -> None:
    assert fiscal.parse_period(text) == fiscal.Period(fiscal_year, month)


def test_a_date_mid_month_is_refused_with_its_reason() -> None:
    with pytest.raises(ValueError, match="the 1st or the last day"):
        fiscal.parse_period("2020-04-15")
    with pytest.raises(ValueError, match="out of range"):
        fiscal.parse_period("2020-13-01")


# --- printed numbers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("257,346", 257346),
        ("２５７，３４６", 257346),
        ("1.5%", 1.5),
        ("△0.4", -0.4),
        ("△16%", -16),
        ("▲3", -3),
        ("704万", 7_040_000),
        ("12件", 12),
        ("3,000円", 3000),
        ("1,234人", 1234),
        ("-0.1%", -0.1),
        ("0", 0),
        ("１．５％", 1.5),
        (" 42 ", 42),
        ("(1,234)", -1234),
        ("1.2万", 12_000),
        ("−5", -5),
    ],
)
def test_parse_number_examples(text: str, value: float) -> None:
    assert numbers.parse_number(text) == pytest.approx(value)


@pytest.mark.parametrize(
    "text",
    ["abc", "1,2,3", "12,34", "NaN", "nan", "Infinity", "-inf", "1e400", "٣", "1 2", "1.2.3", "==1", "=1+1", "9" * 30],
)
def test_parse_number_rejects(text: str) -> None:
    with pytest.raises(numbers.NumberFormatError):
        numbers.parse_number(text)


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_integers_round_trip_in_every_printed_form(n: int) -> None:
    grouped = f"{abs(n):,}"
    full_width = grouped.translate(str.maketrans("0123456789,", "０１２３４５６７８９，"))
    sign = "△" if n < 0 else ""
    for text in (str(n), f"{n:,}", sign + grouped, sign + full_width, f"{sign}{grouped}人"):
        assert numbers.parse_number(text) == n


@given(st.decimals(min_value=-1000, max_value=1000, places=1, allow_nan=False, allow_infinity=False))
def test_percentages_round_trip(d: object) -> None:
    text = f"{d}%"
    assert numbers.parse_number(text) == pytest.approx(float(str(d)))
    if float(str(d)) < 0:
        assert numbers.parse_number("△" + text.lstrip("-")) == pytest.approx(float(str(d)))


@given(st.text(max_size=12))
def test_parse_number_never_crashes_otherwise(text: str) -> None:
    try:
        value = numbers.parse_number(text)
    except numbers.NumberFormatError:
        return
    assert value == value  # a finite number, never NaN
    assert abs(value) <= numbers.MAX_ABS_VALUE


# --- the reporting calendar -----------------------------------------------------------------------


def test_business_days_know_holidays_and_the_year_end_closure() -> None:
    from datetime import date

    from branchkpi.domain import calendar

    assert calendar.is_business_day(date(2021, 1, 4))  # the first after 年末年始
    assert not calendar.is_business_day(date(2020, 12, 29)) and not calendar.is_business_day(date(2021, 1, 3))
    assert not calendar.is_business_day(date(2020, 5, 6))  # 振替休日 of Golden Week
    assert not calendar.is_business_day(date(2021, 1, 11))  # 成人の日
    assert not calendar.is_business_day(date(2020, 5, 9))  # a Saturday


@pytest.mark.parametrize(
    ("fiscal_year", "month", "unit", "due"),
    [
        (2020, 4, None, "2020-05-19"),  # May 2020: 1, 7, 8, 11–15, 18, 19 (4–6 May are holidays)
        (2020, 12, None, "2021-01-18"),  # after 1/1–1/3 and 成人の日 (1/11)
        (2020, 4, "national", "2020-05-26"),  # the national 月報's own rule (15th)
        (2020, 3, None, "2021-04-14"),
    ],  # March 2021 belongs to FY2020
)
def test_statistics_are_due_by_the_nth_business_day(fiscal_year: int, month: int, unit: str | None, due: str) -> None:
    from branchkpi.domain import calendar

    assert calendar.statistics_due(fiscal_year, month, unit).isoformat() == due


def test_kpi_actuals_are_due_after_the_quarter() -> None:
    from branchkpi.domain import calendar

    assert calendar.kpi_due(2020, "Q1").isoformat() == "2020-07-21"  # 15th business day after 30 June
    assert calendar.kpi_due(2020, "Q4") == calendar.kpi_due(2020, "FY")  # both after 31 March 2021
