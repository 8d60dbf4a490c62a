"""The mutants of one original KPI file: its rows as the gate read them (the facts: KPI, figure, unit,
places that state the year, wording), each mistake of kpi_mutations.py applied where it makes sense,
and whether a rule can know it (the Oracle, from those facts and the previous year's figures)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl

from branchkpi.domain import kpis
from branchkpi.domain.kpi_periods import stated_fiscal_years
from branchkpi.tasks.parse.kpi_cells import figure_unit
from branchkpi.warehouse import kpi_gate_reads
from tests.mutants.kpi_mutations import (
    Doc,
    Editor,
    Mutant,
    Oracle,
    Row,
    Table,
    as_fraction,
    lose_decimal_point,
    neighbours,
    period_index,
    shift_year,
)

_NEEDS_VALUE = {"ge", "le", "eq", "count_ge", "count_le", "single_bid_composite"}
_UNIT_OF = {k.id: k.unit for k in kpis.CATALOGUE}
Figures = dict[tuple[str, str, str, int], list[tuple[int, str, float]]]


def figures_of(resolved: Any, part: int, engine: Any) -> Figures:
    """What a row of this original is compared with: the warehouse's actuals, the original's own over them."""
    loaded = kpi_gate_reads.loaded_actuals(engine, None, list(range(1989, 2101)))
    own = resolved.actuals.filter(
        (pl.col("part") == part) & pl.col("value").is_not_null() & pl.col("kpi_id").is_not_null()
    ).rename({"reporting_unit": "unit_key"})
    out: dict[tuple[str, str, str, int], dict[str, tuple[int, str, float]]] = {}
    for frame in (loaded, own):
        for unit, fy, period, kpi_id, measure, value in frame.select(
            "unit_key", "fiscal_year", "period", "kpi_id", "unit", "value"
        ).iter_rows():
            if None not in (unit, fy, period, measure):
                out.setdefault((unit, kpi_id, measure, fy), {})[period] = (period_index(period), period, value)
    return {k: list(v.values()) for k, v in out.items()}


def oracle_of(resolved: Any, part: int, engine: Any) -> Oracle:
    wordings: dict[str, list[tuple[str, str]]] = {}
    for unit, text, kpi_id in (
        kpi_gate_reads.loaded_wordings(engine, None).select("unit_key", "kpi_text_ja", "kpi_id").rows()
    ):
        wordings.setdefault(unit, []).append((text, kpi_id))
    return Oracle(figures_of(resolved, part, engine), wordings)


def rows_of(resolved: Any, part: int, oracle: Oracle) -> list[Row]:
    """The original's data rows (targets and actuals) with the facts the oracle reads."""
    rows: list[Row] = []
    for r in resolved.targets.filter(pl.col("part") == part).iter_rows(named=True):
        if None in (r["kpi_id"], r["fiscal_year"], r["reporting_unit"]):
            continue
        by_id = r["kpi_raw"].lower() in kpis.BY_ID
        rows.append(
            Row(
                kind="targets",
                sheet=r["sheet"] or "",
                index=r["source_row"] - 1,
                unit_key=r["reporting_unit"],
                fiscal_year=r["fiscal_year"],
                period="FY",
                kpi_id=r["kpi_id"],
                value=r["target_value"],
                unit=r["unit"],
                states_unit=bool(r["unit_raw"]) or figure_unit(r["target_value_raw"] or "") is not None,
                places=1 if r["stated_fiscal_years"] else 0,
                wording=r["kpi_text_ja"] if by_id else None,
                wording_names=oracle.names(r["reporting_unit"], r["kpi_text_ja"] if by_id else None),
                value_checked=r["comparator"] in _NEEDS_VALUE,
            )
        )
    for r in resolved.actuals.filter(pl.col("part") == part).iter_rows(named=True):
        if None in (r["kpi_id"], r["fiscal_year"], r["reporting_unit"], r["period"]):
            continue
        states_year = r["period_fiscal_year"] is not None or r["period"][:1].isdigit()
        rows.append(
            Row(
                kind="actuals",
                sheet=r["sheet"] or "",
                index=r["source_row"] - 1,
                unit_key=r["reporting_unit"],
                fiscal_year=r["fiscal_year"],
                period=r["period"],
                kpi_id=r["kpi_id"],
                value=r["value"],
                unit=r["unit"],
                states_unit=bool(r["unit_raw"]) or r["value_unit"] is not None,
                places=int(states_year) + int(r["as_of_month"] is not None) + int(bool(r["stated_fiscal_years"])),
                wording=r["kpi_text_ja"],
                wording_names=oracle.names(r["reporting_unit"], r["kpi_text_ja"]),
                value_checked=True,
            )
        )
    return rows


def mutants_of(name: str, content: bytes, part: int, resolved: Any, engine: Any) -> list[Mutant]:
    """Every mistake of every class that applies to this original."""
    doc = Doc(name, content)
    oracle = oracle_of(resolved, part, engine)
    rows = rows_of(resolved, part, oracle)
    tables = {t.sheet: t for t in doc.tables}
    made: list[Mutant] = []
    for row in rows:
        table = tables.get(row.sheet)
        if table is None:
            continue
        made += _figure_mistakes(doc, table, row, oracle)
        made += _year_mistakes(doc, table, row, rows)
        made += _duplicate(doc, table, row)
    for a, b in neighbours(rows):
        table = tables.get(a.sheet)
        if table is not None:
            made += _swaps(doc, table, a, b, rows, oracle)
    for table in doc.tables:
        made += _title_year(doc, table, [r for r in rows if r.sheet == table.sheet])
    return made


def _value_column(table: Table, row: Row) -> int | None:
    if row.kind == "actuals":
        return table.roles.get("value")
    return table.roles.get("target_value", table.roles.get("target_text"))


def _mutant(doc: Doc, mistake: str, where: str, edit: Any, why: str | None, unknowable: str) -> Mutant:
    return Mutant(mistake, doc.name, doc.name, doc.edited(edit), where, why is not None, why or unknowable)


def _figure_mistakes(doc: Doc, table: Table, row: Row, oracle: Oracle) -> Iterator[Mutant]:
    column = _value_column(table, row)
    if column is None or row.value is None:
        return
    cell = doc.value(row.sheet, row.index, column)
    fmt = doc.number_format(row.sheet, row.index, column)
    where = f"{row.sheet or 'csv'} row {row.index + 1} {row.kpi_id}"
    lost = lose_decimal_point(cell, fmt)
    if lost is not None and lost[1] != row.value:
        new_cell, read = lost

        def edit(e: Editor, new: Any = new_cell) -> None:
            e.set(row.sheet, row.index, column, new)

        why = oracle.figure_tells(row, row.kpi_id, read, row.unit)
        yield _mutant(doc, "decimal_point_lost", f"{where} {cell!r}→{new_cell!r}", edit, why, "the figure fits")
    if row.unit == "pct" and row.value:
        fraction = as_fraction(cell, fmt)
        if fraction is not None:
            new_cell, new_fmt, read = fraction

            def edit(e: Editor, new: Any = new_cell, f: str = new_fmt) -> None:
                e.set(row.sheet, row.index, column, new, f if doc.xlsx else None)

            why = oracle.figure_tells(row, row.kpi_id, read, row.unit)
            unknowable = "no range below it and no previous actual (a flow during the year, or a share that may be 0)"
            yield _mutant(doc, "fraction_for_percent", f"{where} {cell!r}→{new_cell!r}", edit, why, unknowable)


def _year_mistakes(doc: Doc, table: Table, row: Row, rows: list[Row]) -> Iterator[Mutant]:
    by = 1 if row.index % 2 == 0 else -1
    where = f"{row.sheet or 'csv'} row {row.index + 1} {row.kpi_id}"
    column = table.roles.get("fiscal_year")
    if column is not None:
        cell = doc.value(row.sheet, row.index, column)
        shifted = shift_year(cell, by)
        if shifted is not None:
            clash = any(
                (o.kind, o.unit_key, o.fiscal_year, o.period, o.kpi_id)
                == (row.kind, row.unit_key, row.fiscal_year + by, row.period, row.kpi_id)
                for o in rows
                if o is not row
            )
            why = (
                "another place states the year" if row.places else ("its key is then another row's" if clash else None)
            )

            def edit(e: Editor, new: Any = shifted) -> None:
                e.set(row.sheet, row.index, column, new)

            unknowable = "no other place states the year (期間 FY, no 時点, no title)"
            yield _mutant(doc, "fiscal_year_off_by_one", f"{where} 年度 {cell!r}→{shifted!r}", edit, why, unknowable)
    for role in ("period", "as_of"):
        column = table.roles.get(role)
        if column is None or row.kind != "actuals":
            continue
        cell = doc.value(row.sheet, row.index, column)
        shifted = shift_year(cell, by)
        if shifted is None:
            continue

        def edit(e: Editor, new: Any = shifted, c: int = column) -> None:
            e.set(row.sheet, row.index, c, new)

        yield _mutant(doc, "fiscal_year_off_by_one", f"{where} {role} {cell!r}→{shifted!r}", edit, "年度 states it", "")


def _title_year(doc: Doc, table: Table, rows: list[Row]) -> Iterator[Mutant]:
    """The year of the title line or of the sheet name one off."""
    places = [
        (r, c) for r in table.title_rows for c, v in enumerate(doc.sheets[table.sheet][r]) if stated_fiscal_years(v)
    ]
    if places:
        r, c = places[0]
        old = doc.sheets[table.sheet][r][c]
        new = shift_year(old, 1)
        if new is not None:
            stated = set(stated_fiscal_years(new))
            why = "a row's 年度 is not the title's" if any(x.fiscal_year not in stated for x in rows) else None

            def edit(e: Editor) -> None:
                e.set(table.sheet, r, c, new)

            yield _mutant(doc, "fiscal_year_off_by_one", f"title {old!r}→{new!r}", edit, why, "the title still fits")
    if doc.xlsx and stated_fiscal_years(table.sheet):
        new_name = shift_year(table.sheet, 1)
        if new_name:
            stated = set(stated_fiscal_years(new_name))
            why = "a row's 年度 is not the sheet's" if any(x.fiscal_year not in stated for x in rows) else None

            def rename(e: Editor) -> None:
                e.rename(table.sheet, new_name)

            yield _mutant(doc, "fiscal_year_off_by_one", f"sheet {table.sheet!r}→{new_name!r}", rename, why, "")


def _duplicate(doc: Doc, table: Table, row: Row) -> Iterator[Mutant]:
    column = _value_column(table, row)
    where = f"{row.sheet or 'csv'} row {row.index + 1} {row.kpi_id}"

    def edit(e: Editor) -> None:
        e.copy_row_after(row.sheet, row.index)
        if column is not None:
            e.set(row.sheet, row.index + 1, column, _another(doc.value(row.sheet, row.index, column)))

    yield _mutant(doc, "duplicate_row_other_value", where, edit, "the key is given twice", "")


def _another(value: Any) -> Any:
    """Another figure in the same form: 92.8% → 93.8%, 46,783人 → 46,784人, 0.9582 → 1.9582."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value + 1
    text = str(value or "")
    for i in range(len(text) - 1, -1, -1):
        if text[i].isdigit():
            return text[:i] + str((int(text[i]) + 1) % 10) + text[i + 1 :]
    return text + "1" if text else "1"


def _swaps(doc: Doc, table: Table, a: Row, b: Row, rows: list[Row], oracle: Oracle) -> Iterator[Mutant]:
    where = f"{a.sheet or 'csv'} rows {a.index + 1}/{b.index + 1} {a.kpi_id}/{b.kpi_id}"
    kpi_column = table.roles.get("kpi_id", table.roles.get("kpi_text_ja"))
    if kpi_column is not None:
        ca, cb = doc.value(a.sheet, a.index, kpi_column), doc.value(b.sheet, b.index, kpi_column)
        if ca != cb:
            mistake = "kpi_id_swapped" if str(ca).strip().lower() in kpis.BY_ID else "kpi_wording_swapped"

            def edit(e: Editor, c: int = kpi_column, x: Any = ca, y: Any = cb) -> None:
                e.set(a.sheet, a.index, c, y)
                e.set(b.sheet, b.index, c, x)

            others = [r for r in rows if r is not a and r is not b]
            why = _swap_tells(a, b.kpi_id, others, oracle) or _swap_tells(b, a.kpi_id, others, oracle)
            yield _mutant(doc, mistake, where, edit, why, "each figure fits the other KPI, units not stated")
    text_column = table.roles.get("kpi_text_ja") if "kpi_id" in table.roles else None
    if text_column is not None:
        ta, tb = doc.value(a.sheet, a.index, text_column), doc.value(b.sheet, b.index, text_column)
        if ta and tb and ta != tb:

            def edit(e: Editor, c: int = text_column, x: Any = ta, y: Any = tb) -> None:
                e.set(a.sheet, a.index, c, y)
                e.set(b.sheet, b.index, c, x)

            moved = (oracle.names(a.unit_key, b.wording), a.kpi_id), (oracle.names(b.unit_key, a.wording), b.kpi_id)
            why = next((f"the wording names {sorted(n)}" for n, k in moved if n and k not in n), None)
            yield _mutant(doc, "kpi_wording_swapped", f"{where} wordings", edit, why, "a wording of no loaded plan")


def _swap_tells(row: Row, new: str, others: list[Row], oracle: Oracle) -> str | None:
    """Why a row cannot be of KPI `new`: its stated unit, its figure, its wording, or its key then
    another row's (`others`: the file's rows but the two swapped)."""
    unit = row.unit if row.states_unit else _UNIT_OF[new]
    if row.states_unit and row.unit != _UNIT_OF[new]:
        return f"the row states {row.unit}, {new} is in {_UNIT_OF[new]}"
    if row.wording_names and new not in row.wording_names:
        return f"the wording beside it names {sorted(row.wording_names)}"
    key = (row.kind, row.unit_key, row.fiscal_year, row.period, new)
    if any((o.kind, o.unit_key, o.fiscal_year, o.period, o.kpi_id) == key for o in others):
        return "its key is then another row's"
    return oracle.figure_tells(row, new, row.value, unit)
