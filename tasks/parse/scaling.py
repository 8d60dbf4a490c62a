"""The unit of every figure of a table, read wherever the file states it, and applied: the cell's own
unit word (`260,511人`), a unit column, the column's header or units row (`被保険者数（千人）`), the table's
title or note lines (`（単位：千人）`). Each word is applied by the unit table (branchkpi.domain.units)
only to the metrics it fits: 千人 → ×1,000 for 被保険者数, 千円 → ×1/1,000 for 保険給付費 (stored in
百万円). A word that fits nothing, or two places that state different units for one figure, refuse the
file naming the places; a cell whose own unit does not fit is a critical finding naming the cell."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from branchkpi.domain import metrics, numbers, units
from branchkpi.domain.findings import Finding
from branchkpi.tasks.landing import LandedFile
from branchkpi.tasks.parse.cells import FileParseError, map_unique, number_or_none
from branchkpi.tasks.parse.context import Statement

# a cell that may carry a unit word: a digit followed by something that is no digit, sign or separator
_HAS_TAIL = r"[0-9０-９][^0-9０-９,，.．\s)）]+\s*$"
_DECIMALS = 9  # 260.7 × 1,000 is 260700.00000000003 in binary: rounded back to what was written


def _name(metric: str) -> str:
    return metrics.BY_ID[metric].name_ja if metric in metrics.BY_ID else metric


def _factors(statements: Sequence[Statement], table_metrics: set[str], what: str) -> dict[str, Statement]:
    """metric → the statement whose unit applies to it; refuses an unknown word, a word that fits none
    of the metrics, and two statements that give one metric different units."""
    chosen: dict[str, Statement] = {}
    for st in statements:
        word = str(st.value)
        if units.unit(word) is None:
            raise FileParseError(f"{st.place}: {word!r} is not a unit we know (branchkpi/domain/header_synonyms.md)")
        if units.states_no_unit(word):
            continue
        fits = [m for m in sorted(table_metrics) if units.factor(m, word) is not None]
        if not fits:
            names = ", ".join(_name(m) for m in sorted(table_metrics)) or "none"
            raise FileParseError(f"{st.place}: the unit {word} fits none of the {what}'s figures ({names})")
        for m in fits:
            if m in chosen and units.factor(m, str(chosen[m].value)) != units.factor(m, word):
                raise FileParseError(
                    f"two units for {_name(m)}: {chosen[m].place} ({chosen[m].value}) vs {st.place} ({word})"
                )
            chosen.setdefault(m, st)
    return chosen


def apply_units(
    frame: pl.DataFrame,
    table_units: Sequence[Statement],
    column_units: Mapping[str, Sequence[Statement]],
    landed: LandedFile,
    sheet: str | None,
    unit_cells: pl.Series | None = None,
    unit_header: str = "",
    table_metrics: set[str] | None = None,
) -> tuple[pl.DataFrame, list[Finding]]:
    """`frame`: a table's long rows (metric, value_raw, value, source_column, source_row); the units of
    the table's lines, of its columns (by source_column) and, from a unit column, of each row;
    `table_metrics` the metrics of the whole table when `frame` is a part of it (its 合計 column).
    Returns the rows with their values in the stored unit, less the cells refused (with findings)."""
    if frame.height == 0:
        return (
            frame if "printed_unit" in frame.columns else frame.with_columns(printed_unit=pl.lit(None, pl.Float64))
        ), []
    present = set(frame["metric"].drop_nulls().unique().to_list())
    table = {m: st for m, st in _factors(table_units, table_metrics or present, "table").items() if m in present}
    rows: list[tuple[str, str, float, str]] = []  # (source_column, metric, factor, place)
    for column, statements in column_units.items():
        in_column = set(frame.filter(pl.col("source_column") == column)["metric"].drop_nulls().unique().to_list())
        own = _factors(statements, in_column, "column")
        for m in in_column:
            if m not in own and statements and not all(units.states_no_unit(str(s.value)) for s in statements):
                raise FileParseError(f"{statements[0].place}: the unit {statements[0].value} does not fit {_name(m)}")
            if m in own and m in table and units.factor(m, str(own[m].value)) != units.factor(m, str(table[m].value)):
                raise FileParseError(
                    f"two units for {_name(m)}: {table[m].place} ({table[m].value}) vs {own[m].place} ({own[m].value})"
                )
        rows += [(column, m, units.factor(m, str(st.value)) or 1.0, st.place) for m, st in own.items()]
    stated = pl.DataFrame(
        rows, schema={"source_column": pl.String, "metric": pl.String, "_f": pl.Float64, "_at": pl.String}, orient="row"
    )
    table_rows = [(m, units.factor(m, str(st.value)) or 1.0, st.place) for m, st in table.items()]
    whole = pl.DataFrame(table_rows, schema={"metric": pl.String, "_tf": pl.Float64, "_tat": pl.String}, orient="row")
    out = (
        frame.with_row_index("_r")
        .join(stated, on=["source_column", "metric"], how="left")
        .join(whole, on="metric", how="left")
        .with_columns(_f=pl.coalesce("_f", "_tf"), _at=pl.coalesce("_at", "_tat"))
        .drop("_tf", "_tat")
    )
    if unit_cells is not None:
        out = out.with_columns(_unit=unit_cells)
    out, findings = _cell_units(out, landed, sheet, unit_header if unit_cells is not None else None)
    value = pl.when(pl.col("_cf").is_not_null()).then(pl.col("_cv") * pl.col("_cf")).otherwise(pl.col("value"))
    factor = pl.coalesce("_cf", "_f", pl.lit(1.0))
    decimals = pl.col("value_raw").str.extract(r"[.．]([0-9０-９]+)[^0-9０-９]*$", 1).str.len_chars().fill_null(0)
    out = out.with_columns(
        value=(value * pl.col("_f").fill_null(1.0)).round(_DECIMALS),
        printed_unit=(factor * (10.0 ** (-decimals.cast(pl.Float64)))).round(_DECIMALS),
    )
    return out.sort("_r").drop("_r", "_f", "_at", "_cf", "_cv", "_unit", strict=False), findings


def _cell_units(
    out: pl.DataFrame, landed: LandedFile, sheet: str | None, unit_header: str | None
) -> tuple[pl.DataFrame, list[Finding]]:
    """The unit a cell writes after its figure (`2,237,406事業所`), or its row's unit column: its factor
    for the row's metric (`_cf`, the figure without it `_cv`), replacing the column's (`_f`, set to 1).
    A unit that does not fit the metric, or differs from the one its column or table states, is a
    finding and the row leaves the frame."""
    raw = out["value_raw"].cast(pl.String)
    tails = out.filter(raw.str.contains(_HAS_TAIL).fill_null(False))
    split = {v: numbers.split_unit(v, units.is_unit_word) for v in tails["value_raw"].unique().to_list()}
    words = out["value_raw"].replace_strict({k: w for k, (_, w) in split.items()}, default=None, return_dtype=pl.String)
    figures = {k: number_or_none(n) for k, (n, w) in split.items() if w is not None}
    out = out.with_columns(
        _word=words, _cv=out["value_raw"].replace_strict(figures, default=None, return_dtype=pl.Float64)
    )
    from_column = "_unit" in out.columns
    if from_column:
        blank = map_unique(out["_unit"], lambda u: numbers.is_blank(u) or units.states_no_unit(u), pl.Boolean)
        out = out.with_columns(_word=pl.coalesce("_word", pl.when(~blank.fill_null(True)).then(pl.col("_unit"))))
    pairs = out.filter(pl.col("_word").is_not_null()).select("metric", "_word").unique().rows()
    fit = pl.DataFrame(
        [(m, w, units.factor(m, w) if m is not None else None) for m, w in pairs],
        schema={"metric": pl.String, "_word": pl.String, "_cf": pl.Float64},
        orient="row",
    )
    out = out.join(fit, on=["metric", "_word"], how="left", nulls_equal=False)
    out = out.with_columns(_cv=pl.when(pl.col("_cf").is_not_null()).then(pl.coalesce("_cv", "value")))
    bad = out.filter(
        pl.col("_word").is_not_null()
        & pl.col("metric").is_not_null()
        & (pl.col("_cf").is_null() | (pl.col("_f").is_not_null() & (pl.col("_cf") != pl.col("_f"))))
    )
    findings = [
        Finding(
            landed.file_name,
            "unit_fits_metric",
            _cell_reason(r, unit_header),
            file_id=landed.id,
            source_row=r["source_row"],
            column_name=unit_header if from_column and r.get("_unit") == r["_word"] else r["source_column"],
            value_text=r["_unit"] if from_column and r.get("_unit") == r["_word"] else r["value_raw"],
            sheet=sheet,
        )
        for r in bad.head(1000).iter_rows(named=True)
    ]
    out = out.filter(~pl.col("_r").is_in(bad["_r"])).with_columns(
        _f=pl.when(pl.col("_cf").is_not_null()).then(None).otherwise(pl.col("_f"))
    )
    return out.drop("_word"), findings


def _cell_reason(row: dict[str, object], unit_header: str | None) -> str:
    metric, word = str(row["metric"]), str(row["_word"])
    if units.unit(word) is None:
        return f"{word!r} is not a unit we know (branchkpi/domain/header_synonyms.md)"
    if row["_cf"] is None:
        return f"the unit {word} does not fit {_name(metric)} ({'/'.join(units.fitting_words(metric)[:8])})"
    return f"the cell's unit {word} differs from the one {row['_at']} states for {_name(metric)}"
