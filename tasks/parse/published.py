"""The published layout (月報の表): rows 4月…3月 (and 合計), a column per fiscal year (29年度, 30年度,
1年度 …) each followed by 前年同月比; the region is the top-left cell (山口), the metric a title line
(◆被保険者数), the sheet name or the file name. Several tables may be stacked in one sheet."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import polars as pl

from branchkpi.domain import labels, metrics, numbers, regions
from branchkpi.domain.findings import Finding
from branchkpi.tasks.landing import LandedFile
from branchkpi.tasks.parse.cells import (
    FileParseError,
    fiscal_year_or_none,
    header_key,
    month_or_none,
    number_or_none,
    region_in,
)
from branchkpi.tasks.parse.headers import column_letter
from branchkpi.tasks.parse.observations import (
    OBSERVATION_SCHEMA,
    TOTALS_SCHEMA,
    ParsedFile,
    empty_observations,
    empty_totals,
)


def _is_month_label(cell: str) -> bool:
    s = unicodedata.normalize("NFKC", cell).strip()
    return numbers.foreign_digit(cell) is None and bool(re.fullmatch(r"[0-9]{1,2}\s*月", s))


def _fiscal_year_label(cell: str) -> int | None:
    s = unicodedata.normalize("NFKC", cell).strip()
    if "年度" not in s and not re.fullmatch(r"(?i)(fy)?\s*[0-9]{4}", s) and not re.fullmatch(r"(?i)[rh][0-9]+", s):
        return None
    return fiscal_year_or_none(s)


def published_header_index(rows: Sequence[Sequence[str]]) -> int | None:
    for i in range(len(rows) - 1):
        nxt = rows[i + 1]
        if nxt and _is_month_label(str(nxt[0])) and any(_fiscal_year_label(str(c)) for c in rows[i][1:]):
            return i
    return None


def _is_total_label(cell: str) -> bool:
    return metrics.annual_label(cell) is not None


def _is_yoy_header(cell: str) -> bool:
    key = header_key(cell)
    return "前年" in key or key in {"yoy", "yoy%", "yoypct"}


def _title_metric(cell: str) -> tuple[str | None, str | None]:
    """(metric, near name) of a title cell: `◆被保険者数` names insured_persons; `◆任意継続被保険者数`
    names nothing but contains 被保険者数, which is remembered to refuse the table under it."""
    if cell.strip().startswith(("※", "注", "(注", "（注")):
        return None, None
    metric = metrics.resolve_metric(cell)
    if metric is not None:
        return metric, None
    near = metrics.near_metric(cell)
    return None, cell.strip() if near is not None else None


def _table_metric(title_metric: str | None, near_title: str | None, context: str, name: str, where: str) -> str:
    """The statistic a table holds: its title line's, else the sheet's name, else the file's, each only
    by an exact match; a title, sheet or file name that contains a metric's name without being it is
    refused (its figures would otherwise load as that metric)."""
    if title_metric is not None:
        return title_metric
    if near_title is not None:
        raise FileParseError(
            f"{where}: its title {near_title!r} is not a statistic we know, though it contains "
            f"{metrics.BY_ID[metrics.near_metric(near_title) or ''].name_ja}: the table is not read as that"
        )
    for label, text in (("sheet", context), ("file name", name)):
        if not text:
            continue
        metric = metrics.metric_named_in(text)
        if metric is not None:
            return metric
        near = next((metrics.near_metric(span) for span in labels.spans(text) if metrics.near_metric(span)), None)
        if near is not None:
            raise FileParseError(
                f"{where}: the {label} {text!r} names no statistic we know, though it contains "
                f"{metrics.BY_ID[near].name_ja}: the table is not read as that"
            )
    raise FileParseError(
        f"{where}: cannot tell which statistic the table holds: no title line such as ◆被保険者数, and the "
        "sheet or file name names no metric"
    )


def parse_published(rows: list[list[str]], landed: LandedFile, context: str, sheet: str | None = None) -> ParsedFile:
    """One or more published tables stacked in one sheet or CSV (a title line may precede each)."""
    name = landed.file_name
    findings: list[Finding] = []
    records: list[dict[str, Any]] = []
    totals: list[dict[str, Any]] = []
    title_metric: str | None = None
    near_title: str | None = None
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
                    metric, near = _title_metric(cell)
                    title_metric, near_title = metric or title_metric, near or near_title
                    title_region = title_region or regions.resolve_region(cell)
            i += 1
            continue
        tables += 1
        header_row_number = i + 1
        region_code = regions.resolve_region(row[0]) or title_region or region_in(context) or region_in(name)
        if region_code is None:
            raise FileParseError(
                f"row {header_row_number}: the top-left cell {row[0]!r} names no region "
                "(expected e.g. 山口 or 全国), and neither does a title line or the file name"
            )
        metric = _table_metric(title_metric, near_title, context, name, f"the table at row {header_row_number}")
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
                if labels.column_role(label) in ("note", "unit"):
                    continue  # 備考: read past on purpose
                raise FileParseError(
                    f"row {header_row_number}, column {column_letter(j)}: heading {label!r} is neither a fiscal "
                    "year (e.g. 2年度, R2, 2020年度) nor 前年同月比 nor 備考: the table is not read in part"
                )
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
                yoy = number_or_none(yoy_raw, allow_negative_zero=True)
                if yoy is None and not numbers.is_blank(yoy_raw) and len(findings) < 1000:
                    findings.append(
                        Finding(
                            name,
                            "yoy_printed_unreadable",
                            "printed 前年同月比 is not a number; stored as empty",
                            severity="warning",
                            file_id=landed.id,
                            source_row=row_number,
                            column_name=f"{col_label} 前年同月比",
                            value_text=yoy_raw,
                            sheet=sheet,
                        )
                    )
                if _is_total_label(label):
                    if not metrics.printed_annual_fits(metric, metrics.annual_label(label)):
                        findings.append(
                            Finding(
                                name,
                                "total_row_skipped",
                                f"a printed {label} of {metrics.BY_ID[metric].name_ja} "
                                "is not its fiscal-year figure; skipped",
                                severity="warning",
                                file_id=landed.id,
                                source_row=row_number,
                                column_name=col_label,
                                value_text=raw,
                                sheet=sheet,
                            )
                        )
                        continue
                    value = number_or_none(raw)
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
                                sheet=sheet,
                            )
                        )
                        continue
                    totals.append(
                        {
                            "file_id": landed.id,
                            "file_name": name,
                            "sheet_name": sheet,
                            "source_row": row_number,
                            "source_column": col_label,
                            "value_raw": raw,
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
                        "sheet_name": sheet,
                        "source_row": row_number,
                        "source_column": col_label,
                        "region_raw": row[0],
                        "region_code": region_code,
                        "metric_raw": metric,
                        "metric": metric,
                        "fiscal_year_raw": col_label,
                        "fiscal_year": fy,
                        "month_raw": label,
                        "month": month_or_none(label),
                        "value_raw": raw,
                        "value": number_or_none(raw),
                        "yoy_pct_printed": yoy,
                    }
                )
            i += 1
        title_metric = near_title = None
        title_region = None
    if tables == 0:
        raise FileParseError("no published table found")
    observations = pl.DataFrame(records, schema=OBSERVATION_SCHEMA) if records else empty_observations()
    totals_frame = pl.DataFrame(totals, schema=TOTALS_SCHEMA) if totals else empty_totals()
    # the fiscal-year heading of each value is its source_column already: no header names to map
    return ParsedFile(observations, totals_frame, findings, layout="published")


def _published_header_ahead(rows: list[list[str]], i: int) -> bool:
    return i + 1 < len(rows) and bool(rows[i + 1]) and _is_month_label(str(rows[i + 1][0]))
