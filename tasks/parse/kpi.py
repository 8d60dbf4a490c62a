"""Parse KPI files: plan targets (事業計画の KPI 目標), actuals (実績), and the NHI municipal files.

Canonical inputs are data/sample/seed/kpi_plan_items.csv and kpi_actuals.csv as they are; a branch's
.xlsx template with Japanese headers (支部, 年度, KPI, 目標, 単位 / 期間, 実績) and the Okayama files
(okayama_collection_rate_targets.csv, _notes.csv, _actuals.csv: 市町村 as reporting units) load too.
Like the statistics parsers, each cell keeps its text as written next to the parsed value, and a cell
that does not parse becomes NULL for the gate to quarantine with that text."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain, islice
from typing import Any

import polars as pl

from branchkpi.domain import kpi_names, kpis
from branchkpi.domain.findings import Finding
from branchkpi.tasks.landing import LandedFile
from branchkpi.tasks.parse import initiatives
from branchkpi.tasks.parse.cells import FileParseError, header_key
from branchkpi.tasks.parse.kpi_cells import (
    ROLE,
    STRUCTURE_ROLES,
    TARGET_FIELDS,
    Sheet,
    as_of_fields,
    cell_rule,
    cells_of_rows,
    figure_unit,
    kpi_from_name,
    kpi_unit,
    map_distinct,
    number,
    period_fields,
    prefecture_of,
    safe_fy,
    sheets_of,
    target_fields,
    text_cells,
    with_reporting_unit,
)
from branchkpi.tasks.parse.kpi_sheets import is_guide_sheet, stated_years, without_notes
from branchkpi.warehouse import schema
from branchkpi.warehouse.frames import FILE_ID, frame_schema

# parsed columns typed as the warehouse types them (reporting_unit is the tables' unit_key); the *_raw
# columns keep each cell as written
_T, _A = frame_schema(schema.kpi_targets), frame_schema(schema.kpi_actuals)
_WHERE = {
    "file_id": FILE_ID,
    "file_name": pl.String,
    "sheet": pl.String,  # a workbook's sheet (None in a CSV)
    "source_row": pl.Int64,
    # an independent part of a batch: 0 in every run; the mutation runner (tests/mutants) checks many
    # files at once as parts, so one file's rows never meet another's in the batch rules
    "part": pl.Int32,
    # the fiscal years the sheet name or title lines state ("2019,2020"), and where, for the gate
    "stated_fiscal_years": pl.String,
    "stated_where": pl.String,
}
TARGET_COLUMNS: dict[str, Any] = {
    **_WHERE,
    "reporting_unit_raw": pl.String,
    "reporting_unit": _T["unit_key"],
    "fiscal_year_raw": pl.String,
    "fiscal_year": _T["fiscal_year"],
    "kpi_raw": pl.String,
    "kpi_id": _T["kpi_id"],
    "comparator_raw": pl.String,
    "comparator": _T["comparator"],
    "target_value_raw": pl.String,
    "target_value": _T["target_value"],
    "unit_raw": pl.String,
    "unit": _T["unit"],
    "target_text": _T["target_text"],
    "kpi_text_ja": _T["kpi_text_ja"],
    "target_note": _T["target_note"],
    "organization": _T["organization"],
}
_S = frame_schema(schema.kpi_plan_structure)
STRUCTURE_COLUMNS: dict[str, Any] = {
    **_WHERE,
    "reporting_unit_raw": pl.String,
    "reporting_unit": _S["unit_key"],
    "fiscal_year_raw": pl.String,
    "fiscal_year": _S["fiscal_year"],
    "kpi_raw": pl.String,
    "kpi_id": _S["kpi_id"],
    "group_ja": _S["group_ja"],
    "item_no": _S["item_no"],
    "item_ja": _S["item_ja"],
    "sub_item_no": _S["sub_item_no"],
    "sub_item_ja": _S["sub_item_ja"],
    "position": _S["position"],
    "structure_note": _S["note"],
}
ACTUAL_COLUMNS: dict[str, Any] = {
    **_WHERE,
    "reporting_unit_raw": pl.String,
    "reporting_unit": _A["unit_key"],
    "fiscal_year_raw": pl.String,
    "fiscal_year": _A["fiscal_year"],
    "period_raw": pl.String,
    "period": _A["period"],
    "kpi_raw": pl.String,
    "kpi_id": _A["kpi_id"],
    "value_raw": pl.String,
    "value": _A["value"],
    "unit_raw": pl.String,
    "unit": _A["unit"],
    "as_of": _A["as_of"],
    "note": _A["note"],
    "period_fiscal_year": pl.Int32,  # the fiscal year the 期間 states (令和2年度第1四半期)
    "as_of_month": pl.String,  # the month of the 時点 (YYYY-MM)
    "as_of_fiscal_year": pl.Int32,  # the fiscal year the 時点 names (令和2年度末)
    "as_of_first_day": pl.Boolean,  # the 時点 is a month's first day (4月1日現在)
    "as_of_unreadable": pl.Boolean,
    "value_unit": pl.String,  # the unit the figure's own cell says (95.82%, 2,933人)
    "kpi_text_ja": pl.String,  # a wording column beside the KPI id (checked against it, not stored)
}


@dataclass
class ParsedKpiFile:
    kind: str  # targets, actuals, plan_structure or unit_notes
    targets: pl.DataFrame
    actuals: pl.DataFrame
    municipalities: list[dict[str, Any]] = field(default_factory=list)  # reporting units the file introduces
    findings: list[Finding] = field(default_factory=list)
    structure: pl.DataFrame = field(default_factory=lambda: empty_structure())  # 分野 / 項目 / 小項目 of targets
    uptake: pl.DataFrame = field(default_factory=initiatives.empty_uptake)  # 取組状況 N/M市町村
    skipped_sheets: list[str] = field(default_factory=list)  # a cover, 記入方法, a sheet with no KPI table
    empty_sheets: list[str] = field(default_factory=list)  # a KPI table's headers and no rows
    # per sheet ("" in a CSV), each role's header as written: findings name the file's own column
    headers: dict[str, dict[str, str]] = field(default_factory=dict)


def empty_targets() -> pl.DataFrame:
    return pl.DataFrame(schema=TARGET_COLUMNS)


def empty_actuals() -> pl.DataFrame:
    return pl.DataFrame(schema=ACTUAL_COLUMNS)


def empty_structure() -> pl.DataFrame:
    return pl.DataFrame(schema=STRUCTURE_COLUMNS)


def _structure(cells: pl.DataFrame, own_note: bool) -> pl.DataFrame:
    """Where each row's KPI sits in its plan (分野 → 項目 → 小項目) as printed; a targets row that names
    no item (the structure columns empty) has none. Empty texts are NULL. `own_note`: the file's 備考
    is about the placement (a structure file), not the target's."""
    texts = {role: pl.col(f"cell_{role}").replace("", None) for role in STRUCTURE_ROLES}
    placed = pl.any_horizontal(pl.col(f"cell_{role}") != "" for role in STRUCTURE_ROLES)
    return (
        cells.filter(placed)
        .with_columns(
            **texts,
            position=pl.col("source_row").cast(STRUCTURE_COLUMNS["position"]),
            structure_note=pl.col("cell_note").replace("", None) if own_note else pl.lit(None, pl.String),
        )
        .select(STRUCTURE_COLUMNS.keys())
    )


def kpi_file_kind(headers: list[str]) -> str | None:
    """targets / actuals / unit_notes for a KPI file's header row, None for anything else."""
    if initiatives.is_uptake_header(headers):  # NHI initiative uptake (取組状況): tasks/parse/initiatives.py
        return "initiatives"
    roles = {ROLE.get(header_key(h)) for h in headers}
    has_unit = bool(roles & {"branch", "municipality"})
    names_kpi = bool(roles & {"kpi_id", "kpi_text_ja", "municipality"})  # NHI files are one KPI by name
    if not has_unit or not names_kpi or ("fiscal_year" not in roles and "status" not in roles):
        return None
    if roles & {"comparator", "target_value", "target_text"}:
        return "targets"
    if "value" in roles:
        return "actuals"
    if "item_ja" in roles:  # where each KPI sits in the plan (kpi_plan_structure.csv)
        return "plan_structure"
    if "status" in roles:
        return "unit_notes"
    return None


def sniff_kind(landed: LandedFile) -> str | None:
    """The KPI kind of a landed file, or None if it is not a KPI file (e.g. monthly statistics)."""
    try:
        for sheet in sheets_of(landed):
            for row in islice(sheet.rows, 10):
                kind = kpi_file_kind([str(c) for c in row])
                if kind:
                    return kind
    except FileParseError:
        return None
    return None


CHUNK_ROWS = 50_000


def parse_kpi_file(landed: LandedFile) -> ParsedKpiFile:
    """Read every sheet of a KPI file. The rules that read a cell (branchkpi.domain.fiscal, kpis, numbers,
    regions) run once per distinct text of a column, not once per row, and their results are joined
    back onto the rows with polars: a prefecture's 450,000 actuals have a few thousand distinct cells.

    A sheet named as a cover or instructions (表紙, 記入方法 …) or without a KPI header is skipped and
    listed; a KPI header without rows is an empty sheet ("no rows"), not an error; notes under the
    table (※ …, 注 …) are read past."""
    name = landed.file_name
    parsed = ParsedKpiFile("", empty_targets(), empty_actuals())
    targets: list[pl.DataFrame] = []
    actuals: list[pl.DataFrame] = []
    structure: list[pl.DataFrame] = []
    uptake: list[pl.DataFrame] = []
    municipalities: dict[str, dict[str, Any]] = {}
    kinds: set[str] = set()
    for sheet in sheets_of(landed):
        if is_guide_sheet(sheet.name):
            parsed.skipped_sheets.append(sheet.name)
            continue
        row_iter = sheet.rows
        head = list(islice(row_iter, 10))
        header_index = next((i for i, r in enumerate(head) if kpi_file_kind([str(c) for c in r])), None)
        if header_index is None:
            if sheet.name:
                parsed.skipped_sheets.append(sheet.name)
            continue
        header = [str(h) for h in head[header_index]]
        kind = kpi_file_kind(header)
        assert kind is not None
        kinds.add(kind)
        if kind == "initiatives":
            rows = chain(head[header_index + 1 :], row_iter)
            uptake.append(initiatives.uptake_rows(landed.id, name, sheet.name, header, rows, header_index + 2))
            continue
        roles: dict[str, int] = {}
        for i, h in enumerate(header):
            role = ROLE.get(header_key(h))
            if role is None and h.strip():
                parsed.findings.append(
                    Finding(
                        name,
                        "unknown_column",
                        "column not recognised; ignored",
                        "warning",
                        landed.id,
                        column_name=h,
                        sheet=sheet.name or None,
                    )
                )
            elif role is not None and role not in roles:
                roles[role] = i
        parsed.headers[sheet.name] = {role: header[i].strip() for role, i in roles.items()}
        stated = stated_years(sheet.name, head[:header_index])
        cells = _sheet_cells(sheet, head, header_index, len(header), roles)
        if cells.height == 0:
            parsed.empty_sheets.append(sheet.name or name)
        cells = with_reporting_unit(cells, "branch" in roles, prefecture_of(roles, sheet.name, name), municipalities)
        if kind == "unit_notes":
            _unit_notes(cells, municipalities)
            continue
        kpi_by_file_name = kpi_from_name(name) or ""
        cells = cells.with_columns(
            file_id=pl.lit(landed.id, pl.Int64),
            file_name=pl.lit(name),
            sheet=pl.lit(sheet.name or None, pl.String),
            part=pl.lit(0, pl.Int32),
            stated_fiscal_years=pl.lit(stated.listed, pl.String),
            stated_where=pl.lit(stated.where, pl.String),
            fiscal_year_raw=pl.col("cell_fiscal_year"),
            kpi_raw=pl.when(pl.col("cell_kpi_id") != "")
            .then(pl.col("cell_kpi_id"))
            .when(pl.col("cell_kpi_text_ja") != "")
            .then(pl.col("cell_kpi_text_ja"))
            .otherwise(pl.lit(kpi_by_file_name)),
        )
        cells = map_distinct(cells, ["fiscal_year_raw"], {"fiscal_year": pl.Int32}, safe_fy)
        # by id or a catalogue name here; a plan's wording resolves against the unit's loaded targets in
        # the gate's step (tasks/validate/kpi_names.py), which knows the warehouse
        cells = map_distinct(
            cells, ["kpi_raw"], {"kpi_id": pl.String}, lambda raw: kpi_names.resolve_exact(raw) if raw else None
        )
        if kind == "plan_structure" or (kind == "targets" and "item_ja" in roles):
            structure.append(_structure(cells, own_note=kind == "plan_structure"))
        if kind == "plan_structure":
            continue
        if kind == "targets":
            targets.append(_targets(cells))
        else:
            actuals.append(_actuals(cells))
    if not kinds:
        raise FileParseError("not a KPI file (no header with 支部/branch or 市町村 and 年度/fiscal_year)")
    parsed.kind = "+".join(sorted(kinds))
    parsed.targets = pl.concat(targets) if targets else empty_targets()
    parsed.actuals = pl.concat(actuals) if actuals else empty_actuals()
    parsed.municipalities = list(municipalities.values())
    parsed.structure = pl.concat(structure) if structure else empty_structure()
    parsed.uptake = pl.concat(uptake) if uptake else initiatives.empty_uptake()
    return parsed


def _sheet_cells(
    sheet: Sheet, head: list[list[str]], header_index: int, width: int, roles: dict[str, int]
) -> pl.DataFrame:
    """The sheet's data rows as text columns, one per role, blank rows and notes left out."""
    first = header_index + 2  # the file's row number of the first data row
    cells = text_cells(sheet, header_index + 1, width, roles) if sheet.text is not None else None
    if cells is None:  # a workbook, or a CSV only the csv module reads exactly: its rows in chunks
        data_rows = chain(head[header_index + 1 :], sheet.rows)
        chunks = []
        while chunk := list(islice(data_rows, CHUNK_ROWS)):
            chunks.append(cells_of_rows(chunk, first, roles))
            first += len(chunk)
        cells = pl.concat(chunks) if chunks else cells_of_rows([], first, roles)
    in_order = [f"cell_{role}" for role, _ in sorted(roles.items(), key=lambda kv: kv[1])]
    return without_notes(cells, in_order, "cell_branch" if "branch" in roles else "cell_municipality")


def _unit_notes(cells: pl.DataFrame, municipalities: dict[str, dict[str, Any]]) -> None:
    """The NHI notes file: which municipalities set no target (未設定), and their 備考."""
    for unit_key, status_text, note in cells.select("reporting_unit", "cell_status", "cell_note").iter_rows():
        if unit_key:
            status = status_text.lower()
            municipalities[unit_key].update(
                target_setting="not_set" if status in ("not_set", "未設定") or "未設定" in note else "set",
                note_ja=note or None,
            )


def _targets(cells: pl.DataFrame) -> pl.DataFrame:
    """Targets: the comparator, value and unit may all come from one text (80%以上). A KPI given by a
    text (not an id) is the plan's wording as the sender writes it, unless a wording column gives it."""
    cells = cells.with_columns(
        cell_kpi_text_ja=pl.when(
            (pl.col("cell_kpi_text_ja") == "") & ~pl.col("cell_kpi_id").str.to_lowercase().is_in(list(kpis.BY_ID))
        )
        .then(pl.col("cell_kpi_id"))
        .otherwise(pl.col("cell_kpi_text_ja"))
    )
    used = ["target_text", "comparator", "target_value", "kpi_text_ja", "target_note", "organization", "unit"]
    mapped = map_distinct(
        cells,
        [f"cell_{r}" for r in used] + ["kpi_raw", "kpi_id"],
        {c: t for c, t in TARGET_COLUMNS.items() if c in TARGET_FIELDS},
        cell_rule(target_fields, used),
    )
    return mapped.select(TARGET_COLUMNS.keys())


def _actuals(cells: pl.DataFrame) -> pl.DataFrame:
    """Actuals: each field reads one cell (mapped column by column: fewer distinct values); the unit is
    the 単位 cell's, else the one the figure's cell says (95.82%), else the KPI's own."""
    mapped = map_distinct(
        cells,
        ["cell_period", "fiscal_year"],
        {"period": pl.String, "period_fiscal_year": pl.Int32},
        period_fields,
    )
    mapped = map_distinct(
        mapped,
        ["cell_as_of", "fiscal_year"],
        {
            "as_of_month": pl.String,
            "as_of_fiscal_year": pl.Int32,
            "as_of_first_day": pl.Boolean,
            "as_of_unreadable": pl.Boolean,
        },
        as_of_fields,
    )
    mapped = map_distinct(mapped, ["cell_value"], {"value": pl.Float64}, number)
    mapped = map_distinct(mapped, ["cell_value"], {"value_unit": pl.String}, figure_unit)
    mapped = mapped.with_columns(
        unit_text=pl.coalesce(pl.col("cell_unit").replace("", None), pl.col("value_unit"), pl.lit(""))
    )
    mapped = map_distinct(mapped, ["unit_text", "kpi_id"], {"unit": pl.String}, kpi_unit)
    return mapped.with_columns(
        period_raw="cell_period",
        value_raw="cell_value",
        unit_raw="cell_unit",
        as_of=pl.col("cell_as_of").replace("", None),
        note=pl.col("cell_note").replace("", None),
        kpi_text_ja=pl.col("cell_kpi_text_ja").replace("", None),
    ).select(ACTUAL_COLUMNS.keys())
