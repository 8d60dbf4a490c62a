"""The mistakes that change a file's shape or its labels: an unquoted thousands separator, a row's cells
shifted by one column, two metrics' labels swapped, the fiscal year off by one in one of two places, a
row repeated with another value, a month label changed."""

from __future__ import annotations

import random
import re
from typing import Any

from branchkpi.domain import fiscal, metrics, numbers, regions, units
from branchkpi.tasks.parse import context

from . import knowable
from .classes import Figure, Info, Mutant, printed_like
from .files import TextFile, edit_book


def unquoted_separator(info: Info, rng: random.Random) -> list[Mutant]:
    """One figure written `275,034` without the quotes a comma needs (a hand-made CSV)."""
    if info.text is None or info.text.delimiter != ",":
        return []

    def printed(f: Figure) -> float:
        return numbers.parse_number(numbers.split_unit(f.raw, units.is_unit_word)[0])

    figures = [f for f in info.figures if abs(printed(f)) >= 1000 and printed(f) == int(printed(f))]
    if not figures:
        return []
    f = rng.choice(figures)
    cells = list(info.text.rows[f.cell[1]])
    number = f"{int(printed(f)):,}"
    parts = [number if j == f.cell[2] else info.text.quoted([c]) for j, c in enumerate(cells)]
    content = info.text.write({f.cell[1]: ",".join(parts)})
    return [info.mutant("unquoted_separator", content, "row_shape", f"row {f.cell[1] + 1}: {number} unquoted")]


def column_shift(info: Info, rng: random.Random) -> list[Mutant]:
    """One row's cells from a column on moved one column left (a cell deleted) or right (one inserted)."""
    rows_with = sorted(
        {f.cell[1] for f in info.figures if f.cell[0] == (info.figures[0].cell[0] if info.figures else "")}
    )
    if not rows_with:
        return []
    sheet = info.figures[0].cell[0]
    merged = info.merged(sheet)
    row = rng.choice(rows_with)
    if any(a <= row <= b for a, b, _, _ in merged):
        return []
    last = max(f.cell[2] for f in info.figures if f.cell[:2] == (sheet, row))
    at = rng.randint(1, last)
    left = rng.random() < 0.5
    detail = f"row {row + 1}: cells from column {at + 1} shifted {'left' if left else 'right'}"
    if info.text is not None:
        cells = list(info.text.rows[row])
        cells = cells[:at] + cells[at + 1 :] if left else [*cells[:at], "", *cells[at:]]
        rows = [list(r) for r in info.text.rows]
        rows[row] = cells
        content = TextFile(rows, info.text.encoding, info.text.delimiter, info.text.terminator).write()
        return [info.mutant("column_shift", content, "row_shape", detail)]

    def change(book: Any) -> None:
        ws = book[sheet]
        width = max(ws.max_column, last + 2)
        values = [ws.cell(row + 1, c + 1).value for c in range(width)]
        values = values[:at] + values[at + 1 :] + [None] if left else [*values[:at], None, *values[at:]]
        for c, value in enumerate(values):
            ws.cell(row + 1, c + 1).value = value

    return [info.mutant("column_shift", edit_book(info.original.content, change), "row_shape", detail)]


def label_swap(info: Info, rng: random.Random) -> list[Mutant]:
    """Two metrics' labels swapped wherever the file writes them (headers, a metric column, titles)."""
    sheet = info.figures[0].cell[0] if info.figures else ""
    labelled: dict[str, list[tuple[int, int, str]]] = {}
    for i, row in enumerate(info.sheets.get(sheet, [])):
        for j, cell in enumerate(row):
            metric = metrics.resolve_metric(cell) if str(cell).strip() else None
            if metric in metrics.INPUT_METRIC_IDS:
                labelled.setdefault(metric, []).append((i, j, str(cell)))
    present = sorted(m for m in labelled if any(f.metric == m for f in info.figures))
    if len(present) < 2:
        return []
    a, b = rng.sample(present, 2)
    text = {a: labelled[b][0][2], b: labelled[a][0][2]}
    changes = {(sheet, i, j): text[m] for m in (a, b) for i, j, _ in labelled[m]}
    swap = {a: b, b: a}
    moved = {
        (f.region, swap[f.metric], f.fiscal_year, f.key[3]): f.value for f in info.figures if f.key and f.metric in swap
    }
    why = knowable.relabelled_knowable(moved, info.parsed.observations, None)
    names = f"{metrics.BY_ID[a].name_ja} ↔ {metrics.BY_ID[b].name_ja}"
    reason = why or "unknowable: the two figures fit each other's ranges and no ratio between them breaks"
    return [info.mutant("label_swap", info.set_cells(changes), reason, names)]


def _years_text(raw: str, fy: int) -> str:
    return fiscal.fiscal_year_label_ja(fy) if "年度" in raw or "度" in raw else str(fy)


def fiscal_year_off(info: Info, rng: random.Random) -> list[Mutant]:
    """The fiscal year off by one in one of two places: a title line, the file name, a 年度 column beside
    a period column, or the year of a title the file already has."""
    if not info.figures:
        return []
    latest = max(f.fiscal_year for f in info.figures)
    wrong = latest + rng.choice((-1, 1))
    sheet = info.figures[0].cell[0]
    region = regions.BY_CODE[info.figures[0].region].name_ja
    out = []
    rows = info.sheets.get(sheet, [])
    top = min(f.cell[1] for f in info.figures)
    titled = [
        (i, j, str(c)) for i, r in enumerate(rows[:top]) for j, c in enumerate(r) if fiscal.fiscal_years_in(str(c))
    ]
    if titled:  # the year of a title the file already has: knowable only when the table states it too
        i, j, cell = titled[0]
        stated = fiscal.fiscal_years_in(cell)[0]
        changed = cell.replace(fiscal.fiscal_year_label_ja(stated), fiscal.fiscal_year_label_ja(stated + 1))
        why = "contradiction" if _table_states_year(info, titled) else "unknowable: the only place stating the year"
        content = info.set_cells({(sheet, i, j): changed})
        out.append(info.mutant("fiscal_year_off", content, why, f"title {cell!r} → {changed!r}"))
    title = f"{fiscal.fiscal_year_label_ja(wrong)} {region} 月報"
    out.append(info.mutant("fiscal_year_off", info.insert(sheet, 0, [title]), "contradiction", f"title {title!r}"))
    stem, _, suffix = info.original.name.rpartition(".")
    name = f"{stem}_{fiscal.fiscal_year_label_ja(wrong)}.{suffix}"
    out.append(info.mutant("fiscal_year_off", info.original.content, "contradiction", f"renamed {name}", name=name))
    separate = [f for f in info.figures if f.key and f.month_raw and fiscal.periods_in(f.month_raw)]
    column = _fiscal_year_cells(info, separate)
    if column:
        changes = {cell: _years_text(raw, fy + 1) for cell, raw, fy in column}
        out.append(
            info.mutant("fiscal_year_off", info.set_cells(changes), "contradiction", "年度 column +1 beside 年月")
        )
    return out


def _table_states_year(info: Info, titles: list[tuple[int, int, str]]) -> bool:
    """Whether the figures' fiscal year is read from the table itself (a 年度 column, a heading, a period
    cell) rather than only from the title lines (where the parse records the title as its place)."""
    texts = [c for _, _, c in titles]
    raws = info.parsed.observations["fiscal_year_raw"].drop_nulls().unique().to_list()
    return any(not any(text in str(raw) for text in texts) for raw in raws)


def _fiscal_year_cells(info: Info, figures: list[Figure]) -> list[tuple[tuple[str, int, int], str, int]]:
    """The cells of a fiscal-year column beside a period column, in the figures' rows."""
    found = []
    for f in figures:
        cells = info.sheets[f.cell[0]][f.cell[1]]
        for j, cell in enumerate(cells):
            text = str(cell)
            if j != f.cell[2] and text != f.month_raw and "年度" in text and fiscal.fiscal_years_in(text):
                found.append(((f.cell[0], f.cell[1], j), text, f.fiscal_year))
    return list({c: (c, r, y) for c, r, y in found}.values())


def row_repeated(info: Info, rng: random.Random) -> list[Mutant]:
    """A data row copied under itself with one figure changed (the month keyed twice)."""
    figures = [f for f in info.figures if f.key]
    if not figures:
        return []
    f = rng.choice(figures)
    sheet, row, col = f.cell
    if any(a <= row <= b for a, b, _, _ in info.merged(sheet)):
        return []
    values = [info.cell_value((sheet, row, j)) for j in range(len(info.sheets[sheet][row]))]
    new = round(f.value * 1.01) if abs(f.value) >= 100 else round(f.value * 1.01, 1)
    values[col] = new if isinstance(values[col], (int, float)) else printed_like(f.raw, new)
    content = info.insert(sheet, row + 1, values)
    return [info.mutant("row_repeated", content, "one_row_per_key", f"row {row + 1} repeated with {new}")]


def _with_month(raw: str, month: int) -> str:
    if "月" in raw:
        return re.sub(r"\d{1,2}(?=\s*月)", str(month), raw, count=1)
    parts = re.split(r"([-/.])", raw)
    if len(parts) >= 3:
        parts[2] = f"{month:02d}" if len(parts[2]) == 2 else str(month)
        return "".join(parts)
    return str(month)


def month_changed(info: Info, rng: random.Random) -> list[Mutant]:
    """One month label changed: to another month of the table (a month keyed twice), or, in a table of
    one month, to the next one (knowable only where the file states its month elsewhere)."""
    figures = [f for f in info.figures if f.key and f.month_raw]
    if not figures:
        return []
    f = rng.choice(figures)
    cells = info.sheets[f.cell[0]][f.cell[1]]
    where = next((j for j, c in enumerate(cells) if str(c) == f.month_raw and j != f.cell[2]), None)
    if where is None:
        return []
    same = [g for g in figures if (g.region, g.metric, g.fiscal_year) == (f.region, f.metric, f.fiscal_year)]
    others = [g for g in same if g.key and f.key and g.key[3] != f.key[3]]
    cell = (f.cell[0], f.cell[1], where)
    if others:
        g = rng.choice(others)
        value = info.cell_value(
            next(
                (
                    (g.cell[0], g.cell[1], j)
                    for j, c in enumerate(info.sheets[g.cell[0]][g.cell[1]])
                    if str(c) == g.month_raw
                ),
                cell,
            )
        )
        content = info.set_cells({cell: value})
        return [info.mutant("month_changed", content, "one_row_per_key", f"{f.month_raw!r} → {g.month_raw!r}")]
    assert f.key is not None
    month = f.key[3] % 12 + 1
    text = _with_month(str(f.month_raw), month)
    why = (
        "contradiction"
        if _states_month(info)
        else "unknowable: a table of one month whose month is stated nowhere else"
    )
    return [info.mutant("month_changed", info.set_cells({cell: text}), why, f"{f.month_raw!r} → {text!r}")]


def _states_month(info: Info) -> bool:
    """Whether the file states its month outside the table (title line, sheet or file name)."""
    texts = [info.original.name, *(s for s in info.sheets if s)]
    top = min(f.cell[1] for f in info.figures)
    for rows in info.sheets.values():
        texts += [str(c) for r in rows[:top] for c in r if str(c).strip()]
    return any(context.text_statements(t, "x") and (fiscal.periods_in(t) or fiscal.months_in(t)) for t in texts)
