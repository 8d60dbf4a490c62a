"""Tidy statistics files: one row per region x month x metric (`metric` and `value` columns), or one
row per region x month with one column per metric; Japanese or English headers; the month given as
`fiscal_year` + `month`, `calendar_year` + `month`, or a `period`. A tidy file without months holds
printed fiscal-year totals (合計) when its name says so."""

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
    header_key,
    map_unique,
    month_or_period_month,
    parse_number_column,
    period_tuple,
)
from branchkpi.tasks.parse.decoding import SNIFF_ROWS, csv_rows
from branchkpi.tasks.parse.observations import (
    ParsedFile,
    empty_observations,
    empty_totals,
)

_ROLE_ALIASES: dict[str, tuple[str, ...]] = {
    "region": (
        "region",
        "region_code",
        "支部",
        "支部名",
        "支部コード",
        "地域",
        "都道府県",
        "都道府県名",
        "都道府県コード",
        "prefecture",
        "prefecture_code",
        "branch",
        "pref",
        "region_name",
    ),
    "region_ja": ("region_ja", "支部名称", "region_name_ja"),
    "metric": ("metric", "metric_id", "指標", "項目", "統計項目", "item", "statistic"),
    "metric_ja": ("metric_ja", "指標名", "項目名", "metric_name_ja"),
    "fiscal_year": ("fiscal_year", "fy", "年度"),
    "calendar_year": ("calendar_year", "year", "年", "暦年"),
    "month": ("month", "月"),
    "period": ("period", "年月", "yearmonth", "ym", "date", "month_start"),
    "value": ("value", "値", "数値", "実績", "実績値", "amount"),
    "yoy_pct_printed": ("yoy_pct_printed", "yoy_pct", "yoy", "前年同月比", "前年比", "対前年同月比"),
    "unit": ("unit", "単位"),
}


_ROLE_BY_KEY = {header_key(alias): role for role, aliases in _ROLE_ALIASES.items() for alias in aliases}


def _column_role(header: object) -> str | None:
    key = header_key(header)
    if key in _ROLE_BY_KEY:
        return _ROLE_BY_KEY[key]
    if metrics.resolve_metric(header) in metrics.INPUT_METRIC_IDS:
        return "metric_column"
    return None


def tidy_header_index(rows: Sequence[Sequence[str]], file_name: str) -> int:
    for i, row in enumerate(rows):
        roles = [_column_role(c) for c in row if str(c).strip()]
        has_region = "region" in roles or "region_ja" in roles
        if has_region and sum(r is not None for r in roles) >= 2:
            return i
    raise FileParseError(
        f"{file_name}: layout not recognised: no header row with a region column "
        "(region / 支部 / 都道府県) and no published table (rows 4月…3月 under 年度 columns)"
    )


def parse_tidy_csv(text: str, delimiter: str, head: list[list[str]], landed: LandedFile, encoding: str) -> ParsedFile:
    header_index = tidy_header_index(head, landed.file_name)
    header = head[header_index]
    try:
        frame = pl.read_csv(
            text.encode("utf-8"),
            separator=delimiter,
            has_header=False,
            skip_rows=header_index + 1,
            infer_schema=False,
            new_columns=[f"c{i}" for i in range(len(header))],
            truncate_ragged_lines=False,
        )
    except pl.exceptions.NoDataError as exc:
        raise FileParseError(f"{landed.file_name}: a header but no data rows") from exc
    except (pl.exceptions.ComputeError, pl.exceptions.ShapeError, pl.exceptions.SchemaError) as exc:
        # polars refuses ragged (short or long) or badly quoted rows: read with the csv module to name the line
        rows = csv_rows(text, delimiter)
        parsed = parse_tidy_rows(rows, landed, encoding)
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
    if frame.width > len(header):
        frame = frame.select(frame.columns[: len(header)])
    parsed = _parse_tidy_frame(frame, [str(h) for h in header], header_index + 2, landed)
    parsed.encoding = encoding
    return parsed


def _parse_tidy_frame(frame: pl.DataFrame, header: list[str], first_row_number: int, landed: LandedFile) -> ParsedFile:
    """`frame` holds the body as strings in columns c0..cN; `header` their names as written."""
    findings: list[Finding] = []
    roles: dict[str, str] = {}
    metric_columns: list[tuple[str, str]] = []  # (frame column, header as written)
    for i, name in enumerate(header):
        if not name.strip():
            continue
        role = _column_role(name)
        col = f"c{i}"
        if role == "metric_column":
            metric_columns.append((col, name))
        elif role is None:
            findings.append(
                Finding(
                    landed.file_name,
                    "unknown_column",
                    "column not recognised; its values were ignored",
                    severity="warning",
                    file_id=landed.id,
                    column_name=name,
                )
            )
        elif role in roles:
            findings.append(
                Finding(
                    landed.file_name,
                    "duplicate_column",
                    f"a second {role} column; the first one is used",
                    severity="warning",
                    file_id=landed.id,
                    column_name=name,
                )
            )
        else:
            roles[role] = col
    names = {f"c{i}": h for i, h in enumerate(header)}

    region_col = roles.get("region") or roles.get("region_ja")
    metric_col = roles.get("metric") or roles.get("metric_ja")
    if region_col is None:
        raise FileParseError(f"{landed.file_name}: missing required column 'region' (支部 / 都道府県)")
    has_month = "month" in roles or "period" in roles
    if not ("fiscal_year" in roles or "calendar_year" in roles or "period" in roles):
        raise FileParseError(
            f"{landed.file_name}: missing required column 'fiscal_year' (年度), 'calendar_year' or 'period'"
        )
    if metric_col is None and not metric_columns:
        raise FileParseError(
            f"{landed.file_name}: missing required column 'metric' (指標), and no column is named after a "
            f"metric ({', '.join(m.name_ja for m in metrics.METRICS)})"
        )
    if metric_col is not None and "value" not in roles and not metric_columns:
        raise FileParseError(f"{landed.file_name}: missing required column 'value' (値)")

    frame = frame.with_row_index("_i").with_columns(
        (pl.col("_i").cast(pl.Int64) + first_row_number).alias("source_row")
    )
    # Drop rows that are wholly blank (trailing empty lines, spacer rows in Excel).
    body_cols = [f"c{i}" for i in range(len(header)) if f"c{i}" in frame.columns]
    frame = frame.filter(pl.any_horizontal([pl.col(c).fill_null("").str.strip_chars() != "" for c in body_cols]))
    if frame.height == 0:
        raise FileParseError(f"{landed.file_name}: a header but no data rows")

    # Long layout or one column per metric → long rows with value_raw/metric_raw/source_column.
    keep = {"source_row": pl.col("source_row"), "region_raw": pl.col(region_col)}
    for role in ("fiscal_year", "calendar_year", "month", "period", "yoy_pct_printed"):
        if role in roles:
            keep[role] = pl.col(roles[role])
    if metric_col is not None and "value" in roles:
        long = frame.select(
            **keep,
            metric_raw=pl.col(metric_col),
            value_raw=pl.col(roles["value"]),
            source_column=pl.lit(names[roles["value"]]),
        )
    else:
        pieces = [
            frame.select(**keep, metric_raw=pl.lit(hdr), value_raw=pl.col(col), source_column=pl.lit(hdr)).filter(
                pl.col("value_raw").fill_null("").str.strip_chars() != ""
            )
            for col, hdr in metric_columns
        ]
        long = pl.concat(pieces, how="vertical")

    long = long.with_columns(
        region_code=map_unique(long["region_raw"], regions.resolve_region, pl.String),
        metric=map_unique(long["metric_raw"], metrics.resolve_metric, pl.String),
    )
    if "period" in roles and "fiscal_year" not in roles:
        periods = map_unique(long["period"], period_tuple, pl.List(pl.Int32))
        long = long.with_columns(
            fiscal_year_raw=pl.col("period"),
            fiscal_year=periods.list.get(0, null_on_oob=True),
            month_raw=pl.col("period"),
            month=periods.list.get(1, null_on_oob=True),
        )
    else:
        if has_month:
            long = long.with_columns(month_raw=pl.col("month") if "month" in roles else pl.col("period"))
            long = long.with_columns(month=map_unique(long["month_raw"], month_or_period_month, pl.Int32))
        else:
            long = long.with_columns(month_raw=pl.lit(None, pl.String), month=pl.lit(None, pl.Int32))
        if "fiscal_year" in roles:
            long = long.with_columns(
                fiscal_year_raw=pl.col("fiscal_year"),
                fiscal_year=map_unique(long["fiscal_year"], fiscal_year_or_none, pl.Int32),
            )
        else:  # calendar year + month → fiscal year (fiscal.fiscal_year_of, vectorised)
            cal = map_unique(long["calendar_year"], calendar_year_or_none, pl.Int32)
            long = long.with_columns(
                fiscal_year_raw=pl.col("calendar_year"),
                fiscal_year=pl.when(pl.col("month") < 4).then(cal - 1).otherwise(cal),
            )
    if not has_month:
        if not _names_totals(landed.file_name):
            raise FileParseError(
                f"{landed.file_name}: missing required column 'month' (月) or 'period' (年月); a file of "
                "fiscal-year totals must say so in its name (annual, totals, 合計, 年計)"
            )
        return _tidy_totals(long, landed, findings)

    yoy = parse_number_column(long["yoy_pct_printed"], allow_negative_zero=True) if "yoy_pct_printed" in roles else None
    if yoy is not None:
        findings.extend(_unreadable_yoy(long, yoy, landed, names[roles["yoy_pct_printed"]]))
    observations = long.select(
        file_id=pl.lit(landed.id, pl.Int64),
        file_name=pl.lit(landed.file_name),
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
    return ParsedFile(observations, empty_totals(), findings, layout="tidy")


def _unreadable_yoy(long: pl.DataFrame, yoy: pl.Series, landed: LandedFile, column: str) -> list[Finding]:
    """A printed 前年同月比 that is not a number (NaN, inf, ٣%) is stored as NULL: the row's value is
    good and loads, and a warning names the cell (the printed figure is only compared, never used)."""
    raw = long["yoy_pct_printed"]
    blank = map_unique(raw, numbers.is_blank, pl.Boolean).fill_null(True)
    bad = long.select("source_row", "yoy_pct_printed").filter(~blank & yoy.is_null())
    return [
        Finding(landed.file_name, "yoy_printed_unreadable", "printed 前年同月比 is not a number; stored as empty",
                severity="warning", file_id=landed.id, source_row=row, column_name=column, value_text=text)
        for row, text in bad.head(1000).iter_rows()
    ]  # fmt: skip


def _names_totals(file_name: str) -> bool:
    key = unicodedata.normalize("NFKC", file_name).lower()
    return any(word in key for word in ("annual", "total", "合計", "年計", "年度計"))


def _tidy_totals(long: pl.DataFrame, landed: LandedFile, findings: list[Finding]) -> ParsedFile:
    """A tidy file without months holds printed fiscal-year totals (合計)."""
    yoy = None
    if "yoy_pct_printed" in long.columns:
        yoy = parse_number_column(long["yoy_pct_printed"], allow_negative_zero=True)
    totals = long.select(
        file_id=pl.lit(landed.id, pl.Int64),
        file_name=pl.lit(landed.file_name),
        source_row=pl.col("source_row"),
        region_code=pl.col("region_code"),
        metric=pl.col("metric"),
        fiscal_year=pl.col("fiscal_year").cast(pl.Int32),
        value=parse_number_column(long["value_raw"]),
        yoy_pct_printed=yoy if yoy is not None else pl.lit(None, pl.Float64),
        _raw=pl.struct("region_raw", "metric_raw", "fiscal_year_raw", "value_raw"),
    )
    bad = totals.filter(pl.any_horizontal(pl.col("region_code", "metric", "fiscal_year", "value").is_null()))
    for row in bad.head(1000).iter_rows(named=True):
        raw = row["_raw"]
        column, value = next(
            (c, raw[f"{c}_raw"])
            for c in ("region", "metric", "fiscal_year", "value")
            if row["region_code" if c == "region" else c] is None
        )
        findings.append(
            Finding(
                landed.file_name,
                f"total_{column}_unreadable",
                f"fiscal-year total: {column} not recognised",
                file_id=landed.id,
                source_row=row["source_row"],
                column_name=column,
                value_text=value,
            )
        )
    totals = totals.drop("_raw").filter(
        ~pl.any_horizontal(pl.col("region_code", "metric", "fiscal_year", "value").is_null())
    )
    return ParsedFile(empty_observations(), totals, findings, layout="tidy-totals")


def parse_tidy_rows(rows: list[list[str]], landed: LandedFile, encoding: str) -> ParsedFile:
    """A tidy table given as rows of cell texts (a sheet, or a CSV the csv module had to read)."""
    header_index = tidy_header_index(rows[:SNIFF_ROWS], landed.file_name)
    header = [str(h) for h in rows[header_index]]
    body = rows[header_index + 1 :]
    width = len(header)
    frame = pl.DataFrame(
        [(r + [""] * width)[:width] for r in body] or None,
        schema={f"c{i}": pl.String for i in range(width)},
        orient="row",
    )
    parsed = _parse_tidy_frame(frame, header, header_index + 2, landed)
    extra = [r for r in body if len(r) > width and any(c.strip() for c in r[width:])]
    if extra:
        parsed.findings.append(
            Finding(
                landed.file_name,
                "row_has_extra_cells",
                f"{len(extra)} row(s) have more cells than the header; the extra cells were ignored",
                severity="warning",
                file_id=landed.id,
            )
        )
    parsed.encoding = encoding
    return parsed
