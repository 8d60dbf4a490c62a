"""The 期間 (period) and 時点 (as of) of a KPI figure, and the fiscal years a sheet name or title states.

期間 (what the figure covers) is the fiscal year `FY`, a quarter `Q1`–`Q4` or a calendar month
`YYYY-MM`; it may state its fiscal year too (`令和2年度第1四半期`, `FY2020 Q1`), which must then be the
row's 年度. 時点 (when it was measured) is a date or a month (`令和3年3月末`, `2021-03-31`, `R3.3`) or a
fiscal year's end (`令和2年度末`, `年度末`); it must lie inside the period: inside the fiscal year for `FY`,
the quarter's three months for `Qn`, the month itself for a month.

Every form accepted is listed in README ("KPI files") and is a test (tests/unit/test_kpi_periods.py)."""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass

from branchkpi.domain import fiscal, numbers

FISCAL_YEAR_WORDS = ("", "fy", "年度", "通年", "年間", "年度計", "年度末", "年度累計", "年度全体")
QUARTER_FIRST_MONTH = {1: 4, 2: 7, 3: 10, 4: 1}

_QUARTER = re.compile(r"^(?:q([1-4])|([1-4])q|第?([1-4])四半期)$")
_QUARTER_MONTHS = re.compile(r"^(\d{1,2})月?[~〜\-ー－―](\d{1,2})月(?:分)?$")
_MONTH_ONLY = re.compile(r"^(\d{1,2})月(?:末|分|末時点|末現在|時点|現在)?$")
_YEAR_PREFIX = re.compile(
    r"^(?P<fy>(?:令和|平成|[rh])(?:元|\d{1,2})年度|\d{4}年度|fy\d{4}|(?:令和|平成|[rh])(?:元|\d{1,2})(?=q|第|\d?q))(?P<rest>.*)$"
)


def _clean(text: object) -> str:
    s = str(text or "")
    numbers.reject_foreign_digits(s)
    return unicodedata.normalize("NFKC", s).strip().lower().replace(" ", "").replace("\u3000", "")


@dataclass(frozen=True)
class KpiPeriod:
    """A figure's period (FY, Q1–Q4, YYYY-MM) and the fiscal year its text stated, if it stated one."""

    period: str
    stated_fiscal_year: int | None = None


def parse_kpi_period(text: object, fiscal_year: int | None = None) -> KpiPeriod:
    """Read a 期間 cell. `fiscal_year` (the row's 年度) places a bare month (`9月`: September of that
    fiscal year). Raises ValueError saying what is accepted."""
    s = _clean(text)
    stated: int | None = None
    m = _YEAR_PREFIX.match(s)
    if m and not _is_month(s):
        stated = fiscal.parse_fiscal_year(m["fy"])
        s = m["rest"].lstrip("の")
    if s in FISCAL_YEAR_WORDS:
        return KpiPeriod("FY", stated)
    q = _QUARTER.match(s)
    if q:
        return KpiPeriod(f"Q{next(g for g in q.groups() if g)}", stated)
    span = _QUARTER_MONTHS.match(s)
    if span:
        first, last = int(span[1]), int(span[2])
        quarter = next((n for n, f in QUARTER_FIRST_MONTH.items() if f == first and (first + 1) % 12 + 1 == last), None)
        if quarter is None:
            raise ValueError(f"not a quarter: {text!r} (4〜6月, 7〜9月, 10〜12月, 1〜3月)")
        return KpiPeriod(f"Q{quarter}", stated)
    if stated is not None:
        raise ValueError(f"not a period: {text!r}")
    only = _MONTH_ONLY.match(s)
    if only:
        month = int(only[1])
        if not 1 <= month <= 12:
            raise ValueError(f"month out of range 1-12: {text!r}")
        if fiscal_year is None:
            raise ValueError(f"a month without its year needs the row's 年度: {text!r}")
        return KpiPeriod(f"{fiscal.calendar_year_of(fiscal_year, month)}-{month:02d}")
    if re.fullmatch(r"\d{1,2}", s):
        raise ValueError(f"a bare number is not a period (Q{s} or {s}月?): {text!r}")
    try:
        return KpiPeriod(fiscal.parse_period(s).calendar_label)
    except ValueError:
        raise ValueError(
            f"not a period: {text!r} (FY / 年度, Q1–Q4 / 第1四半期 / 4〜6月, a month 2020-09 / 令和2年9月 / 9月, "
            "optionally with the fiscal year: 令和2年度第1四半期)"
        ) from None


def _is_month(s: str) -> bool:
    try:
        fiscal.parse_period(s)
    except ValueError:
        return False
    return True


def period_months(fiscal_year: int, period: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """The first and last calendar month (year, month) a period covers."""
    if period == "FY":
        return (fiscal_year, 4), (fiscal_year + 1, 3)
    if period.startswith("Q"):
        first = QUARTER_FIRST_MONTH[int(period[1])]
        year = fiscal.calendar_year_of(fiscal_year, first)
        return (year, first), (year, first + 2)
    year, month = (int(p) for p in period.split("-"))
    return (year, month), (year, month)


def period_text(fiscal_year: int, period: str) -> str:
    """`FY2020 (2020-04…2021-03)`, `Q1 of FY2020 (2020-04…2020-06)`, `2020-09`."""
    (y1, m1), (y2, m2) = period_months(fiscal_year, period)
    if period == "FY":
        return f"FY{fiscal_year} ({y1}-{m1:02d}…{y2}-{m2:02d})"
    if period.startswith("Q"):
        return f"{period} of FY{fiscal_year} ({y1}-{m1:02d}…{y2}-{m2:02d})"
    return period


@dataclass(frozen=True)
class AsOf:
    """A 時点: the calendar month it falls in; the fiscal year it names (令和2年度末); whether it is a
    month's first day (令和3年4月1日現在: the end of the month before, or the month as Excel stores one)."""

    year: int
    month: int
    stated_fiscal_year: int | None = None  # 令和2年度末 states its fiscal year
    first_day: bool = False

    @property
    def label(self) -> str:
        return f"{self.year}-{self.month:02d}"


_AS_OF_SUFFIX = re.compile(r"(?:時点|現在|末日|末|診療分|実績|速報値?|見込み?|分|頃)$")
_WESTERN_DATE = re.compile(
    r"^(\d{4})[-/.年](\d{1,2})月?(?:[-/.](\d{1,2})日?|(\d{1,2})日)?(?:t?\d{1,2}:\d{2}(?::\d{2})?)?$"
)
_ERA_DATE = re.compile(r"^(令和|平成|[rh])(元|\d{1,2})[-/.年](\d{1,2})月?(?:[-/.](\d{1,2})日?|(\d{1,2})日)?$")


def parse_as_of(text: object, fiscal_year: int | None = None) -> AsOf | None:
    """Read a 時点 cell; None when blank. `年度末` alone is the end of the row's fiscal year. Raises
    ValueError for a text that holds no date."""
    s = _clean(text)
    if numbers.is_blank(s):
        return None
    while (shorter := _AS_OF_SUFFIX.sub("", s)) != s and shorter:
        s = shorter
    if s.endswith("年度"):  # 年度末 (its 末 went above): the end of a fiscal year
        named = s.removesuffix("年度")
        if not named:
            if fiscal_year is None:
                raise ValueError(f"年度末 needs the row's 年度: {text!r}")
            return AsOf(fiscal_year + 1, 3)
        year_end_of = fiscal.parse_fiscal_year(s)
        return AsOf(year_end_of + 1, 3, year_end_of)
    m = _WESTERN_DATE.match(s)
    if m:
        year, month, day = int(m[1]), int(m[2]), m[3] or m[4]
    else:
        e = _ERA_DATE.match(s)
        if not e:
            raise ValueError(f"時点 is not a date: {text!r} (令和3年3月末, 2021-03-31, R3.3, 令和2年度末)")
        year = fiscal.era_to_western(e[1], 1 if e[2] == "元" else int(e[2]))
        month, day = int(e[3]), e[4] or e[5]
    if not 1 <= month <= 12:
        raise ValueError(f"month out of range 1-12 in 時点 {text!r}")
    if day is not None and not 1 <= int(day) <= calendar.monthrange(year, month)[1]:
        raise ValueError(f"no such day in 時点 {text!r}")
    return AsOf(year, month, first_day=day is not None and int(day) == 1)


def as_of_within(fiscal_year: int, period: str, as_of: AsOf) -> bool:
    """Whether a 時点 lies inside the row's period (and, for 年度末 of a named year, that year is the row's).
    A month's first day also counts as the end of the month before (4月1日現在 closes March)."""
    if as_of.stated_fiscal_year is not None and as_of.stated_fiscal_year != fiscal_year:
        return False
    first, last = period_months(fiscal_year, period)
    month = (as_of.year, as_of.month)
    before = (as_of.year - 1, 12) if as_of.month == 1 else (as_of.year, as_of.month - 1)
    return first <= month <= last or (as_of.first_day and first <= before <= last)


_STATED_FY = re.compile(
    r"(?:令和|平成)(?:元|\d{1,2})年度|\d{4}年度|fy\s?\d{4}|(?<![a-z])[rh](?:元|\d{1,2})(?:年度)?(?![年.\d/月-])"
)


def stated_fiscal_years(label: object) -> tuple[int, ...]:
    """The fiscal years a sheet name or title line states (`令和2年度 事業実績` → 2020; `R2実績` → 2020;
    `2020年度` → 2020); a date (`令和3年3月末`) states no fiscal year. Sorted, without repeats."""
    s = unicodedata.normalize("NFKC", str(label or "")).lower()
    years: set[int] = set()
    for token in _STATED_FY.findall(s):
        try:
            years.add(fiscal.parse_fiscal_year(token.replace(" ", "")))
        except ValueError:
            continue
    return tuple(sorted(years))
