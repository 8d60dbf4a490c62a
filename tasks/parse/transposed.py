"""Transposed tables, the common Excel layout of a branch's own sheet: the figures' labels down the first
columns (metrics, or regions, or fiscal years; a unit column), the months across (`4月` … `3月`, `4月分`,
or `令和2年4月`), 合計 / 年度計 / 年度平均 as a column, and a 前年同月比 row under a figure row for its
printed YoY. What the rows and columns do not say (the region, the fiscal year, the metric) comes from
the title lines, the sheet name or the file name (parse.context), which must then say it once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import polars as pl

from branchkpi.domain import fiscal, labels, metrics, numbers, regions, units
from branchkpi.domain.findings import Finding
from branchkpi.tasks.landing import LandedFile
from branchkpi.tasks.parse import context, shape
from branchkpi.tasks.parse.agreement import Describe, check_table
from branchkpi.tasks.parse.cells import FileParseError, fiscal_year_or_none, header_key, month_or_none, number_or_none
from branchkpi.tasks.parse.context import Line, TableContext, unread_lines
from branchkpi.tasks.parse.decoding import SNIFF_ROWS
from branchkpi.tasks.parse.headers import column_letter
from branchkpi.tasks.parse.observations import OBSERVATION_SCHEMA, TOTALS_SCHEMA, ParsedFile
from branchkpi.tasks.parse.published import is_month_label
from branchkpi.tasks.parse.scaling import apply_units

# how a label column's cells read: (its kind, the reader of one cell)
_READERS: dict[str, Callable[[str], Any]] = {
    "metric": metrics.resolve_metric,
    "region": regions.resolve_region,
    "fiscal_year": lambda s: fiscal_year_or_none(s) if "年度" in s or s.lower().startswith("fy") else None,
    "unit": lambda s: s if units.is_unit_word(s) else None,
}


def _is_yoy(cell: str) -> bool:
    return "前年" in header_key(cell) or header_key(cell) in {"yoy", "yoy%", "yoypct"}


def _period_label(cell: str) -> fiscal.Period | None:
    if not cell.strip() or is_month_label(cell):
        return None
    try:
        return fiscal.parse_period(cell)
    except ValueError:
        return None


def _column_kind(cell: str) -> str | None:
    """A heading across: month (`4月`), period (`令和2年4月`), annual (合計 / 年度平均), remarks; None else."""
    if is_month_label(cell):
        return "month"
    if _period_label(cell) is not None:
        return "period"
    if metrics.annual_label(cell) is not None:
        return "annual"
    if labels.column_role(cell) in ("note", "unit") or context.unit_only(cell):
        return "skip"
    return None


def _label_kind(values: list[str], heading: str) -> str | None:
    """What a label column holds: the kind most of its cells read as, else its heading's role."""
    filled = [v for v in values if v.strip() and not _is_yoy(v)]
    for kind, read in _READERS.items():
        if filled and sum(read(v) is not None for v in filled) * 2 >= len(filled):
            return kind
    role = labels.column_role(heading)
    return {"metric": "metric", "metric_ja": "metric", "fiscal_year": "fiscal_year", "unit": "unit"}.get(role or "")


def transposed_header_index(rows: Sequence[Sequence[str]]) -> int | None:
    """The first row with months across (after at least one label column), every other heading of it a
    month, period, annual figure or remarks, and a row under it whose label names a metric or a region."""
    for i, row in enumerate(rows[:SNIFF_ROWS]):
        cells = [str(c).strip() for c in row]
        across = [j for j, c in enumerate(cells) if j > 0 and _column_kind(c) in ("month", "period")]
        if not across or any(_column_kind(c) in ("month", "period") for c in cells[: across[0]]):
            continue
        if any(c and _column_kind(c) is None for c in cells[across[0] :]):
            continue
        below = [[str(c).strip() for c in r[: across[0]]] for r in rows[i + 1 : i + 1 + SNIFF_ROWS]]
        if any(metrics.resolve_metric(c) or regions.resolve_region(c) for r in below for c in r if c):
            return i
    return None


def parse_transposed(
    rows: list[list[str]], landed: LandedFile, encoding: str, sheet: str | None = None, from_text: bool = False
) -> ParsedFile:
    start = transposed_header_index(rows)
    if start is None:
        raise FileParseError("no transposed table (months across, metrics or regions down) found")
    header = [str(c).strip() for c in rows[start]]
    width = shape.width_of([[c if not context.unit_only(c) else "" for c in header]], 0, 1)
    written = len(rows[start]) if width == shape.width_of(rows, start, start + 1) else width
    shape.check_rows(rows, start + 1, width, from_text, written=written)
    first_month = next(j for j, c in enumerate(header) if j > 0 and _column_kind(c) in ("month", "period"))
    shape.check_headed(rows, start + 1, len(rows), [j for j in range(first_month, width) if not header[j]])
    first = next(j for j, c in enumerate(header) if j > 0 and _column_kind(c) in ("month", "period"))
    body = [i for i in range(start + 1, len(rows)) if not shape.is_line(rows[i])]
    lines = [context.classify_line(rows[i], i + 1) for i in range(start)]
    _, beside = context.header_units(rows, start, start + 1, start + 1)
    lines += beside
    below = [context.classify_line(rows[i], i + 1) for i in range(start + 1, len(rows)) if shape.is_line(rows[i])]
    lines += [Line(ln.row, ln.kind, tuple(s for s in ln.statements if s.what == "unit"), ln.text) for ln in below]
    ctx = context.build(landed.file_name, sheet, lines)
    span = max(width, len(header))
    cells = {i: [str(c).strip() for c in (list(rows[i]) + [""] * span)[:span]] for i in body}
    kinds = {j: _label_kind([cells[i][j] for i in body], header[j]) for j in range(first)}
    table = _Reader(header, first, kinds, cells, body, ctx, landed, sheet)
    table.header_row = start + 1
    observations, totals = table.read()
    findings = table.findings + unread_lines(lines, landed, sheet)
    return ParsedFile(observations, totals, findings, layout="transposed", encoding=encoding)


class _Reader:
    def __init__(
        self,
        header: list[str],
        first: int,
        kinds: dict[int, str | None],
        cells: dict[int, list[str]],
        body: list[int],
        ctx: TableContext,
        landed: LandedFile,
        sheet: str | None,
    ) -> None:
        self.header, self.first, self.kinds, self.cells, self.body = header, first, kinds, cells, body
        self.ctx, self.landed, self.sheet = ctx, landed, sheet
        self.findings: list[Finding] = []
        self.header_row = 1

    def _label(self, row: list[str], kind: str) -> tuple[str | None, str | None]:
        """(the cell as written, its column letter) of the row's label of that kind."""
        j = next((j for j, k in self.kinds.items() if k == kind), None)
        return (row[j], column_letter(j)) if j is not None and row[j] else (None, None)

    def _context(self, kind: str) -> Any:
        if kind == "region":
            stated = self.ctx.region()
            return (stated.value, stated.place) if stated else (None, None)
        if kind == "metric":
            allowed, named = self.ctx.metrics()
            return (next(iter(allowed)), named.place if named else None) if len(allowed) == 1 else (None, None)
        stated = self.ctx.fiscal_year()
        return (stated.value, stated.place) if stated else (None, None)

    def read(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        records: list[dict[str, Any]] = []
        totals: list[dict[str, Any]] = []
        previous: list[dict[str, Any]] = []
        unit_cells: list[str | None] = []
        for i in self.body:
            row = self.cells[i]
            labels_ = [row[j] for j in range(self.first) if row[j]]
            if labels_ and _is_yoy(labels_[0]):  # the printed YoY of the figure row above
                for rec in previous:
                    rec["yoy_pct_printed"] = number_or_none(row[rec["_col"]], allow_negative_zero=True)
                self._yoy_without_figure(i, row, previous)
                continue
            previous = []
            found = {kind: self._label(row, kind) for kind in ("region", "metric", "fiscal_year", "unit")}
            region_raw, metric_raw, fy_raw = (found[k][0] for k in ("region", "metric", "fiscal_year"))
            region = regions.resolve_region(region_raw) if region_raw else self._context("region")[0]
            metric = metrics.resolve_metric(metric_raw) if metric_raw else self._context("metric")[0]
            if region is None and region_raw is None:
                raise FileParseError(
                    f"row {i + 1}: the table names no region in its rows, title lines, sheet or file name"
                )
            if metric is None and metric_raw is None:
                raise FileParseError(f"row {i + 1}: the table names no metric in its rows, title lines or names")
            unit_word = found["unit"][0] or next(iter(labels.label(metric_raw or "").units), None)
            for j in range(self.first, len(self.header)):
                raw = row[j]
                kind = _column_kind(self.header[j])
                if numbers.is_blank(raw) or kind in (None, "skip"):
                    continue
                where = {"file_id": self.landed.id, "file_name": self.landed.file_name, "sheet_name": self.sheet}
                where |= {"source_row": i + 1, "source_column": self.header[j], "value_raw": raw}
                fy, fy_text = self._fiscal_year(fy_raw, j)
                if kind == "annual":
                    if metrics.printed_annual_fits(metric, metrics.annual_label(self.header[j])):
                        totals.append(
                            where
                            | {"region_code": region, "metric": metric, "fiscal_year": fy}
                            | {"value": number_or_none(raw), "yoy_pct_printed": None, "_col": j, "_unit": unit_word}
                        )
                    else:
                        self._skipped(i + 1, self.header[j], raw, metric)
                    continue
                rec = where | {"region_raw": region_raw or self._context("region")[1], "region_code": region}
                rec |= {"metric_raw": metric_raw or metric, "metric": metric, "fiscal_year_raw": fy_text}
                rec |= {"fiscal_year": fy, "month_raw": self.header[j], "month": self._month(j)}
                rec |= {"value": number_or_none(raw), "yoy_pct_printed": None, "_col": j}
                records.append(rec)
                previous.append(rec)
                unit_cells.append(unit_word)
        obs = pl.DataFrame([{k: v for k, v in r.items() if k != "_col"} for r in records], schema=OBSERVATION_SCHEMA)
        tot = pl.DataFrame(
            [{k: v for k, v in r.items() if k not in ("_col", "_unit")} for r in totals], schema=TOTALS_SCHEMA
        )
        every = set(obs["metric"].drop_nulls()) | set(tot["metric"].drop_nulls())
        obs, found_obs = apply_units(
            obs, self.ctx.units(), {}, self.landed, self.sheet, pl.Series(unit_cells, dtype=pl.String), "", every
        )
        tot_units = pl.Series([t["_unit"] for t in totals], dtype=pl.String)
        tot, found_tot = apply_units(tot, self.ctx.units(), {}, self.landed, self.sheet, tot_units, "", every)
        self.findings += found_obs + found_tot
        keys = ["region_code", "metric", "fiscal_year", "source_row", "source_column", "value_raw"]
        both = pl.concat(
            [obs.select(*keys, "month", "month_raw", "fiscal_year_raw", "region_raw", "metric_raw"), tot.select(*keys)],
            how="diagonal_relaxed",
        )
        check_table(both, self.ctx, self._describe())
        return obs, tot

    def _yoy_without_figure(self, i: int, row: list[str], above: list[dict[str, Any]]) -> None:
        """A 前年同月比 printed under a month whose figure is blank lost its figure (a row shifted)."""
        figures = {rec["_col"] for rec in above}
        for j in range(self.first, len(self.header)):
            if row[j] and not numbers.is_blank(row[j]) and j not in figures and _column_kind(self.header[j]) != "skip":
                self.findings.append(
                    Finding(
                        self.landed.file_name,
                        "row_without_figure",
                        f"a 前年同月比 under {self.header[j]} whose figure above is blank: "
                        "a row shifted by one column?",
                        file_id=self.landed.id,
                        source_row=i + 1,
                        column_name=self.header[j],
                        value_text=row[j],
                        sheet=self.sheet,
                    )
                )

    def _fiscal_year(self, fy_raw: str | None, j: int) -> tuple[int | None, str]:
        period = _period_label(self.header[j])
        if period is not None:
            return period.fiscal_year, self.header[j]
        if fy_raw:
            return fiscal_year_or_none(fy_raw), fy_raw
        fy, place = self._context("fiscal_year")
        if fy is None:
            raise FileParseError(
                f"column {column_letter(j)} {self.header[j]!r}: no fiscal year for the months: none in the "
                "rows, the title lines, the sheet or the file name (e.g. a title 令和2年度)"
            )
        return fy, place

    def _month(self, j: int) -> int | None:
        period = _period_label(self.header[j])
        return period.month if period is not None else month_or_none(self.header[j])

    def _skipped(self, row: int, column: str, raw: str, metric: str | None) -> None:
        self.findings.append(
            Finding(
                self.landed.file_name,
                "total_row_skipped",
                f"a printed {column} of {metrics.BY_ID[metric].name_ja if metric in metrics.BY_ID else metric} is "
                "not its fiscal-year figure (合計 is for summed metrics, 年度平均 for stocks and averages); skipped",
                severity="warning",
                file_id=self.landed.id,
                source_row=row,
                column_name=column,
                value_text=raw,
                sheet=self.sheet,
            )
        )

    def _describe(self) -> Describe:
        letters = {h: column_letter(j) for j, h in enumerate(self.header)}
        label_letters = {k: column_letter(j) for j, k in self.kinds.items() if k}

        def describe(row: dict[str, Any], aspect: str) -> str:
            if aspect == "month":
                return f"heading {letters.get(row['source_column'], '?')}{self.header_row} {row['source_column']!r}"
            raw = row.get({"fiscal_year": "fiscal_year_raw", "region": "region_raw"}.get(aspect, "metric_raw"))
            if aspect in label_letters and raw is not None:
                return f"{label_letters[aspect]}{row['source_row']} {raw!r}"
            return str(raw)

        return describe
