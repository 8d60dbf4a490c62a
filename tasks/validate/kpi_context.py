"""Context columns of the KPI gate that need more than the row itself: the figure's plausible range,
its previous year's actual (scale_jump), and whether the row's 年度, 期間 and 時点, and the year its sheet
name or title states, agree. Plain functions on frames (the warehouse's part is read by the caller)."""

from __future__ import annotations

from typing import Any

import polars as pl

from branchkpi.domain import kpis
from branchkpi.domain.kpi_names import display_name
from branchkpi.domain.kpi_periods import AsOf, as_of_within, period_text
from branchkpi.domain.kpi_ranges import PCT_RANGES, SCALE_JUMP_FACTOR
from branchkpi.tasks.parse.kpi_cells import map_distinct

FIGURE_KEY = ["part", "unit_key", "fiscal_year", "period", "kpi_id"]
_FLOWS = [k.id for k in kpis.CATALOGUE if k.cumulative]
_LOW = {k: lo for k, (lo, _) in PCT_RANGES.items()}
_HIGH = {k: hi for k, (_, hi) in PCT_RANGES.items()}


def period_index(period: pl.Expr) -> pl.Expr:
    """Months of the fiscal year a period reaches (FY 12, Q2 6, 2020-09 6): what 'the same point of the
    previous year' is compared at."""
    month = period.str.extract(r"^\d{4}-(\d{2})$").cast(pl.Int32)
    quarter = period.str.extract(r"^Q([1-4])$").cast(pl.Int32)
    return (
        pl.when(period == "FY")
        .then(pl.lit(12, pl.Int32))
        .when(quarter.is_not_null())
        .then(quarter * 3)
        .otherwise((month - 4) % 12 + 1)
        .cast(pl.Int32)
    )


def figures(batch_actuals: pl.DataFrame, loaded: pl.DataFrame, parts: pl.Series | None = None) -> pl.DataFrame:
    """Every figure a batch row may be compared with: the batch's own (per part) and the warehouse's
    where the batch does not replace them (part, unit_key, fiscal_year, period, kpi_id, unit, value, index),
    for the parts of the actuals and `parts` (those of the rows compared: a batch of targets only)."""
    own = batch_actuals.filter(
        pl.all_horizontal(pl.col("reporting_unit", "fiscal_year", "period", "kpi_id", "value").is_not_null())
    )
    own = own.select(
        "part",
        unit_key="reporting_unit",
        fiscal_year="fiscal_year",
        period="period",
        kpi_id="kpi_id",
        unit="unit",
        value="value",
    )
    every = batch_actuals["part"] if parts is None else pl.concat([batch_actuals["part"], parts.cast(pl.Int32)])
    parts_frame = every.unique().to_frame("part")
    stored = loaded.join(parts_frame, how="cross").join(own, on=FIGURE_KEY, how="anti").select(own.columns)
    return pl.concat([stored, own]).with_columns(index=period_index(pl.col("period")), is_fy=pl.col("period") == "FY")


def with_previous(frame: pl.DataFrame, figures: pl.DataFrame, value: str, index: pl.Expr) -> pl.DataFrame:
    """previous_value / previous_text: the same unit's figure of the KPI in the previous fiscal year, in
    the same unit: at the same point of the year for a flow (check-ups accumulate; a target, index 12,
    against the previous year's closing figure only), the year's last figure for a level or stock.
    scale_factor: value ÷ previous where that is a scale error."""
    key = ["part", "reporting_unit", "kpi_id", "unit", "previous_year"]
    rows = frame.select(
        "row_id", "part", "reporting_unit", "kpi_id", "unit", previous_year=pl.col("fiscal_year") - 1, _index=index
    )
    # one figure per point of a year (FY beating March and Q4 at the year's end), in the order of the year
    figures = (
        figures.rename({"unit_key": "reporting_unit", "fiscal_year": "previous_year", "value": "previous_value"})
        .sort("index", "is_fy")
        .unique([*key, "index"], keep="last", maintain_order=True)
        .select(*key, "index", "previous_value", _period="period")
    )
    flow = pl.col("kpi_id").is_in(_FLOWS)
    year_end = figures.group_by(key, maintain_order=True).last().drop("index")
    levels = rows.filter(~flow).join(year_end, on=key, how="left")
    closing = figures.filter(pl.col("index") == 12).drop("index")
    flows_at_end = rows.filter(flow & (pl.col("_index") == 12)).join(closing, on=key, how="left")
    # in the year, a flow against the previous year's latest figure up to the same point
    flows_in_year = (
        rows.filter(flow & (pl.col("_index") < 12))
        .sort("_index")
        .join_asof(
            figures.sort("index"),
            left_on="_index",
            right_on="index",
            by=key,
            strategy="backward",
            check_sortedness=False,
        )
        .drop("index")
    )
    previous = pl.concat([levels, flows_at_end, flows_in_year], how="diagonal_relaxed").select(
        "row_id",
        "previous_value",
        previous_text=pl.when(pl.col("previous_value").is_not_null()).then(
            pl.format("FY{} {} {}", pl.col("previous_year"), pl.col("_period"), pl.col("previous_value"))
        ),
    )
    out = frame.join(previous, on="row_id", how="left")
    ratio = pl.col(value) / pl.col("previous_value")
    jump = (
        (pl.col(value) > 0)
        & (pl.col("previous_value") > 0)
        & ((ratio >= SCALE_JUMP_FACTOR) | (ratio <= 1 / SCALE_JUMP_FACTOR))
    )
    return out.with_columns(
        scale_jump=jump.fill_null(False),
        scale_factor=pl.when(jump).then(
            pl.format("{} is {} times {}", pl.col(value), ratio.round(4), pl.col("previous_text"))
        ),
    )


def with_plausible_range(frame: pl.DataFrame, value: str, in_year: pl.Expr, checked: pl.Expr) -> pl.DataFrame:
    """implausible: a percentage KPI's figure inside 0–100 but outside its range (branchkpi.domain.kpi_ranges;
    a flow's lower end is 0 during the year), with the range and the likely cause as text."""
    catalogue_low = pl.col("kpi_id").replace_strict(_LOW, default=None, return_dtype=pl.Float64)
    low = pl.when(in_year & pl.col("kpi_id").is_in(_FLOWS)).then(pl.lit(0.0)).otherwise(catalogue_low)
    high = pl.col("kpi_id").replace_strict(_HIGH, default=None, return_dtype=pl.Float64)
    # outside 0–100 is percentage_in_range's finding already: one finding per mistake
    outside = (
        checked
        & (pl.col("unit") == "pct")
        & pl.col(value).is_between(0, 100)
        & ((pl.col(value) < low) | (pl.col(value) > high))
    )
    fraction = pl.lit("a fraction for a percentage? write 95.82, or format the cell as %")
    hint = pl.when(pl.col(value) < low).then(fraction).otherwise(pl.lit("a lost decimal point?"))
    name = pl.col("kpi_id").replace_strict({k: display_name(k) for k in PCT_RANGES}, default="", return_dtype=pl.String)
    return frame.with_columns(
        implausible=outside.fill_null(False),
        plausible_range=pl.when(outside).then(pl.format("{} {}–{}%: {}", name, low, high, hint)),
    )


def with_stated_years(frame: pl.DataFrame, period_header: pl.Expr | None = None) -> pl.DataFrame:
    """fiscal_year_conflict: the other place that states another fiscal year than the row's 年度: its 期間
    (令和3年度第1四半期) or its sheet name or title line (every row must be one of the years they state)."""
    stated = pl.col("stated_fiscal_years").str.split(",").cast(pl.List(pl.Int32))
    by_sheet = pl.col("stated_fiscal_years").is_not_null() & ~stated.list.contains(pl.col("fiscal_year"))
    sheet_text = pl.format("{} states FY{}", pl.col("stated_where"), pl.col("stated_fiscal_years"))
    conflict: pl.Expr = pl.when(pl.col("fiscal_year").is_not_null() & by_sheet).then(sheet_text)
    if period_header is not None:
        by_period = pl.col("period_fiscal_year").is_not_null() & (pl.col("period_fiscal_year") != pl.col("fiscal_year"))
        period_says = pl.format("{} {} states FY{}", period_header, pl.col("period_raw"), pl.col("period_fiscal_year"))
        conflict = pl.when(pl.col("fiscal_year").is_not_null() & by_period).then(period_says).otherwise(conflict)
    return frame.with_columns(fiscal_year_conflict=conflict)


def with_as_of_agreement(frame: pl.DataFrame, fiscal_year_header: pl.Expr, period_header: pl.Expr) -> pl.DataFrame:
    """as_of_conflict: a 時点 outside the row's period (its fiscal year for FY, the quarter's months, the
    month), naming the 年度 and 期間 cells it contradicts."""

    def outside(
        fiscal_year: int | None, period: str | None, month: str | None, named: int | None, first_day: bool | None
    ) -> str | None:
        if fiscal_year is None or period is None or month is None:
            return None
        year, m = (int(p) for p in month.split("-"))
        if as_of_within(fiscal_year, period, AsOf(year, m, named, bool(first_day))):
            return None
        return period_text(fiscal_year, period)

    mapped = map_distinct(
        frame,
        ["fiscal_year", "period", "as_of_month", "as_of_fiscal_year", "as_of_first_day"],
        {"_as_of_outside": pl.String},
        outside,
    )
    text = pl.format(
        "{} {} and {} {} = {}",
        fiscal_year_header,
        pl.col("fiscal_year_raw"),
        period_header,
        pl.col("period_raw"),
        pl.col("_as_of_outside"),
    )
    return mapped.with_columns(as_of_conflict=pl.when(pl.col("_as_of_outside").is_not_null()).then(text)).drop(
        "_as_of_outside"
    )


def headed(frame: pl.DataFrame, headers: dict[tuple[int, str], dict[str, str]], roles: dict[str, str]) -> pl.DataFrame:
    """Columns h_<name>: the header the file wrote for a role (roles: name → role), quoted, or the
    role's own name where the file has no such column, per row's file and sheet."""
    rows: list[dict[str, Any]] = []
    for (file_id, sheet), written in headers.items():
        rows.append(
            {"file_id": file_id, "sheet": sheet or None, **{f"h_{n}": written.get(r, n) for n, r in roles.items()}}
        )
    table = pl.DataFrame(
        rows, schema={"file_id": frame.schema["file_id"], "sheet": pl.String, **{f"h_{n}": pl.String for n in roles}}
    )
    out = frame.join(table, on=["file_id", "sheet"], how="left", nulls_equal=True)
    return out.with_columns(pl.col(f"h_{n}").fill_null(n) for n in roles)
