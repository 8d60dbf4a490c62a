"""Parse landed files into one canonical long frame: one row per region × fiscal year × month × metric.

Accepted as offices send them:
- CSV (UTF-8, UTF-8 with BOM, CP932) and .xlsx (every sheet);
- tidy files: one row per region × month × metric (`metric` and `value` columns), or one row per
  region × month with one column per metric; Japanese or English headers; the month given as
  `fiscal_year` + `month`, `calendar_year` + `month`, or a `period` such as 2020-04 / 令和2年4月;
- the published layout (月報の表): rows 4月…3月 (and 合計), a column per fiscal year (29年度, 30年度,
  1年度 …) each followed by 前年同月比; the region is the top-left cell (山口), the metric a title line
  (◆被保険者数), the sheet name or the file name.

Cells keep their text as written (`*_raw` columns) next to the parsed value, so the quality gate can
quarantine a row with the value the person typed. Parsing never drops a row silently: a cell that does
not parse becomes NULL and the gate rejects it; a file that cannot be read at all becomes a finding.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from branchkpi.domain import fiscal, metrics, numbers, regions
from branchkpi.domain.findings import Finding
from branchkpi.tasks.landing import LandedFile

OBSERVATION_SCHEMA: dict[str, Any] = {
    "file_id": pl.Int64,
    "file_name": pl.String,
    "source_row": pl.Int64,
    "source_column": pl.String,
    "region_raw": pl.String,
    "region_code": pl.String,
    "metric_raw": pl.String,
    "metric": pl.String,
    "fiscal_year_raw": pl.String,
    "fiscal_year": pl.Int32,
    "month_raw": pl.String,
    "month": pl.Int32,
    "value_raw": pl.String,
    "value": pl.Float64,
    "yoy_pct_printed": pl.Float64,
}
TOTALS_SCHEMA: dict[str, Any] = {
    "file_id": pl.Int64,
    "file_name": pl.String,
    "source_row": pl.Int64,
    "region_code": pl.String,
    "metric": pl.String,
    "fiscal_year": pl.Int32,
    "value": pl.Float64,
    "yoy_pct_printed": pl.Float64,
}

# An .xlsx is a zip. Before openpyxl opens one we read its directory and refuse it (zip bombs: a few
# hundred KB of deflated repeated bytes that inflate to gigabytes) when it would inflate beyond:
# - MAX_XLSX_UNCOMPRESSED in total: the landing limit of a CSV (tasks.landing.MAX_FILE_BYTES, 256 MiB);
#   a statistics or KPI workbook is under 10 MB unpacked, the municipal KPI actuals under 100 MB;
# - MAX_XLSX_RATIO for any member above MAX_XLSX_RATIO_FLOOR bytes: worksheets Excel or openpyxl
#   write deflate 5-20x (repeated styles reach ~50x); deflate of one repeated byte reaches ~1000x;
#   small members (styles, shared strings) may compress better and cannot inflate far;
# - MAX_XLSX_MEMBERS members (a workbook has tens; an archive of 10^5 entries is not a workbook).
# Python's zipfile never inflates a member beyond the size its directory declares (it stops and the
# CRC check fails), so checking the declared sizes bounds what openpyxl can be made to read.
MAX_XLSX_UNCOMPRESSED = 256 * 1024 * 1024
MAX_XLSX_RATIO = 100
MAX_XLSX_RATIO_FLOOR = 1024 * 1024
MAX_XLSX_MEMBERS = 10_000
# Excel's own limit for the text of one cell; a longer cell was not typed in Excel.
MAX_XLSX_CELL_CHARS = 32_767
# A line of a CSV that no person fills in comes near: our widest real rows (KPI plan items with their
# notes) are under 2,000 characters. Longer lines are machine output or an attack; refusing them
# before the csv module runs keeps it from building a list of a million cells (or a 10 MB cell that
# would be stored as the quarantined value).
MAX_LINE_CHARS = 64 * 1024
_SNIFF_ROWS = 40


class FileParseError(Exception):
    """The file as a whole cannot be read; the message names the file and why."""


@dataclass
class ParsedFile:
    observations: pl.DataFrame
    reported_totals: pl.DataFrame
    findings: list[Finding] = field(default_factory=list)
    layout: str = ""
    encoding: str = ""


def empty_observations() -> pl.DataFrame:
    return pl.DataFrame(schema=OBSERVATION_SCHEMA)


def empty_totals() -> pl.DataFrame:
    return pl.DataFrame(schema=TOTALS_SCHEMA)


# ---------------------------------------------------------------------------------------------
# headers


def _header_key(text: object) -> str:
    s = unicodedata.normalize("NFKC", str(text or "")).strip().lower()
    return re.sub(r"[\s_\-・/]", "", s)


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
_ROLE_BY_KEY = {_header_key(alias): role for role, aliases in _ROLE_ALIASES.items() for alias in aliases}


def _column_role(header: object) -> str | None:
    key = _header_key(header)
    if key in _ROLE_BY_KEY:
        return _ROLE_BY_KEY[key]
    if metrics.resolve_metric(header) in metrics.INPUT_METRIC_IDS:
        return "metric_column"
    return None


# ---------------------------------------------------------------------------------------------
# decoding and reading rows


def decode_text(content: bytes, file_name: str) -> tuple[str, str]:
    """Bytes → text. UTF-8 (with or without BOM) first, then CP932 (Windows Shift_JIS, which also
    covers ㈱ 髙 﨑 and circled digits that plain shift_jis rejects)."""
    if not content.strip():
        raise FileParseError(f"{file_name}: the file is empty")
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return content.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise FileParseError(f"{file_name}: damaged UTF-16 text ({exc.reason})") from exc
    if b"\x00" in content[:65536]:
        raise FileParseError(f"{file_name}: binary data (NUL bytes), not a CSV text file")
    if content.startswith(b"\xef\xbb\xbf"):
        try:
            return content[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise FileParseError(
                f"{file_name}: starts with a UTF-8 BOM but byte {exc.start + 3} is not UTF-8 "
                f"(0x{content[exc.start + 3]:02x}): mixed encodings in one file"
            ) from exc
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as utf8_error:
        _refuse_mixed_encodings(content, file_name)
        try:
            return content.decode("cp932"), "cp932"
        except UnicodeDecodeError as exc:
            raise FileParseError(
                f"{file_name}: neither UTF-8 nor CP932 text (byte 0x{content[exc.start]:02x} at offset "
                f"{exc.start}; UTF-8 failed at offset {utf8_error.start})"
            ) from exc


def _is_japanese(ch: str) -> bool:
    return "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef"


def _refuse_mixed_encodings(content: bytes, file_name: str) -> None:
    """A file that is not UTF-8 as a whole but has UTF-8 lines with Japanese text in it is two files
    pasted together (an office appended CP932 rows to a UTF-8 file, or the reverse). Decoding it all
    as CP932 would turn the UTF-8 lines into mojibake that may pass as unknown text: refuse it, naming
    a line of each kind. (A CP932 line with kanji is practically never valid UTF-8: its lead bytes
    0x81-0x9F are UTF-8 continuation bytes; requiring Japanese characters rules out chance pairs of
    half-width kana.)"""
    utf8_line = other_line = None
    for number, line in enumerate(content.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            other_line = other_line or number
        else:
            if utf8_line is None and any(_is_japanese(ch) for ch in text):
                utf8_line = number
        if utf8_line and other_line:
            raise FileParseError(
                f"{file_name}: mixed encodings in one file: line {utf8_line} is UTF-8 but line {other_line} "
                "is not (CP932/Shift_JIS?); save the whole file in one encoding"
            )


def check_line_lengths(text: str, file_name: str) -> None:
    """Refuse a text with a line longer than MAX_LINE_CHARS, naming the line (1-based)."""
    start, number, size = 0, 1, len(text)
    while start < size:
        end = text.find("\n", start)
        end = size if end < 0 else end
        if end - start > MAX_LINE_CHARS:
            # lone CR line ends (old Mac exports) are lines too
            longest = max(len(part) for part in text[start:end].split("\r"))
            if longest > MAX_LINE_CHARS:
                raise FileParseError(
                    f"{file_name}: line {number} is {end - start:,} characters long (limit {MAX_LINE_CHARS:,}): "
                    "not a table a person fills in"
                )
        start, number = end + 1, number + 1


def _sniff_delimiter(text: str) -> str:
    head = text[:4096].splitlines()[:5]
    sample = "\n".join(head)
    if sample.count("\t") > sample.count(","):
        return "\t"
    return ","


def _csv_rows(text: str, delimiter: str, limit: int | None = None) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    rows: list[list[str]] = []
    try:
        for row in reader:
            rows.append(row)
            if limit is not None and len(rows) >= limit:
                break
    except csv.Error as exc:
        raise FileParseError(f"malformed CSV at line {reader.line_num}: {exc}") from exc
    return rows


def _excel_sheets(content: bytes, file_name: str) -> list[tuple[str, list[list[str]]]]:
    """Every sheet as rows of cell texts. Formulas are never evaluated: we read the values Excel
    saved (data_only), so a cell `=CMD|...` arrives as its cached value or as nothing."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            check_zip_directory(archive.infolist(), file_name)
            bad = archive.testzip()
            if bad is not None:
                raise FileParseError(f"{file_name}: damaged .xlsx (member {bad} fails its CRC)")
            has_formulas = any(
                _member_contains(archive, i, (b"<f>", b"<f ", b":f>", b":f "))
                for i in archive.infolist()
                if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml")
            )
    except zipfile.BadZipFile as exc:
        raise FileParseError(f"{file_name}: not a readable .xlsx (truncated or damaged: {exc})") from exc
    except (zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, ValueError) as exc:
        raise FileParseError(f"{file_name}: not a readable .xlsx ({type(exc).__name__}: {exc})") from exc

    import openpyxl  # imported here: only Excel files pay for it

    try:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        # formulas as written, only to name a formula cell that has no saved value (never computed)
        formulas = openpyxl.load_workbook(io.BytesIO(content), read_only=True) if has_formulas else None
    except Exception as exc:  # openpyxl raises many kinds for damaged files
        raise FileParseError(f"{file_name}: not a readable .xlsx ({type(exc).__name__}: {exc})") from exc
    sheets: list[tuple[str, list[list[str]]]] = []
    try:
        for ws in book.worksheets:
            formula_rows = iter(formulas[ws.title].iter_rows()) if formulas is not None else None
            rows: list[list[str]] = []
            for row in ws.iter_rows():
                texts = [_excel_cell_text(c) for c in row]
                if formula_rows is not None:
                    for i, cell in enumerate(next(formula_rows, ())):
                        written = getattr(cell, "value", None)
                        if i < len(texts) and texts[i] == "" and isinstance(written, str) and written.startswith("="):
                            texts[i] = written  # no saved value: the formula's text, for the gate to quarantine
                for i, text in enumerate(texts):
                    if len(text) > MAX_XLSX_CELL_CHARS:
                        raise FileParseError(
                            f"{file_name}: sheet {ws.title!r}, row {len(rows) + 1}, column {i + 1}: a cell of "
                            f"{len(text):,} characters (Excel's limit is {MAX_XLSX_CELL_CHARS:,})"
                        )
                rows.append(texts)
            sheets.append((str(ws.title), rows))
    except FileParseError:
        raise
    except Exception as exc:
        raise FileParseError(f"{file_name}: damaged .xlsx ({type(exc).__name__}: {exc})") from exc
    finally:
        book.close()
        if formulas is not None:
            formulas.close()
    return sheets


def _member_contains(archive: zipfile.ZipFile, info: zipfile.ZipInfo, needles: tuple[bytes, ...]) -> bool:
    """Whether a member's bytes hold one of the needles, read 1 MiB at a time."""
    tail = b""
    with archive.open(info) as member:
        while chunk := member.read(1024 * 1024):
            window = tail + chunk
            if any(n in window for n in needles):
                return True
            tail = window[-8:]
    return False


def check_zip_directory(infos: list[zipfile.ZipInfo], file_name: str) -> None:
    """Refuse a zip whose directory promises more than a workbook holds (see MAX_XLSX_* above)."""
    if len(infos) > MAX_XLSX_MEMBERS:
        raise FileParseError(
            f"{file_name}: refused: the .xlsx has {len(infos):,} members (limit {MAX_XLSX_MEMBERS:,}), not a workbook"
        )
    total = 0
    for info in infos:
        total += info.file_size
        ratio = info.file_size / max(1, info.compress_size)
        if info.file_size > MAX_XLSX_RATIO_FLOOR and ratio > MAX_XLSX_RATIO:
            raise FileParseError(
                f"{file_name}: refused: member {info.filename} would inflate from {info.compress_size:,} to "
                f"{info.file_size:,} bytes ({ratio:,.0f}x; limit {MAX_XLSX_RATIO}x): a zip bomb, not a workbook"
            )
        if total > MAX_XLSX_UNCOMPRESSED:
            raise FileParseError(
                f"{file_name}: refused: the .xlsx would inflate to more than {MAX_XLSX_UNCOMPRESSED:,} bytes "
                f"(at member {info.filename}, {info.file_size:,} bytes): a zip bomb or not a statistics file"
            )


def _excel_cell_text(cell: Any) -> str:
    value = getattr(cell, "value", None)
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        fmt = getattr(cell, "number_format", "") or ""
        if "%" in fmt:  # Excel keeps 1.5% as 0.015
            return f"{value * 100:.10g}%"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return repr(value) if isinstance(value, float) else str(value)
    if hasattr(value, "strftime"):
        return str(value.strftime("%Y-%m-%d"))
    return str(value)


# ---------------------------------------------------------------------------------------------
# entry point


def parse_file(landed: LandedFile) -> ParsedFile:
    """Parse one landed file. Raises FileParseError for a file that cannot be read at all."""
    name = landed.file_name
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    content = landed.content
    parts: list[ParsedFile] = []
    if suffix in ("xlsx", "xlsm") or content[:4] == b"PK\x03\x04":
        for sheet_name, rows in _excel_sheets(content, name):
            if any(any(c.strip() for c in r) for r in rows):
                parts.append(_parse_rows(rows, landed, context=sheet_name, encoding="xlsx"))
        if not parts:
            raise FileParseError(f"{name}: the workbook has no data in any sheet")
    else:
        text, encoding = decode_text(content, name)
        check_line_lengths(text, name)
        delimiter = _sniff_delimiter(text)
        try:
            head = _csv_rows(text, delimiter, limit=_SNIFF_ROWS)
        except FileParseError as exc:
            raise FileParseError(f"{name}: {exc}") from exc
        if not any(any(c.strip() for c in r) for r in head):
            raise FileParseError(f"{name}: the file has no data rows")
        if _published_header_index(head) is not None:
            try:
                rows = _csv_rows(text, delimiter)
            except FileParseError as exc:
                raise FileParseError(f"{name}: {exc}") from exc
            parts.append(_parse_rows(rows, landed, context="", encoding=encoding))
        else:
            parts.append(_parse_tidy_csv(text, delimiter, head, landed, encoding))
    return ParsedFile(
        observations=pl.concat([p.observations for p in parts], how="vertical"),
        reported_totals=pl.concat([p.reported_totals for p in parts], how="vertical"),
        findings=[f for p in parts for f in p.findings],
        layout="+".join(sorted({p.layout for p in parts})),
        encoding=parts[0].encoding,
    )


def _parse_rows(rows: list[list[str]], landed: LandedFile, context: str, encoding: str) -> ParsedFile:
    if _published_header_index(rows[:_SNIFF_ROWS]) is not None:
        parsed = _parse_published(rows, landed, context)
    else:
        header_index = _tidy_header_index(rows[:_SNIFF_ROWS], landed.file_name)
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


# ---------------------------------------------------------------------------------------------
# tidy files


def _tidy_header_index(rows: Sequence[Sequence[str]], file_name: str) -> int:
    for i, row in enumerate(rows):
        roles = [_column_role(c) for c in row if str(c).strip()]
        has_region = "region" in roles or "region_ja" in roles
        if has_region and sum(r is not None for r in roles) >= 2:
            return i
    raise FileParseError(
        f"{file_name}: layout not recognised: no header row with a region column "
        "(region / 支部 / 都道府県) and no published table (rows 4月…3月 under 年度 columns)"
    )


def _parse_tidy_csv(text: str, delimiter: str, head: list[list[str]], landed: LandedFile, encoding: str) -> ParsedFile:
    header_index = _tidy_header_index(head, landed.file_name)
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
        rows = _csv_rows(text, delimiter)
        parsed = _parse_rows(rows, landed, context="", encoding=encoding)
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
        region_code=_map_unique(long["region_raw"], regions.resolve_region, pl.String),
        metric=_map_unique(long["metric_raw"], metrics.resolve_metric, pl.String),
    )
    if "period" in roles and "fiscal_year" not in roles:
        periods = _map_unique(long["period"], _period_tuple, pl.List(pl.Int32))
        long = long.with_columns(
            fiscal_year_raw=pl.col("period"),
            fiscal_year=periods.list.get(0, null_on_oob=True),
            month_raw=pl.col("period"),
            month=periods.list.get(1, null_on_oob=True),
        )
    else:
        if has_month:
            long = long.with_columns(month_raw=pl.col("month") if "month" in roles else pl.col("period"))
            long = long.with_columns(month=_map_unique(long["month_raw"], _month_or_period_month, pl.Int32))
        else:
            long = long.with_columns(month_raw=pl.lit(None, pl.String), month=pl.lit(None, pl.Int32))
        if "fiscal_year" in roles:
            long = long.with_columns(
                fiscal_year_raw=pl.col("fiscal_year"),
                fiscal_year=_map_unique(long["fiscal_year"], _fiscal_year_or_none, pl.Int32),
            )
        else:  # calendar year + month → fiscal year (fiscal.fiscal_year_of, vectorised)
            cal = _map_unique(long["calendar_year"], _calendar_year_or_none, pl.Int32)
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
    blank = _map_unique(raw, numbers.is_blank, pl.Boolean).fill_null(True)
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


# ---------------------------------------------------------------------------------------------
# the published layout


def _is_month_label(cell: str) -> bool:
    s = unicodedata.normalize("NFKC", cell).strip()
    return numbers.foreign_digit(cell) is None and bool(re.fullmatch(r"[0-9]{1,2}\s*月", s))


def _fiscal_year_label(cell: str) -> int | None:
    s = unicodedata.normalize("NFKC", cell).strip()
    if "年度" not in s and not re.fullmatch(r"(?i)(fy)?\s*[0-9]{4}", s) and not re.fullmatch(r"(?i)[rh][0-9]+", s):
        return None
    return _fiscal_year_or_none(s)


def _published_header_index(rows: Sequence[Sequence[str]]) -> int | None:
    for i in range(len(rows) - 1):
        nxt = rows[i + 1]
        if nxt and _is_month_label(str(nxt[0])) and any(_fiscal_year_label(str(c)) for c in rows[i][1:]):
            return i
    return None


def _is_total_label(cell: str) -> bool:
    return _header_key(cell) in {"合計", "計", "年度計", "total", "年計"}


def _is_yoy_header(cell: str) -> bool:
    key = _header_key(cell)
    return "前年" in key or key in {"yoy", "yoy%", "yoypct"}


def _parse_published(rows: list[list[str]], landed: LandedFile, context: str) -> ParsedFile:
    """One or more published tables stacked in one sheet or CSV (a title line may precede each)."""
    name = landed.file_name
    findings: list[Finding] = []
    records: list[dict[str, Any]] = []
    totals: list[dict[str, Any]] = []
    title_metric: str | None = None
    title_region: str | None = None
    i = 0
    tables = 0
    while i < len(rows):
        row = [str(c) for c in rows[i]]
        is_header = (
            i + 1 < len(rows)
            and rows[i + 1]
            and _is_month_label(str(rows[i + 1][0]))
            and any(_fiscal_year_label(c) for c in row[1:])
        )
        if not is_header:
            for cell in row:
                if cell.strip():
                    title_metric = metrics.find_metric_in(cell) or title_metric
                    title_region = title_region or regions.resolve_region(cell)
            i += 1
            continue
        tables += 1
        header_row_number = i + 1
        region_code = regions.resolve_region(row[0]) or title_region or _region_in(context) or _region_in(name)
        metric = title_metric or metrics.find_metric_in(context) or metrics.find_metric_in(name)
        if region_code is None:
            raise FileParseError(
                f"{name}: row {header_row_number}: the top-left cell {row[0]!r} names no region "
                "(expected e.g. 山口 or 全国), and neither does a title line or the file name"
            )
        if metric is None:
            raise FileParseError(
                f"{name}: cannot tell which statistic the table at row {header_row_number} holds: "
                "no title line such as ◆被保険者数, and the sheet or file name names no metric"
            )
        columns: list[tuple[int, str, int | None, int | None]] = []  # (value col, label, fy, yoy col)
        for j in range(1, len(row)):
            label = row[j]
            if not label.strip():
                continue
            if _is_yoy_header(label):
                if columns and columns[-1][3] is None and columns[-1][0] == j - 1:
                    columns[-1] = (*columns[-1][:3], j)
                continue
            fy = _fiscal_year_label(label)
            if fy is None:
                findings.append(
                    Finding(
                        name,
                        "unknown_column",
                        "column heading is not a fiscal year (e.g. 2年度); ignored",
                        severity="warning",
                        file_id=landed.id,
                        source_row=header_row_number,
                        column_name=label,
                    )
                )
                continue
            columns.append((j, label, fy, None))
        i += 1
        while i < len(rows):
            cells = [str(c) for c in rows[i]]
            label = cells[0].strip() if cells else ""
            if not any(c.strip() for c in cells):
                i += 1
                break  # a blank line ends the table
            if label.startswith(("※", "注", "(注", "（注")):
                i += 1
                continue
            if not _is_month_label(label) and not _is_total_label(label) and _published_header_ahead(rows, i):
                break
            row_number = i + 1
            for col, col_label, fy, yoy_col in columns:
                raw = cells[col] if col < len(cells) else ""
                if numbers.is_blank(raw):
                    continue
                yoy_raw = cells[yoy_col] if yoy_col is not None and yoy_col < len(cells) else ""
                yoy = _number_or_none(yoy_raw, allow_negative_zero=True)
                if yoy is None and not numbers.is_blank(yoy_raw) and len(findings) < 1000:
                    findings.append(
                        Finding(name, "yoy_printed_unreadable", "printed 前年同月比 is not a number; stored as empty",
                                severity="warning", file_id=landed.id, source_row=row_number,
                                column_name=f"{col_label} 前年同月比", value_text=yoy_raw)
                    )  # fmt: skip
                if _is_total_label(label):
                    value = _number_or_none(raw)
                    if value is None:
                        findings.append(
                            Finding(
                                name,
                                "total_not_a_number",
                                "合計 cell is not a number",
                                file_id=landed.id,
                                source_row=row_number,
                                column_name=col_label,
                                value_text=raw,
                            )
                        )
                        continue
                    totals.append(
                        {
                            "file_id": landed.id,
                            "file_name": name,
                            "source_row": row_number,
                            "region_code": region_code,
                            "metric": metric,
                            "fiscal_year": fy,
                            "value": value,
                            "yoy_pct_printed": yoy,
                        }
                    )
                    continue
                records.append(
                    {
                        "file_id": landed.id,
                        "file_name": name,
                        "source_row": row_number,
                        "source_column": col_label,
                        "region_raw": row[0],
                        "region_code": region_code,
                        "metric_raw": metric,
                        "metric": metric,
                        "fiscal_year_raw": col_label,
                        "fiscal_year": fy,
                        "month_raw": label,
                        "month": _month_or_none(label),
                        "value_raw": raw,
                        "value": _number_or_none(raw),
                        "yoy_pct_printed": yoy,
                    }
                )
            i += 1
        title_metric = None
        title_region = None
    if tables == 0:
        raise FileParseError(f"{name}: no published table found")
    observations = pl.DataFrame(records, schema=OBSERVATION_SCHEMA) if records else empty_observations()
    totals_frame = pl.DataFrame(totals, schema=TOTALS_SCHEMA) if totals else empty_totals()
    return ParsedFile(observations, totals_frame, findings, layout="published")


def _published_header_ahead(rows: list[list[str]], i: int) -> bool:
    return i + 1 < len(rows) and bool(rows[i + 1]) and _is_month_label(str(rows[i + 1][0]))


def _region_in(text: str) -> str | None:
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


# ---------------------------------------------------------------------------------------------
# cell conversions (vectorised over unique values)


def _map_unique(series: pl.Series, fn: Callable[[Any], Any], dtype: Any) -> pl.Series:
    """Apply a Python conversion once per distinct value (files repeat the same few labels)."""
    uniques = series.drop_nulls().unique().to_list()
    mapping = {u: _safe(fn, u) for u in uniques}
    return series.replace_strict(mapping, default=None, return_dtype=dtype)


def _safe(fn: Callable[[Any], Any], value: Any) -> Any:
    try:
        return fn(value)
    except (ValueError, TypeError, OverflowError):
        return None


def _fiscal_year_or_none(text: Any) -> int | None:
    if numbers.is_blank(text):
        return None
    return _safe(fiscal.parse_fiscal_year, text)


def _calendar_year_or_none(text: Any) -> int | None:
    if numbers.is_blank(text):
        return None
    return _safe(fiscal.parse_calendar_year, text)


def _month_or_none(text: Any) -> int | None:
    return _safe(fiscal.parse_month, text)


def _month_or_period_month(text: Any) -> int | None:
    month = _month_or_none(text)
    if month is None:
        period = _safe(fiscal.parse_period, str(text))
        return period.month if period else None
    return month


def _period_tuple(text: Any) -> list[int] | None:
    period = _safe(fiscal.parse_period, str(text))
    return [period.fiscal_year, period.month] if period else None


def _number_or_none(text: Any, allow_negative_zero: bool = False) -> float | None:
    if numbers.is_blank(text):
        return None
    return _safe(lambda t: numbers.parse_number(t, allow_negative_zero), text)


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
    slow = _map_unique(text, lambda s: _number_or_none(s, allow_negative_zero), pl.Float64)
    return pl.select(pl.when(plain).then(fast).otherwise(slow)).to_series().alias(raw.name)


def concat_parsed(parts: Iterable[ParsedFile]) -> ParsedFile:
    parts = list(parts)
    if not parts:
        return ParsedFile(empty_observations(), empty_totals())
    return ParsedFile(
        observations=pl.concat([p.observations for p in parts], how="vertical"),
        reported_totals=pl.concat([p.reported_totals for p in parts], how="vertical"),
        findings=[f for p in parts for f in p.findings],
    )


def select(parsed: ParsedFile, fiscal_years: list[int] | None, region_codes: list[str] | None) -> ParsedFile:
    """Only the rows of these fiscal years and regions (a backfill's slice). Rows whose year or region
    did not parse stay in, so the gate still reports them."""
    observations, totals = parsed.observations, parsed.reported_totals
    if fiscal_years:
        observations = observations.filter(pl.col("fiscal_year").is_in(fiscal_years) | pl.col("fiscal_year").is_null())
        totals = totals.filter(pl.col("fiscal_year").is_in(fiscal_years))
    if region_codes:
        observations = observations.filter(pl.col("region_code").is_in(region_codes) | pl.col("region_code").is_null())
        totals = totals.filter(pl.col("region_code").is_in(region_codes))
    return ParsedFile(observations, totals, parsed.findings, parsed.layout, parsed.encoding)
