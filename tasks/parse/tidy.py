"""Tidy statistics files: one row per region x month x metric (`metric` and `value` columns), or one
row per region x month with one column per metric; Japanese or English headers (parse.headers: the
header may span several rows); the month given as `fiscal_year` + `month`, `calendar_year` + `month`,
a `period` (`2020-04`, `令和2年4月`, a date of the month), or only by the sheet name, a title line or the
file name (parse.periods). Every row has the cells its header has (parse.shape); the lines around the
table are read (parse.context) and what they state must agree with the rows (parse.agreement); units
wherever stated are applied (parse.scaling). Rows 合計 / 計 / 年度計 / 年度平均 under the months are
printed fiscal-year figures (parse.totals). A tidy file without months holds printed fiscal-year totals
(合計) when its name says so."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

import polars as pl

from branchkpi.domain import labels, metrics, numbers, regions
from branchkpi.domain.findings import Finding
from branchkpi.tasks.landing import LandedFile
from branchkpi.tasks.parse import context, shape
from branchkpi.tasks.parse.agreement import Describe, check_table
from branchkpi.tasks.parse.cells import (
    FileParseError,
    calendar_year_or_none,
    fiscal_year_or_none,
    map_unique,
    month_or_period_month,
    parse_number_column,
    period_tuple,
)
from branchkpi.tasks.parse.context import Line, Statement, TableContext, unread_lines
from branchkpi.tasks.parse.decoding import SNIFF_ROWS, csv_rows
from branchkpi.tasks.parse.headers import HeaderColumn, column_letter, header_block, header_row_index, match_columns
from branchkpi.tasks.parse.observations import ParsedFile, empty_observations
from branchkpi.tasks.parse.periods import Where, fill_periods
from branchkpi.tasks.parse.scaling import apply_units
from branchkpi.tasks.parse.totals import derived_findings, split_annual_rows, tidy_totals

_DATES = ("fiscal_year", "calendar_year", "month", "period")
# what two columns of one role must both say, read as the role reads it (2020 and 令和2年度 agree)
_ROLE_KEYS: dict[str, Callable[[Any], Any]] = {
    "region": regions.resolve_region,
    "region_ja": regions.resolve_region,
    "fiscal_year": fiscal_year_or_none,
    "calendar_year": calendar_year_or_none,
    "month": month_or_period_month,
    "period": period_tuple,
    "metric": metrics.resolve_metric,
    "metric_ja": metrics.resolve_metric,
}


def tidy_header_index(rows: Sequence[Sequence[str]]) -> int:
    index = header_row_index(rows)
    if index is None:
        index = header_row_index(rows, need_region=False)  # the region may be in a title or the name
    if index is None:
        raise FileParseError(
            "layout not recognised: no header row with a region column (region / 支部 / 都道府県 / 区分) and "
            "no published table (rows 4月…3月 under 年度 columns)"
        )
    return index


def parse_tidy_csv(text: str, delimiter: str, head: list[list[str]], landed: LandedFile, encoding: str) -> ParsedFile:
    return parse_tidy_rows(csv_rows(text, delimiter), landed, encoding, None, from_text=True)


def parse_tidy_rows(
    rows: list[list[str]], landed: LandedFile, encoding: str, sheet: str | None = None, from_text: bool = False
) -> ParsedFile:
    """A tidy table given as rows of cell texts (a sheet, or a CSV read by the csv module)."""
    start = tidy_header_index(rows[:SNIFF_ROWS])
    first, end = header_block(rows, start)
    rows, beside = context.header_units(rows, first, end, end)  # `（単位：千人）` at the header's right end
    width = shape.width_of(rows, first, end)
    columns = match_columns(rows, first, end)[:width]
    written = max(len(rows[i]) for i in range(first, end)) if not beside else width
    shape.check_rows(rows, end, width, from_text, written=written)
    shape.check_headed(rows, end, len(rows), [c.index for c in columns if not c.parts])
    lines = [context.classify_line(rows[i], i + 1) for i in range(first)] + beside
    body: list[list[str]] = []
    numbers_: list[int] = []
    for i in range(end, len(rows)):
        if shape.is_line(rows[i]):
            line = context.classify_line(rows[i], i + 1)  # below the table only its units are read
            lines.append(Line(line.row, line.kind, tuple(s for s in line.statements if s.what == "unit"), line.text))
            continue
        body.append([str(c) for c in (list(rows[i]) + [""] * width)[:width]])
        numbers_.append(i + 1)
    if not body:
        raise FileParseError("a header but no data rows")
    ctx = context.build(landed.file_name, sheet, lines)
    frame = pl.DataFrame(body, schema={f"c{i}": pl.String for i in range(width)}, orient="row").with_columns(
        source_row=pl.Series(numbers_, dtype=pl.Int64)
    )
    parsed = _parse_tidy_frame(frame, columns, landed, sheet, ctx)
    parsed.findings += unread_lines(lines, landed, sheet)
    parsed.encoding = encoding
    return parsed


def _roles(
    columns: list[HeaderColumn], landed: LandedFile, sheet: str | None
) -> tuple[dict[str, HeaderColumn], list[HeaderColumn], dict[str, list[HeaderColumn]], list[Finding]]:
    """(the column of each role, the metric columns, second columns of a role, findings)."""
    findings: list[Finding] = []
    roles: dict[str, HeaderColumn] = {}
    more: dict[str, list[HeaderColumn]] = {}
    metric_columns: list[HeaderColumn] = []
    for column in columns:
        if column.role is None or column.role == "note":
            continue  # blank headers and remarks (備考, メモ) are read past on purpose
        if column.role == "metric_column":
            metric_columns.append(column)
        elif column.role == "derived_metric":
            findings.append(
                Finding(
                    landed.file_name,
                    "derived_column_ignored",
                    f"{metrics.BY_ID[column.metric or ''].name_ja} is computed from its parts: the printed figures "
                    "are checked against them where both are in the file, and not stored",
                    severity="warning",
                    file_id=landed.id,
                    column_name=column.written,
                    sheet=sheet,
                )
            )
            metric_columns.append(column)
        elif column.role in roles:
            more.setdefault(column.role, []).append(column)  # must agree with the first (_same_as_first)
        else:
            roles[column.role] = column
    return roles, metric_columns, more, findings


def _same_as_first(frame: pl.DataFrame, roles: dict[str, HeaderColumn], more: dict[str, list[HeaderColumn]]) -> None:
    """A second column of a role (two 年度 columns) is read too: each of its cells says what the first
    one's says, or the file is refused naming both."""
    for role, others in more.items():
        first = roles[role]
        read = _ROLE_KEYS.get(role, labels.key)

        def key(text: Any, read: Callable[[Any], Any] = read) -> str:
            return str(read(text))

        for other in others:
            a, b = frame[f"c{first.index}"], frame[f"c{other.index}"]
            differ = map_unique(a, key, pl.String) != map_unique(b, key, pl.String)
            bad = frame.filter(differ.fill_null(False) & (b.str.strip_chars() != ""))
            if bad.height:
                row = bad.row(0, named=True)
                n = row["source_row"]
                raise FileParseError(
                    f"{first.written} {column_letter(first.index)}{n} {row[f'c{first.index}']!r} and "
                    f"{other.written} {column_letter(other.index)}{n} {row[f'c{other.index}']!r} state "
                    f"the {role} twice and differently; which one is meant cannot be known"
                )


def _parse_tidy_frame(
    frame: pl.DataFrame, columns: list[HeaderColumn], landed: LandedFile, sheet: str | None, ctx: TableContext
) -> ParsedFile:
    """`frame` holds the body as strings in columns c0..cN and source_row; `columns` their headers."""
    roles, metric_columns, more, findings = _roles(columns, landed, sheet)
    for english, japanese in (("region", "region_ja"), ("metric", "metric_ja")):  # `yamaguchi` beside `山口`
        if english in roles and japanese in roles:
            more.setdefault(english, []).append(roles[japanese])
    _same_as_first(frame, roles, more)
    col = {role: f"c{c.index}" for role, c in roles.items()}
    written = {role: c.written for role, c in roles.items()}
    letters = {role: column_letter(c.index) for role, c in roles.items()}
    region_col = col.get("region") or col.get("region_ja")
    metric_col = col.get("metric") or col.get("metric_ja")
    region = ctx.region() if region_col is None else None
    if region_col is None and region is None:
        raise FileParseError("missing required column 'region' (支部 / 都道府県 / 区分), and no title line names it")
    allowed, _ = ctx.metrics()
    metric = sorted(allowed)[0] if metric_col is None and not metric_columns and len(allowed) == 1 else None
    if metric_col is None and not metric_columns and not (metric and "value" in col):
        raise FileParseError(
            "missing required column 'metric' (指標), and no column is named after a metric "
            f"({', '.join(m.name_ja for m in metrics.METRICS)})"
        )
    if (metric_col is not None or metric) and "value" not in col and not metric_columns:
        raise FileParseError("missing required column 'value' (値)")

    findings += _rows_without_figures(frame, roles, metric_columns, landed, sheet)
    # Long layout or one column per metric → long rows with value_raw/metric_raw/source_column.
    keep: dict[str, Any] = {
        "source_row": pl.col("source_row"),
        "region_raw": pl.col(region_col) if region_col else pl.lit(region.place if region else None),
    }
    for role in (*_DATES, "yoy_pct_printed", "unit"):
        if role in col:
            keep[role] = pl.col(col[role])
    if (metric_col is not None or metric) and "value" in col:
        long = frame.select(
            **keep,
            metric_raw=pl.col(metric_col) if metric_col else pl.lit(metric),
            value_raw=pl.col(col["value"]),
            source_column=pl.lit(written["value"]),
        )
    else:
        pieces = [
            frame.select(
                **keep, metric_raw=pl.lit(c.metric), value_raw=pl.col(f"c{c.index}"), source_column=pl.lit(c.written)
            ).filter(pl.col("value_raw").fill_null("").str.strip_chars() != "")
            for c in metric_columns
        ]
        long = pl.concat(pieces, how="vertical")
    long = long.with_columns(
        region_code=pl.lit(region.value)
        if region
        else map_unique(long["region_raw"], regions.resolve_region, pl.String),
        metric=map_unique(long["metric_raw"], metrics.resolve_metric, pl.String),
        value=parse_number_column(long["value_raw"]),
    )
    long, period_findings, has_month = fill_periods(long, ctx, Where(written, letters), landed, sheet)
    findings += period_findings
    long, unit_findings = apply_units(
        long,
        ctx.units(),
        _column_units(metric_columns, roles),
        landed,
        sheet,
        long["unit"] if "unit" in col else None,
        written.get("unit", ""),
    )
    findings += unit_findings
    check_table(long, ctx, _describe(written, letters, metric_columns))
    findings += derived_findings(long, landed, sheet)
    long = long.filter(pl.col("metric").is_in(metrics.INPUT_METRIC_IDS) | pl.col("metric").is_null())
    headers = {"region": written.get("region") or written.get("region_ja", "region")}
    headers["fiscal_year"] = written.get("period") or written.get("fiscal_year") or written.get("calendar_year", "")
    headers["month"] = written.get("month") or written.get("period", "")
    if not has_month:
        if not _names_totals(landed.file_name):
            raise FileParseError(
                "missing required column 'month' (月 / 対象月) or 'period' (年月 / 対象年月); a file of "
                "fiscal-year totals must say so in its name (annual, totals, 合計, 年計)"
            )
        totals = tidy_totals(long, landed, findings, sheet)
        return ParsedFile(
            empty_observations(), totals, findings, layout="tidy-totals", headers={(landed.id, sheet): headers}
        )

    long, annual, annual_findings = split_annual_rows(long, landed, sheet)
    findings += annual_findings
    yoy = parse_number_column(long["yoy_pct_printed"], allow_negative_zero=True) if "yoy_pct_printed" in col else None
    if yoy is not None:
        findings.extend(_unreadable_yoy(long, yoy, landed, written["yoy_pct_printed"], sheet))
    observations = long.select(
        file_id=pl.lit(landed.id, pl.Int64),
        file_name=pl.lit(landed.file_name),
        sheet_name=pl.lit(sheet, pl.String),
        source_row=pl.col("source_row"),
        source_column=pl.col("source_column"),
        region_raw=pl.col("region_raw"),
        region_code=pl.col("region_code"),
        metric_raw=pl.col("metric_raw"),
        metric=pl.col("metric"),
        fiscal_year_raw=pl.col("fiscal_year_raw"),
        fiscal_year=pl.col("fiscal_year").cast(pl.Int32),
        month_raw=pl.col("month_raw"),
        month=pl.col("month").cast(pl.Int32),
        value_raw=pl.col("value_raw"),
        value=pl.col("value"),
        yoy_pct_printed=yoy if yoy is not None else pl.lit(None, pl.Float64),
        printed_unit=pl.col("printed_unit"),
    )
    return ParsedFile(observations, annual, findings, layout="tidy", headers={(landed.id, sheet): headers})


def _rows_without_figures(
    frame: pl.DataFrame,
    roles: dict[str, HeaderColumn],
    metric_columns: list[HeaderColumn],
    landed: LandedFile,
    sheet: str | None,
) -> list[Finding]:
    """A row with no figure is a month not yet filled in (`山口 | 2021-03 |`) and loads nothing; but one
    whose other cells do not read as their columns (a number under 年月), or that holds a 前年同月比 or
    a unit without its figure, lost a figure to a shifted column: a critical finding naming the cell."""
    figures = [f"c{c.index}" for c in metric_columns] + ([f"c{roles['value'].index}"] if "value" in roles else [])
    if not figures:
        return []
    empty = frame.filter(pl.all_horizontal(pl.col(c).fill_null("").str.strip_chars() == "" for c in figures))
    findings: list[Finding] = []
    for role, column in roles.items():
        if role in ("note", "value") or empty.height == 0:
            continue
        cells = empty[f"c{column.index}"].fill_null("")
        filled = cells.str.strip_chars() != ""
        if role in ("yoy_pct_printed", "unit"):
            wrong = filled
            why = f"holds {column.written} but no figure"
        else:
            read = _ROLE_KEYS.get(role, labels.key)

            def unreadable(text: Any, read: Callable[[Any], Any] = read) -> bool:
                return read(text) is None

            wrong = filled & map_unique(cells, unreadable, pl.Boolean).fill_null(True)
            why = f"has no figure, and its {column.written} does not read as one"
        for row, text in empty.filter(wrong).select("source_row", f"c{column.index}").head(100).iter_rows():
            findings.append(
                Finding(
                    landed.file_name,
                    "row_without_figure",
                    f"the row {why}: a column shifted by one?",
                    file_id=landed.id,
                    source_row=row,
                    column_name=column.written,
                    value_text=text,
                    sheet=sheet,
                )
            )
    return findings


def _column_units(metric_columns: list[HeaderColumn], roles: dict[str, HeaderColumn]) -> dict[str, list[Statement]]:
    """The units each figure column's header (its cells, its units row) states."""
    heads = [*metric_columns, *([roles["value"]] if "value" in roles else [])]
    return {
        c.written: [
            Statement("unit", u, f"header {c.written!r} (column {column_letter(c.index)})")
            for part in c.parts
            for u in labels.label(part).units
        ]
        for c in heads
    }


def _describe(written: dict[str, str], letters: dict[str, str], metric_columns: list[HeaderColumn]) -> Describe:
    """The place of a row's cell that states its fiscal year, month, region or metric."""
    by_role = {"fiscal_year": ("fiscal_year", "period", "calendar_year"), "month": ("month", "period")}
    by_role |= {"region": ("region", "region_ja"), "metric": ("metric", "metric_ja")}
    raw = {"fiscal_year": "fiscal_year_raw", "month": "month_raw", "region": "region_raw", "metric": "metric_raw"}
    heads = {c.written: column_letter(c.index) for c in metric_columns}

    def describe(row: dict[str, Any], aspect: str) -> str:
        role = next((r for r in by_role[aspect] if r in written), None)
        if role is not None:
            return f"{written[role]} {letters[role]}{row['source_row']} {row[raw[aspect]]!r}"
        if aspect == "metric" and row["source_column"] in heads:
            return f"header {row['source_column']!r} (column {heads[row['source_column']]})"
        return str(row[raw[aspect]])

    return describe


def _unreadable_yoy(
    long: pl.DataFrame, yoy: pl.Series, landed: LandedFile, column: str, sheet: str | None
) -> list[Finding]:
    """A printed 前年同月比 that is not a number (NaN, inf, ٣%) is stored as NULL: the row's value is
    good and loads, and a warning names the cell (the printed figure is only compared, never used)."""
    raw = long["yoy_pct_printed"]
    blank = map_unique(raw, numbers.is_blank, pl.Boolean).fill_null(True)
    bad = long.select("source_row", "yoy_pct_printed").filter(~blank & yoy.is_null())
    return [
        Finding(
            landed.file_name,
            "yoy_printed_unreadable",
            "printed 前年同月比 is not a number; stored as empty",
            severity="warning",
            file_id=landed.id,
            source_row=row,
            column_name=column,
            value_text=text,
            sheet=sheet,
        )
        for row, text in bad.head(1000).iter_rows()
    ]


def _names_totals(file_name: str) -> bool:
    key = unicodedata.normalize("NFKC", file_name).lower()
    return any(word in key for word in ("annual", "total", "合計", "年計", "年度計"))
