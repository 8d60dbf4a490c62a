"""Which KPI each row of a KPI batch names, by the exact rule of branchkpi.domain.kpi_names: a row given
by id or catalogue name was resolved when parsed; a row given by a plan's wording resolves here, against
the wordings loaded with its unit's targets (warehouse) and those of the batch's own targets. A row
whose text fits several KPIs or only part of one keeps no KPI (the gate refuses it, listing the
candidates), and a row whose id and wording name different KPIs is refused too."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from typing import Any

import polars as pl

from branchkpi.domain import kpis
from branchkpi.domain.kpi_names import KpiNames
from branchkpi.tasks.parse.batch import ParsedKpiBatch
from branchkpi.tasks.parse.kpi_cells import map_distinct

_UNIT_OF = {k.id: k.unit for k in kpis.CATALOGUE}
NAMING_COLUMNS = {"kpi_id_named": pl.String, "kpi_naming": pl.String, "kpi_text_conflict": pl.String}


def resolve_names(batch: ParsedKpiBatch, loaded_wordings: pl.DataFrame) -> ParsedKpiBatch:
    """The batch with each row's KPI resolved (kpi_id) and, for the gate, why a text named none
    (kpi_naming: the candidates) and where an id and its wording disagree (kpi_text_conflict).
    `loaded_wordings`: unit_key, kpi_id, kpi_text_ja of the warehouse's targets (warehouse.kpi_gate_reads)."""
    loaded = _pairs(loaded_wordings.rename({"unit_key": "reporting_unit"}))
    own = _pairs(batch.targets.filter(pl.col("kpi_id").is_not_null()))

    @cache
    def names(unit: str | None, part: int, with_batch: bool) -> KpiNames:
        pairs = loaded.get((unit, None), []) + (own.get((unit, part), []) if with_batch else [])
        return KpiNames.with_wordings(pairs)

    def rule(part: int, unit: str | None, raw: str, kpi_id: str | None, text: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {"kpi_id_named": kpi_id, "kpi_naming": None, "kpi_text_conflict": None}
        if kpi_id is None and raw:
            naming = names(unit, part, True).resolve(raw)
            out["kpi_id_named"], out["kpi_naming"] = naming.kpi_id, naming.explanation or None
        elif kpi_id is not None and text:
            # the wording against what was loaded before (the batch's own rows would vouch for themselves)
            naming = names(unit, part, False).resolve(text)
            named = {naming.kpi_id} if naming.kpi_id else set(naming.candidates if naming.how == "ambiguous" else ())
            if named and kpi_id not in named:
                out["kpi_text_conflict"] = f"{text!r} names {', '.join(sorted(named))}, not {kpi_id}"
        return out

    def resolved(frame: pl.DataFrame, text_column: str | None) -> pl.DataFrame:
        text = pl.col(text_column) if text_column else pl.lit(None, pl.String)
        work = frame.with_columns(_text=text)
        inputs = ["part", "reporting_unit", "kpi_raw", "kpi_id", "_text"]
        work = map_distinct(work, inputs, NAMING_COLUMNS, rule)
        return work.with_columns(kpi_id=pl.col("kpi_id_named")).drop("_text", "kpi_id_named")

    targets = _with_catalogue_unit(resolved(batch.targets, "kpi_text_ja"), blank_unit=pl.col("unit_raw") == "")
    actuals = _with_catalogue_unit(
        resolved(batch.actuals, "kpi_text_ja"),
        blank_unit=(pl.col("unit_raw") == "") & pl.col("value_unit").is_null(),
    )
    structure = resolved(batch.structure, None)
    return replace(batch, targets=targets, actuals=actuals, structure=structure)


def _pairs(frame: pl.DataFrame) -> dict[tuple[str | None, int | None], list[tuple[str | None, str | None]]]:
    """(unit, part) → [(wording, kpi_id)]; the warehouse's under part None (they hold for every part)."""
    out: dict[tuple[str | None, int | None], list[tuple[str | None, str | None]]] = {}
    has_part = "part" in frame.columns
    columns = ["reporting_unit", "kpi_text_ja", "kpi_id", *(["part"] if has_part else [])]
    for row in frame.select(columns).filter(pl.col("kpi_text_ja").is_not_null()).unique().iter_rows():
        part = row[3] if has_part else None
        out.setdefault((row[0], part), []).append((row[1], row[2]))
    return out


def _with_catalogue_unit(frame: pl.DataFrame, blank_unit: pl.Expr) -> pl.DataFrame:
    """A row whose KPI was named by its wording and that gives no unit takes the KPI's own, as a row
    named by id did when it was parsed."""
    catalogue = pl.col("kpi_id").replace_strict(_UNIT_OF, default=None, return_dtype=pl.String)
    return frame.with_columns(unit=pl.when(pl.col("unit").is_null() & blank_unit).then(catalogue).otherwise("unit"))
