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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from branchkpi.domain import kpis, plan_items, reasons, target_rules
from branchkpi.domain.fiscal import fiscal_month_index
from branchkpi.domain.target_rules import (
    MARKS,
    STATUS_ORDER,
    Judgement,
    Measurement,
    RuleError,
    Target,
    TenderCounts,
    judge,
    judge_in_year,
)
from branchkpi.warehouse import evaluations

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
_PLACE = ("group_ja", "item_no", "item_ja", "sub_item_no", "sub_item_ja", "position")
_ORDER = STATUS_ORDER


class Evaluation:
    """One evaluation run of a fiscal year (or quarter): its id, the counts per status and one row per
    target (and per 【未設定】 unit).

    A plain class on purpose: Prefect walks every list, dict and dataclass a task or flow returns
    (looking for futures), which costs seconds for the 100,000 rows of a prefecture's
    municipalities; it does not look inside other objects. A run reused because nothing it depends
    on changed (`reused`) reads its rows back from kpi_evaluations only when they are asked for."""

    __slots__ = ("_engine", "_rows", "counts", "evaluation_id", "fiscal_year", "quarter", "reused")

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
    ) -> None:
        self.evaluation_id = evaluation_id
        self.fiscal_year = fiscal_year
        self.quarter = quarter
        self._rows = rows
        self._engine = engine
        self.reused = reused
        self.counts = counts if counts is not None else status_counts(rows or [])

    @property
    def rows(self) -> list[dict[str, Any]]:
        if self._rows is None:
            assert self._engine is not None, "a reused evaluation needs its engine to read its rows"
            self._rows = evaluations.stored_rows(self._engine, self.evaluation_id)
        return self._rows

    def __len__(self) -> int:
        return sum(self.counts.values())


def status_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(_ORDER, 0)
    for r in rows:
        counts[r["status"]] += 1
    return counts


def period_end_index(period: str) -> int:
    """How many months of the fiscal year a period covers: FY 12, Qn 3n, YYYY-MM its fiscal month."""
    if period == "FY":
        return 12
    if period.startswith("Q"):
        return 3 * int(period[1:])
    return fiscal_month_index(int(period[5:7]))


def _period_end_index_expr() -> pl.Expr:
    """period_end_index over a column (the same rule, for whole frames)."""
    period = pl.col("period")
    month = period.str.slice(5, 2).cast(pl.Int32, strict=False)
    return (
        pl.when(period == "FY")
        .then(12)
        .when(period.str.starts_with("Q"))
        .then(3 * period.str.slice(1).cast(pl.Int32, strict=False))
        .otherwise((month - 4) % 12 + 1)  # fiscal.fiscal_month_index
        .cast(pl.Int32)
    )


@dataclass(frozen=True)
class Figure:
    value: float
    unit: str
    period: str
    index: int


_KEY = ["unit_key", "fiscal_year", "kpi_id"]
_TENDERS = ("general_competitive_tender_count", "single_bid_tender_count")
_FIGURE = {"value": pl.Float64, "unit": pl.String, "period": pl.String, "index": pl.Int32}


def _latest(figures: pl.DataFrame, by: list[str], upto: int | str) -> pl.DataFrame:
    """Per group, the latest figure up to month `upto` (a number, or a column of the frame) of the
    year: the highest period index, FY beating Q4 and March."""
    limit = pl.col(upto) if isinstance(upto, str) else pl.lit(upto)
    return (
        figures.filter(pl.col("index") <= limit)
        .sort("index", "is_fy")
        .group_by(by)
        .agg(pl.col(*_FIGURE).last())  # within a group, polars keeps the sorted order
    )


def _prefixed(frame: pl.DataFrame, prefix: str) -> pl.DataFrame:
    return frame.rename({c: f"{prefix}_{c}" for c in _FIGURE})


def evaluate(
    engine: sa.Engine, fiscal_year: int, quarter: int | None = None, unit_keys: list[str] | None = None
) -> list[dict[str, Any]]:
    """Judge every target of the units (all units with targets when None) for the period."""
    return evaluate_years(engine, [fiscal_year], quarter, unit_keys)[fiscal_year]


def evaluate_years(
    engine: sa.Engine, fiscal_years: list[int], quarter: int | None = None, unit_keys: list[str] | None = None
) -> dict[int, list[dict[str, Any]]]:
    """Judge every target of several fiscal years at once: the figures are read in one query and
    picked with polars over whole frames; only the judgement itself (branchkpi.domain.target_rules, the
    specification) runs per target."""
    upto = 12 if quarter is None else 3 * quarter
    period_label = "FY" if quarter is None else f"Q{quarter}"
    years = sorted(set(fiscal_years))
    inputs = evaluations.read_inputs(engine, years, unit_keys)
    targets, figures, units = inputs.targets, inputs.actuals, inputs.units
    figures = figures.with_columns(index=_period_end_index_expr(), is_fy=pl.col("period") == "FY")
    targets = targets.with_row_index("target_row").with_columns(previous_year=pl.col("fiscal_year") - 1)
    now = _prefixed(_latest(figures, _KEY, upto), "actual")
    year_end = _prefixed(_latest(figures, _KEY, 12), "year_end").rename({"fiscal_year": "previous_year"})
    picked = targets.join(now, on=_KEY, how="left").join(
        year_end, on=["unit_key", "previous_year", "kpi_id"], how="left"
    )
    # the previous year at the point the actual was measured (cumulative KPIs in the year)
    before = (
        picked.filter(pl.col("actual_index").is_not_null())
        .select("target_row", "unit_key", "previous_year", "kpi_id", "actual_index")
        .join(figures.rename({"fiscal_year": "previous_year"}), on=["unit_key", "previous_year", "kpi_id"])
    )
    at_point = _prefixed(_latest(before, ["target_row"], "actual_index"), "at_point")
    picked = picked.join(at_point, on="target_row", how="left")
    tenders = _latest(figures.filter(pl.col("kpi_id").is_in(_TENDERS)), _KEY, upto)
    tender_counts = {(k, fy, kpi): v for k, fy, kpi, v in tenders.select(*_KEY, "value").iter_rows()}

    results: dict[int, list[dict[str, Any]]] = {y: [] for y in years}
    for row in picked.iter_rows(named=True):
        results[row["fiscal_year"]].append(_evaluate_one(row, tender_counts, units, quarter, upto, period_label))
    for fiscal_year in years:
        # NHI units that report no target at all (【未設定】) are listed as such
        rows = results[fiscal_year]
        with_target = {r["unit_key"] for r in rows}
        prefectures = {units[k]["prefecture_code"] for k in with_target if k in units}
        if unit_keys:
            candidates = list(unit_keys)
        else:  # every unit: the 未設定 municipalities of the prefectures that have targets this year
            candidates = sorted(k for k, unit in units.items() if unit["prefecture_code"] in prefectures)
        for key in candidates:
            unit = units.get(key)
            if unit and unit["target_setting"] == "not_set" and key not in with_target:
                code, params = ("not_set_note", {"note": unit["note_ja"]}) if unit["note_ja"] else ("not_set", {})
                rows.append(
                    _row(
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
        plan_items.with_item_marks(rows)
        rows.sort(key=lambda r: (_ORDER[r["status"]], r["unit_key"], r["kpi_id"]))
    return results


def _figure(row: dict[str, Any], prefix: str) -> Figure | None:
    if row[f"{prefix}_index"] is None:
        return None
    return Figure(row[f"{prefix}_value"], row[f"{prefix}_unit"], row[f"{prefix}_period"], row[f"{prefix}_index"])


def _evaluate_one(
    row: dict[str, Any],
    tender_counts: dict[tuple[str, int, str], float],
    units: dict[str, dict[str, Any]],
    quarter: int | None,
    upto: int,
    period_label: str,
) -> dict[str, Any]:
    """One target, its figures already picked: actual (latest up to the period's end), the previous
    year at its end (year_end) and at the point the actual was measured (at_point)."""
    kpi = kpis.BY_ID.get(row["kpi_id"])
    cumulative, stock = bool(kpi and kpi.cumulative), bool(kpi and kpi.stock)
    unit_key, kpi_id, fiscal_year = row["unit_key"], row["kpi_id"], row["fiscal_year"]
    actual = _figure(row, "actual")
    year_end, at_point = _figure(row, "year_end"), _figure(row, "at_point")
    previous = year_end if actual is None or quarter is None or not cumulative else at_point
    share = None
    complete_year = year_end is not None and year_end.index == 12 and year_end.value > 0
    if actual is not None and cumulative and at_point and year_end and complete_year and at_point.index < 12:
        share = at_point.value / year_end.value  # the previous year's profile up to this point
    tenders = None
    if row["comparator"] == "single_bid_composite":
        general = tender_counts.get((unit_key, fiscal_year, "general_competitive_tender_count"))
        single = tender_counts.get((unit_key, fiscal_year, "single_bid_tender_count"))
        if general is not None and single is not None:
            tenders = TenderCounts(int(general), int(single))
    try:
        target = Target(kpi_id, row["comparator"], row["unit"], row["target_value"])
        actual_m = Measurement(actual.value, actual.unit) if actual else None
        previous_m = Measurement(previous.value, previous.unit) if previous else None
        if quarter is None:
            judgement = judge(target, actual_m, previous_m, tenders)
        else:
            # a stock's path starts at the previous fiscal year's closing figure (March or FY), nothing earlier
            closing = year_end if year_end is not None and year_end.index == 12 else None
            judgement = judge_in_year(
                target,
                actual_m,
                actual.index if actual else upto,
                cumulative,
                previous_m,
                share,
                tenders,
                previous_year_end=Measurement(closing.value, closing.unit) if closing else None,
                stock=stock,
            )
    except RuleError as exc:
        judgement = Judgement("not_evaluable", "rule_error", {"message": str(exc)})
    unit = units.get(unit_key, {"key": unit_key, "name_ja": unit_key, "name_romaji": None})
    return _row(
        unit,
        fiscal_year,
        period_label,
        kpi_id,
        row["comparator"],
        row["target_value"],
        row["target_text"],
        row["unit"],
        actual,
        previous,
        judgement,
        row,
    )


def _row(
    unit: dict[str, Any],
    fiscal_year: int,
    period: str,
    kpi_id: str,
    comparator: str | None,
    target_value: float | None,
    target_text: str | None,
    measure: str,
    actual: Figure | None,
    previous: Figure | None,
    judgement: Judgement,
    place: dict[str, Any],
) -> dict[str, Any]:
    """One judgement as an evaluation lists it; `place`: its place in the plan (分野 / 項目 / 小項目)."""
    kpi = kpis.BY_ID.get(kpi_id)
    return {
        "unit_key": unit["key"],
        "unit_name": unit.get("name_romaji") or unit["name_ja"],
        "fiscal_year": fiscal_year,
        "period": period,
        "kpi_id": kpi_id,
        "group": kpis.GROUPS[kpi.group] if kpi else "",
        "comparator": comparator or "not_set",
        "target_value": target_value,
        "target_text": target_text,
        "unit": measure,
        "actual": actual.value if actual else None,
        "actual_period": actual.period if actual else None,
        "previous": previous.value if previous else None,
        "previous_period": previous.period if previous else None,
        "threshold": judgement.threshold,
        "status": judgement.status,
        "mark": MARKS[judgement.status],
        "reason": judgement.reason,
        "reason_ja": judgement.reason_ja,
        "inputs": judgement.inputs,
        **{c: place.get(c) for c in _PLACE},
        "item_mark": None,
    }


_RULE_SOURCES = [Path(m.__file__) for m in (target_rules, kpis, plan_items, reasons) if m.__file__] + [Path(__file__)]
RULES_DIGEST = hashlib.sha256(b"".join(p.read_bytes() for p in _RULE_SOURCES)).hexdigest()


def store(
    engine: sa.Engine,
    rows: list[dict[str, Any]],
    fiscal_year: int,
    quarter: int | None,
    flow_run_id: str | None,
    inputs_digest: str | None = None,
) -> Evaluation:
    """Keep the run and every judgement with its inputs."""
    counts = status_counts(rows)
    run_id = evaluations.store(engine, rows, counts, fiscal_year, quarter, flow_run_id, inputs_digest)
    return Evaluation(run_id, rows, fiscal_year=fiscal_year, quarter=quarter, counts=counts)


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
