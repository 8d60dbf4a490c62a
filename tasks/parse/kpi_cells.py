"""Reading KPI files' cells: the header roles, a sheet's rows as text columns (polars' reader where a
record is a line, the csv module otherwise), and the rules that read one cell (reporting unit, fiscal
year, period, number, unit, target text), run once per distinct text of a column."""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any

import polars as pl

from branchkpi.domain import fiscal, kpis, numbers, regions
from branchkpi.domain.kpi_periods import parse_as_of, parse_kpi_period
from branchkpi.domain.target_rules import COMPARATORS, UNITS
from branchkpi.tasks.landing import LandedFile
from branchkpi.tasks.parse.cells import FileParseError, header_key, region_in
from branchkpi.tasks.parse.decoding import check_line_lengths, decode_text, sniff_delimiter
from branchkpi.tasks.parse.xlsx import excel_sheets

ALIASES: dict[str, tuple[str, ...]] = {
    "branch": ("branch", "支部", "region", "支部名"),
    "municipality": ("municipality", "municipality_ja", "市町村", "市町村名", "保険者"),
    "prefecture": ("prefecture", "都道府県"),
    "fiscal_year": ("fiscal_year", "年度"),
    "kpi_id": ("kpi_id", "kpi", "指標", "kpiid", "kpi名"),
    "kpi_text_ja": ("kpi_text_ja", "kpi内容", "指標名", "kpiの内容", "計画の文言"),
    "target_value": ("target_value", "目標値"),
    "target_text": ("target_text", "目標"),
    "comparator": ("comparator", "比較", "判定基準"),
    "unit": ("unit", "単位"),
    "target_note": ("target_note",),
    "organization": ("organization", "組織"),
    "period": ("period", "期間", "対象期間"),
    "value": ("value", "実績", "実績値"),
    "as_of": ("as_of", "時点", "集計時点", "基準日"),
    "note": ("note", "note_ja", "備考"),
    "status": ("status", "設定状況"),
    "source_file": ("source_file",),
    # where a target sits in its plan as printed (kpi_plan_structure.csv, or extra columns of a targets file)
    "group_ja": ("group_ja", "分野"),
    "item_no": ("item_no", "項目番号"),
    "item_ja": ("item_ja", "項目"),
    "sub_item_no": ("sub_item_no", "小項目番号"),
    "sub_item_ja": ("sub_item_ja", "小項目"),
}
STRUCTURE_ROLES = ("group_ja", "item_no", "item_ja", "sub_item_no", "sub_item_ja")


ROLE = {header_key(a): role for role, aliases in ALIASES.items() for a in aliases}


_COMPARATOR_WORDS = {"以上": "ge", "以下": "le", "とする": "eq", "未設定": "not_set"}


_UNIT_WORDS = {"%": "pct", "％": "pct", "率": "pct", "件": "count", "人": "count", "名": "count", "円": "yen"}


@dataclass
class Sheet:
    """A sheet's rows, read as they are asked for; for a CSV file also its text, which polars can
    read whole (see text_cells)."""

    name: str
    rows: Iterator[list[str]]
    text: str | None = None
    delimiter: str = ","


def sheets_of(landed: LandedFile) -> list[Sheet]:
    """Each sheet's rows, read as they are asked for: a CSV of 450,000 rows never sits in memory as
    Python lists at once (the rows become polars columns CHUNK_ROWS at a time)."""
    name = landed.file_name
    if name.lower().endswith((".xlsx", ".xlsm")) or landed.content[:4] == b"PK\x03\x04":
        return [Sheet(sheet, iter(rows)) for sheet, rows in excel_sheets(landed.content, name)]
    text, _ = decode_text(landed.content, name)
    check_line_lengths(text, name)
    if text.count("\r") != text.count("\r\n"):  # lone CR line ends (old Mac "CSV (Macintosh)" exports)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    delimiter = sniff_delimiter(text)
    return [Sheet("", _csv_row_iter(text, delimiter, name), text, delimiter)]


def _lines(text: str) -> Iterator[str]:
    """The text's lines with their ends, one at a time (io.StringIO would hold a 4-byte-per-character
    copy of the whole file)."""
    start, size = 0, len(text)
    while start < size:
        end = text.find("\n", start)
        end = size if end < 0 else end + 1
        yield text[start:end]
        start = end


def _csv_row_iter(text: str, delimiter: str, name: str) -> Iterator[list[str]]:
    reader = csv.reader(_lines(text), delimiter=delimiter, strict=True)
    try:
        yield from reader
    except csv.Error as exc:
        raise FileParseError(f"malformed CSV at line {reader.line_num}: {exc}") from exc


TARGET_FIELDS = (
    "kpi_raw",
    "comparator_raw",
    "comparator",
    "target_value_raw",
    "target_value",
    "unit_raw",
    "unit",
    "target_text",
    "kpi_text_ja",
    "target_note",
    "organization",
)


_ACTUAL_FIELDS = ("period_raw", "period", "kpi_raw", "value_raw", "value", "unit_raw", "unit", "as_of", "note")


_ALL_ROLES = tuple(ALIASES)


_CELL = tuple(f"cell_{role}" for role in _ALL_ROLES)  # a role's text as written, stripped


def cell_rule(rule: Callable[..., dict[str, Any]], roles: list[str]) -> Callable[..., dict[str, Any]]:
    """rule(cell, kpi_raw, kpi_id, unit_raw) over the distinct (cells of roles…, kpi_raw, kpi_id)."""

    def apply(*values: Any) -> dict[str, Any]:
        cell = dict(zip(roles, values, strict=False))
        kpi_raw, kpi_id = values[len(roles)], values[len(roles) + 1]
        return rule(cell, kpi_raw or None, kpi_id, cell.get("unit", ""))

    return apply


def cells_of_rows(rows: list[list[str]], first_row_number: int, roles: dict[str, int]) -> pl.DataFrame:
    """The data rows as text columns, one per role (a role the file lacks is empty), stripped, with
    the row number in the file; blank rows are left out."""
    columns = [pl.Series(col, dtype=pl.String) for col in zip_longest(*rows, fillvalue="")]
    return _cell_frame(columns, first_row_number, len(rows), roles)


def _cell_frame(columns: list[pl.Series], first_row_number: int, height: int, roles: dict[str, int]) -> pl.DataFrame:
    columns = [c.fill_null("").str.strip_chars() for c in columns]
    numbers = pl.int_range(first_row_number, first_row_number + height, dtype=pl.Int64, eager=True)
    frame = pl.DataFrame(
        {"source_row": numbers}
        | {
            name: columns[roles[role]]
            if roles.get(role, len(columns)) < len(columns)
            else pl.repeat("", height, dtype=pl.String, eager=True)  # no such column, or rows too short
            for role, name in zip(_ALL_ROLES, _CELL, strict=True)
        }
    )
    blank = pl.sum_horizontal(c.str.len_chars() for c in columns) == 0 if columns else pl.lit(True)
    return frame.filter(~blank) if columns else frame.head(0)


def text_cells(sheet: Sheet, skip_records: int, width: int, roles: dict[str, int]) -> pl.DataFrame | None:
    """The data rows of a CSV read by polars' reader: a tenth of the time and memory of the csv
    module's rows as Python lists. Only where both read the same records: no quote character in
    the file (so a record is a line and nothing can be malformed), no lone CR line ends, and no row
    wider than the header (polars refuses it). Otherwise None, and the csv module reads the file."""
    text = sheet.text
    if text is None or '"' in text or len(sheet.delimiter.encode()) != 1:
        return None
    start = 0
    for _ in range(skip_records):  # past the title lines and the header: a record is a line here
        start = text.find("\n", start) + 1
        if start == 0:
            return cells_of_rows([], skip_records + 1, roles)
    rest = text[start:]
    if not rest.strip():
        return cells_of_rows([], skip_records + 1, roles)
    names = [f"column_{i}" for i in range(width)]
    try:
        frame = pl.read_csv(
            rest.encode("utf-8"),
            has_header=False,
            separator=sheet.delimiter,
            quote_char=None,
            schema=dict.fromkeys(names, pl.String),
        )
    except (pl.exceptions.ComputeError, pl.exceptions.SchemaError, pl.exceptions.ShapeError):
        return None  # a row wider than the header, or a first row narrower: the csv module's rules
    return _cell_frame(frame.get_columns(), skip_records + 1, frame.height, roles)


def map_distinct(
    frame: pl.DataFrame, inputs: list[str], outputs: dict[str, Any], rule: Callable[..., Any]
) -> pl.DataFrame:
    """Columns `outputs` from `rule` applied to each distinct combination of the `inputs` columns
    (the rule returns a dict with the outputs, or the single output's value), joined back on the
    rows in their order. An output that is also an input keeps the input's column."""
    names = [n for n in outputs if n not in inputs]
    if frame.height == 0:  # a sheet of headers only: typed empty columns (polars keeps an empty lookup's input type)
        return frame.with_columns(pl.lit(None, outputs[n]).alias(n) for n in names)
    distinct = frame.select(inputs).unique(maintain_order=True)  # first-seen order: deterministic side effects
    results: dict[str, list[Any]] = {n: [] for n in names}
    for values in distinct.iter_rows():
        out = rule(*values)
        for n in names:
            results[n].append(out[n] if isinstance(out, dict) else out)
    if len(inputs) == 1:  # a lookup in the distinct values: no join, no copy of the rows
        old = distinct.to_series()
        return frame.with_columns(
            pl.col(inputs[0]).replace_strict(old, pl.Series(results[n], dtype=outputs[n], strict=False)).alias(n)
            for n in names
        )
    mapped = distinct.with_columns(pl.Series(n, results[n], dtype=outputs[n], strict=False) for n in names)
    # join only the key columns (a join gathers every column it carries), then add the outputs
    looked_up = frame.select(inputs).join(mapped, on=inputs, how="left", nulls_equal=True, maintain_order="left")
    return frame.with_columns(looked_up.select(names))


def with_reporting_unit(
    cells: pl.DataFrame, by_branch: bool, prefecture: str | None, municipalities: dict[str, dict[str, Any]]
) -> pl.DataFrame:
    """reporting_unit_raw and reporting_unit (a branch's JIS code, or 33:倉敷市) per distinct cell."""
    frame = cells.with_columns(reporting_unit_raw=pl.col("cell_branch" if by_branch else "cell_municipality"))

    def reporting_unit_of(branch: str, municipality: str, pref: str) -> str | None:
        cell = {"branch": branch} if by_branch else {"municipality": municipality, "prefecture": pref}
        return _reporting_unit(cell, prefecture, municipalities)[1]

    if by_branch:
        return map_distinct(
            frame, ["cell_branch"], {"reporting_unit": pl.String}, lambda b: reporting_unit_of(b, "", "")
        )
    inputs = ["cell_municipality", "cell_prefecture"]
    return map_distinct(frame, inputs, {"reporting_unit": pl.String}, lambda m, p: reporting_unit_of("", m, p))


def prefecture_of(roles: dict[str, int], sheet: str, name: str) -> str | None:
    if "municipality" not in roles:
        return None
    if "prefecture" in roles:
        return None  # per row
    return region_in(sheet) or region_in(name)


def _reporting_unit(
    cell: dict[str, str], prefecture: str | None, municipalities: dict[str, dict[str, Any]]
) -> tuple[str, str | None]:
    if "branch" in cell:
        raw = cell["branch"]
        return raw, regions.resolve_region(raw)
    raw = cell.get("municipality", "")
    pref = regions.resolve_region(cell["prefecture"]) if cell.get("prefecture") else prefecture
    name = unicodedata.normalize("NFKC", raw).strip()
    if not name or pref is None or pref == regions.NATIONAL_CODE:
        return raw, None
    key = f"{pref}:{name}"
    municipalities.setdefault(
        key,
        {
            "key": key,
            "kind": "municipality",
            "name_ja": name,
            "name_romaji": None,
            "prefecture_code": pref,
            "target_setting": None,
            "note_ja": None,
        },
    )
    return raw, key


def kpi_from_name(file_name: str) -> str | None:
    key = unicodedata.normalize("NFKC", file_name).lower()
    return "nhi_collection_rate" if "collection_rate" in key or "収納率" in key else None


def safe_fy(text: str) -> int | None:
    try:
        return fiscal.parse_fiscal_year(text)
    except ValueError:
        return None


def number(text: str) -> float | None:
    if numbers.is_blank(text):
        return None
    try:
        return numbers.parse_number(text)
    except numbers.NumberFormatError:
        return None


def kpi_unit(text: str, kpi_id: str | None) -> str | None:
    s = unicodedata.normalize("NFKC", text or "").strip().lower()
    if s in UNITS:
        return s
    if s in _UNIT_WORDS:
        return _UNIT_WORDS[s]
    if not s and kpi_id in kpis.BY_ID:
        return kpis.BY_ID[kpi_id].unit  # no unit column: the catalogue's
    return None


def target_fields(cell: dict[str, str], kpi_raw: str | None, kpi_id: str | None, unit_raw: str) -> dict[str, Any]:
    text = cell.get("target_text", "")
    comparator_raw = cell.get("comparator", "")
    value_raw = cell.get("target_value", "")
    given = unicodedata.normalize("NFKC", comparator_raw).strip().lower()
    value = number(value_raw)
    comparator: str | None
    text_unit = None
    if given:
        # a comparator cell we do not know is an error (NULL → quarantined), never a guess
        comparator = given if given in COMPARATORS else _COMPARATOR_WORDS.get(given)
    else:
        comparator_raw = text
        try:
            comparator, text_value, text_unit = kpis.parse_target_text(text or value_raw)
            value = value if value is not None else text_value
        except ValueError:
            comparator = None
    return {
        "kpi_raw": kpi_raw or "",
        "kpi_id": kpi_id,
        "comparator_raw": comparator_raw,
        "comparator": comparator,
        "target_value_raw": value_raw or text,
        "target_value": value,
        "unit_raw": unit_raw,
        "unit": kpi_unit(unit_raw or (text_unit or ""), kpi_id),
        "target_text": text or None,
        "kpi_text_ja": cell.get("kpi_text_ja") or None,
        "target_note": cell.get("target_note") or None,
        "organization": cell.get("organization") or None,
    }


def period_fields(text: str, fiscal_year: int | None) -> dict[str, Any]:
    """期間 → period (FY, Q1–Q4, YYYY-MM; None if not readable) and the fiscal year it states
    (branchkpi.domain.kpi_periods: the forms accepted)."""
    try:
        read = parse_kpi_period(text, fiscal_year)
    except ValueError:
        return {"period": None, "period_fiscal_year": None}
    return {"period": read.period, "period_fiscal_year": read.stated_fiscal_year}


def as_of_fields(text: str, fiscal_year: int | None) -> dict[str, Any]:
    """時点 → the calendar month it falls in (YYYY-MM), the fiscal year it names (令和2年度末), whether it
    is a month's first day (4月1日現在), and whether a 時点 was written that holds no date."""
    none = {"as_of_month": None, "as_of_fiscal_year": None, "as_of_first_day": False}
    try:
        read = parse_as_of(text, fiscal_year)
    except ValueError:
        return none | {"as_of_unreadable": True}
    if read is None:
        return none | {"as_of_unreadable": False}
    return {
        "as_of_month": read.label,
        "as_of_fiscal_year": read.stated_fiscal_year,
        "as_of_first_day": read.first_day,
        "as_of_unreadable": False,
    }


_FIGURE_UNITS = (("%", "pct"), ("事業所", "count"), ("人", "count"), ("件", "count"), ("名", "count"), ("円", "yen"))


def figure_unit(text: str) -> str | None:
    """The unit a figure's own cell says (`95.82%`, `2,933人`, `150円`; an Excel percentage cell reads
    as `95.82%`), or None."""
    s = unicodedata.normalize("NFKC", text or "").strip()
    return next((unit for word, unit in _FIGURE_UNITS if s.endswith(word)), None)
