"""Evaluate every target of the plan for a fiscal year (closed: ○ achieved / × missed) or a quarter
(in the year: ○ on_track / △ at_risk), with — not_evaluable and the reason wherever a mark cannot be
given. Every run is stored with its inputs (evaluation_runs, kpi_evaluations), so a changed mark can
be explained later.

Which actual counts: for the fiscal year, the FY figure, else the latest dated one of the year (e.g.
generic_drug_share measured on September claims); for quarter q, the latest figure up to the end of
that quarter (Q1…Qq or a month). The previous year's figure is taken at the same point for
cumulative KPIs and at the year's end for level KPIs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from branchkpi.domain import kpis, plan_items, reasons, target_rules
from branchkpi.domain.target_rules import STATUS_ORDER, Judgement
from branchkpi.tasks.evaluate import by_frame, one_by_one, picking
from branchkpi.tasks.evaluate.picking import period_end_index
from branchkpi.warehouse import evaluations

__all__ = ["COLUMNS", "Evaluation", "evaluate", "evaluate_years", "period_end_index", "run_evaluations", "store"]

COLUMNS = [
    "unit_key",
    "unit_name",
    "fiscal_year",
    "period",
    "kpi_id",
    "group",
    "comparator",
    "target_value",
    "target_text",
    "unit",
    "actual",
    "actual_period",
    "previous",
    "previous_period",
    "threshold",
    "status",
    "mark",
    "reason",
    "reason_ja",
    "group_ja",
    "item_no",
    "item_ja",
    "sub_item_no",
    "sub_item_ja",
    "item_mark",
]
_PLACE = one_by_one.PLACE
_ORDER = STATUS_ORDER
# an evaluation's rows as a frame: COLUMNS, the judgement's inputs (JSON, as stored) and the place in the plan
ROW: dict[str, Any] = {
    **{c: pl.String for c in ("unit_key", "unit_name")},
    "fiscal_year": evaluations.TARGETS["fiscal_year"],
    **{c: pl.String for c in ("period", "kpi_id", "group", "comparator")},
    "target_value": pl.Float64,
    **{c: pl.String for c in ("target_text", "unit")},
    "actual": pl.Float64,
    "actual_period": pl.String,
    "previous": pl.Float64,
    "previous_period": pl.String,
    "threshold": pl.Float64,
    **{c: pl.String for c in ("status", "mark", "reason", "reason_ja", "inputs")},
    **evaluations.PLACES,
    "item_mark": pl.String,
}


class Evaluation:
    """One evaluation run of a fiscal year (or quarter): its id, the counts per status and one row per
    target (and per 【未設定】 unit).

    A plain class on purpose: Prefect walks every list, dict and dataclass a task or flow returns
    (looking for futures), which costs seconds for the 100,000 rows of a prefecture's
    municipalities; it does not look inside other objects. The rows are made when they are asked for:
    from the frame the run was judged in (`frame`), or, for a run reused because nothing it depends on
    changed (`reused`), read back from kpi_evaluations."""

    __slots__ = ("_engine", "_frame", "_rows", "counts", "evaluation_id", "fiscal_year", "quarter", "reused")

    def __init__(
        self,
        evaluation_id: str,
        rows: list[dict[str, Any]] | None,
        *,
        fiscal_year: int | None = None,
        quarter: int | None = None,
        counts: dict[str, int] | None = None,
        reused: bool = False,
        engine: sa.Engine | None = None,
        frame: pl.DataFrame | None = None,
    ) -> None:
        self.evaluation_id = evaluation_id
        self.fiscal_year = fiscal_year
        self.quarter = quarter
        self._rows = rows
        self._frame = frame
        self._engine = engine
        self.reused = reused
        if counts is None:
            counts = frame_counts(frame) if frame is not None else status_counts(rows or [])
        self.counts = counts

    @property
    def rows(self) -> list[dict[str, Any]]:
        if self._rows is None:
            if self._frame is not None:
                self._rows = rows_of(self._frame)
            else:
                assert self._engine is not None, "a reused evaluation needs its engine to read its rows"
                self._rows = evaluations.stored_rows(self._engine, self.evaluation_id)
        return self._rows

    def __len__(self) -> int:
        return sum(self.counts.values())

    # What a run page and the alerts read of a large evaluation: a few rows, not 100,000 dicts.

    def head(self, n: int) -> list[dict[str, Any]]:
        """The first n rows (missed first)."""
        if self._rows is None and self._frame is not None:
            return rows_of(self._frame.head(n))
        return self.rows[:n]

    def flagged(
        self, limit: int | None = None, inputs: bool = True, columns: tuple[str, ...] | None = None
    ) -> list[dict[str, Any]]:
        """The missed and at-risk rows, in order (the first `limit`); without each judgement's inputs
        when `inputs` is False, with only `columns` when given (what an alert tells needs no more)."""
        if self._rows is None and self._frame is not None:
            flagged = self._frame.filter(pl.col("status").is_in(FLAGGED))
            flagged = flagged if limit is None else flagged.head(limit)
            if columns is not None:
                return flagged.select(columns).to_dicts()
            return rows_of(flagged, inputs)
        rows = [r for r in self.rows if r["status"] in FLAGGED]
        rows = rows if limit is None else rows[:limit]
        return rows if columns is None else [{c: r[c] for c in columns} for r in rows]

    def flagged_units(self) -> int:
        """How many units have a missed or at-risk target."""
        if self._rows is None and self._frame is not None:
            return self._frame.filter(pl.col("status").is_in(FLAGGED))["unit_key"].n_unique()
        return len({r["unit_key"] for r in self.rows if r["status"] in FLAGGED})

    def unit_years(self, kpi_wanted: Callable[[str], bool] | None = None) -> set[tuple[str, int]]:
        """(unit_key, fiscal_year) of the rows (those of the KPIs `kpi_wanted` accepts)."""
        if self._rows is None and self._frame is not None:
            frame = self._frame
            if kpi_wanted is not None:
                frame = frame.filter(pl.col("kpi_id").is_in([k for k in frame["kpi_id"].unique() if kpi_wanted(k)]))
            return set(frame.select("unit_key", "fiscal_year").unique().iter_rows())
        return {(r["unit_key"], r["fiscal_year"]) for r in self.rows if kpi_wanted is None or kpi_wanted(r["kpi_id"])}


FLAGGED = ("missed", "at_risk")


def first_rows(evaluations: list[Evaluation], n: int, flagged: bool = False) -> list[dict[str, Any]]:
    """The first n rows (or flagged rows) of several evaluations in one order: missed first, then by
    fiscal year, unit and KPI. Only those n are made into dicts when the evaluations are frames."""
    frames = [e._frame for e in evaluations if e._rows is None and e._frame is not None]
    if len(frames) == len(evaluations) and frames:
        every = pl.concat(frames, how="vertical")
        if flagged:
            every = every.filter(pl.col("status").is_in(FLAGGED))
        order = pl.col("status").replace_strict(_ORDER, return_dtype=pl.Int32)
        return rows_of(every.sort(order, "fiscal_year", "unit_key", "kpi_id", maintain_order=True).head(n))
    rows = [r for e in evaluations for r in (e.flagged(n) if flagged else e.head(n))]
    return sorted(rows, key=lambda r: (_ORDER[r["status"]], r["fiscal_year"], r["unit_key"], r["kpi_id"]))[:n]


def rows_of(frame: pl.DataFrame, inputs: bool = True) -> list[dict[str, Any]]:
    """An evaluation frame's rows as dicts, each judgement's inputs a dict again (left out when not
    `inputs`)."""
    if not inputs:
        return frame.drop("inputs").to_dicts()
    return [{**r, "inputs": json.loads(r["inputs"])} for r in frame.to_dicts()]


def frame_counts(frame: pl.DataFrame) -> dict[str, int]:
    counts = dict.fromkeys(_ORDER, 0)
    for status, n in frame.group_by("status").len().iter_rows():
        counts[status] += n
    return counts


def status_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(_ORDER, 0)
    for r in rows:
        counts[r["status"]] += 1
    return counts


def evaluate(
    engine: sa.Engine, fiscal_year: int, quarter: int | None = None, unit_keys: list[str] | None = None
) -> list[dict[str, Any]]:
    """Judge every target of the units (all units with targets when None) for the period."""
    return rows_of(evaluate_years(engine, [fiscal_year], quarter, unit_keys)[fiscal_year])


def evaluate_years(
    engine: sa.Engine, fiscal_years: list[int], quarter: int | None = None, unit_keys: list[str] | None = None
) -> dict[int, pl.DataFrame]:
    """Judge every target of several fiscal years at once: the figures are read in one query and
    picked with polars over whole frames; the common comparators are judged by polars expressions
    (tasks.judge), the others by branchkpi.domain.target_rules (the specification) one by one."""
    upto = 12 if quarter is None else 3 * quarter
    period_label = "FY" if quarter is None else f"Q{quarter}"
    years = sorted(set(fiscal_years))
    inputs = evaluations.read_inputs(engine, years, unit_keys)
    units = inputs.units
    picked, tender_counts = picking.pick(inputs, upto)
    picked = by_frame.with_figures(picked, quarter, upto)
    judged = by_frame.judge(picked.filter("_by_expressions"), quarter, period_label, units, _PLACE)
    one_at_a_time: list[dict[str, Any]] = [
        one_by_one.evaluate_one(row, tender_counts, units, quarter, upto, period_label)
        for row in picked.filter(~pl.col("_by_expressions")).iter_rows(named=True)
    ]
    with_target = {y: set() for y in years} | {
        fy: set(keys) for fy, keys in picked.group_by("fiscal_year").agg(pl.col("unit_key").unique()).iter_rows()
    }
    for fiscal_year in years:
        # NHI units that report no target at all (【未設定】) are listed as such
        prefectures = {units[k]["prefecture_code"] for k in with_target[fiscal_year] if k in units}
        if unit_keys:
            candidates = list(unit_keys)
        else:  # every unit: the 未設定 municipalities of the prefectures that have targets this year
            candidates = sorted(k for k, unit in units.items() if unit["prefecture_code"] in prefectures)
        for key in candidates:
            unit = units.get(key)
            if unit and unit["target_setting"] == "not_set" and key not in with_target[fiscal_year]:
                code, params = ("not_set_note", {"note": unit["note_ja"]}) if unit["note_ja"] else ("not_set", {})
                one_at_a_time.append(
                    one_by_one.as_row(
                        unit,
                        fiscal_year,
                        period_label,
                        "nhi_collection_rate",
                        None,
                        None,
                        None,
                        "pct",
                        None,
                        None,
                        Judgement("not_evaluable", code, params),
                        {},
                    )
                )
    rows = pl.concat([judged.select(list(ROW)).cast(pl.Schema(ROW)), _frame_of(one_at_a_time)], how="vertical")
    return {
        fiscal_year: _in_order(_with_item_marks(rows.filter(pl.col("fiscal_year") == fiscal_year)))
        for fiscal_year in years
    }


def _frame_of(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(
        [{**r, "inputs": json.dumps(r["inputs"], ensure_ascii=False, default=str)} for r in rows],
        schema=ROW,
        strict=False,
    )


def _with_item_marks(frame: pl.DataFrame) -> pl.DataFrame:
    """Each KPI's item_mark (branchkpi.domain.plan_items), for the rows whose place in the plan is known."""
    placed = pl.col("item_ja").is_not_null() & (pl.col("item_ja") != "")
    held = frame.filter(placed)
    if held.height == 0:
        return frame
    marked = plan_items.with_item_marks(held.to_dicts())
    held = held.with_columns(pl.Series("item_mark", [r["item_mark"] for r in marked], dtype=pl.String))
    return pl.concat([held, frame.filter(~placed)], how="vertical")


def _in_order(frame: pl.DataFrame) -> pl.DataFrame:
    """Missed first, then at risk, not evaluable, on track, achieved; by unit and KPI within each."""
    order = pl.col("status").replace_strict(_ORDER, return_dtype=pl.Int32)
    return frame.sort(order, "unit_key", "kpi_id", maintain_order=True)


# what the judgement is made of: an evaluation stored before any of it changed is not reused
_RULE_SOURCES = [
    Path(m.__file__) for m in (target_rules, kpis, plan_items, reasons, by_frame, one_by_one, picking) if m.__file__
] + [Path(__file__)]
RULES_DIGEST = hashlib.sha256(b"".join(p.read_bytes() for p in _RULE_SOURCES)).hexdigest()


def store(
    engine: sa.Engine,
    frame: pl.DataFrame,
    fiscal_year: int,
    quarter: int | None,
    flow_run_id: str | None,
    inputs_digest: str | None = None,
) -> Evaluation:
    """Keep the run and every judgement with its inputs."""
    counts = frame_counts(frame)
    run_id = evaluations.store(engine, frame, counts, fiscal_year, quarter, flow_run_id, inputs_digest)
    return Evaluation(run_id, None, fiscal_year=fiscal_year, quarter=quarter, counts=counts, frame=frame)


def run_evaluations(
    engine: sa.Engine,
    fiscal_years: list[int],
    quarter: int | None = None,
    unit_keys: list[str] | None = None,
    flow_run_id: str | None = None,
    force: bool = False,
) -> list[Evaluation]:
    """Evaluate and store each fiscal year, or reuse its last evaluation when nothing it reads has
    changed since (unless force): re-running a backfill's evaluations costs a few queries."""
    years = sorted(set(fiscal_years))
    digests = evaluations.inputs_digests(engine, years, quarter, unit_keys, RULES_DIGEST)
    stored_runs = {} if force else evaluations.reusable_runs(engine, digests, quarter)
    reused = {
        y: Evaluation(run.run_id, None, fiscal_year=y, quarter=quarter, counts=run.counts, reused=True, engine=engine)
        for y, run in stored_runs.items()
    }
    todo = [y for y in years if y not in reused]
    fresh = evaluate_years(engine, todo, quarter, unit_keys) if todo else {}
    stored = {y: store(engine, fresh[y], y, quarter, flow_run_id, digests[y]) for y in todo}
    return [reused[y] if y in reused else stored[y] for y in years]  # (an empty Evaluation is falsy: no `or`)
