"""A tidy file's header as the sender wrote it: the header row found, the rows that continue it (merged
group cells above the metric cells, units on a line of their own) combined, and each column matched
to its role or metric exactly (branchkpi.domain.labels: the one synonym table). A column whose label
matches nothing is a file error naming it and where it is: a table is never half-read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from branchkpi.domain import labels, metrics, units
from branchkpi.tasks.parse.cells import FileParseError, number_or_none

# a header is at most this many rows: a group row above, the header, a unit row below
MAX_HEADER_ROWS = 4


@dataclass(frozen=True)
class HeaderColumn:
    index: int
    parts: tuple[str, ...]  # the header cells of this column, top to bottom, as written
    role: str | None  # region, period, value, … (labels.column_roles), metric_column, derived_metric, None
    metric: str | None = None

    @property
    def written(self) -> str:
        """The header as the sender wrote it (`加入者数 / 被保険者数 / (人)` for a merged header)."""
        return " / ".join(self.parts)


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _single_role(text: str) -> str | None:
    role = labels.column_role(text)
    if role is not None and role != "group":
        return role
    metric = metrics.resolve_metric(text)
    if metric in metrics.INPUT_METRIC_IDS:
        return "metric_column"
    if metric is not None:  # 加入者数: a derived metric's own column, or a group heading over its parts
        return "derived_metric"
    return role


_DATED = frozenset({"period", "month", "fiscal_year", "calendar_year"})


def header_row_index(rows: Sequence[Sequence[str]], need_region: bool = True) -> int | None:
    """The first row naming a region column and at least one other known column; with `need_region`
    False (the region is then stated by a title line or the file name), the first row naming a period
    and a metric column (`年月 | 被保険者数`), every one of its cells known."""
    for i, row in enumerate(rows):
        roles = [_single_role(str(c)) for c in row if str(c).strip()]
        if ("region" in roles or "region_ja" in roles) and sum(r not in (None, "group") for r in roles) >= 2:
            return i
        if (
            not need_region
            and _DATED & set(roles)
            and ("metric_column" in roles or {"metric", "value"} <= set(roles))
            and None not in roles
        ):
            return i
    return None


def _is_blank(text: object) -> bool:
    return not str(text or "").strip()


def _continues_header(row: Sequence[str], region_cols: list[int], header: Sequence[str]) -> bool:
    """A row under the header that is still header: merged cells repeat the header's region label or
    leave it blank, it holds some text, and none of its cells is a number."""
    cells = [str(c) for c in row]
    if not any(c.strip() for c in cells):
        return False
    for col in region_cols:
        cell = cells[col] if col < len(cells) else ""
        if cell.strip() and labels.key(cell) != labels.key(header[col]):
            return False
    return not any(number_or_none(c) is not None for c in cells if c.strip())


def _is_group_row(above: list[str], header: list[str]) -> bool:
    """A row over the header whose cells head metric columns only (merged group cells such as 加入者数
    over 被保険者数 / 被扶養者数), its first cell empty: a title line starts in the first column."""
    if not above or not _is_blank(above[0]) or not any(c.strip() for c in above):
        return False
    for col, cell in enumerate(above):
        if cell.strip():
            below = header[col] if col < len(header) else ""
            if below.strip() and _single_role(below) not in ("metric_column", "derived_metric"):
                return False
    return True


def header_block(rows: Sequence[Sequence[str]], start: int) -> tuple[int, int]:
    """(first, end): the rows [first, end) that make the header whose main row is `start`. A row just
    above with an empty first cell is a group row (merged cells over some columns); rows below that
    continue it (see _continues_header) are part of it too."""
    header = [str(c) for c in rows[start]]
    first = start
    if start > 0 and _is_group_row([str(c) for c in rows[start - 1]], header):
        first = start - 1
    region_cols = [i for i, c in enumerate(header) if _single_role(c) in ("region", "region_ja")]
    end = start + 1
    while end < len(rows) and end - first < MAX_HEADER_ROWS and _continues_header(rows[end], region_cols, header):
        end += 1
    return first, end


def _filled(block: list[list[str]], width: int) -> list[list[str]]:
    """The header rows with a merged group cell's label carried right over the columns it spans: a CSV
    keeps the label in the first cell of the merge only. A blank cell takes its left neighbour's label
    when the rows below it have text (it heads something) and its own column has no label higher up."""
    out = [(r + [""] * width)[:width] for r in block]
    for level in range(len(out) - 1):
        row = out[level]
        for col in range(1, width):
            below = any(out[k][col].strip() for k in range(level + 1, len(out)))
            above = any(out[k][col].strip() for k in range(level))
            # (and only when the left neighbour spans a sub-header too)
            if (
                not row[col].strip()
                and row[col - 1].strip()
                and below
                and not above
                and out[level + 1][col - 1].strip()
            ):
                row[col] = row[col - 1]
    return out


def match_columns(rows: Sequence[Sequence[str]], first: int, end: int) -> list[HeaderColumn]:
    """Every column of the header rows [first, end) matched to its role or metric; raises FileParseError
    naming the first column that matches nothing and where it is."""
    block = [[str(c) for c in rows[i]] for i in range(first, end)]
    width = max(len(r) for r in block)
    block = _filled(block, width)
    columns: list[HeaderColumn] = []
    for col in range(width):
        parts: list[str] = []
        for r in block:
            cell = r[col].strip()
            if cell and (not parts or labels.key(parts[-1]) != labels.key(cell) or not labels.key(cell)):
                parts.append(cell)
        if not parts:
            columns.append(HeaderColumn(col, (), None))
            continue
        columns.append(_match(col, tuple(parts), first))
    return columns


def _match(col: int, parts: tuple[str, ...], first_row: int) -> HeaderColumn:
    named = [p for p in parts if labels.key(p)]  # unit-only cells such as （人） carry no name
    position = f"column {column_letter(col)} (row {first_row + 1})"
    if not named:
        raise FileParseError(f"{position}: a unit {parts[0]!r} with no heading")
    main, groups = named[-1], named[:-1]
    role = _single_role(main)
    words = tuple(u for p in parts for u in labels.label(p).units)
    written = " / ".join(parts)
    if role in ("metric_column", "derived_metric"):
        metric = metrics.resolve_metric(main)
        for group in groups:
            if labels.column_role(group) == "group" or metrics.resolve_metric(group) is not None:  # 加入者数
                continue
            combined = metrics.resolve_metric(group + main)
            if combined is None:
                raise FileParseError(
                    f"{position}: header {written!r}: {group!r} over {main!r} makes it another figure "
                    f"than {main} (e.g. 任意継続被保険者数); not a statistic we know"
                )
            metric = combined
        problem = units.unit_problem(metric, words) if metric else None
        if problem:
            raise FileParseError(f"{position}: header {written!r}: {problem}")
        if metric in metrics.INPUT_METRIC_IDS:
            return HeaderColumn(col, parts, "metric_column", metric)
        return HeaderColumn(col, parts, "derived_metric", metric)
    if role is not None and role != "group":
        return HeaderColumn(col, parts, role)
    combined_metric = metrics.resolve_metric("".join(named))
    if combined_metric in metrics.INPUT_METRIC_IDS:
        return HeaderColumn(col, parts, "metric_column", combined_metric)
    near = metrics.near_metric(main)
    if near is not None:
        raise FileParseError(
            f"{position}: header {written!r} contains {metrics.BY_ID[near].name_ja} but is not it: "
            "not a statistic we know (the figures it holds would be loaded as another metric)"
        )
    if role == "group":
        raise FileParseError(f"{position}: header {written!r} is a group heading with nothing under it")
    raise FileParseError(
        f"{position}: header {written!r} is not a column we know; the known headers and metrics "
        "are listed in branchkpi/domain/header_synonyms.md (a remarks column may be headed 備考)"
    )
