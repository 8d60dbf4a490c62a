"""The mistakes offices make, each a function from an original (parsed once) and a seeded random source
to mutants: the edited file, whether a documented rule can know it (tests.mutants.knowable) and why."""

from __future__ import annotations

import functools
import io
import random
import re
import unicodedata
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import openpyxl

from branchkpi.domain import labels, metrics, numbers, units
from branchkpi.tasks.parse.observations import ParsedFile
from branchkpi.tasks.parse.xlsx import excel_sheets

from . import knowable
from .files import Original, TextFile, edit_book, insert_row

Cell = tuple[str, int, int]  # sheet ("" for a CSV), row, column (0-based)
_FULL = str.maketrans("0123456789,.", "０１２３４５６７８９，．")


@dataclass(frozen=True)
class Mutant:
    kind: str
    original: str
    name: str
    content: bytes
    history: bool
    knowable: bool
    why: str  # the rule that can know it, or why none can
    detail: str


@dataclass(frozen=True)
class Figure:
    cell: Cell
    raw: str
    key: knowable.Key | None  # None for a printed fiscal-year figure
    metric: str
    region: str
    fiscal_year: int
    value: float
    month_raw: str | None


class Info:
    """An original with its parse and its rows, and the edits a mutation makes to it."""

    def __init__(self, original: Original, parsed: ParsedFile, history: Any) -> None:
        self.original, self.parsed, self.history = original, parsed, history
        self.text = None if original.is_xlsx else TextFile.read(original.content, original.name)
        self.sheets = dict(excel_sheets(original.content, original.name)) if original.is_xlsx else {"": []}
        if self.text is not None:
            self.sheets[""] = self.text.rows
        self.figures = self._figures()

    def _figures(self) -> list[Figure]:
        found: list[Figure] = []
        for frame, total in ((self.parsed.observations, False), (self.parsed.reported_totals, True)):
            for r in frame.iter_rows(named=True):
                if None in (r["region_code"], r["metric"], r["fiscal_year"], r["value"]):
                    continue
                sheet = r["sheet_name"] or ""
                rows = self.sheets.get(sheet, [])
                row = r["source_row"] - 1
                cells = rows[row] if 0 <= row < len(rows) else []
                col = next((j for j, c in enumerate(cells) if str(c) == r["value_raw"]), None)
                if col is None:
                    continue
                key = None if total else (r["region_code"], r["metric"], int(r["fiscal_year"]), int(r["month"]))
                month_raw = None if total else r["month_raw"]
                found.append(
                    Figure(
                        (sheet, row, col),
                        r["value_raw"],
                        key,
                        r["metric"],
                        r["region_code"],
                        r["fiscal_year"],
                        r["value"],
                        month_raw,
                    )
                )
        return found

    @functools.cached_property
    def book(self) -> Any:
        """The workbook as openpyxl holds it (numbers, dates, merged ranges), read once."""
        return openpyxl.load_workbook(io.BytesIO(self.original.content))

    def merged(self, sheet: str) -> list[tuple[int, int, int, int]]:
        """(min_row, max_row, min_col, max_col), 0-based, of the sheet's merged ranges."""
        if self.text is not None:
            return []
        ranges = self.book[sheet].merged_cells.ranges
        return [(r.min_row - 1, r.max_row - 1, r.min_col - 1, r.max_col - 1) for r in ranges]

    def set_cells(self, changes: dict[Cell, Any]) -> bytes:
        if self.text is not None:
            rows = [list(r) for r in self.text.rows]
            for (_, row, col), value in changes.items():
                rows[row][col] = str(value)
            return TextFile(rows, self.text.encoding, self.text.delimiter, self.text.terminator).write()

        def change(book: Any) -> None:
            for (sheet, row, col), value in changes.items():
                cell = book[sheet].cell(row + 1, col + 1)
                if type(cell).__name__ != "MergedCell":
                    cell.value = value

        return edit_book(self.original.content, change)

    def insert(self, sheet: str, index: int, values: list[Any]) -> bytes:
        if self.text is not None:
            rows = [list(r) for r in self.text.rows]
            rows.insert(index, [str(v) for v in values])
            return TextFile(rows, self.text.encoding, self.text.delimiter, self.text.terminator).write()
        return edit_book(self.original.content, lambda book: insert_row(book[sheet], index + 1, values))

    def cell_value(self, cell: Cell) -> Any:
        """The cell as the workbook holds it (a number, a date), or its text."""
        if self.text is not None:
            return self.text.rows[cell[1]][cell[2]]
        return self.book[cell[0]].cell(cell[1] + 1, cell[2] + 1).value

    def mutant(self, kind: str, content: bytes, why: str | None, detail: str, **kw: Any) -> Mutant:
        return Mutant(
            kind,
            self.original.name,
            kw.get("name", self.original.name),
            content,
            kw.get("history", False),
            why is not None and not why.startswith("unknowable"),
            why or "unknowable",
            detail,
        )


def printed_like(raw: str, value: float) -> str:
    """A figure written as `raw` is written: separators, decimals, full-width digits, its unit word."""
    number, unit = numbers.split_unit(raw.strip(), units.is_unit_word)
    folded = unicodedata.normalize("NFKC", number)
    decimals = len(m.group(1)) if (m := re.search(r"\.(\d+)", folded)) else 0
    text = f"{value:,.{decimals}f}" if "," in folded else f"{value:.{decimals}f}"
    if any(c in "０１２３４５６７８９" for c in number):
        text = text.translate(_FULL)
    return text + (raw.strip()[len(number) :] if unit else "")


def _written(info: Info, figure: Figure, value: float) -> Any:
    """The new figure as the cell would hold it: a number in a number cell, else printed like the old."""
    held = info.cell_value(figure.cell)
    if isinstance(held, (int, float)) and not isinstance(held, bool):
        return int(value) if float(value).is_integer() else value
    return printed_like(figure.raw, value)


def scale_values(info: Info, rng: random.Random, factors: tuple[float, ...], history: bool, kind: str) -> list[Mutant]:
    groups: dict[tuple[str, str, str], list[Figure]] = {}
    for f in info.figures:
        groups.setdefault((f.cell[0], f.region, f.metric), []).append(f)
    if not groups:
        return []
    out = []
    for factor in factors:
        group = groups[rng.choice(sorted(groups))]
        if history and not any(f.key in knowable.values_of(info.history, None) for f in group):
            continue
        ndigits = 1 if factor == 0.001 else 0
        changes = {f.cell: _written(info, f, round(f.value * factor, ndigits)) for f in group}
        if any(round(f.value * factor, ndigits) == 0 for f in group):
            continue
        why = "scale_jump" if history else "value_plausible"
        detail = f"{metrics.BY_ID[group[0].metric].name_ja} of {group[0].region} ×{factor:g}"
        out.append(info.mutant(kind, info.set_cells(changes), why, detail, history=history))
    return out


def _scaled_word(metric_ids: set[str]) -> str:
    if metric_ids & {"insured_persons", "dependents"}:
        return "千人"
    if metric_ids & {"avg_standard_monthly_remuneration_yen", "medical_cost_per_capita_yen", "insurance_benefits"}:
        return "千円"
    return "千件"


def scale_in_title(info: Info, rng: random.Random) -> list[Mutant]:
    """A unit line `（単位：千人）` added above figures that are printed unscaled and state no unit, or a
    scaled unit the file states (千人, 千円) removed."""
    sheet = info.figures[0].cell[0] if info.figures else ""
    rows = info.sheets.get(sheet, [])
    present = {f.metric for f in info.figures}
    stated = [(i, j, str(c)) for i, r in enumerate(rows) for j, c in enumerate(r) if _units_in(str(c))]
    scaled = [
        (i, j, c) for i, j, c in stated if any((units.factor(m, w) or 1) != 1 for w in _units_in(c) for m in present)
    ]
    if scaled:
        i, j, cell = scaled[0]
        removed = re.sub(
            r"[（(［\[]?単位[:：]?\s*[^）)\]］]*[）)\]］]?|[（(]千[^）)]*[）)]|千(?=円|人|件|事業所)", "", cell
        )
        content = info.set_cells({(sheet, i, j): removed})
        return [info.mutant("scale_title", content, "value_plausible", f"unit {cell!r} → {removed!r} (row {i + 1})")]
    if stated:
        return []  # the file states its units already: a second line would say the same or contradict
    word = _scaled_word(present)
    content = info.insert(sheet, 0, [f"（単位：{word}）"])
    return [info.mutant("scale_title", content, "value_plausible", f"a line （単位：{word}） above the table")]


def _units_in(text: str) -> list[str]:
    """The unit words a cell states: 単位 lines, bracketed units, a unit after the figure."""
    words = units.stated_units(text) or list(labels.label(text).units)
    return [w for w in words if units.is_unit_word(w) and not units.states_no_unit(w)]


def digit_swap(info: Info, rng: random.Random, count: int) -> list[Mutant]:
    out = []
    figures = [f for f in info.figures if sum(ch.isdigit() for ch in f.raw) >= 2]
    for _ in range(count):
        if not figures:
            break
        f = rng.choice(figures)
        digits = [i for i, ch in enumerate(f.raw) if ch.isdigit()]
        pairs = [(a, b) for a, b in pairwise(digits) if f.raw[a] != f.raw[b]]
        if not pairs:
            continue
        a, b = rng.choice(pairs)
        text = f.raw[:a] + f.raw[b] + f.raw[a + 1 : b] + f.raw[a] + f.raw[b + 1 :]
        new = numbers.parse_number(numbers.split_unit(text, units.is_unit_word)[0])
        new_value = f.value * new / numbers.parse_number(numbers.split_unit(f.raw, units.is_unit_word)[0])
        if f.key is None:
            why = _total_swap_knowable(info, f, new_value)
        else:
            why = knowable.digit_swap_knowable(
                f.key, new_value, info.parsed.observations, info.parsed.reported_totals, None
            )
        held = info.cell_value(f.cell)
        written = type(held)(new) if isinstance(held, (int, float)) and not isinstance(held, bool) else text
        detail = f"{f.raw!r} typed {text!r} (row {f.cell[1] + 1})"
        out.append(
            info.mutant(
                "digit_swap",
                info.set_cells({f.cell: written}),
                why or "unknowable: no printed YoY or total covers it beyond rounding",
                detail,
            )
        )
    return out


def _total_swap_knowable(info: Info, f: Figure, new: float) -> str | None:
    low, high = metrics.plausible_range(f.metric, f.region)
    n = 12 if metrics.BY_ID[f.metric].aggregation == "sum" else 1
    if not low * n <= new <= high * n:
        return "total_plausible"
    months = [
        g for g in info.figures if g.key and (g.region, g.metric, g.fiscal_year) == (f.region, f.metric, f.fiscal_year)
    ]
    allowed = 0.5 * (len(months) + 1) if n == 12 else 0.5 * 2
    if len(months) == 12 and abs(new - f.value) > allowed + 1e-9:
        return "printed_total_matches_months"
    return None
