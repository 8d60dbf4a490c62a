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

from branchkpi.domain import kpis
from branchkpi.domain.findings import Finding
from branchkpi.tasks.landing import LandedFile
from branchkpi.tasks.parse import initiatives
from branchkpi.tasks.parse.cells import FileParseError, header_key
from branchkpi.tasks.parse.kpi_cells import (
    ROLE,
    STRUCTURE_ROLES,
    TARGET_FIELDS,
    cell_rule,
    cells_of_rows,
    kpi_from_name,
    kpi_unit,
    map_distinct,
    normalise_period,
    number,
    prefecture_of,
    safe_fy,
    sheets_of,
    target_fields,
    text_cells,
    with_reporting_unit,
)
from branchkpi.warehouse import schema
from branchkpi.warehouse.frames import FILE_ID, frame_schema

# parsed columns typed as the warehouse types them (reporting_unit is the tables' unit_key); the *_raw
# columns keep each cell as written
_T, _A = frame_schema(schema.kpi_targets), frame_schema(schema.kpi_actuals)
_WHERE = {"file_id": FILE_ID, "file_name": pl.String, "source_row": pl.Int64}
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
    back onto the rows with polars: a prefecture's 450,000 actuals have a few thousand distinct cells."""
    name = landed.file_name
    targets: list[pl.DataFrame] = []
    actuals: list[pl.DataFrame] = []
    structure: list[pl.DataFrame] = []
    uptake: list[pl.DataFrame] = []
    municipalities: dict[str, dict[str, Any]] = {}
    findings: list[Finding] = []
    kinds: set[str] = set()
    for sheet in sheets_of(landed):
        row_iter = sheet.rows
        head = list(islice(row_iter, 10))
        header_index = next((i for i, r in enumerate(head) if kpi_file_kind([str(c) for c in r])), None)
        if header_index is None:
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
                findings.append(
                    Finding(
                        name, "unknown_column", "column not recognised; ignored", "warning", landed.id, column_name=h
                    )
                )
            elif role is not None and role not in roles:
                roles[role] = i
        prefecture = prefecture_of(roles, sheet.name, name)
        first = header_index + 2  # the file's row number of the first data row
        cells = text_cells(sheet, header_index + 1, len(header), roles) if sheet.text is not None else None
        if cells is None:  # a workbook, or a CSV only the csv module reads exactly: its rows in chunks
            data_rows = chain(head[header_index + 1 :], row_iter)
            chunks = []
            while chunk := list(islice(data_rows, CHUNK_ROWS)):
                chunks.append(cells_of_rows(chunk, first, roles))
                first += len(chunk)
            cells = pl.concat(chunks) if chunks else cells_of_rows([], first, roles)
        cells = with_reporting_unit(cells, "branch" in roles, prefecture, municipalities)
        if kind == "unit_notes":
            for unit_key, status_text, note in cells.select("reporting_unit", "cell_status", "cell_note").iter_rows():
                if unit_key:
                    status = status_text.lower()
                    municipalities[unit_key].update(
                        target_setting="not_set" if status in ("not_set", "未設定") or "未設定" in note else "set",
                        note_ja=note or None,
                    )
            continue
        kpi_by_file_name = kpi_from_name(name) or ""
        cells = cells.with_columns(
            file_id=pl.lit(landed.id, pl.Int64),
            file_name=pl.lit(name),
            fiscal_year_raw=pl.col("cell_fiscal_year"),
            kpi_raw=pl.when(pl.col("cell_kpi_id") != "")
            .then(pl.col("cell_kpi_id"))
            .when(pl.col("cell_kpi_text_ja") != "")
            .then(pl.col("cell_kpi_text_ja"))
            .otherwise(pl.lit(kpi_by_file_name)),
        )
        cells = map_distinct(cells, ["fiscal_year_raw"], {"fiscal_year": pl.Int32}, safe_fy)
        cells = map_distinct(
            cells, ["kpi_raw"], {"kpi_id": pl.String}, lambda raw: kpis.resolve_kpi(raw) if raw else None
        )
        if kind == "plan_structure" or (kind == "targets" and "item_ja" in roles):
            structure.append(_structure(cells, own_note=kind == "plan_structure"))
        if kind == "plan_structure":
            continue
        if kind == "targets":  # the comparator, value and unit may all come from one text (80%以上)
            used = ["target_text", "comparator", "target_value", "kpi_text_ja", "target_note", "organization", "unit"]
            mapped = map_distinct(
                cells,
                [f"cell_{r}" for r in used] + ["kpi_raw", "kpi_id"],
                {c: t for c, t in TARGET_COLUMNS.items() if c in TARGET_FIELDS},
                cell_rule(target_fields, used),
            )
            targets.append(mapped.select(TARGET_COLUMNS.keys()))
        else:  # each field of an actual reads one cell: mapped column by column, fewer distinct values
            mapped = map_distinct(cells, ["cell_period"], {"period": pl.String}, normalise_period)
            mapped = map_distinct(mapped, ["cell_value"], {"value": pl.Float64}, number)
            mapped = map_distinct(mapped, ["cell_unit", "kpi_id"], {"unit": pl.String}, kpi_unit)
            actuals.append(
                mapped.with_columns(
                    period_raw="cell_period",
                    value_raw="cell_value",
                    unit_raw="cell_unit",
                    as_of=pl.col("cell_as_of").replace("", None),
                    note=pl.col("cell_note").replace("", None),
                ).select(ACTUAL_COLUMNS.keys())
            )
    if not kinds:
        raise FileParseError("not a KPI file (no header with 支部/branch or 市町村 and 年度/fiscal_year)")
    return ParsedKpiFile(
        kind="+".join(sorted(kinds)),
        targets=pl.concat(targets) if targets else empty_targets(),
        actuals=pl.concat(actuals) if actuals else empty_actuals(),
        municipalities=list(municipalities.values()),
        findings=findings,
        structure=pl.concat(structure) if structure else empty_structure(),
        uptake=pl.concat(uptake) if uptake else initiatives.empty_uptake(),
    )
