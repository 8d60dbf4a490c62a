"""Parse NHI initiative uptake files (取組状況：N/M市町村（P%）): one row per initiative of a prefecture's
NHI plan with how many of its municipalities took it up, as the prefecture prints it
(data/sample/seed/okayama_initiative_adoption.csv as it is; the one 目標設定状況 20/27 row too).

The file names no prefecture in its columns: the prefecture comes from the sheet or file name
(okayama_initiative_adoption.csv → 33), and a file whose prefecture cannot be told is refused whole.
Like the other KPI parsers, every cell keeps its text as written beside the parsed value, and a cell that
does not parse becomes NULL for the gate (tasks/validate/initiatives.py) to quarantine with that text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from itertools import zip_longest
from typing import Any

import polars as pl

from branchkpi.domain import regions
from branchkpi.tasks.parse.cells import FileParseError, header_key, region_in
from branchkpi.tasks.parse.kpi_cells import map_distinct, number, safe_fy
from branchkpi.warehouse import schema
from branchkpi.warehouse.frames import FILE_ID, frame_schema

ALIASES: dict[str, tuple[str, ...]] = {
    "section_ja": ("section_ja", "section", "見出し"),
    "label_ja": ("label_ja", "label", "区分"),
    "adopted": ("adopted", "取組市町村数", "実施市町村数"),
    "total": ("total", "市町村数", "対象市町村数"),
    "pct_printed": ("pct_printed", "pct", "割合", "取組率"),
    "fiscal_year": ("fiscal_year", "年度"),
    "note": ("note", "note_ja", "備考"),
}
ROLE = {header_key(a): role for role, aliases in ALIASES.items() for a in aliases}
_NEEDED = {"section_ja", "adopted", "total", "fiscal_year"}
# a file without a label column prints 取組状況 figures (the 目標設定状況 row names itself)
DEFAULT_LABEL = "取組状況"

_U = frame_schema(schema.initiative_uptake)
UPTAKE_COLUMNS: dict[str, Any] = {
    "file_id": FILE_ID,
    "file_name": pl.String,
    "source_row": pl.Int64,
    "reporting_unit": _U["unit_key"],
    "section_ja": _U["section_ja"],
    "label_ja": _U["label_ja"],
    "fiscal_year_raw": pl.String,
    "fiscal_year": _U["fiscal_year"],
    "adopted_raw": pl.String,
    "adopted": _U["adopted"],
    "total_raw": pl.String,
    "total": _U["total"],
    "pct_printed_raw": pl.String,
    "pct_printed": _U["pct_printed"],
    "pct_decimals": pl.Int32,
    "note": _U["note"],
}


def empty_uptake() -> pl.DataFrame:
    return pl.DataFrame(schema=UPTAKE_COLUMNS)


def is_uptake_header(headers: list[str]) -> bool:
    """Whether a header row is an initiative uptake table's (section, adopted, total, fiscal year)."""
    return _NEEDED.issubset({ROLE.get(header_key(h)) for h in headers})


def prefecture_of_file(sheet_name: str, file_name: str) -> str:
    """The prefecture a file's uptake figures belong to, from its sheet or file name; refused otherwise."""
    code = region_in(sheet_name) or region_in(file_name)
    if code is None or code == regions.NATIONAL_CODE:
        raise FileParseError(
            "initiative uptake (取組状況) without a prefecture: the prefecture cannot be told from the file "
            "name; name it there, e.g. okayama_initiative_adoption.csv (取組状況の都道府県をファイル名で示してください)"
        )
    return code


def count(text: str) -> int | None:
    """A municipality count as printed (20, ２０, 20市町村); None when it is not a whole number."""
    s = unicodedata.normalize("NFKC", text or "").strip().removesuffix("市町村").strip()
    value = number(s)
    return int(value) if value is not None and value.is_integer() else None


def decimals(text: str) -> int:
    """The printed precision of a percentage: 74 → 0, 74.1% → 1."""
    found = re.search(r"\.(\d+)", unicodedata.normalize("NFKC", text or ""))
    return len(found.group(1)) if found else 0


def uptake_rows(
    file_id: int, file_name: str, sheet_name: str, header: list[str], rows: Iterable[list[str]], first_row: int
) -> pl.DataFrame:
    """The data rows of one uptake table (rows after the header; first_row = the file's row number of
    the first), blank rows left out, each cell read once per distinct text."""
    prefecture = prefecture_of_file(sheet_name, file_name)
    index: dict[str, int] = {}
    for i, h in enumerate(header):
        role = ROLE.get(header_key(h))
        if role is not None and role not in index:
            index[role] = i
    data = list(rows)
    columns = list(zip_longest(*data, fillvalue="")) if data else []
    n = len(data)

    def written(role: str) -> pl.Series:
        i = index.get(role)
        values = columns[i] if i is not None and i < len(columns) else [""] * n
        return pl.Series(role, values, dtype=pl.String).fill_null("").str.strip_chars()

    cells = pl.DataFrame([written(role) for role in ALIASES]).with_columns(
        source_row=pl.int_range(first_row, first_row + n, dtype=pl.Int64)
    )
    cells = cells.filter(pl.sum_horizontal(pl.col(r).str.len_chars() for r in ALIASES) > 0)
    label = pl.col("label_ja") if "label_ja" in index else pl.lit(DEFAULT_LABEL)
    cells = cells.with_columns(
        file_id=pl.lit(file_id, FILE_ID),
        file_name=pl.lit(file_name),
        reporting_unit=pl.lit(prefecture),
        fiscal_year_raw="fiscal_year",
        adopted_raw="adopted",
        total_raw="total",
        pct_printed_raw="pct_printed",
        section_ja=pl.col("section_ja").replace("", None),
        label_ja=label.replace("", None),
        note=pl.col("note").replace("", None),
    ).drop("fiscal_year", "adopted", "total", "pct_printed")
    cells = map_distinct(cells, ["fiscal_year_raw"], {"fiscal_year": UPTAKE_COLUMNS["fiscal_year"]}, safe_fy)
    for role in ("adopted", "total"):
        cells = map_distinct(cells, [f"{role}_raw"], {role: UPTAKE_COLUMNS[role]}, count)
    cells = map_distinct(cells, ["pct_printed_raw"], {"pct_printed": pl.Float64}, number)
    cells = map_distinct(cells, ["pct_printed_raw"], {"pct_decimals": pl.Int32}, decimals)
    return cells.select(UPTAKE_COLUMNS.keys())
