"""The mistakes offices make in KPI files, made on purpose (mutation testing of the KPI gate): each
mutant is an original file with one mistake, and says whether a rule can know it (`knowable`) and why.

Classes:
- decimal_point_lost: a figure's decimal point dropped (95.82 → 9582, 0.236 → 0236);
- fraction_for_percent: a rate written as a fraction in a plain cell (95.82 → 0.9582; a cell in Excel's
  % format loses it);
- kpi_id_swapped / kpi_wording_swapped: the KPI cells of two neighbouring rows exchanged (ids, or the
  plan's wordings);
- fiscal_year_off_by_one: the fiscal year one off in one of the places that state it (年度, 期間, 時点,
  the sheet's title or name);
- duplicate_row_other_value: a row given twice, the copy with another figure.

What a rule can know is stated here independently of the gate, from the facts of the row: a figure
outside its KPI's plausible range (branchkpi.domain.kpi_ranges) or 0–100 %, five times off its
previous-year actual, a unit stated in the row that is not the KPI's, a wording beside the id that names
another KPI, a second place that states the fiscal year, a key given twice. A mutant none of these
apply to (a fraction of a check-up rate in June, with no history) is unknowable and listed as such."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import openpyxl

from branchkpi.domain import kpis
from branchkpi.domain.kpi_names import KpiNames
from branchkpi.domain.kpi_ranges import SCALE_JUMP_FACTOR, plausible_range
from branchkpi.tasks.parse.cells import header_key
from branchkpi.tasks.parse.decoding import decode_text, sniff_delimiter
from branchkpi.tasks.parse.kpi import kpi_file_kind
from branchkpi.tasks.parse.kpi_cells import ROLE
from branchkpi.tasks.parse.kpi_sheets import is_guide_sheet

CLASSES = (
    "decimal_point_lost",
    "fraction_for_percent",
    "kpi_id_swapped",
    "kpi_wording_swapped",
    "fiscal_year_off_by_one",
    "duplicate_row_other_value",
)


@dataclass
class Mutant:
    mistake: str  # one of CLASSES
    original: str  # the original file's name
    name: str  # the mutant's file name (the original's, so the parsers see the same kind of file)
    content: bytes
    where: str  # sheet and row, and what was changed
    knowable: bool
    why: str  # what tells it, or why nothing can


@dataclass
class Table:
    sheet: str
    header: int  # 0-based row index of the header
    roles: dict[str, int]  # role → 0-based column
    rows: list[int]  # 0-based indexes of the data rows
    title_rows: list[int] = field(default_factory=list)


class Doc:
    """An original file as cells that can be edited and written back in its own format (CSV in its
    encoding and delimiter, or the workbook with its number formats)."""

    def __init__(self, name: str, content: bytes) -> None:
        self.name, self.content = name, content
        self.xlsx = name.lower().endswith(".xlsx")
        if self.xlsx:
            book = openpyxl.load_workbook(io.BytesIO(content))
            self.sheets = {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in book.worksheets}
            self.formats = {
                ws.title: [[str(c.number_format) for c in row] for row in ws.iter_rows()] for ws in book.worksheets
            }
        else:
            text, self.encoding = decode_text(content, name)
            self.delimiter = sniff_delimiter(text)
            self.newline = "\r\n" if "\r\n" in text else "\n"
            self.sheets = {"": [list(r) for r in csv.reader(io.StringIO(text), delimiter=self.delimiter)]}
        self.tables = [t for sheet, rows in self.sheets.items() if (t := _table(sheet, rows)) is not None]

    def value(self, sheet: str, row: int, column: int) -> Any:
        rows = self.sheets[sheet]
        return rows[row][column] if row < len(rows) and column < len(rows[row]) else None

    def number_format(self, sheet: str, row: int, column: int) -> str:
        if not self.xlsx:
            return "General"
        rows = self.formats[sheet]
        return rows[row][column] if row < len(rows) and column < len(rows[row]) else "General"

    def edited(self, edit: Callable[[Editor], None]) -> bytes:
        editor = Editor(self)
        edit(editor)
        return editor.to_bytes()


class Editor:
    """One mutant's edits: cells set (with a number format in a workbook), rows copied, a sheet renamed."""

    def __init__(self, doc: Doc) -> None:
        self.doc = doc
        if doc.xlsx:
            self.book = openpyxl.load_workbook(io.BytesIO(doc.content))
        else:
            self.rows = [list(r) for r in doc.sheets[""]]

    def set(self, sheet: str, row: int, column: int, value: Any, number_format: str | None = None) -> None:
        if self.doc.xlsx:
            cell = self.book[sheet].cell(row + 1, column + 1)
            cell.value = value
            if number_format is not None:
                cell.number_format = number_format
        else:
            while len(self.rows[row]) <= column:
                self.rows[row].append("")
            self.rows[row][column] = "" if value is None else str(value)

    def copy_row_after(self, sheet: str, row: int) -> None:
        if self.doc.xlsx:
            ws = self.book[sheet]
            ws.insert_rows(row + 2)
            for column, cell in enumerate(ws[row + 1], start=1):
                new = ws.cell(row + 2, column)
                new.value, new.number_format = cell.value, cell.number_format
        else:
            self.rows.insert(row + 1, list(self.rows[row]))

    def rename(self, sheet: str, title: str) -> None:
        self.book[sheet].title = title

    def to_bytes(self) -> bytes:
        if self.doc.xlsx:
            out = io.BytesIO()
            self.book.save(out)
            return out.getvalue()
        text = io.StringIO()
        csv.writer(text, delimiter=self.doc.delimiter, lineterminator=self.doc.newline).writerows(self.rows)
        encoding = "utf-8-sig" if self.doc.encoding == "utf-8-sig" else self.doc.encoding
        return text.getvalue().encode(encoding)


def _table(sheet: str, rows: list[list[Any]]) -> Table | None:
    if is_guide_sheet(sheet):
        return None
    header = next((i for i, r in enumerate(rows[:10]) if kpi_file_kind([_text(c) for c in r])), None)
    if header is None or kpi_file_kind([_text(c) for c in rows[header]]) in ("initiatives", "unit_notes"):
        return None
    roles: dict[str, int] = {}
    for i, h in enumerate(rows[header]):
        role = ROLE.get(header_key(_text(h)))
        if role is not None and role not in roles:
            roles[role] = i
    unit = roles.get("branch", roles.get("municipality", 0))
    data = [
        i
        for i in range(header + 1, len(rows))
        if any(_text(c).strip() for c in rows[i])
        and unit < len(rows[i])
        and _text(rows[i][unit]).strip()
        and not _text(rows[i][unit]).startswith(("※", "注", "*"))
    ]
    return Table(sheet, header, roles, data, list(range(header)))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


# --- what a rule can know --------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """A data row of an original as the parser read it (the facts the oracle needs)."""

    kind: str  # targets or actuals
    sheet: str
    index: int  # 0-based row in the sheet
    unit_key: str
    fiscal_year: int
    period: str  # FY for targets
    kpi_id: str
    value: float | None
    unit: str
    states_unit: bool  # a unit cell, or a figure that says its unit (95.82%, 2,933人)
    places: int  # places stating the fiscal year besides 年度 (期間, 時点, sheet name or title)
    wording: str | None  # a wording column's text beside the id, if any
    wording_names: frozenset[str]  # the KPIs that wording names exactly in the row's unit
    value_checked: bool  # a figure the gate checks (an actual; a target with a value comparator)


class Oracle:
    """Whether a rule can know a mistake, from the row's facts and the previous year's figures."""

    def __init__(
        self,
        figures: dict[tuple[str, str, str, int], list[tuple[int, str, float]]],
        wordings: dict[str, list[tuple[str, str]]],
    ) -> None:
        self.figures = figures  # (unit_key, kpi_id, unit, fiscal_year) → [(index, period, value)]
        self.wordings = wordings  # unit_key → [(plan wording, kpi_id)] as loaded
        self._names: dict[str, KpiNames] = {}

    def names(self, unit: str, text: str | None) -> frozenset[str]:
        """The KPIs a text names exactly in a unit (one, or the several it fits), else none."""
        if not text:
            return frozenset()
        if unit not in self._names:
            self._names[unit] = KpiNames.with_wordings(self.wordings.get(unit, []))
        naming = self._names[unit].resolve(text)
        if naming.kpi_id:
            return frozenset({naming.kpi_id})
        return frozenset(naming.candidates) if naming.how == "ambiguous" else frozenset()

    def previous(self, row: Row, kpi_id: str, unit: str) -> float | None:
        found = self.figures.get((row.unit_key, kpi_id, unit, row.fiscal_year - 1), [])
        index = 12 if row.kind == "targets" else period_index(row.period)
        flow = kpis.BY_ID[kpi_id].cumulative
        if flow:
            found = [f for f in found if f[0] == index or (f[0] < index < 12)]
        if not found:
            return None
        return max(found, key=lambda f: (f[0], f[1] == "FY"))[2]

    def figure_tells(self, row: Row, kpi_id: str, value: float | None, unit: str) -> str | None:
        """Why a figure cannot be this KPI's, or None."""
        if value is None or not row.value_checked:
            return None
        if unit == "pct" and not 0 <= value <= 100:
            return "a percentage outside 0–100"
        in_year = row.kind == "actuals" and period_index(row.period) < 12
        bounds = plausible_range(kpi_id, in_year) if unit == "pct" else None
        if bounds is not None and not bounds.low <= value <= bounds.high:
            return f"outside {kpi_id}'s range {bounds.text(unit)}"
        previous = self.previous(row, kpi_id, unit)
        if previous and value > 0 and not 1 / SCALE_JUMP_FACTOR < value / previous < SCALE_JUMP_FACTOR:
            return f"{value / previous:.3g} times the previous year's {previous}"
        return None


def period_index(period: str) -> int:
    if period == "FY":
        return 12
    if period.startswith("Q"):
        return 3 * int(period[1])
    month = int(period[5:7])
    return (month - 4) % 12 + 1


# --- the mistakes --------------------------------------------------------------------------------------


def lose_decimal_point(value: Any, number_format: str) -> tuple[Any, float] | None:
    """The cell with its decimal point dropped, and the figure it then reads as (None: no point)."""
    if isinstance(value, float) and not value.is_integer():
        shown = value * 100 if "%" in number_format else value
        digits = f"{shown:.10g}"
        if "." not in digits or "e" in digits:
            return None
        lost = float(digits.replace(".", ""))
        return (lost / 100 if "%" in number_format else lost), lost
    if isinstance(value, str) and "." in value:
        match = re.search(r"\d*\.\d+", value)
        if match is None:
            return None
        lost_text = match[0].replace(".", "")
        return value.replace(match[0], lost_text, 1), float(lost_text or 0)
    return None


def as_fraction(value: Any, number_format: str) -> tuple[Any, str, float] | None:
    """A rate as a fraction in a plain cell: (cell, its number format, the figure it reads as)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "%" in number_format:  # the fraction is there already: the cell no longer says %
            return float(value), "General", float(value)
        return float(value) / 100, "General", float(value) / 100
    if isinstance(value, str):
        match = re.fullmatch(r"\s*([0-9,]*\.?[0-9]+)\s*[%％]?\s*", value)
        if match is None:
            return None
        fraction = float(match[1].replace(",", "")) / 100
        return f"{fraction:.10g}", "General", fraction
    return None


_ERA_YEAR = re.compile(r"(令和|平成|[RrHh])(元|\d{1,2})")
_WESTERN_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")


def shift_year(value: Any, by: int) -> Any | None:
    """The same text (or number, or date) with its year moved by `by`; None when it states no year."""
    if isinstance(value, dt.datetime):
        return value.replace(year=value.year + by)
    if isinstance(value, int) and 1989 <= value <= 2100:
        return value + by
    if not isinstance(value, str):
        return None
    era = _ERA_YEAR.search(value)
    if era is not None:
        year = (1 if era[2] == "元" else int(era[2])) + by
        if year < 1:
            return None
        return value[: era.start(2)] + str(year) + value[era.end(2) :]
    western = _WESTERN_YEAR.search(value)
    if western is not None:
        return value[: western.start()] + str(int(western[1]) + by) + value[western.end() :]
    return None


def neighbours(rows: list[Row]) -> Iterator[tuple[Row, Row]]:
    ordered = sorted(rows, key=lambda r: (r.sheet, r.index))
    for a, b in itertools.pairwise(ordered):
        if a.sheet == b.sheet and b.index == a.index + 1 and a.kpi_id != b.kpi_id and a.kind == b.kind:
            yield a, b
