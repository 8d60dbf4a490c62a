"""What a statistics file says about itself outside its table's cells: its file name, its sheet's name
and the lines around a table (見出し, 単位, 注記), each read for the fiscal year, the month, the region,
the metric and the unit it states: a `Statement` naming its place (`A1 '令和2年度 山口支部'`, `年度 C2
'令和2年度'`, `the sheet name '令和2年10月'`). A line that is neither a title, a unit line, a note nor
blank is kept as `unread`, for the run summary: never skipped silently.

`TableContext` is what applies to one table; two places that state different things refuse the file,
naming both (which one is meant cannot be known)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from branchkpi.domain import fiscal, labels, metrics, regions, units
from branchkpi.domain.findings import Finding
from branchkpi.domain.regions import NATIONAL_CODE
from branchkpi.tasks.parse.cells import FileParseError, number_or_none
from branchkpi.tasks.parse.headers import column_letter

if TYPE_CHECKING:
    from branchkpi.tasks.landing import LandedFile

NOTE_MARKS = ("※", "＊", "*", "注", "(注", "（注", "〔注")
# a label cell of a line above a table whose value is the next cell (`年度 | 令和2年度`, `単位 | 千人`)
_KEY_ROLES = frozenset({"fiscal_year", "period", "month", "region", "unit", "calendar_year"})
_TOKENS = re.compile(r"[\s、,，・/／]+|の")


@dataclass(frozen=True)
class Statement:
    what: str  # fiscal_year, period, month, region, metric, near_metric, unit
    value: Any  # FY (int), fiscal.Period, month (int), region code, metric id, unit word
    place: str  # as a person finds it: `A1 '令和2年度 山口支部'`, `the file name 'x.csv'`
    binding: bool = True  # False when the place states several values of its kind (a range, a comparison)


def shown(statement: Statement) -> str:
    """The value as a person reads it: FY2020, 2020-04, 山口, 被保険者数, 千人."""
    value = statement.value
    if statement.what == "fiscal_year":
        return f"FY{value}"
    if statement.what == "period":
        return str(value.calendar_label)
    if statement.what == "month":
        return f"{value}月"
    if statement.what == "region":
        return regions.BY_CODE[value].name_ja
    if statement.what in ("metric", "near_metric"):
        return metrics.BY_ID[value].name_ja if value in metrics.BY_ID else str(value)
    return str(value)


def _many(found: list[Statement]) -> list[Statement]:
    """Statements of one place: when it states several values of one kind, none of them binds."""
    out = []
    for st in found:
        same = [s for s in found if s.what == st.what]
        out.append(st if len({s.value for s in same}) == 1 else Statement(st.what, st.value, st.place, False))
    return out


def text_statements(text: str, place: str, with_units: bool = True) -> list[Statement]:
    """What one title cell, sheet or file name states."""
    found: list[Statement] = [Statement("fiscal_year", fy, place) for fy in fiscal.fiscal_years_in(text)]
    periods = fiscal.periods_in(text)
    found += [Statement("period", p, place) for p in periods]
    if not periods:
        found += [Statement("month", m, place) for m in fiscal.months_in(text)]
    found += [Statement("region", code, place) for code in regions.regions_named_in(text)]
    tokens = [t for t in _TOKENS.split(text) if t.strip()]
    for i, token in enumerate([text, *tokens]):
        metric = metrics.resolve_metric(token)
        near = metrics.near_metric(token) if i > 0 and metric is None else None
        if metric is not None:
            found.append(Statement("metric", metric, place))
        elif near is not None:  # `◆任意継続被保険者数`: never read as 被保険者数, remembered to refuse
            found.append(Statement("near_metric", near, place))
    if with_units:
        stated = units.stated_units(text) or list(labels.label(text).units)
        found += [Statement("unit", word, place) for word in stated]
    return _many(list(dict.fromkeys(found)))


_UNIT_ONLY = re.compile(r"[\s(\[【〔<]*単位\s*[:は]?[^)\]】〕>]*[)\]】〕>]*\s*")


def unit_only(cell: str) -> list[str]:
    """The unit words of a cell that says nothing but `単位：…` (`（単位：千人）`, `単位：人、百万円`), as
    offices put beside a header: a statement for the table, not a column. [] for any other cell."""
    text = labels.fold(str(cell))
    return (units.stated_units(text) or []) if text and _UNIT_ONLY.fullmatch(text) else []


def header_units(rows: list[list[str]], first: int, end: int, body_start: int) -> tuple[list[list[str]], list[Line]]:
    """The header rows [first, end) with each unit-only cell whose column is empty in the body blanked,
    and those cells as unit lines of the table (so `（単位：千人）` at the header's right end applies)."""
    out = [list(r) for r in rows]
    lines: list[Line] = []
    for i in range(first, end):
        for j, cell in enumerate(out[i]):
            words = unit_only(str(cell))
            below = any(j < len(r) and str(r[j]).strip() for r in rows[body_start:])
            if words and not below:
                place = f"{column_letter(j)}{i + 1} {str(cell)!r}"
                lines.append(Line(i + 1, "unit", tuple(Statement("unit", w, place) for w in words), str(cell)))
                out[i][j] = ""
    return out, lines


def _stem(name: str) -> str:
    return re.sub(r"\.(csv|tsv|txt|xlsx|xlsm)$", "", name, flags=re.IGNORECASE)


def name_statements(file_name: str) -> list[Statement]:
    """What a file name states: `monthly_stats_FY2005.csv`, `yamaguchi_insured_persons.csv`,
    `山口_被扶養者数_令和2年度.xlsx`. Its metric is one of its words exactly (metrics.metric_named_in)."""
    return _name_statements(_stem(file_name), f"the file name {file_name!r}")


def sheet_statements(sheet: str | None) -> list[Statement]:
    return _name_statements(sheet, f"the sheet name {sheet!r}") if sheet else []


def _name_statements(text: str, place: str) -> list[Statement]:
    found = [s for s in text_statements(text, place, with_units=False) if s.what not in ("metric", "near_metric")]
    metric = metrics.metric_named_in(text)
    return found + ([Statement("metric", metric, place)] if metric else [])


@dataclass(frozen=True)
class Line:
    """A line outside a table: its kind (blank, title, unit, note, unread) and what it states."""

    row: int  # as the file numbers it (1-based)
    kind: str
    statements: tuple[Statement, ...] = ()
    text: str = ""


def _cell_place(row: int, col: int, text: str, label: str = "") -> str:
    return f"{label + ' ' if label else ''}{column_letter(col)}{row} {text!r}"


def classify_line(cells: list[str], row: int) -> Line:
    """A line above, between or below tables: blank; a note (※ …: only its units are read); a title, whose
    cells (or `label | value` pairs such as `年度 | 令和2年度`) state a fiscal year, month, region, metric or
    unit; a unit line (`（単位：千人）`); else `unread` (a figure outside any table, for the run summary)."""
    filled = [(j, str(c).strip()) for j, c in enumerate(cells) if str(c).strip()]
    text = " ".join(c for _, c in filled)
    if not filled:
        return Line(row, "blank")
    if filled[0][1].startswith(NOTE_MARKS):
        stated = units.stated_units(text) or []
        return Line(
            row, "note", tuple(Statement("unit", w, _cell_place(row, filled[0][0], text)) for w in stated), text
        )
    found: list[Statement] = []
    skip: set[int] = set()
    for k, (j, cell) in enumerate(filled):
        if j in skip:
            continue
        role = labels.column_role(cell)
        if role in _KEY_ROLES and k + 1 < len(filled):
            nj, value = filled[k + 1]
            skip.add(nj)
            place = _cell_place(row, nj, value, cell)
            if role == "unit":
                found += [Statement("unit", w, place) for w in (units.stated_units(f"単位:{value}") or [value])]
            elif role == "region":
                found += [Statement("region", code, place) for code in regions.regions_named_in(value)]
            else:
                found += text_statements(value, place, with_units=False)
            continue
        if number_or_none(cell) is not None:
            return Line(row, "unread", (), text)
        found += text_statements(cell, _cell_place(row, j, cell))
    kind = "unit" if found and all(s.what == "unit" for s in found) else "title"
    return Line(row, kind, tuple(found), text)


@dataclass
class TableContext:
    """The statements that apply to one table: file name, sheet name and the table's own lines."""

    statements: list[Statement] = field(default_factory=list)

    def of(self, *what: str) -> list[Statement]:
        return [s for s in self.statements if s.what in what and s.binding]

    def fiscal_year(self) -> Statement | None:
        """The one fiscal year the places state (a period's fiscal year counts); two that differ refuse."""
        stated = [
            s if s.what == "fiscal_year" else Statement("fiscal_year", s.value.fiscal_year, s.place)
            for s in self.of("fiscal_year", "period")
        ]
        return _agreed(stated, "fiscal year")

    def period(self) -> Statement | None:
        """The month of a given fiscal year the places state (`令和2年10月`, or 10月 with 令和2年度)."""
        period = _agreed(self.of("period"), "month")
        month = _agreed(self.of("month"), "month")
        if period is not None and month is not None and period.value.month != month.value:
            raise contradiction("month", period, month)
        if period is not None:
            return period
        fy = self.fiscal_year()
        if month is not None and fy is not None:
            return Statement("period", fiscal.Period(fy.value, month.value), f"{fy.place} and {month.place}")
        return None

    def month(self) -> Statement | None:
        period = self.period()
        if period is not None:
            return Statement("month", period.value.month, period.place)
        return _agreed(self.of("month"), "month")

    def region(self) -> Statement | None:
        """The branch the places name (two different branches refuse), else 全国 when one names it."""
        stated = self.of("region")
        branches = [s for s in stated if s.value != NATIONAL_CODE]
        if branches:
            return _agreed(branches, "region")
        return stated[0] if stated else None

    def metrics(self) -> tuple[set[str], Statement | None]:
        """The metrics every place that names some allows (a place naming 被保険者数・被扶養者数 allows
        both; 加入者数 stands for both), and the place of the narrowest; places naming metrics with
        nothing in common refuse the file."""
        by_place: dict[str, tuple[set[str], Statement]] = {}
        for st in (s for s in self.statements if s.what == "metric"):
            parts, first = by_place.get(st.place, (set(), st))
            by_place[st.place] = (parts | set(metrics.parts_of(st.value)), first)
        allowed: set[str] | None = None
        narrowest: Statement | None = None
        for parts, st in by_place.values():
            if allowed is not None and narrowest is not None and not allowed & parts:
                raise contradiction("metric", narrowest, st)
            if allowed is None or len(parts) < len(allowed):
                narrowest = st
            allowed = parts if allowed is None else allowed & parts
        return allowed or set(), narrowest

    def near_metric(self) -> Statement | None:
        near = self.of("near_metric")
        return near[0] if near else None

    def units(self) -> list[Statement]:
        return [s for s in self.statements if s.what == "unit"]


def _agreed(stated: list[Statement], what: str) -> Statement | None:
    for other in stated[1:]:
        if other.value != stated[0].value:
            raise contradiction(what, stated[0], other)
    return stated[0] if stated else None


def contradiction(what: str, a: Statement, b: Statement) -> FileParseError:
    return FileParseError(
        f"the {what} is stated twice and differently: {a.place} ({shown(a)}) vs {b.place} ({shown(b)}); "
        "which one is meant cannot be known"
    )


def build(file_name: str, sheet: str | None, lines: list[Line]) -> TableContext:
    statements = name_statements(file_name) + sheet_statements(sheet)
    for line in lines:
        statements += line.statements
    return TableContext(statements)


def unread_lines(lines: list[Line], landed: LandedFile, sheet: str | None) -> list[Finding]:
    """Lines outside the table that are neither a title, a unit line, a note nor blank: in the run
    summary, never skipped silently."""
    return [
        Finding(
            landed.file_name,
            "line_not_read",
            "a line outside the table that is no title, unit line or note (a figure with no header?): not read",
            severity="warning",
            file_id=landed.id,
            source_row=line.row,
            value_text=line.text,
            sheet=sheet,
        )
        for line in lines
        if line.kind == "unread"
    ][:1000]
