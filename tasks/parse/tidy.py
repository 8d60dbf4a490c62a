"""Tidy statistics files: one row per region x month x metric (`metric` and `value` columns), or one
row per region x month with one column per metric; Japanese or English headers (parse.headers: the
header may span several rows); the month given as `fiscal_year` + `month`, `calendar_year` + `month`,
or a `period` (`2020-04`, `令和2年4月`, a date of the month). Rows 合計 / 計 / 年度計 / 年度平均 under the
months are printed fiscal-year figures (parse.totals). A tidy file without months holds printed
fiscal-year totals (合計) when its name says so."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import polars as pl

from branchkpi.domain import metrics, numbers, regions
from branchkpi.domain.findings import Finding
from branchkpi.tasks.landing import LandedFile
from branchkpi.tasks.parse.cells import (
    FileParseError,
    calendar_year_or_none,
    fiscal_year_or_none,
    map_unique,
    month_or_period_month,
    parse_number_column,
    period_problem,
    period_tuple,
)
from branchkpi.tasks.parse.decoding import SNIFF_ROWS, csv_rows
from branchkpi.tasks.parse.headers import HeaderColumn, header_block, header_row_index, match_columns
from branchkpi.tasks.parse.observations import ParsedFile, empty_observations
from branchkpi.tasks.parse.totals import split_annual_rows, tidy_totals


def tidy_header_index(rows: Sequence[Sequence[str]]) -> int:
    index = header_row_index(rows)
    if index is None:
        raise FileParseError(
            "layout not recognised: no header row with a region column (region / 支部 / 都道府県 / 区分) and "
            "no published table (rows 4月…3月 under 年度 columns)"
        )
    return index


def parse_tidy_csv(text: str, delimiter: str, head: list[list[str]], landed: LandedFile, encoding: str) -> ParsedFile:
    start = tidy_header_index(head)
    first, end = header_block(head, start)
    width = len(head[start])
    columns = match_columns(head, first, end)[:width]
    try:
        frame = pl.read_csv(
            text.encode("utf-8"),
            separator=delimiter,
            has_header=False,
            skip_rows=end,
            infer_schema=False,
            new_columns=[f"c{i}" for i in range(width)],
            truncate_ragged_lines=False,
        )
    except pl.exceptions.NoDataError as exc:
        raise FileParseError("a header but no data rows") from exc
    except (pl.exceptions.ComputeError, pl.exceptions.ShapeError, pl.exceptions.SchemaError) as exc:
        # polars refuses ragged (short or long) or badly quoted rows: read with the csv module to name the line
        parsed = parse_tidy_rows(csv_rows(text, delimiter), landed, encoding)
        parsed.findings.append(
            Finding(
                landed.file_name,
                "csv_shape",
                f"read row by row: {str(exc)[:200]}",
                severity="warning",
                file_id=landed.id,
            )
        )
        return parsed
    if frame.width > width:
        frame = frame.select(frame.columns[:width])
    parsed = _parse_tidy_frame(frame, columns, end + 1, landed, sheet=None)
    parsed.encoding = encoding
    return parsed


def parse_tidy_rows(rows: list[list[str]], landed: LandedFile, encoding: str, sheet: str | None = None) -> ParsedFile:
    """A tidy table given as rows of cell texts (a sheet, or a CSV the csv module had to read)."""
    start = tidy_header_index(rows[:SNIFF_ROWS])
    first, end = header_block(rows, start)
    width = len(rows[start])
    columns = match_columns(rows, first, end)[:width]
    body = rows[end:]
    frame = pl.DataFrame(
        [(r + [""] * width)[:width] for r in body] or None,
        schema={f"c{i}": pl.String for i in range(width)},
        orient="row",
    )
    parsed = _parse_tidy_frame(frame, columns, end + 1, landed, sheet)
    extra = [r for r in body if len(r) > width and any(c.strip() for c in r[width:])]
    if extra:
        parsed.findings.append(
            Finding(
                landed.file_name,
                "row_has_extra_cells",
                f"{len(extra)} row(s) have more cells than the header; the extra cells were ignored",
                severity="warning",
                file_id=landed.id,
                sheet=sheet,
            )
        )
    parsed.encoding = encoding
    return parsed


def _roles(
    columns: list[HeaderColumn], landed: LandedFile, sheet: str | None
) -> tuple[dict[str, HeaderColumn], list[HeaderColumn], list[Finding]]:
    findings: list[Finding] = []
    roles: dict[str, HeaderColumn] = {}
    metric_columns: list[HeaderColumn] = []
    for column in columns:
        if column.role is None or column.role in ("note", "unit"):
            continue  # blank headers, remarks (備考) and units are read past on purpose
        if column.role == "metric_column":
            metric_columns.append(column)
        elif column.role == "derived_metric":
            findings.append(
                Finding(
                    landed.file_name,
                    "derived_column_ignored",
                    f"{metrics.BY_ID[column.metric or ''].name_ja} is computed from its parts; the printed "
                    "figures are not stored",
                    severity="warning",
                    file_id=landed.id,
                    column_name=column.written,
                    sheet=sheet,
                )
            )
        elif column.role in roles:
            findings.append(
                Finding(
                    landed.file_name,
                    "duplicate_column",
                    f"a second {column.role} column; the first one is used",
                    severity="warning",
                    file_id=landed.id,
                    column_name=column.written,
                    sheet=sheet,
                )
            )
        else:
            roles[column.role] = column
    return roles, metric_columns, findings


def _parse_tidy_frame(
    frame: pl.DataFrame, columns: list[HeaderColumn], first_row_number: int, landed: LandedFile, sheet: str | None
) -> ParsedFile:
    """`frame` holds the body as strings in columns c0..cN; `columns` their matched headers."""
    roles, metric_columns, findings = _roles(columns, landed, sheet)
    col = {role: f"c{c.index}" for role, c in roles.items()}
    written = {role: c.written for role, c in roles.items()}
    region_col = col.get("region") or col.get("region_ja")
    metric_col = col.get("metric") or col.get("metric_ja")
    if region_col is None:
        raise FileParseError("missing required column 'region' (支部 / 都道府県 / 区分)")
    has_month = "month" in col or "period" in col
    if not ("fiscal_year" in col or "calendar_year" in col or "period" in col):
        raise FileParseError(
            "missing required column 'fiscal_year' (年度), 'calendar_year' or 'period' (年月 / 対象年月)"
        )
    if metric_col is None and not metric_columns:
        raise FileParseError(
            "missing required column 'metric' (指標), and no column is named after a metric "
            f"({', '.join(m.name_ja for m in metrics.METRICS)})"
        )
    if metric_col is not None and "value" not in col and not metric_columns:
        raise FileParseError("missing required column 'value' (値)")

    frame = frame.with_row_index("_i").with_columns(
        (pl.col("_i").cast(pl.Int64) + first_row_number).alias("source_row")
    )
    # Drop rows that are wholly blank (trailing empty lines, spacer rows in Excel).
    body_cols = [c for c in frame.columns if c.startswith("c")]
    filled = [pl.col(c).fill_null("").str.strip_chars() != "" for c in body_cols]
    frame = frame.filter(pl.any_horizontal(filled))
    # A note under (or inside) the table, alone on its row (※ 速報値, 注1 …), is read past.
    first_text = pl.coalesce(
        [pl.when(f).then(pl.col(c).str.strip_chars()) for f, c in zip(filled, body_cols, strict=True)]
    )
    only_one = pl.sum_horizontal([f.cast(pl.Int32) for f in filled]) == 1
    frame = frame.filter(~(only_one & first_text.str.contains(r"^(※|\*|注|[(（]注)").fill_null(False)))
    if frame.height == 0:
        raise FileParseError("a header but no data rows")

    # Long layout or one column per metric → long rows with value_raw/metric_raw/source_column.
    keep = {"source_row": pl.col("source_row"), "region_raw": pl.col(region_col)}
    for role in ("fiscal_year", "calendar_year", "month", "period", "yoy_pct_printed"):
        if role in col:
            keep[role] = pl.col(col[role])
    if metric_col is not None and "value" in col:
        long = frame.select(
            **keep,
            metric_raw=pl.col(metric_col),
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
        region_code=map_unique(long["region_raw"], regions.resolve_region, pl.String),
        metric=map_unique(long["metric_raw"], metrics.resolve_metric, pl.String),
    )
    long, period_findings = _periods(long, col, has_month, landed, written, sheet)
    findings += period_findings
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
        value=parse_number_column(long["value_raw"]),
        yoy_pct_printed=yoy if yoy is not None else pl.lit(None, pl.Float64),
    )
    return ParsedFile(observations, annual, findings, layout="tidy", headers={(landed.id, sheet): headers})


def _periods(
    long: pl.DataFrame,
    col: dict[str, str],
    has_month: bool,
    landed: LandedFile,
    written: dict[str, str],
    sheet: str | None,
) -> tuple[pl.DataFrame, list[Finding]]:
    """fiscal_year and month from the period, month, fiscal-year or calendar-year columns. A period that
    is a date of a day neither first nor last of its month is refused here with its reason."""
    findings: list[Finding] = []
    if "period" in col and "fiscal_year" not in col:
        periods = map_unique(long["period"], period_tuple, pl.List(pl.Int32))
        long = long.with_columns(
            fiscal_year_raw=pl.col("period"),
            fiscal_year=periods.list.get(0, null_on_oob=True),
            month_raw=pl.col("period"),
            month=periods.list.get(1, null_on_oob=True),
        )
        findings += _period_problems(long, "period", landed, written["period"], sheet)
        return _without_refused(long, "period", findings), findings
    if has_month:
        long = long.with_columns(month_raw=pl.col("month") if "month" in col else pl.col("period"))
        long = long.with_columns(month=map_unique(long["month_raw"], month_or_period_month, pl.Int32))
        findings += _period_problems(long, "month_raw", landed, written.get("month") or written["period"], sheet)
        long = _without_refused(long, "month_raw", findings)
    else:
        long = long.with_columns(month_raw=pl.lit(None, pl.String), month=pl.lit(None, pl.Int32))
    if "fiscal_year" in col:
        return long.with_columns(
            fiscal_year_raw=pl.col("fiscal_year"),
            fiscal_year=map_unique(long["fiscal_year"], fiscal_year_or_none, pl.Int32),
        ), findings
    cal = map_unique(long["calendar_year"], calendar_year_or_none, pl.Int32)  # with the month → fiscal year
    return long.with_columns(
        fiscal_year_raw=pl.col("calendar_year"),
        fiscal_year=pl.when(pl.col("month") < 4).then(cal - 1).otherwise(cal),
    ), findings


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


def _without_refused(long: pl.DataFrame, column: str, findings: list[Finding]) -> pl.DataFrame:
    """The rows whose date was refused with its reason leave the frame (the finding blocks the batch and
    names them; the gate would only repeat it as 'not readable')."""
    refused = [f.source_row for f in findings if f.rule == "period_day"]
    return long.filter(~pl.col("source_row").is_in(refused)) if refused else long


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
