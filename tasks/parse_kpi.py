"""Parse KPI files: plan targets (事業計画の KPI 目標), actuals (実績), and the NHI municipal files.

Canonical inputs are data/sample/seed/kpi_plan_items.csv and kpi_actuals.csv as they are; a branch's
.xlsx template with Japanese headers (支部, 年度, KPI, 目標, 単位 / 期間, 実績) and the Okayama files
(okayama_collection_rate_targets.csv, _notes.csv, _actuals.csv: 市町村 as reporting units) load too.
Like the monthly parser, each cell keeps its text as written next to the parsed value, and a cell that
does not parse becomes NULL for the gate to quarantine with that text."""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import chain, islice, zip_longest
from typing import Any

import polars as pl

from branchkpi.domain import fiscal, kpis, numbers, regions
from branchkpi.domain.findings import Finding
from branchkpi.domain.target_rules import COMPARATORS, UNITS
from branchkpi.tasks.landing import LandedFile
from branchkpi.tasks.parse import (
    FileParseError,
    _excel_sheets,
    _header_key,
    _region_in,
    _sniff_delimiter,
    check_line_lengths,
    decode_text,
)

TARGET_COLUMNS: dict[str, Any] = {
    "file_id": pl.Int64, "file_name": pl.String, "source_row": pl.Int64,
    "reporting_unit_raw": pl.String, "reporting_unit": pl.String, "fiscal_year_raw": pl.String,
    "fiscal_year": pl.Int32, "kpi_raw": pl.String, "kpi_id": pl.String, "comparator_raw": pl.String,
    "comparator": pl.String, "target_value_raw": pl.String, "target_value": pl.Float64, "unit_raw": pl.String,
    "unit": pl.String, "target_text": pl.String, "kpi_text_ja": pl.String, "target_note": pl.String,
    "organization": pl.String,
}  # fmt: skip
ACTUAL_COLUMNS: dict[str, Any] = {
    "file_id": pl.Int64, "file_name": pl.String, "source_row": pl.Int64,
    "reporting_unit_raw": pl.String, "reporting_unit": pl.String, "fiscal_year_raw": pl.String,
    "fiscal_year": pl.Int32, "period_raw": pl.String, "period": pl.String, "kpi_raw": pl.String,
    "kpi_id": pl.String, "value_raw": pl.String, "value": pl.Float64, "unit_raw": pl.String, "unit": pl.String,
    "as_of": pl.String, "note": pl.String,
}  # fmt: skip

_ALIASES: dict[str, tuple[str, ...]] = {
    "branch": ("branch", "支部", "region", "支部名"),
    "municipality": ("municipality", "municipality_ja", "市町村", "市町村名", "保険者"),
    "prefecture": ("prefecture", "都道府県"),
    "fiscal_year": ("fiscal_year", "年度"),
    "kpi_id": ("kpi_id", "kpi", "指標", "kpiid"),
    "kpi_text_ja": ("kpi_text_ja", "kpi内容", "指標名", "kpiの内容"),
    "target_value": ("target_value", "目標値"),
    "target_text": ("target_text", "目標"),
    "comparator": ("comparator", "比較", "判定基準"),
    "unit": ("unit", "単位"),
    "target_note": ("target_note",),
    "organization": ("organization", "組織"),
    "period": ("period", "期間", "対象期間"),
    "value": ("value", "実績", "実績値"),
    "as_of": ("as_of", "時点"),
    "note": ("note", "note_ja", "備考"),
    "status": ("status", "設定状況"),
    "source_file": ("source_file",),
}
_ROLE = {_header_key(a): role for role, aliases in _ALIASES.items() for a in aliases}
_COMPARATOR_WORDS = {"以上": "ge", "以下": "le", "とする": "eq", "未設定": "not_set"}
_UNIT_WORDS = {"%": "pct", "％": "pct", "率": "pct", "件": "count", "人": "count", "名": "count", "円": "yen"}


@dataclass
class ParsedKpiFile:
    kind: str  # targets, actuals or unit_notes
    targets: pl.DataFrame
    actuals: pl.DataFrame
    municipalities: list[dict[str, Any]] = field(default_factory=list)  # reporting units the file introduces
    findings: list[Finding] = field(default_factory=list)


def empty_targets() -> pl.DataFrame:
    return pl.DataFrame(schema=TARGET_COLUMNS)


def empty_actuals() -> pl.DataFrame:
    return pl.DataFrame(schema=ACTUAL_COLUMNS)


def kpi_file_kind(headers: list[str]) -> str | None:
    """targets / actuals / unit_notes for a KPI file's header row, None for anything else."""
    roles = {_ROLE.get(_header_key(h)) for h in headers}
    has_unit = bool(roles & {"branch", "municipality"})
    names_kpi = bool(roles & {"kpi_id", "kpi_text_ja", "municipality"})  # NHI files are one KPI by name
    if not has_unit or not names_kpi or ("fiscal_year" not in roles and "status" not in roles):
        return None
    if roles & {"comparator", "target_value", "target_text"}:
        return "targets"
    if "value" in roles:
        return "actuals"
    if "status" in roles:
        return "unit_notes"
    return None


def sniff_kind(landed: LandedFile) -> str | None:
    """The KPI kind of a landed file, or None if it is not a KPI file (e.g. monthly statistics)."""
    try:
        for sheet in _sheets_of(landed):
            for row in islice(sheet.rows, 10):
                kind = kpi_file_kind([str(c) for c in row])
                if kind:
                    return kind
    except FileParseError:
        return None
    return None


@dataclass
class _Sheet:
    """A sheet's rows, read as they are asked for; for a CSV file also its text, which polars can
    read whole (see _text_cells)."""

    name: str
    rows: Iterator[list[str]]
    text: str | None = None
    delimiter: str = ","


def _sheets_of(landed: LandedFile) -> list[_Sheet]:
    """Each sheet's rows, read as they are asked for: a CSV of 450,000 rows never sits in memory as
    Python lists at once (the rows become polars columns CHUNK_ROWS at a time)."""
    name = landed.file_name
    if name.lower().endswith((".xlsx", ".xlsm")) or landed.content[:4] == b"PK\x03\x04":
        return [_Sheet(sheet, iter(rows)) for sheet, rows in _excel_sheets(landed.content, name)]
    text, _ = decode_text(landed.content, name)
    check_line_lengths(text, name)
    if text.count("\r") != text.count("\r\n"):  # lone CR line ends (old Mac "CSV (Macintosh)" exports)
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    delimiter = _sniff_delimiter(text)
    return [_Sheet("", _csv_row_iter(text, delimiter, name), text, delimiter)]


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
        raise FileParseError(f"{name}: malformed CSV at line {reader.line_num}: {exc}") from exc


CHUNK_ROWS = 50_000


def parse_kpi_file(landed: LandedFile) -> ParsedKpiFile:
    """Read every sheet of a KPI file. The rules that read a cell (branchkpi.domain.fiscal, kpis, numbers,
    regions) run once per distinct text of a column, not once per row, and their results are joined
    back onto the rows with polars: a prefecture's 450,000 actuals have a few thousand distinct cells."""
    name = landed.file_name
    targets: list[pl.DataFrame] = []
    actuals: list[pl.DataFrame] = []
    municipalities: dict[str, dict[str, Any]] = {}
    findings: list[Finding] = []
    kinds: set[str] = set()
    for sheet in _sheets_of(landed):
        row_iter = sheet.rows
        head = list(islice(row_iter, 10))
        header_index = next((i for i, r in enumerate(head) if kpi_file_kind([str(c) for c in r])), None)
        if header_index is None:
            continue
        header = [str(h) for h in head[header_index]]
        kind = kpi_file_kind(header)
        assert kind is not None
        kinds.add(kind)
        roles: dict[str, int] = {}
        for i, h in enumerate(header):
            role = _ROLE.get(_header_key(h))
            if role is None and h.strip():
                findings.append(Finding(name, "unknown_column", "column not recognised; ignored", "warning",
                                        landed.id, column_name=h))  # fmt: skip
            elif role is not None and role not in roles:
                roles[role] = i
        prefecture = _prefecture(roles, sheet.name, name)
        first = header_index + 2  # the file's row number of the first data row
        cells = _text_cells(sheet, header_index + 1, len(header), roles) if sheet.text is not None else None
        if cells is None:  # a workbook, or a CSV only the csv module reads exactly: its rows in chunks
            data_rows = chain(head[header_index + 1 :], row_iter)
            chunks = []
            while chunk := list(islice(data_rows, CHUNK_ROWS)):
                chunks.append(_cells(chunk, first, roles))
                first += len(chunk)
            cells = pl.concat(chunks) if chunks else _cells([], first, roles)
        cells = _with_reporting_unit(cells, "branch" in roles, prefecture, municipalities)
        if kind == "unit_notes":
            for unit_key, status_text, note in cells.select("reporting_unit", "cell_status", "cell_note").iter_rows():
                if unit_key:
                    status = status_text.lower()
                    municipalities[unit_key].update(
                        target_setting="not_set" if status in ("not_set", "未設定") or "未設定" in note else "set",
                        note_ja=note or None,
                    )
            continue
        kpi_from_name = _kpi_from_name(name) or ""
        cells = cells.with_columns(
            file_id=pl.lit(landed.id, pl.Int64),
            file_name=pl.lit(name),
            fiscal_year_raw=pl.col("cell_fiscal_year"),
            kpi_raw=pl.when(pl.col("cell_kpi_id") != "").then(pl.col("cell_kpi_id"))
            .when(pl.col("cell_kpi_text_ja") != "").then(pl.col("cell_kpi_text_ja"))
            .otherwise(pl.lit(kpi_from_name)),
        )  # fmt: skip
        cells = _map_distinct(cells, ["fiscal_year_raw"], {"fiscal_year": pl.Int32}, _safe_fy)
        cells = _map_distinct(cells, ["kpi_raw"], {"kpi_id": pl.String},
                              lambda raw: kpis.resolve_kpi(raw) if raw else None)  # fmt: skip
        if kind == "targets":  # the comparator, value and unit may all come from one text (80%以上)
            used = ["target_text", "comparator", "target_value", "kpi_text_ja", "target_note", "organization", "unit"]
            mapped = _map_distinct(
                cells, [f"cell_{r}" for r in used] + ["kpi_raw", "kpi_id"],
                {c: t for c, t in TARGET_COLUMNS.items() if c in _TARGET_FIELDS}, _cell_rule(_target_fields, used),
            )  # fmt: skip
            targets.append(mapped.select(TARGET_COLUMNS.keys()))
        else:  # each field of an actual reads one cell: mapped column by column, fewer distinct values
            mapped = _map_distinct(cells, ["cell_period"], {"period": pl.String}, normalise_period)
            mapped = _map_distinct(mapped, ["cell_value"], {"value": pl.Float64}, _number)
            mapped = _map_distinct(mapped, ["cell_unit", "kpi_id"], {"unit": pl.String}, _unit)
            actuals.append(
                mapped.with_columns(
                    period_raw="cell_period", value_raw="cell_value", unit_raw="cell_unit",
                    as_of=pl.col("cell_as_of").replace("", None), note=pl.col("cell_note").replace("", None),
                ).select(ACTUAL_COLUMNS.keys())
            )  # fmt: skip
    if not kinds:
        raise FileParseError(f"{name}: not a KPI file (no header with 支部/branch or 市町村 and 年度/fiscal_year)")
    return ParsedKpiFile(
        kind="+".join(sorted(kinds)),
        targets=pl.concat(targets) if targets else empty_targets(),
        actuals=pl.concat(actuals) if actuals else empty_actuals(),
        municipalities=list(municipalities.values()),
        findings=findings,
    )


_TARGET_FIELDS = ("kpi_raw", "comparator_raw", "comparator", "target_value_raw", "target_value", "unit_raw", "unit",
                  "target_text", "kpi_text_ja", "target_note", "organization")  # fmt: skip
_ACTUAL_FIELDS = ("period_raw", "period", "kpi_raw", "value_raw", "value", "unit_raw", "unit", "as_of", "note")
_ALL_ROLES = tuple(_ALIASES)
_CELL = tuple(f"cell_{role}" for role in _ALL_ROLES)  # a role's text as written, stripped


def _cell_rule(rule: Callable[..., dict[str, Any]], roles: list[str]) -> Callable[..., dict[str, Any]]:
    """rule(cell, kpi_raw, kpi_id, unit_raw) over the distinct (cells of roles…, kpi_raw, kpi_id)."""

    def apply(*values: Any) -> dict[str, Any]:
        cell = dict(zip(roles, values, strict=False))
        kpi_raw, kpi_id = values[len(roles)], values[len(roles) + 1]
        return rule(cell, kpi_raw or None, kpi_id, cell.get("unit", ""))

    return apply


def _cells(rows: list[list[str]], first_row_number: int, roles: dict[str, int]) -> pl.DataFrame:
    """The data rows as text columns, one per role (a role the file lacks is empty), stripped, with
    the row number in the file; blank rows are left out."""
    columns = [pl.Series(col, dtype=pl.String) for col in zip_longest(*rows, fillvalue="")]
    return _cell_frame(columns, first_row_number, len(rows), roles)


def _cell_frame(columns: list[pl.Series], first_row_number: int, height: int, roles: dict[str, int]) -> pl.DataFrame:
    columns = [c.fill_null("").str.strip_chars() for c in columns]
    numbers = pl.int_range(first_row_number, first_row_number + height, dtype=pl.Int64, eager=True)
    frame = pl.DataFrame(
        {"source_row": numbers}
        | {name: columns[roles[role]] if roles.get(role, len(columns)) < len(columns)
           else pl.repeat("", height, dtype=pl.String, eager=True)  # no such column, or rows too short
           for role, name in zip(_ALL_ROLES, _CELL, strict=True)}
    )  # fmt: skip
    blank = pl.sum_horizontal(c.str.len_chars() for c in columns) == 0 if columns else pl.lit(True)
    return frame.filter(~blank) if columns else frame.head(0)


def _text_cells(sheet: _Sheet, skip_records: int, width: int, roles: dict[str, int]) -> pl.DataFrame | None:
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
            return _cells([], skip_records + 1, roles)
    rest = text[start:]
    if not rest.strip():
        return _cells([], skip_records + 1, roles)
    names = [f"column_{i}" for i in range(width)]
    try:
        frame = pl.read_csv(
            rest.encode("utf-8"), has_header=False, separator=sheet.delimiter, quote_char=None,
            schema=dict.fromkeys(names, pl.String),
        )  # fmt: skip
    except (pl.exceptions.ComputeError, pl.exceptions.SchemaError, pl.exceptions.ShapeError):
        return None  # a row wider than the header, or a first row narrower: the csv module's rules
    return _cell_frame(frame.get_columns(), skip_records + 1, frame.height, roles)


def _map_distinct(
    frame: pl.DataFrame, inputs: list[str], outputs: dict[str, Any], rule: Callable[..., Any]
) -> pl.DataFrame:
    """Columns `outputs` from `rule` applied to each distinct combination of the `inputs` columns
    (the rule returns a dict with the outputs, or the single output's value), joined back on the
    rows in their order. An output that is also an input keeps the input's column."""
    distinct = frame.select(inputs).unique(maintain_order=True)  # first-seen order: deterministic side effects
    names = [n for n in outputs if n not in inputs]
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


def _with_reporting_unit(
    cells: pl.DataFrame, by_branch: bool, prefecture: str | None, municipalities: dict[str, dict[str, Any]]
) -> pl.DataFrame:
    """reporting_unit_raw and reporting_unit (a branch's JIS code, or 33:倉敷市) per distinct cell."""
    frame = cells.with_columns(reporting_unit_raw=pl.col("cell_branch" if by_branch else "cell_municipality"))

    def unit_of(branch: str, municipality: str, pref: str) -> str | None:
        cell = {"branch": branch} if by_branch else {"municipality": municipality, "prefecture": pref}
        return _reporting_unit(cell, prefecture, municipalities)[1]

    if by_branch:
        return _map_distinct(frame, ["cell_branch"], {"reporting_unit": pl.String}, lambda b: unit_of(b, "", ""))
    inputs = ["cell_municipality", "cell_prefecture"]
    return _map_distinct(frame, inputs, {"reporting_unit": pl.String}, lambda m, p: unit_of("", m, p))


def _prefecture(roles: dict[str, int], sheet: str, name: str) -> str | None:
    if "municipality" not in roles:
        return None
    if "prefecture" in roles:
        return None  # per row
    return _region_in(sheet) or _region_in(name)


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
    municipalities.setdefault(key, {"key": key, "kind": "municipality", "name_ja": name, "name_romaji": None,
                                    "prefecture_code": pref, "target_setting": None, "note_ja": None})  # fmt: skip
    return raw, key


def _kpi_from_name(file_name: str) -> str | None:
    key = unicodedata.normalize("NFKC", file_name).lower()
    return "nhi_collection_rate" if "collection_rate" in key or "収納率" in key else None


def _safe_fy(text: str) -> int | None:
    try:
        return fiscal.parse_fiscal_year(text)
    except ValueError:
        return None


def _number(text: str) -> float | None:
    if numbers.is_blank(text):
        return None
    try:
        return numbers.parse_number(text)
    except numbers.NumberFormatError:
        return None


def _unit(text: str, kpi_id: str | None) -> str | None:
    s = unicodedata.normalize("NFKC", text or "").strip().lower()
    if s in UNITS:
        return s
    if s in _UNIT_WORDS:
        return _UNIT_WORDS[s]
    if not s and kpi_id in kpis.BY_ID:
        return kpis.BY_ID[kpi_id].unit  # no unit column: the catalogue's
    return None


def _target_fields(cell: dict[str, str], kpi_raw: str | None, kpi_id: str | None, unit_raw: str) -> dict[str, Any]:
    text = cell.get("target_text", "")
    comparator_raw = cell.get("comparator", "")
    value_raw = cell.get("target_value", "")
    given = unicodedata.normalize("NFKC", comparator_raw).strip().lower()
    value = _number(value_raw)
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
        "kpi_raw": kpi_raw or "", "kpi_id": kpi_id, "comparator_raw": comparator_raw, "comparator": comparator,
        "target_value_raw": value_raw or text, "target_value": value, "unit_raw": unit_raw,
        "unit": _unit(unit_raw or (text_unit or ""), kpi_id), "target_text": text or None,
        "kpi_text_ja": cell.get("kpi_text_ja") or None, "target_note": cell.get("target_note") or None,
        "organization": cell.get("organization") or None,
    }  # fmt: skip


_QUARTER_RE = re.compile(r"^(?:q|第)?([1-4])(?:q|四半期)?$")


def normalise_period(text: str) -> str | None:
    """FY, Q1–Q4 or a calendar month YYYY-MM; None if not readable. Empty = the fiscal year."""
    s = unicodedata.normalize("NFKC", text or "").strip().lower().replace(" ", "")
    if s in ("", "fy", "年度", "通年", "年間", "年度末"):
        return "FY"
    m = _QUARTER_RE.match(s)
    if m:
        return f"Q{m.group(1)}"
    try:
        period = fiscal.parse_period(s)
    except ValueError:
        return None
    return period.calendar_label
