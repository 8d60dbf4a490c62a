"""The shape of a table's rows: every data row has the cells its header has, and no cell stands where
no header is. A row with more or fewer cells refuses the file (nothing of a row that loads is ever
ignored), naming the row, its cells and the likely cause: `山口,令和元年度,4月,275,034,1.1` is six cells
under five headers because `275,034` was written without quotes."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from itertools import pairwise

from branchkpi.tasks.parse.cells import FileParseError
from branchkpi.tasks.parse.headers import column_letter

NOTE_MARKS = ("※", "＊", "*", "注", "(注", "（注", "〔注")
_HEAD = re.compile(r"^[△▲\-−+]?[0-9０-９]{1,3}$")
_GROUP = re.compile(r"^[0-9０-９]{3}([.．][0-9０-９]+)?[%％]?$")


def width_of(rows: Sequence[Sequence[str]], first: int, end: int) -> int:
    """The columns a header block heads: up to its last filled cell."""
    return max((max((j + 1 for j, c in enumerate(r) if str(c).strip()), default=0) for r in rows[first:end]), default=0)


def is_line(cells: Sequence[str]) -> bool:
    """A row that is not a data row: blank, one filled cell (a title, a note, a stray word), or a note
    (※ …). Lines are classified by parse.context, not shape-checked."""
    filled = [str(c).strip() for c in cells if str(c).strip()]
    return len(filled) <= 1 or filled[0].startswith(NOTE_MARKS)


def _cause(cells: list[str], more: bool) -> str:
    for a, b in pairwise(cells):
        if _HEAD.match(a.strip()) and _GROUP.match(b.strip()):
            return f"an unquoted thousands separator? ({a.strip()},{b.strip()} is one figure when quoted)"
    if more:
        return "a cell too many: a comma inside a cell without quotes, or a column shifted by one?"
    return "a cell missing: a column shifted by one?"


def check_rows(
    rows: Sequence[Sequence[str]], start: int, width: int, from_text: bool, first_row: int = 1, written: int = 0
) -> None:
    """Refuse the file at the first data row from `start` whose cells do not fit a header `width`
    columns wide (up to its last filled cell; `written`: its cells as written, trailing empty ones too).
    A text file's row has as many cells as the header as written, or as the file's other rows (an export
    that pads every row alike), never fewer than `width`, and nothing filled beyond; a sheet's row, whose
    cells the sheet pads, nothing filled beyond. Rows are numbered as the file numbers them."""
    data = [(i, [str(c) for c in rows[i]]) for i in range(start, len(rows)) if not is_line(rows[i])]
    common = Counter(len(cells) for _, cells in data).most_common(1)[0][0] if data else width
    bad: list[tuple[int, list[str], bool]] = []
    for i, cells in data:
        beyond = [c for c in cells[width:] if c.strip()]
        odd = from_text and (len(cells) < width or len(cells) not in (written or width, common))
        if beyond or odd:
            bad.append((i + first_row, cells, bool(beyond) or len(cells) > width))
    if not bad:
        return
    row, cells, more = bad[0]
    if from_text:
        shown = " | ".join(c.strip() for c in cells)
        expected = max(width, written or width) if len(cells) > width else width
        message = f"row {row} has {len(cells)} cells under a header of {expected} ({shown}): {_cause(cells, more)}"
    else:
        col = next(j for j in range(width, len(cells)) if cells[j].strip())
        message = (
            f"row {row}, column {column_letter(col)}: {cells[col].strip()!r} stands outside the table (no header "
            f"above it; the header has {width} columns): {_cause(cells, True)}"
        )
    others = len(bad) - 1
    raise FileParseError(message + (f" (and {others} more row{'s' if others > 1 else ''} like it)" if others else ""))


def check_headed(rows: Sequence[Sequence[str]], start: int, end: int, blank: Sequence[int], first_row: int = 1) -> None:
    """Refuse the file at the first filled cell of a data row (rows [start, end)) in a column whose
    heading is blank (`blank`, 0-based): a figure under no header would be read as nothing."""
    for i in range(start, min(end, len(rows))):
        cells = [str(c) for c in rows[i]]
        if is_line(cells):
            continue
        for j in blank:
            if j < len(cells) and cells[j].strip():
                raise FileParseError(
                    f"row {i + first_row}, column {column_letter(j)}: {cells[j].strip()!r} stands under no "
                    "header: name the column (備考 for remarks) or move the figure under its header"
                )
