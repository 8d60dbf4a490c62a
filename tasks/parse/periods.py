"""The fiscal year and month of each row of a tidy table, from every place that states them: a period
column (`2020-04`, `令和2年4月分`, a date of the month), a month column (`4月`, `4月末現在`), a fiscal-year or
calendar-year column, and, where the table has none of them, the sheet name, a title line or the file
name (one sheet per month: `令和2年10月`). Two columns of one row that state different years or months
refuse the file, naming both cells (`年度 C5 '令和2年度' vs 対象年月 D5 '2019年4月'`). A date of a day
neither first nor last of its month is refused with its reason."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from branchkpi.domain.findings import Finding
from branchkpi.tasks.landing import LandedFile
from branchkpi.tasks.parse.cells import (
    FileParseError,
    calendar_year_or_none,
    fiscal_year_or_none,
    map_unique,
    month_or_period_month,
    period_problem,
    period_tuple,
)
from branchkpi.tasks.parse.context import TableContext


@dataclass(frozen=True)
class Where:
    """The headers as written and the column letters of a tidy table's roles."""

    written: dict[str, str]
    letters: dict[str, str]

    def cell(self, role: str, row: int, raw: object) -> str:
        return f"{self.written[role]} {self.letters[role]}{row} {raw!r}"


def _refuse_disagreement(long: pl.DataFrame, a: str, a_read: str, b: str, b_read: str, what: str, where: Where) -> None:
    """Refuse the file at the first row whose column `a` (read as `a_read`) and `b` (as `b_read`) differ."""
    bad = long.filter((pl.col(a_read) != pl.col(b_read)).fill_null(False))
    if bad.height == 0:
        return
    row = bad.row(0, named=True)
    more = f" (and {bad.height - 1} more row{'s' if bad.height > 2 else ''})" if bad.height > 1 else ""
    label = "FY{}" if what == "fiscal year" else ("{}月" if what == "month" else "{}")
    raise FileParseError(
        f"the {what} is stated twice and differently: {where.cell(a, row['source_row'], row[a])} "
        f"({label.format(row[a_read])}) vs {where.cell(b, row['source_row'], row[b])} "
        f"({label.format(row[b_read])}){more}; which one is meant cannot be known"
    )


def fill_periods(
    long: pl.DataFrame, ctx: TableContext, where: Where, landed: LandedFile, sheet: str | None
) -> tuple[pl.DataFrame, list[Finding], bool]:
    """(rows with fiscal_year(_raw) and month(_raw), findings, whether the table has months)."""
    has = set(where.written) & set(long.columns)
    findings: list[Finding] = []
    if "period" in has:
        periods = map_unique(long["period"], period_tuple, pl.List(pl.Int32))
        long = long.with_columns(_pfy=periods.list.get(0, null_on_oob=True), _pm=periods.list.get(1, null_on_oob=True))
        findings += _period_problems(long, "period", landed, where.written["period"], sheet)
        long = _without_refused(long, findings)
    if "month" in has:
        long = long.with_columns(_m=map_unique(long["month"], month_or_period_month, pl.Int32))
    if "fiscal_year" in has:
        long = long.with_columns(_fy=map_unique(long["fiscal_year"], fiscal_year_or_none, pl.Int32))
    if "calendar_year" in has:
        long = long.with_columns(_cy=map_unique(long["calendar_year"], calendar_year_or_none, pl.Int32))

    if "period" in has:  # every other column that states the year or the month must agree with it
        if "fiscal_year" in has:
            _refuse_disagreement(long, "fiscal_year", "_fy", "period", "_pfy", "fiscal year", where)
        if "month" in has:
            _refuse_disagreement(long, "month", "_m", "period", "_pm", "month", where)
        if "calendar_year" in has:
            long = long.with_columns(_pcy=pl.when(pl.col("_pm") < 4).then(pl.col("_pfy") + 1).otherwise(pl.col("_pfy")))
            _refuse_disagreement(long, "calendar_year", "_cy", "period", "_pcy", "year", where)
        month_source = "month" if "month" in has else "period"
        fy_source = "fiscal_year" if "fiscal_year" in has else "period"
        long = long.with_columns(
            month_raw=pl.col(month_source),
            month=pl.col("_m") if "month" in has else pl.col("_pm"),
            fiscal_year_raw=pl.col(fy_source),
            fiscal_year=pl.col("_fy") if "fiscal_year" in has else pl.col("_pfy"),
        )
        return _clean(long), findings, True

    stated = ctx.period()
    if "month" in has:
        long = long.with_columns(month_raw=pl.col("month"), month=pl.col("_m"))
        findings += _period_problems(long, "month", landed, where.written["month"], sheet)
        long = _without_refused(long, findings)
    elif stated is not None or ctx.month() is not None:
        month = stated or ctx.month()
        assert month is not None
        value = month.value.month if stated is not None else month.value
        long = long.with_columns(month_raw=pl.lit(month.place), month=pl.lit(value, pl.Int32))
    else:
        long = long.with_columns(month_raw=pl.lit(None, pl.String), month=pl.lit(None, pl.Int32))
    has_month = "month" in has or stated is not None or ctx.month() is not None

    if "fiscal_year" in has and "calendar_year" in has:
        long = long.with_columns(_cfy=pl.when(pl.col("month") < 4).then(pl.col("_cy") - 1).otherwise(pl.col("_cy")))
        _refuse_disagreement(long, "fiscal_year", "_fy", "calendar_year", "_cfy", "fiscal year", where)
    if "fiscal_year" in has:
        long = long.with_columns(fiscal_year_raw=pl.col("fiscal_year"), fiscal_year=pl.col("_fy"))
    elif "calendar_year" in has:
        long = long.with_columns(
            fiscal_year_raw=pl.col("calendar_year"),
            fiscal_year=pl.when(pl.col("month") < 4).then(pl.col("_cy") - 1).otherwise(pl.col("_cy")),
        )
    else:
        fy = ctx.fiscal_year() if stated is None else None
        if stated is None and fy is None:
            raise FileParseError(
                "missing required column 'fiscal_year' (年度), 'calendar_year' or 'period' (年月 / 対象年月), "
                "and no title line, sheet or file name states the fiscal year or month"
            )
        fy_value = stated.value.fiscal_year if stated is not None else fy.value  # type: ignore[union-attr]
        place = stated.place if stated is not None else fy.place  # type: ignore[union-attr]
        long = long.with_columns(fiscal_year_raw=pl.lit(place), fiscal_year=pl.lit(fy_value, pl.Int32))
    return _clean(long), findings, has_month


def _clean(long: pl.DataFrame) -> pl.DataFrame:
    return long.drop([c for c in ("_pfy", "_pm", "_m", "_fy", "_cy", "_pcy", "_cfy") if c in long.columns])


def _period_problems(
    long: pl.DataFrame, column: str, landed: LandedFile, header: str, sheet: str | None
) -> list[Finding]:
    """A date the parsers refuse for a reason worth saying (a day mid-month): a critical finding with
    that reason, naming the header as written; other unreadable periods go to the gate's rules."""
    problems = map_unique(long[column], period_problem, pl.String)
    bad = long.select("source_row", column).with_columns(problem=problems).filter(pl.col("problem").is_not_null())
    return [
        Finding(
            landed.file_name,
            "period_day",
            problem,
            file_id=landed.id,
            source_row=row,
            column_name=header,
            value_text=text,
            sheet=sheet,
        )
        for row, text, problem in bad.head(1000).iter_rows()
    ]


def _without_refused(long: pl.DataFrame, findings: list[Finding]) -> pl.DataFrame:
    """The rows whose date was refused with its reason leave the frame (the finding blocks the batch and
    names them; the gate would only repeat it as 'not readable')."""
    refused = [f.source_row for f in findings if f.rule == "period_day"]
    return long.filter(~pl.col("source_row").is_in(refused)) if refused else long
