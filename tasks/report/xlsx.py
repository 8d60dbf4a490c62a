"""The branch's KPI report as an Excel workbook, for planning staff who keep working in Excel: a sheet
per section of the report (KPI達成状況 by the plan's items with their marks, 偏差値と順位, and one sheet
per monthly metric laid out as the branch prints its 月報: 4月 … 3月, a value and 前年同月比 per year).

Values only, never a formula: a text from a data file that starts with = + - @ is stored as text
(with Excel's quote prefix), so opening the workbook runs nothing. × is filled red, as the branches
colour a missed KPI; the header rows stay in view when scrolling and are printed on every page.

Figures are numbers with Excel's number format carrying the printed precision and the unit: a KPI's
actual at its catalogue precision (`0.00"%"` for 保険証回収率 95.82, `#,##0"人"` for a head count),
percentages stored as printed (95.82 for 95.82 %, so a typed-in 95.82 means the same), the 月報 sheets'
units in their column headings (実数（人）, 前年同月比（%）) as the 月報 prints them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from branchkpi.domain import figures as printed
from branchkpi.domain import kpis, metrics
from branchkpi.tasks.report import figures
from branchkpi.tasks.report.gather import STAT_METRICS, BranchReportData
from branchkpi.tasks.report.structure import plan_fields
from branchkpi.tasks.report.tables import month_table
from branchkpi.tasks.report.wording import Labels

THOUSANDS = "#,##0"
ONE_DECIMAL = "0.0"  # a deviation score (偏差値 61.2)
PERCENT = '0.0"%"'  # 前年同月比, stored as printed (-0.1 for -0.1 %): the % is the format's, not a /100
MISSED_FILL = PatternFill("solid", fgColor="FFC7CE")
MISSED_FONT = Font(color="9C0006", bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
FORMULA_LEAD = ("=", "+", "-", "@")
_SHEET_NAME_MAX = 31  # Excel's limit


def write_workbook(data: BranchReportData, out_dir: Path, lang: str = "ja") -> Path:
    labels = Labels(lang)
    out_dir.mkdir(parents=True, exist_ok=True)
    book = Workbook()
    book.properties.title = _title(data, labels)
    book.properties.creator = "branchkpi"
    _kpi_sheet(book.active, data, labels)
    _ranking_sheet(book.create_sheet(), data, labels)
    present = set(data.stats["metric"].unique().to_list()) if data.stats.height else set()
    for metric in (m for m in STAT_METRICS if m.id in present):
        _metric_sheet(book.create_sheet(), data, metric, labels)
    path = out_dir / f"{data.file_stem(lang)}.xlsx"
    book.save(path)
    return path


def _title(data: BranchReportData, labels: Labels) -> str:
    branch = f"{data.name_ja}支部" if labels.lang == "ja" else f"{data.name_romaji.capitalize()} branch"
    return f"{branch} {labels.report_title(data.fiscal_year, data.quarter)}"


def put(ws: Worksheet, row: int, column: int, value: Any, number_format: str | None = None) -> Any:
    """One cell, as a value: text is always a string cell (never a formula), numbers keep their format."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters Excel refuses to open
    cell = ws.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl makes '=…' a formula; this keeps it the text it is
        cell.quotePrefix = value.startswith(FORMULA_LEAD)  # and Excel keeps it text when edited
    elif number_format and value is not None:
        cell.number_format = number_format
    return cell


def _headers(ws: Worksheet, row: int, headers: list[str], widths: list[int]) -> None:
    for column, (header, width) in enumerate(zip(headers, widths, strict=True), start=1):
        cell = put(ws, row, column, header)
        cell.font, cell.fill = Font(bold=True), HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(column)].width = width


def _sheet_top(ws: Worksheet, name: str, title: str, header_rows: int, freeze_column: str = "A") -> None:
    """Title in row 1, headers below it: those rows frozen on screen and repeated on every printed page."""
    ws.title = name[:_SHEET_NAME_MAX]
    put(ws, 1, 1, title).font = Font(bold=True, size=14)
    ws.freeze_panes = f"{freeze_column}{header_rows + 1}"
    ws.print_title_rows = f"1:{header_rows}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToHeight = 0


def _mark(ws: Worksheet, row: int, column: int, mark: str | None) -> None:
    cell = put(ws, row, column, mark or "")
    cell.alignment = Alignment(horizontal="center")
    if mark == "×":
        cell.fill, cell.font = MISSED_FILL, MISSED_FONT


def measure_format(kpi_id: str, unit: str | None, lang: str = "ja") -> str:
    """A KPI's figure as an Excel number format: its printed precision and its unit, e.g. 0.00"%" for
    保険証回収率 (95.82 → 95.82%), 0.000"%" for 査定率, #,##0"人" for a head count, #,##0"円"."""
    places = kpis.decimals_of(kpi_id, unit)
    whole = "0" if unit == "pct" else THOUSANDS  # a rate never reaches a thousand
    number = whole + ("." + "0" * places if places else "")
    suffix = printed.unit_text(printed.kpi_unit_kind(kpi_id, unit), "ja" if lang == "ja" else "en")
    return f'{number}"{suffix}"' if suffix else number


def _kpi_sheet(ws: Worksheet, data: BranchReportData, t: Labels) -> None:
    _sheet_top(ws, t["kpi_sheet"], f"{_title(data, t)} {t['kpis']}", 3)
    put(ws, 2, 1, t["legend"])
    keys = ("field", "item", "sub_item", "kpi", "target", "actual", "mark", "item_mark", "reason", "kpi_id")
    _headers(ws, 3, [t[k] for k in keys], [18, 30, 30, 40, 18, 12, 7, 9, 44, 30])
    row = 4
    fields = plan_fields(data.kpi_rows)
    for plan_field in fields:
        field_name = figures.field_name(plan_field, t, any(f.known for f in fields))
        for item in plan_field.items:
            subs = [(None, r) for r in item.rows] + [(sub, r) for sub in item.children for r in sub.rows]
            for sub, kpi in subs:
                name, text = figures.kpi_name(kpi, t)
                cells = (
                    field_name,
                    item.label,
                    sub.label if sub else "",
                    f"{name}\n{text}" if text else name,
                    figures.target_text(kpi, t),
                )
                for column, value in enumerate(cells, start=1):
                    put(ws, row, column, value).alignment = Alignment(wrap_text=True, vertical="top")
                put(ws, row, 6, kpi["actual"], measure_format(kpi["kpi_id"], kpi["unit"], t.lang))
                _mark(ws, row, 7, kpi["mark"])
                _mark(ws, row, 8, kpi.get("item_mark"))
                put(ws, row, 9, figures.reason(kpi, t)).alignment = Alignment(wrap_text=True, vertical="top")
                put(ws, row, 10, kpi["kpi_id"])
                row += 1
    if row == 4:
        put(ws, row, 1, t["no_kpis"])


def _ranking_sheet(ws: Worksheet, data: BranchReportData, t: Labels) -> None:
    _sheet_top(ws, t["ranking_sheet"], f"{_title(data, t)} {t['ranking']}", 2)
    _headers(ws, 2, [t["kpi"], t["actual"], t["deviation_score"], t["rank"], t["branches"]], [36, 12, 10, 8, 8])
    for row, ranked in enumerate(data.ranked, start=3):
        put(ws, row, 1, t.kpi(ranked.kpi_id))
        put(ws, row, 2, ranked.value, measure_format(ranked.kpi_id, kpis.BY_ID[ranked.kpi_id].unit, t.lang))
        put(ws, row, 3, ranked.deviation_score, ONE_DECIMAL)
        put(ws, row, 4, ranked.rank, THOUSANDS)
        put(ws, row, 5, ranked.branches, THOUSANDS)
    if not data.ranked:
        put(ws, 3, 1, t["no_ranked"])


def metric_sheet_name(metric: metrics.Metric, t: Labels) -> str:
    return (metric.name_ja if t.lang == "ja" else metric.name_en)[:_SHEET_NAME_MAX]


def _metric_sheet(ws: Worksheet, data: BranchReportData, metric: metrics.Metric, t: Labels) -> None:
    """Rows 4月 … 3月 and the year's total; per fiscal year a value and its 前年同月比 (%)."""
    name = metric_sheet_name(metric, t)
    branch = data.name_ja + "支部" if t.lang == "ja" else f"{data.name_romaji.capitalize()} branch"
    _sheet_top(ws, name, f"{branch} {name}{t.unit(printed.metric_unit(metric.id, t.lang))}", 3, freeze_column="B")
    years = [h for y in data.years for h in (t.fiscal_year(y), "")]  # a year's label over its column pair
    _headers(ws, 2, [t["month"], *years], [12] + [13] * len(years))
    ws.merge_cells(start_row=2, end_row=3, start_column=1, end_column=1)
    for i in range(len(data.years)):
        ws.merge_cells(start_row=2, end_row=2, start_column=2 + 2 * i, end_column=3 + 2 * i)
        unit = printed.metric_unit(metric.id, t.lang)
        for offset, heading in enumerate((t["value"] + t.unit(unit), t["yoy"] + t.unit("%"))):
            cell = put(ws, 3, 2 + 2 * i + offset, heading)
            cell.font, cell.fill, cell.alignment = Font(bold=True), HEADER_FILL, Alignment(horizontal="center")
    table = month_table(data, metric)
    for row, (month, cells) in enumerate(table.months, start=4):
        put(ws, row, 1, t.month(month))
        for i, (value, yoy) in enumerate(cells):
            put(ws, row, 2 + 2 * i, value, THOUSANDS)
            put(ws, row, 3 + 2 * i, yoy, PERCENT)
    total_row = 4 + len(table.months)
    label = t["fy_total" if table.summed else "fy_average"]
    if data.quarter:
        label += f" ({t['quarter_to'].format(q=data.quarter)})"
    put(ws, total_row, 1, label).font = Font(bold=True)
    for i, total in enumerate(table.totals):
        put(ws, total_row, 2 + 2 * i, total, THOUSANDS).font = Font(bold=True)
