"""Targets judged over whole frames: the common comparators (ge, le, eq, the count thresholds, the
previous-year comparators and 【未設定】) as polars expressions, with their reasons, in Japanese and
English, written from the one wording table (branchkpi.domain.reasons).

branchkpi.domain.target_rules stays the specification: `by_expressions` names the rows these
expressions judge exactly as it does, and every other row (done, the single-bid rule, an in-year target
pro-rated or on a stock's path, a unit clash, a missing target value, a figure that is not finite) is
judged by target_rules itself, one by one (tasks/evaluate/one_by_one.py). tests/unit/test_judge_by_frame.py checks that
both give the same rows, on generated targets and on every target of the bench data."""

from __future__ import annotations

from typing import Any

import polars as pl

from branchkpi.domain import kpis, reasons
from branchkpi.domain.target_rules import (
    EPSILON,
    MARKS,
    PREVIOUS_YEAR_COMPARATORS,
    UNITS,
    VALUE_COMPARATORS,
)

FRAME_COMPARATORS = (*VALUE_COMPARATORS, *PREVIOUS_YEAR_COMPARATORS, "not_set")
_FIGURE = ("value", "unit", "period", "index")
_IN_YEAR = {"achieved": "on_track", "missed": "at_risk"}


def with_figures(picked: pl.DataFrame, quarter: int | None, upto: int) -> pl.DataFrame:
    """The picked targets (tasks/evaluate/picking.py: actual_*, year_end_*, at_point_*) with what the judgement
    reads: the KPI's kind (_cumulative, _stock), the previous-year figure it compares with (previous_*:
    at the point the actual was measured for a cumulative KPI in the year, else at the year's end), the
    months elapsed (_months) and whether these expressions judge the row (_by_expressions)."""
    kinds = pl.DataFrame(
        {
            "kpi_id": [k.id for k in kpis.CATALOGUE],
            "_cumulative": [bool(k.cumulative) for k in kpis.CATALOGUE],
            "_stock": [bool(k.stock) for k in kpis.CATALOGUE],
        }
    )
    frame = picked.join(kinds, on="kpi_id", how="left").with_columns(pl.col("_cumulative", "_stock").fill_null(False))
    at_point = pl.col("actual_index").is_not_null() & pl.col("_cumulative") & (quarter is not None)
    frame = frame.with_columns(
        pl.when(at_point).then(pl.col(f"at_point_{c}")).otherwise(pl.col(f"year_end_{c}")).alias(f"previous_{c}")
        for c in _FIGURE
    )
    frame = frame.with_columns(_months=pl.col("actual_index").fill_null(upto))
    return frame.with_columns(_by_expressions=by_expressions(quarter))


def by_expressions(quarter: int | None) -> pl.Expr:
    """The rows the expressions judge as target_rules does (on a frame `with_figures` made)."""
    comparator, unit = pl.col("comparator"), pl.col("unit")
    value_comparator = comparator.is_in(VALUE_COMPARATORS)

    def plain(column: str) -> pl.Expr:  # missing, or a finite number other than -0.0 (printed "-0")
        x = pl.col(column)
        return x.is_null() | (x.is_finite() & ~((x == 0) & (1.0 / x < 0)))

    def same_unit(prefix: str) -> pl.Expr:  # target_rules refuses to compare figures of two units
        return pl.col(f"{prefix}_index").is_null() | (pl.col(f"{prefix}_unit") == unit)

    simple = (
        comparator.is_in(FRAME_COMPARATORS)
        & unit.is_in(UNITS)
        & (~value_comparator | pl.col("target_value").is_not_null())
        & (~comparator.str.starts_with("count_") | (unit == "count"))
        & same_unit("actual")
        & same_unit("previous")
        & plain("target_value")
        & plain("actual_value")
        & plain("previous_value")
    )
    if quarter is None:
        return simple.fill_null(False)
    # in the year, target_rules.judge_in_year pro-rates a cumulative KPI's ≥ target and puts a stock's
    # target on its path from the previous year-end: those rows go through it
    valued = pl.col("target_value").is_not_null() & pl.col("actual_index").is_not_null()
    prorated = pl.col("_cumulative") & comparator.is_in(["ge", "count_ge"]) & valued
    on_stock_path = (
        pl.col("_stock")
        & value_comparator
        & (comparator != "eq")
        & valued
        & (pl.col("year_end_index") == 12).fill_null(False)
        & (pl.col("_months") < 12)
    )
    return (simple & ~prorated & ~on_stock_path).fill_null(False)


def judge(
    frame: pl.DataFrame, quarter: int | None, period: str, units: dict[str, dict[str, Any]], place: tuple[str, ...]
) -> pl.DataFrame:
    """The rows `by_expressions` selects, judged, as an evaluation lists them (tasks.evaluate.ROW, with
    the `place` columns of the targets' place in the plan)."""
    comparator = pl.col("comparator")
    actual, threshold = pl.col("actual_value"), pl.col("threshold")
    value_comparator = comparator.is_in(VALUE_COMPARATORS)
    code = (
        pl.when(comparator == "not_set")
        .then(pl.lit("not_set"))
        .when(pl.col("actual_index").is_null())
        .then(pl.lit("no_actual"))
        .when(~value_comparator & pl.col("previous_index").is_null())
        .then(pl.lit("no_previous"))
        .otherwise(pl.lit("compare"))
    )
    frame = frame.with_columns(
        _code=code,
        _op=pl.when(value_comparator)
        .then(comparator.str.strip_prefix("count_"))
        .otherwise(comparator.str.strip_suffix("_prev_year")),
        _label=pl.when(value_comparator).then(pl.lit("target")).otherwise(pl.lit("previous_year")),
    ).with_columns(
        threshold=pl.when(pl.col("_code") == "compare").then(
            pl.when(value_comparator).then(pl.col("target_value")).otherwise(pl.col("previous_value"))
        )
    )
    op = pl.col("_op")
    frame = frame.with_columns(  # target_rules._compare, to the same float
        _ok=pl.when(op == "ge")
        .then(actual >= threshold - EPSILON)
        .when(op == "le")
        .then(actual <= threshold + EPSILON)
        .when(op == "gt")
        .then(actual > threshold + EPSILON)
        .otherwise((actual - threshold).abs() <= EPSILON)
    )
    status = (
        pl.when(pl.col("_code") != "compare")
        .then(pl.lit("not_evaluable"))
        .when(pl.col("_ok"))
        .then(pl.lit("achieved"))
        .otherwise(pl.lit("missed"))
    )
    if quarter is not None:
        status = status.replace(_IN_YEAR)
    frame = _with_reasons(frame.with_columns(status=status))
    has_actual, has_previous = pl.col("actual_index").is_not_null(), pl.col("previous_index").is_not_null()
    shown = {
        "actual": pl.when(has_actual).then(actual),
        "actual_period": pl.when(has_actual).then(pl.col("actual_period")),
        "previous": pl.when(has_previous).then(pl.col("previous_value")),
        "previous_period": pl.when(has_previous).then(pl.col("previous_period")),
    }
    return _named(frame, units).select(
        "unit_key",
        "unit_name",
        "fiscal_year",
        pl.lit(period).alias("period"),
        *("kpi_id", "group", "comparator", "target_value", "target_text", "unit"),
        *(expression.alias(name) for name, expression in shown.items()),
        *("threshold", "status"),
        pl.col("status").replace_strict(MARKS, return_dtype=pl.String).alias("mark"),
        *("reason", "reason_ja"),
        pl.struct(target=pl.col("target_value"), actual=shown["actual"], previous=shown["previous"])
        .struct.json_encode()
        .alias("inputs"),
        *place,
        pl.lit(None, dtype=pl.String).alias("item_mark"),
    )


def _named(frame: pl.DataFrame, units: dict[str, dict[str, Any]]) -> pl.DataFrame:
    """unit_name (romaji, else Japanese, else the key) and the KPI's group, as tasks.evaluate names them."""
    names = pl.DataFrame(
        {"unit_key": list(units), "unit_name": [u.get("name_romaji") or u["name_ja"] for u in units.values()]},
        schema={"unit_key": pl.String, "unit_name": pl.String},
    )
    groups = pl.DataFrame(
        {"kpi_id": [k.id for k in kpis.CATALOGUE], "group": [kpis.GROUPS[k.group] for k in kpis.CATALOGUE]},
        schema={"kpi_id": pl.String, "group": pl.String},
    )
    return (
        frame.join(names, on="unit_key", how="left")
        .join(groups, on="kpi_id", how="left")
        .with_columns(pl.col("unit_name").fill_null(pl.col("unit_key")), pl.col("group").fill_null(""))
    )


def _with_reasons(frame: pl.DataFrame) -> pl.DataFrame:
    """reason (English) and reason_ja: a fixed sentence for not_set / no_actual / no_previous; for a
    comparison the sentence of reasons.comparison_parts around the two figures, at the precision
    reasons.places gives (once per distinct KPI, unit and pair of figures) and written by
    reasons.figure (once per distinct figure, precision and KPI): the functions reasons.words uses."""
    compare = pl.col("_code") == "compare"
    pairs = frame.filter(compare).select("kpi_id", "unit", "actual_value", "threshold").unique()
    precision = [reasons.places(k, u, a, t) for k, u, a, t in pairs.iter_rows()]
    frame = frame.join(
        pairs.with_columns(pl.Series("_places", precision, dtype=pl.Int32)),
        on=["kpi_id", "unit", "actual_value", "threshold"],
        how="left",
    )
    for side, column in (("a", "actual_value"), ("t", "threshold")):
        keys = frame.filter(compare).select(column, "unit", "_places", "kpi_id").unique()
        written = {
            f"_{lang}_{side}": [reasons.figure(v, u, n, k, lang) for v, u, n, k in keys.iter_rows()]
            for lang in ("en", "ja")
        }
        frame = frame.join(
            keys.with_columns(pl.Series(name, texts, dtype=pl.String) for name, texts in written.items()),
            on=[column, "unit", "_places", "kpi_id"],
            how="left",
        )
    parts = pl.DataFrame(
        [
            (op, ok, label, *reasons.comparison_parts(op, ok, reasons.LABELS[label][lang], lang), lang)
            for op in ("ge", "le", "gt", "eq")
            for ok in (True, False)
            for label in ("target", "previous_year")
            for lang in ("en", "ja")
        ],
        schema=["_op", "_ok", "_label", "_before", "_between", "_after", "_lang"],
        orient="row",
    )
    for lang, column in (("en", "reason"), ("ja", "reason_ja")):
        fixed = {code: reasons.words(code, {}, lang) for code in ("not_set", "no_actual", "no_previous")}
        frame = frame.join(
            parts.filter(pl.col("_lang") == lang).drop("_lang"), on=["_op", "_ok", "_label"], how="left"
        ).with_columns(
            pl.when(compare)
            .then(pl.concat_str("_before", f"_{lang}_a", "_between", f"_{lang}_t", "_after"))
            .otherwise(pl.col("_code").replace_strict(fixed, default=None, return_dtype=pl.String))
            .alias(column)
        )
        frame = frame.drop("_before", "_between", "_after")
    return frame
