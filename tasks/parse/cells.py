"""What several parsers share (public on purpose): the error for a file that cannot be read, header
keys, and the conversions of a cell (fiscal years, months, periods, printed numbers, regions) run once
per distinct text of a column."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

import polars as pl

from branchkpi.domain import fiscal, numbers, regions


class FileParseError(Exception):
    """The file as a whole cannot be read; the message names the file and why."""


def header_key(text: object) -> str:
    s = unicodedata.normalize("NFKC", str(text or "")).strip().lower()
    return re.sub(r"[\s_\-・/]", "", s)


def map_unique(series: pl.Series, fn: Callable[[Any], Any], dtype: Any) -> pl.Series:
    """Apply a Python conversion once per distinct value (files repeat the same few labels)."""
    uniques = series.drop_nulls().unique().to_list()
    mapping = {u: safe(fn, u) for u in uniques}
    return series.replace_strict(mapping, default=None, return_dtype=dtype)


def safe(fn: Callable[[Any], Any], value: Any) -> Any:
    try:
        return fn(value)
    except (ValueError, TypeError, OverflowError):
        return None


def fiscal_year_or_none(text: Any) -> int | None:
    if numbers.is_blank(text):
        return None
    return safe(fiscal.parse_fiscal_year, text)


def calendar_year_or_none(text: Any) -> int | None:
    if numbers.is_blank(text):
        return None
    return safe(fiscal.parse_calendar_year, text)


def month_or_none(text: Any) -> int | None:
    return safe(fiscal.parse_month, text)


def month_or_period_month(text: Any) -> int | None:
    month = month_or_none(text)
    if month is None:
        period = safe(fiscal.parse_period, str(text))
        return period.month if period else None
    return month


def period_problem(text: Any) -> str | None:
    """Why a date given for a month is refused (a day other than the month's first or last), or None
    (a readable period, or text that is no date at all: the gate reports that)."""
    try:
        fiscal.parse_period(str(text))
    except ValueError as exc:
        return str(exc) if str(exc).startswith("a monthly figure is dated") else None
    return None


def period_tuple(text: Any) -> list[int] | None:
    period = safe(fiscal.parse_period, str(text))
    return [period.fiscal_year, period.month] if period else None


def number_or_none(text: Any, allow_negative_zero: bool = False) -> float | None:
    if numbers.is_blank(text):
        return None
    return safe(lambda t: numbers.parse_number(t, allow_negative_zero), text)


# ASCII digits only: polars' \d is Unicode-aware and would let ٣ or 𝟑 into the fast path
_PLAIN_NUMBER = r"^\s*-?([0-9]+|[0-9]{1,3}(,[0-9]{3})+)(\.[0-9]+)?\s*$"


def parse_number_column(raw: pl.Series, allow_negative_zero: bool = False) -> pl.Series:
    """Parse a column of printed numbers. Plain numbers (`257346`, `257,346`, `-0.4`) go through a
    vectorised cast; everything else (`△1.5%`, `１２３`, `704万`) through `parse_number`, once per
    distinct text. Unparseable → NULL (the gate reports the raw text), and so is what parse_number
    refuses on the fast path too: a magnitude beyond numbers.MAX_ABS_VALUE (9223372036854775808 is a
    plain number) and -0 (as 0.0 where `allow_negative_zero`, for printed 前年同月比)."""
    text = raw.cast(pl.String)
    plain = text.str.contains(_PLAIN_NUMBER).fill_null(False)
    fast = text.str.replace_all(",", "").str.strip_chars().cast(pl.Float64, strict=False)
    negative_zero = (fast == 0) & text.str.strip_chars().str.starts_with("-")
    fast = (
        pl.select(
            pl.when(fast.abs() > numbers.MAX_ABS_VALUE)
            .then(None)
            .when(negative_zero)
            .then(0.0 if allow_negative_zero else None)
            .otherwise(fast)
        )
        .to_series()
        .alias(raw.name)
    )
    others = text.filter(~plain)
    if others.len() == 0:
        return fast
    slow = map_unique(text, lambda s: number_or_none(s, allow_negative_zero), pl.Float64)
    return pl.select(pl.when(plain).then(fast).otherwise(slow)).to_series().alias(raw.name)


def region_in(text: str) -> str | None:
    if not text:
        return None
    code = regions.resolve_region(text)
    if code:
        return code
    key = unicodedata.normalize("NFKC", text).lower()
    for r in sorted(regions.ALL_REGIONS, key=lambda r: -len(r.name_romaji)):
        if re.search(rf"(^|[^a-z]){r.name_romaji}([^a-z]|$)", key) or (r.name_ja in key and len(r.name_ja) > 1):
            return r.code
    return None
