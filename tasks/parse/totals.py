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
    value = pl.col("value") if "value" in long.columns else parse_number_column(long["value_raw"])
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
        value=value,
        yoy_pct_printed=yoy if yoy is not None else pl.lit(None, pl.Float64),
        printed_unit=pl.col("printed_unit") if "printed_unit" in long.columns else pl.lit(1.0),
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


# 加入者数 printed beside its parts: each of the three printed figures is rounded to its last digit
_DERIVED_ROUNDING = 1.5


def derived_findings(long: pl.DataFrame, landed: LandedFile, sheet: str | None) -> list[Finding]:
    """A printed 加入者数 (members) is not stored, but it covers its parts: where 被保険者数 and 被扶養者数
    of the same region and month are in the table, it must be their sum within the rounding of the three
    printed figures (1.5 of their last printed digit), or the row is a critical finding naming the cell."""
    members = long.filter(pl.col("metric") == "members")
    if members.height == 0:
        return []
    key = ["region_code", "fiscal_year", "month"]
    parts = (
        long.filter(pl.col("metric").is_in(["insured_persons", "dependents"]))
        .group_by(key)
        .agg(parts_sum=pl.col("value").sum(), parts=pl.col("metric").n_unique())
        .filter(pl.col("parts") == 2)
    )
    digits = pl.col("value_raw").str.extract(r"[.．]([0-9０-９]+)\D*$").str.len_chars().fill_null(0)
    unit = pl.col("value") / parse_number_column(members["value_raw"]).abs().clip(lower_bound=1e-12)
    joined = members.with_columns(_unit=unit * (10.0 ** (-digits.cast(pl.Float64)))).join(parts, on=key, how="inner")
    bad = joined.filter((pl.col("value") - pl.col("parts_sum")).abs() > _DERIVED_ROUNDING * pl.col("_unit") + 1e-9)
    return [
        Finding(
            landed.file_name,
            "derived_total_matches",
            f"printed 加入者数 {r['value']:,.0f} is not 被保険者数 + 被扶養者数 ({r['parts_sum']:,.0f}) within "
            "the rounding of the three printed figures: one of them is mistyped",
            file_id=landed.id,
            source_row=r["source_row"],
            column_name=r["source_column"],
            value_text=r["value_raw"],
            sheet=sheet,
        )
        for r in bad.head(1000).iter_rows(named=True)
    ]
