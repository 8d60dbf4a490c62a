"""Printed fiscal-year figures in tidy files: rows 合計 / 計 / 年度計 (for summed metrics) and 年度平均
(for stocks and averages) under the months become reported totals, their fiscal year that of the row
or, when the row leaves it out (a 合計 under 2020-04 … 2021-03), of the months above it; the other
pairs are skipped with a note. Files of totals only (no months) are read by `tidy_totals`."""

from __future__ import annotations

import polars as pl

from branchkpi.domain import metrics
from branchkpi.domain.findings import Finding
from branchkpi.tasks.landing import LandedFile
from branchkpi.tasks.parse.cells import map_unique, parse_number_column
from branchkpi.tasks.parse.observations import empty_totals


def split_annual_rows(
    long: pl.DataFrame, landed: LandedFile, sheet: str | None
) -> tuple[pl.DataFrame, pl.DataFrame, list[Finding]]:
    """(the month rows, the printed totals, notes) of a tidy file's long frame."""
    kind = map_unique(long["month_raw"], metrics.annual_label, pl.String)
    if kind.null_count() == kind.len():
        return long, empty_totals(), []
    group = ["source_column", "region_raw", "metric_raw"]
    long = long.with_columns(_annual=kind).with_columns(
        # a total row without its fiscal year takes that of the months above it (same column and region)
        fiscal_year=pl.coalesce(
            pl.when(pl.col("_annual").is_null() | pl.col("fiscal_year").is_not_null()).then(pl.col("fiscal_year")),
            pl.when(pl.col("_annual").is_null()).then(pl.col("fiscal_year")).forward_fill().over(group),
        )
    )
    months = long.filter(pl.col("_annual").is_null()).drop("_annual")
    annual = long.filter(pl.col("_annual").is_not_null())
    fits = pl.Series(
        [metrics.printed_annual_fits(m, k) for m, k in annual.select("metric", "_annual").iter_rows()], dtype=pl.Boolean
    )
    findings = [
        Finding(
            landed.file_name,
            "total_row_skipped",
            f"a printed {label} of {metrics.BY_ID[m].name_ja if m in metrics.BY_ID else m} is not its fiscal-year "
            "figure (合計 is for summed metrics, 年度平均 for stocks and averages); skipped",
            severity="warning",
            file_id=landed.id,
            source_row=row,
            column_name=column,
            value_text=label,
            sheet=sheet,
        )
        for row, column, label, m in annual.filter(~fits)
        .select("source_row", "source_column", "month_raw", "metric")
        .head(1000)
        .iter_rows()
    ]
    totals = tidy_totals(annual.filter(fits).drop("_annual"), landed, findings, sheet)
    return months, totals, findings


def tidy_totals(long: pl.DataFrame, landed: LandedFile, findings: list[Finding], sheet: str | None) -> pl.DataFrame:
    """Printed fiscal-year totals (合計) from a tidy long frame; a row whose region, metric, fiscal year
    or value does not read is a critical finding naming the cell."""
    yoy = None
    if "yoy_pct_printed" in long.columns:
        yoy = parse_number_column(long["yoy_pct_printed"], allow_negative_zero=True)
    totals = long.select(
        file_id=pl.lit(landed.id, pl.Int64),
        file_name=pl.lit(landed.file_name),
        sheet_name=pl.lit(sheet, pl.String),
        source_row=pl.col("source_row"),
        source_column=pl.col("source_column"),
        value_raw=pl.col("value_raw"),
        region_code=pl.col("region_code"),
        metric=pl.col("metric"),
        fiscal_year=pl.col("fiscal_year").cast(pl.Int32),
        value=parse_number_column(long["value_raw"]),
        yoy_pct_printed=yoy if yoy is not None else pl.lit(None, pl.Float64),
        _raw=pl.struct("region_raw", "metric_raw", "fiscal_year_raw", "value_raw", "source_column"),
    )
    bad = totals.filter(pl.any_horizontal(pl.col("region_code", "metric", "fiscal_year", "value").is_null()))
    for row in bad.head(1000).iter_rows(named=True):
        raw = row["_raw"]
        column, value = next(
            (c, raw[f"{c}_raw"])
            for c in ("region", "metric", "fiscal_year", "value")
            if row["region_code" if c == "region" else c] is None
        )
        findings.append(
            Finding(
                landed.file_name,
                f"total_{column}_unreadable",
                f"fiscal-year total: {column} not recognised",
                file_id=landed.id,
                source_row=row["source_row"],
                column_name=raw["source_column"] if column == "value" else column,
                value_text=value,
                sheet=sheet,
            )
        )
    return totals.drop("_raw").filter(
        ~pl.any_horizontal(pl.col("region_code", "metric", "fiscal_year", "value").is_null())
    )
