"""The sheet around a KPI table: which sheets hold no data (a cover, the template's 記入方法), what the
sheet name and the title lines above the header say about the fiscal year, and the notes under the
table (※ 速報値, 注1 …), which are read past."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from branchkpi.domain import labels
from branchkpi.domain.kpi_periods import stated_fiscal_years
from branchkpi.tasks.parse.files import NON_TABLE_SHEETS

# Sheets that explain, never data: a cover, notes, the template's instructions (記入方法, with its
# example rows). Skipped by name even if they show a table, and listed with the file in the run summary.
GUIDE_SHEETS = NON_TABLE_SHEETS | {
    "記入方法",
    "記入例",
    "入力方法",
    "入力例",
    "使い方",
    "instructions",
    "how to fill in",
}
_GUIDE_KEYS = frozenset(labels.key(n) for n in GUIDE_SHEETS)

# A row whose first filled cell starts so, with no reporting unit of its own, is a note.
NOTE_MARKS = ("※", "*", "＊", "注", "(注", "（注", "出典", "資料")


def is_guide_sheet(name: str) -> bool:
    return bool(name) and labels.key(name) in _GUIDE_KEYS


@dataclass(frozen=True)
class StatedYears:
    """The fiscal years a sheet's name and title lines state, and where (for the finding)."""

    years: tuple[int, ...] = ()
    where: str | None = None

    @property
    def listed(self) -> str | None:
        return ",".join(str(y) for y in self.years) if self.years else None


def stated_years(sheet_name: str, title_rows: list[list[str]], first_title_row: int = 1) -> StatedYears:
    """What the sheet name and the title lines above the header say of the fiscal year: every year any
    of them states (a title may name the year and the one it compares with)."""
    years: set[int] = set()
    places: list[str] = []
    if found := stated_fiscal_years(sheet_name):
        years.update(found)
        places.append(f"sheet name {sheet_name!r}")
    for offset, row in enumerate(title_rows):
        for cell in row:
            if cell.strip() and (found := stated_fiscal_years(cell)):
                years.update(found)
                places.append(f"title row {first_title_row + offset} {cell.strip()!r}")
    return StatedYears(tuple(sorted(years)), "; ".join(places) or None)


def without_notes(cells: pl.DataFrame, cell_columns: list[str], unit_column: str) -> pl.DataFrame:
    """The rows that are not notes. A note: its first filled cell (in the file's column order) starts
    with a note mark and the reporting-unit cell is empty or holds that same text (a note merged
    across the row). A row naming its branch is data, whatever its other cells say."""
    if cells.height == 0 or not cell_columns:
        return cells
    first = pl.coalesce([pl.when(pl.col(c) != "").then(pl.col(c)) for c in cell_columns])
    marked = pl.any_horizontal(first.str.starts_with(mark) for mark in NOTE_MARKS).fill_null(False)
    no_unit = (pl.col(unit_column) == "") | (pl.col(unit_column) == first)
    return cells.filter(~(marked & no_unit))
