"""The published layout (月報の表): rows 4月…3月 (`4月分`, `4月末` too) and 合計, a column per fiscal year
(29年度, 30年度, 1年度 …) each followed by 前年同月比; the region is the top-left cell (山口), the metric a
title line (◆被保険者数), the sheet name or the file name. Several tables may be stacked in one sheet:
the lines above the first table speak for every table (but its metric), the lines above each later
table for that table. Every row of a table has the cells its header has (parse.shape); units stated
in its lines are applied (parse.scaling); what its lines, sheet and file name state must agree with it
(parse.agreement)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import polars as pl

from branchkpi.domain import labels, metrics, numbers, regions
from branchkpi.domain.findings import Finding
from branchkpi.domain.fiscal import MONTH_SUFFIX
from branchkpi.tasks.landing import LandedFile
from branchkpi.tasks.parse import context, shape
from branchkpi.tasks.parse.agreement import Describe, check_table
from branchkpi.tasks.parse.cells import FileParseError, fiscal_year_or_none, header_key, month_or_none, number_or_none
from branchkpi.tasks.parse.context import Line, TableContext, unread_lines
from branchkpi.tasks.parse.headers import column_letter
from branchkpi.tasks.parse.observations import (
    OBSERVATION_SCHEMA,
    TOTALS_SCHEMA,
    ParsedFile,
    empty_observations,
    empty_totals,
)
from branchkpi.tasks.parse.scaling import apply_units

_MONTH_LABEL = re.compile(r"[0-9]{1,2}\s*月" + MONTH_SUFFIX)


def is_month_label(cell: str) -> bool:
    """`4月`, `４月`, `4月分`, `4月末`, `4月末現在`: a month row of a published table."""
    s = unicodedata.normalize("NFKC", cell).strip()
    return numbers.foreign_digit(cell) is None and bool(_MONTH_LABEL.fullmatch(s))


def fiscal_year_label(cell: str) -> int | None:
    """The fiscal year a heading names (`2年度`, `R2`, `2020年度`, `令和2年度（人）` with its unit aside)."""
    s = unicodedata.normalize("NFKC", cell).strip()
    if labels.label(s).units:
        s = re.sub(r"[(\[【][^)\]】]*[)\]】]", "", s).strip()
    if "年度" not in s and not re.fullmatch(r"(?i)(fy)?\s*[0-9]{4}", s) and not re.fullmatch(r"(?i)[rh][0-9]+", s):
        return None
    return fiscal_year_or_none(s)


def published_header_index(rows: Sequence[Sequence[str]]) -> int | None:
    for i in range(len(rows) - 1):
        if _is_header(rows, i):
            return i
    return None


def _is_header(rows: Sequence[Sequence[str]], i: int) -> bool:
    nxt = rows[i + 1] if i + 1 < len(rows) else []
    return bool(nxt) and is_month_label(str(nxt[0])) and any(fiscal_year_label(str(c)) for c in rows[i][1:])


def _is_total_label(cell: str) -> bool:
    return metrics.annual_label(cell) is not None


def _is_yoy_header(cell: str) -> bool:
    key = header_key(cell)
    return "前年" in key or key in {"yoy", "yoy%", "yoypct"} or labels.column_role(cell) == "yoy_pct_printed"


def _table_metric(ctx: TableContext, sheet: str, name: str, where: str) -> str:
    """The statistic a table holds: the one its title lines, the sheet's name and the file's name allow
    (each by an exact match; two that differ refuse the file). A title, sheet or file name that contains
    a metric's name without being it is refused (its figures would otherwise load as that metric)."""
    near = ctx.near_metric()
    allowed, named = ctx.metrics()
    if near is not None:
        raise FileParseError(
            f"{where}: its title {near.place} is not a statistic we know, though it contains "
            f"{metrics.BY_ID[near.value].name_ja}: the table is not read as that"
        )
    if len(allowed) == 1:
        return next(iter(allowed))
    if len(allowed) > 1:
        raise FileParseError(
            f"{where}: {named.place if named else 'its title'} names several statistics; one table holds one"
        )
    for label, text in (("sheet", sheet), ("file name", name)):
        near_name = next((metrics.near_metric(s) for s in labels.spans(text) if metrics.near_metric(s)), None)
        if text and near_name is not None:
            raise FileParseError(
                f"{where}: the {label} {text!r} names no statistic we know, though it contains "
                f"{metrics.BY_ID[near_name].name_ja}: the table is not read as that"
            )
    raise FileParseError(
        f"{where}: cannot tell which statistic the table holds: no title line such as ◆被保険者数, and the "
        "sheet or file name names no metric"
    )


def _end_of_table(rows: list[list[str]], header: int) -> int:
    """The row after a table: its blank line, or the header of the next table."""
    i = header + 1
    while i < len(rows):
        cells = [str(c) for c in rows[i]]
        label = cells[0].strip() if cells else ""
        if not any(c.strip() for c in cells):
            return i
        if not is_month_label(label) and not _is_total_label(label) and _is_header(rows, i):
            return i
        i += 1
    return i


def parse_published(
    rows: list[list[str]], landed: LandedFile, sheet_name: str, sheet: str | None = None, from_text: bool = False
) -> ParsedFile:
    """One or more published tables stacked in one sheet or CSV (title lines may precede each)."""
    observations: list[pl.DataFrame] = []
    totals: list[pl.DataFrame] = []
    findings: list[Finding] = []
    every: list[Line] = []  # the lines above the first table: for every table, but for its metric
    own: list[Line] = []
    i = tables = 0
    while i < len(rows):
        if not _is_header(rows, i):
            own.append(context.classify_line([str(c) for c in rows[i]], i + 1))
            i += 1
            continue
        tables += 1
        if tables == 1:
            every = [Line(ln.row, ln.kind, tuple(s for s in ln.statements if "metric" not in s.what)) for ln in own]
        findings += unread_lines(own, landed, sheet)
        end = _end_of_table(rows, i)
        table = _Table(rows, i, end, landed, sheet, from_text)
        obs, tot = table.read(own if tables == 1 else every + own, sheet_name)
        observations.append(obs)
        totals.append(tot)
        findings += table.findings
        own = []
        i = end
    if tables == 0:
        raise FileParseError("no published table found")
    findings += unread_lines(own, landed, sheet)
    return ParsedFile(
        pl.concat(observations) if observations else empty_observations(),
        pl.concat(totals) if totals else empty_totals(),
        findings,
        layout="published",  # the fiscal-year heading of each value is its source_column: no header names to map
    )


class _Table:
    """One published table: its header at row `header`, its rows up to `end`."""

    def __init__(
        self, rows: list[list[str]], header: int, end: int, landed: LandedFile, sheet: str | None, from_text: bool
    ) -> None:
        self.rows, self.header, self.end, self.landed, self.sheet = rows, header, end, landed, sheet
        self.from_text = from_text
        self.findings: list[Finding] = []

    def _finding(self, rule: str, reason: str, row: int, column: str, value: str, severity: str = "warning") -> None:
        self.findings.append(
            Finding(
                self.landed.file_name,
                rule,
                reason,
                severity=severity,  # type: ignore[arg-type]
                file_id=self.landed.id,
                source_row=row,
                column_name=column,
                value_text=value,
                sheet=self.sheet,
            )
        )

    def read(self, lines: list[Line], sheet_name: str) -> tuple[pl.DataFrame, pl.DataFrame]:
        header = [str(c) for c in self.rows[self.header]]
        number = self.header + 1
        unit_free = [[c if not context.unit_only(str(c)) else "" for c in header]]
        width = shape.width_of(unit_free, 0, 1)  # `（単位：千人）` beside the headings heads no column
        written = len(self.rows[self.header]) if width == shape.width_of(self.rows, self.header, number) else width
        shape.check_rows(self.rows[number : self.end], 0, width, self.from_text, number + 1, written)
        blank = [j for j in range(1, width) if not unit_free[0][j].strip()] if len(unit_free[0]) >= width else []
        shape.check_headed(self.rows[number : self.end], 0, self.end - number, blank, number + 1)
        body = range(number, self.end)
        notes = [context.classify_line([str(c) for c in self.rows[r]], r + 1) for r in body]
        lines = lines + [n for n in notes if n.kind == "note"]
        corner = context.Line(
            number,
            "title",
            tuple(s for s in context.text_statements(header[0], f"A{number} {header[0]!r}") if s.what == "unit"),
        )
        beside = [
            context.Statement("unit", w, f"{column_letter(j)}{number} {cell!r}")
            for j, cell in enumerate(header)
            if j > 0
            for w in context.unit_only(cell)
        ]
        corner = context.Line(number, "title", corner.statements + tuple(beside))
        ctx = context.build(self.landed.file_name, sheet_name or self.sheet, [*lines, corner])
        named = regions.regions_named_in(header[0])
        top_left = regions.resolve_region(header[0]) or (named[0] if len(named) == 1 else None)
        stated = ctx.region()
        region = top_left or (stated.value if stated else None)
        if region is None:
            raise FileParseError(
                f"row {number}: the top-left cell {header[0]!r} names no region "
                "(expected e.g. 山口 or 全国), and neither does a title line, the sheet or the file name"
            )
        where = f"the table at row {number}"
        metric = _table_metric(ctx, sheet_name, self.landed.file_name, where)
        columns = self._columns(header, number)
        records: list[dict[str, Any]] = []
        totals: list[dict[str, Any]] = []
        for r in body:
            cells = [str(c) for c in self.rows[r]]
            label = cells[0].strip() if cells else ""
            if label.startswith(context.NOTE_MARKS):
                continue
            for col, col_label, fy, yoy_col in columns:
                raw = cells[col] if col < len(cells) else ""
                if numbers.is_blank(raw):
                    continue
                yoy = self._yoy(cells, yoy_col, r + 1, col_label)
                where_cell = {"file_id": self.landed.id, "file_name": self.landed.file_name, "sheet_name": self.sheet}
                where_cell |= {"source_row": r + 1, "source_column": col_label, "value_raw": raw}
                if _is_total_label(label):
                    total = self._total(label, metric, raw, r + 1, col_label)
                    if total is not None:
                        totals.append(
                            where_cell
                            | {"region_code": region, "metric": metric, "fiscal_year": fy}
                            | {"value": total, "yoy_pct_printed": yoy}
                        )
                    continue
                records.append(
                    where_cell
                    | {"region_raw": header[0], "region_code": region, "metric_raw": metric, "metric": metric}
                    | {"fiscal_year_raw": col_label, "fiscal_year": fy, "month_raw": label}
                    | {"month": month_or_none(label), "value": number_or_none(raw), "yoy_pct_printed": yoy}
                )
        obs = pl.DataFrame(records, schema=OBSERVATION_SCHEMA) if records else empty_observations()
        tot = pl.DataFrame(totals, schema=TOTALS_SCHEMA) if totals else empty_totals()
        headed = {
            label: [
                context.Statement("unit", u, f"heading {column_letter(col)}{number} {label!r}")
                for u in labels.label(label).units
            ]
            for col, label, _, _ in columns
        }
        obs, obs_findings = apply_units(obs, ctx.units(), headed, self.landed, self.sheet, None, "", {metric})
        tot, tot_findings = apply_units(tot, ctx.units(), headed, self.landed, self.sheet, None, "", {metric})
        self.findings += obs_findings + tot_findings
        keys = ["region_code", "metric", "fiscal_year", "source_row", "source_column", "value_raw"]
        rows = pl.concat(
            [obs.select(*keys, "month", "month_raw"), tot.select(*keys).with_columns(month=None, month_raw=None)],
            how="diagonal_relaxed",
        )
        check_table(rows, ctx, self._describe(header, number, columns, stated if top_left is None else None))
        return obs, tot

    def _columns(self, header: list[str], number: int) -> list[tuple[int, str, int | None, int | None]]:
        """(value column, heading, fiscal year, its 前年同月比 column) of each fiscal-year column."""
        columns: list[tuple[int, str, int | None, int | None]] = []
        for j in range(1, len(header)):
            label = header[j]
            if not label.strip():
                continue
            if context.unit_only(label):
                continue  # `（単位：千人）` beside the headings: a statement of the table (read above)
            if _is_yoy_header(label):
                if columns and columns[-1][3] is None and columns[-1][0] == j - 1:
                    columns[-1] = (*columns[-1][:3], j)
                continue
            fy = fiscal_year_label(label)
            if fy is None:
                if labels.column_role(label) in ("note", "unit"):
                    continue  # 備考: read past on purpose
                raise FileParseError(
                    f"row {number}, column {column_letter(j)}: heading {label!r} is neither a fiscal "
                    "year (e.g. 2年度, R2, 2020年度) nor 前年同月比 nor 備考: the table is not read in part"
                )
            columns.append((j, label, fy, None))
        return columns

    def _yoy(self, cells: list[str], yoy_col: int | None, row: int, col_label: str) -> float | None:
        yoy_raw = cells[yoy_col] if yoy_col is not None and yoy_col < len(cells) else ""
        yoy = number_or_none(yoy_raw, allow_negative_zero=True)
        if yoy is None and not numbers.is_blank(yoy_raw) and len(self.findings) < 1000:
            self._finding(
                "yoy_printed_unreadable",
                "printed 前年同月比 is not a number; stored as empty",
                row,
                f"{col_label} 前年同月比",
                yoy_raw,
            )
        return yoy

    def _total(self, label: str, metric: str, raw: str, row: int, col_label: str) -> float | None:
        if not metrics.printed_annual_fits(metric, metrics.annual_label(label)):
            self._finding(
                "total_row_skipped",
                f"a printed {label} of {metrics.BY_ID[metric].name_ja} is not its fiscal-year figure; skipped",
                row,
                col_label,
                raw,
            )
            return None
        value = number_or_none(raw)
        if value is None:
            self._finding("total_not_a_number", "合計 cell is not a number", row, col_label, raw, "critical")
        return value

    def _describe(
        self, header: list[str], number: int, columns: list[tuple[int, str, int | None, int | None]], stated: Any
    ) -> Describe:
        letters = {label: column_letter(col) for col, label, _, _ in columns}

        def describe(row: dict[str, Any], aspect: str) -> str:
            if aspect == "fiscal_year":
                label = row["source_column"]
                return f"heading {letters.get(label, '?')}{number} {label!r}"
            if aspect == "month":
                return f"A{row['source_row']} {row['month_raw']!r}"
            if aspect == "region":
                return stated.place if stated is not None else f"the top-left cell A{number} {header[0]!r}"
            return f"the table at row {number}"

        return describe
