"""Fiscal years (年度) and Japanese eras (和暦), in one place.

A fiscal year runs April to March and is named by the western year it starts in:
令和2年度 = R2 = FY2020 = April 2020 – March 2021. Months 1–3 belong to the fiscal year that began
the April before. Era years: 平成 (H) year 1 = 1989, 令和 (R) year 1 = 2019 (令和元年 = 平成31年).
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from branchkpi.domain import numbers

# Era name → western year of era year 1. Abbreviations as printed in reports.
ERAS: dict[str, int] = {
    "令和": 2019,
    "r": 2019,
    "令": 2019,
    "平成": 1989,
    "h": 1989,
    "平": 1989,
    "昭和": 1926,
    "s": 1926,
    "昭": 1926,
}

# The last year of each closed era: 昭和64年 (January 1989), 平成31年 (to April 2019). A later year of a
# closed era (平成35年度, 昭和70年) never existed: an error, not a date in another era. Year 0 is one too.
ERA_LAST_YEAR: dict[int, int] = {1926: 64, 1989: 31}

# Reports print a fiscal year without an era ("2年度", "30年度", "29年度") when the era is obvious
# from context (the association's tables go 29年度, 30年度, 1年度, 2年度). We read 1–10 as Reiwa
# (FY2019–FY2028) and 11–31 as Heisei (FY1999–FY2019); anything else must carry its era.
_BARE_ERA_YEAR_REIWA_MAX = 10

FIRST_FISCAL_YEAR = 1989  # earliest fiscal year the warehouse accepts (平成元年度)
LAST_FISCAL_YEAR = 2100

_ERA_RE = re.compile(r"^(?P<era>令和|平成|昭和|令|平|昭|[rhs])?\s*(?P<year>\d{1,4}|元)\s*(?:年度|fy)?$", re.ASCII)
_FY_RE = re.compile(r"^(?:fy|年度)?\s*(?P<year>\d{4})\s*(?:年度|fy)?$", re.ASCII)


def _clean(text: str) -> str:
    """NFKC, stripped, lower case, without spaces. Look-alike digits (٣ 𝟑 ³ ③ …) are an error here, not
    digits after NFKC: only 0-9 and full-width ０-９ are (see branchkpi.domain.numbers.foreign_digit)."""
    numbers.reject_foreign_digits(text)
    return unicodedata.normalize("NFKC", text).strip().lower().replace(" ", "")


def era_to_western(era: str, era_year: int) -> int:
    base = ERAS[era.lower()] if era.lower() in ERAS else ERAS[era]
    if era_year < 1:
        raise ValueError(f"era year must be >= 1, got {era_year}")
    last = ERA_LAST_YEAR.get(base)
    if last is not None and era_year > last:
        raise ValueError(f"{era}{era_year}年 does not exist (that era ended in its year {last})")
    return base + era_year - 1


def parse_fiscal_year(text: object) -> int:
    """Parse a fiscal-year label into the western fiscal year.

    Accepts 2020, "2020", "FY2020", "2020年度", "令和2年度", "令和元年度", "R2", "R元", "H30", "平成30年度",
    "2年度" (bare era year: 1–10 → Reiwa, 11–31 → Heisei). Raises ValueError with the input.
    """
    if isinstance(text, bool):
        raise ValueError(f"not a fiscal year: {text!r}")
    if isinstance(text, int):
        year = text
    elif isinstance(text, float) and text.is_integer():
        year = int(text)
    else:
        s = _clean(str(text))
        if s.endswith(".0"):
            s = s[:-2]
        m = _FY_RE.match(s)
        if m:
            year = int(m.group("year"))
        else:
            m = _ERA_RE.match(s)
            if not m:
                raise ValueError(f"not a fiscal year: {text!r}")
            era_year = 1 if m.group("year") == "元" else int(m.group("year"))
            era = m.group("era")
            if era is None:
                if m.group("year") != "元" and era_year >= 1000:
                    year = era_year
                elif era_year <= _BARE_ERA_YEAR_REIWA_MAX:
                    year = era_to_western("令和", era_year)
                elif era_year <= 31:
                    year = era_to_western("平成", era_year)
                else:
                    raise ValueError(f"not a fiscal year: {text!r}")
            else:
                year = era_to_western(era, era_year)
    if not FIRST_FISCAL_YEAR - 100 <= year <= LAST_FISCAL_YEAR:
        raise ValueError(f"fiscal year out of range: {text!r}")
    return year


_CALENDAR_YEAR_RE = re.compile(r"^(?P<era>令和|平成|[rh])?(?P<y>\d{1,4}|元)年?$", re.ASCII)


def parse_calendar_year(text: object) -> int:
    """Parse a calendar year ("2021", "2021年", "令和3年", "R3") into the western year."""
    s = _clean(str(text)).removesuffix(".0")
    m = _CALENDAR_YEAR_RE.match(s)
    if not m:
        raise ValueError(f"not a calendar year: {text!r}")
    if m.group("era"):
        return era_to_western(m.group("era"), 1 if m.group("y") == "元" else int(m.group("y")))
    if m.group("y") == "元" or len(m.group("y")) != 4:
        raise ValueError(f"not a calendar year (write 2021 or 令和3年): {text!r}")
    return int(m.group("y"))


def fiscal_year_of(calendar_year: int, month: int) -> int:
    """The fiscal year a calendar month belongs to (Jan–Mar → the year before)."""
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1-12, got {month}")
    return calendar_year if month >= 4 else calendar_year - 1


def current_fiscal_year(today: date | None = None) -> int:
    """The fiscal year today lies in (in November 2026: 2026)."""
    today = today or date.today()
    return fiscal_year_of(today.year, today.month)


def calendar_year_of(fiscal_year: int, month: int) -> int:
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1-12, got {month}")
    return fiscal_year if month >= 4 else fiscal_year + 1


def fiscal_month_index(month: int) -> int:
    """Position of a calendar month within the fiscal year: April = 1 … March = 12."""
    return (month - 4) % 12 + 1


FISCAL_MONTHS: tuple[int, ...] = (4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3)

# what may follow a month: 4月分 (the month's figures), 4月末 / 4月末現在 (a stock counted at its end)
MONTH_SUFFIX = r"(?:分|末日現在|末現在|末|現在)?"
_MONTH_RE = re.compile(r"^(?P<m>\d{1,2})\s*(?:月" + MONTH_SUFFIX + r")?$", re.ASCII)


def parse_month(text: object) -> int:
    """Parse "4月", "４月", "4", 4, "4月分", "4月末", "4月末現在" into a calendar month 1–12."""
    if isinstance(text, int) and not isinstance(text, bool):
        m = text
    else:
        s = _clean(str(text))
        if s.endswith(".0"):
            s = s[:-2]
        match = _MONTH_RE.match(s)
        if not match:
            raise ValueError(f"not a month: {text!r}")
        m = int(match.group("m"))
    if not 1 <= m <= 12:
        raise ValueError(f"month out of range 1-12: {text!r}")
    return m


@dataclass(frozen=True)
class Period:
    """One month of one fiscal year, e.g. FY2020-01 = January 2021. Ordered in time (April first)."""

    fiscal_year: int
    month: int

    def __lt__(self, other: Period) -> bool:
        return self.sort_key < other.sort_key

    @property
    def sort_key(self) -> tuple[int, int]:
        return (self.fiscal_year, fiscal_month_index(self.month))

    @property
    def calendar_year(self) -> int:
        return calendar_year_of(self.fiscal_year, self.month)

    @property
    def label(self) -> str:
        return f"FY{self.fiscal_year}-{self.month:02d}"

    @property
    def calendar_label(self) -> str:
        return f"{self.calendar_year}-{self.month:02d}"


_PERIOD_RE = re.compile(
    r"^(?P<y>\d{4})[-/.年](?P<m>\d{1,2})(?:月" + MONTH_SUFFIX + r")?"
    r"(?:[-/.](?P<d>\d{1,2})|(?P<dj>\d{1,2})日(?:現在)?)?(?:t?\d{1,2}:\d{2}(?::\d{2})?)?$",
    re.ASCII,
)
_ERA_PERIOD_RE = re.compile(
    r"^(?P<era>令和|平成|[rh])(?P<y>\d{1,2}|元)[-/.年](?P<m>\d{1,2})(?:月" + MONTH_SUFFIX + r")?"
    r"(?:[-/.](?P<d>\d{1,2})|(?P<dj>\d{1,2})日(?:現在)?)?$",
    re.ASCII,
)


def _check_day(year: int, month: int, day: int, text: str) -> None:
    """A monthly figure may be dated by its month's first day (2020-04-01: the month, as Excel stores
    "2020年4月") or its last day (2020-04-30: 月末現在, as a stock is counted); any other day is refused,
    since it is not clear which month's figure the sender means."""
    if not 1 <= month <= 12:
        raise ValueError(f"month out of range 1-12 in period {text!r}")
    last = calendar.monthrange(year, month)[1]
    if day not in (1, last):
        raise ValueError(
            f"a monthly figure is dated by its month: the 1st or the last day ({month}/{last}), not day {day}: {text!r}"
        )


def parse_period(text: str) -> Period:
    """Parse a calendar month into a Period: "2020-04", "2021/1", "2021年1月", "令和3年1月", "R3.1", or a
    date of that month, "2020-04-01", "2020/04/30", "令和2年4月1日", "2020-04-01 00:00:00" (an Excel date
    cell): the day must be the month's first or last (see _check_day)."""
    s = _clean(text)
    m = _PERIOD_RE.match(s)
    if m:
        cal_year, month = int(m.group("y")), int(m.group("m"))
    else:
        m = _ERA_PERIOD_RE.match(s)
        if not m:
            raise ValueError(f"not a month period (expected YYYY-MM, e.g. 2020-04, or a date 2020-04-01): {text!r}")
        era_year = 1 if m.group("y") == "元" else int(m.group("y"))
        cal_year, month = era_to_western(m.group("era"), era_year), int(m.group("m"))
    if not 1 <= month <= 12:
        raise ValueError(f"month out of range 1-12 in period {text!r}")
    day = m.group("d") or m.group("dj")
    if day is not None:
        _check_day(cal_year, month, int(day), text)
    return Period(fiscal_year_of(cal_year, month), month)


# --- what a title line, sheet or file name says (NFKC text searched, not matched whole) -------------

_FY_IN_TEXT = re.compile(
    r"(?:(?P<era>令和|平成|昭和|r|h)\s*(?P<ey>元|\d{1,2})|(?P<w>(?:19|20)\d{2})|(?<![0-9.])(?P<bare>元|\d{1,2}))"
    r"\s*年度|fy\s*(?P<fy>(?:19|20)\d{2})(?![0-9])"
)
_PERIOD_IN_TEXT = re.compile(
    r"(?:(?P<era>令和|平成|r|h)\s*(?P<ey>元|\d{1,2})|(?<![0-9])(?P<w>(?:19|20)\d{2}))\s*(?:年|[./-])\s*"
    r"(?P<m>\d{1,2})(?:\s*月" + MONTH_SUFFIX + r")?(?![0-9月日]|\s*[./-]\s*[0-9]|\s*[0-9]+日)"
)
_MONTH_IN_TEXT = re.compile(r"(?<![0-9年./-])(?P<m>\d{1,2})\s*月" + MONTH_SUFFIX + r"(?![0-9日])")


def _text(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


# a span of fiscal years in a name or title: `FY2018-2020`, `FY2018–FY2020`, `2018～2020年度`
_FY_RANGE_IN_TEXT = re.compile(
    r"(?:fy\s*)?(?P<a>(?:19|20)\d{2})\s*[-–—~〜～]\s*(?:fy\s*)?(?P<b>(?:19|20)\d{2})(?:\s*年度)?(?![0-9])"
)


def fiscal_years_in(text: str) -> list[int]:
    """The fiscal years a line states (`令和2年度 山口支部` → [2020], `FY2019`, `2020年度`, `2年度`), in order;
    a span (`FY2018-2020`) states every year of it."""
    found: list[int] = []
    normal = _text(text)
    for m in _FY_RANGE_IN_TEXT.finditer(normal):
        first, last = int(m.group("a")), int(m.group("b"))
        if m.group(0).startswith("fy") or m.group(0).endswith("年度"):  # a bare 2018-2020 is no fiscal year
            found += list(range(min(first, last), max(first, last) + 1))
    if found:
        normal = _FY_RANGE_IN_TEXT.sub(" ", normal)
    for m in _FY_IN_TEXT.finditer(normal):
        try:
            year = parse_fiscal_year(m.group(0))
        except ValueError:
            continue
        found.append(year)
    return found


def periods_in(text: str) -> list[Period]:
    """The months of a given year a line states (`令和2年4月分`, `2020年10月末現在`, `R2.4`, `2020-04`), in
    order; a date of a day (`令和3年4月15日作成`) states none."""
    found: list[Period] = []
    for m in _PERIOD_IN_TEXT.finditer(_text(text)):
        month = int(m.group("m"))
        if not 1 <= month <= 12:
            continue
        era = m.group("era")
        try:
            year = era_to_western(era, 1 if m.group("ey") == "元" else int(m.group("ey"))) if era else int(m.group("w"))
        except (ValueError, KeyError):
            continue
        found.append(Period(fiscal_year_of(year, month), month))
    return found


def months_in(text: str) -> list[int]:
    """The months a line states without a year (`4月分`, `3月末現在`), in order."""
    return [int(m.group("m")) for m in _MONTH_IN_TEXT.finditer(_text(text)) if 1 <= int(m.group("m")) <= 12]


def era_year_label(year: int, month: int = 4) -> str:
    """The calendar month's year as printed in 和暦: 2020 → 令和2年, May 2019 → 令和元年, April 2019 →
    平成31年 (Reiwa began on 1 May 2019)."""
    if (year, month) >= (2019, 5):
        era, n = "令和", year - 2018
    elif year >= 1989:
        era, n = "平成", year - 1988
    else:
        era, n = "昭和", year - 1925
    return f"{era}{'元' if n == 1 else n}年"


def month_label_ja(fiscal_year: int, month: int) -> str:
    """A month as a 月報 prints it: FY2020 April → 令和2年4月; FY2020 January → 令和3年1月."""
    year = calendar_year_of(fiscal_year, month)
    return f"{era_year_label(year, month)}{month}月"


def fiscal_year_label_ja(fiscal_year: int) -> str:
    """令和2年度 (FY2020); FY2019 is 令和元年度 (its April was still 平成31年)."""
    return era_year_label(fiscal_year, 12) + "度"
