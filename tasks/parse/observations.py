"""What the statistics parsers produce: the long frame of observations (one row per region x fiscal
year x month x metric, each cell's text as written beside its parsed value) and the printed fiscal-year
totals (合計), typed from the warehouse schema; and the batch-level operations on them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from branchkpi.domain.findings import Finding
from branchkpi.warehouse import schema
from branchkpi.warehouse.frames import FILE_ID, frame_schema

# the parsed columns are typed as the warehouse types them; the *_raw columns keep each cell as written
_STATS = frame_schema(schema.monthly_stats)
_WHERE = {"file_id": FILE_ID, "file_name": pl.String, "sheet_name": pl.String, "source_row": pl.Int64}
OBSERVATION_SCHEMA: dict[str, Any] = {
    **_WHERE,
    "source_column": pl.String,
    "region_raw": pl.String,
    "region_code": _STATS["region_code"],
    "metric_raw": pl.String,
    "metric": _STATS["metric"],
    "fiscal_year_raw": pl.String,
    "fiscal_year": _STATS["fiscal_year"],
    "month_raw": pl.String,
    "month": _STATS["month"],
    "value_raw": pl.String,
    "value": _STATS["value"],
    "yoy_pct_printed": _STATS["yoy_pct_printed"],
    # what one unit of the figure's last printed digit is in the stored unit: 1 for `260,511`, 100 for
    # `260.5` under 千人; the gate's rounding tolerances scale with it (not stored)
    "printed_unit": pl.Float64,
}
TOTALS_SCHEMA: dict[str, Any] = {
    **_WHERE,
    "source_column": pl.String,
    "value_raw": pl.String,
    **frame_schema(
        schema.reported_fiscal_year_totals, "region_code", "metric", "fiscal_year", "value", "yoy_pct_printed"
    ),
    "printed_unit": pl.Float64,
}


# (file id, sheet) → the headers as the sender wrote them, by role (region, fiscal_year, month): the
# gate's findings name these instead of the warehouse's column names
Headers = dict[tuple[int | None, str | None], dict[str, str]]


@dataclass
class ParsedFile:
    observations: pl.DataFrame
    reported_totals: pl.DataFrame
    findings: list[Finding] = field(default_factory=list)
    layout: str = ""
    encoding: str = ""
    headers: Headers = field(default_factory=dict)
    skipped_sheets: list[str] = field(default_factory=list)  # sheets of a workbook that hold no table


def empty_observations() -> pl.DataFrame:
    return pl.DataFrame(schema=OBSERVATION_SCHEMA)


def empty_totals() -> pl.DataFrame:
    return pl.DataFrame(schema=TOTALS_SCHEMA)


def concat_parsed(parts: Iterable[ParsedFile]) -> ParsedFile:
    parts = list(parts)
    if not parts:
        return ParsedFile(empty_observations(), empty_totals())
    return ParsedFile(
        observations=pl.concat([p.observations for p in parts], how="vertical"),
        reported_totals=pl.concat([p.reported_totals for p in parts], how="vertical"),
        findings=[f for p in parts for f in p.findings],
        headers={k: v for p in parts for k, v in p.headers.items()},
        skipped_sheets=[s for p in parts for s in p.skipped_sheets],
    )


def select(parsed: ParsedFile, fiscal_years: list[int] | None, region_codes: list[str] | None) -> ParsedFile:
    """Only the rows of these fiscal years and regions (a backfill's slice). Rows whose year or region
    did not parse stay in, so the gate still reports them."""
    observations, totals = parsed.observations, parsed.reported_totals
    if fiscal_years:
        observations = observations.filter(pl.col("fiscal_year").is_in(fiscal_years) | pl.col("fiscal_year").is_null())
        totals = totals.filter(pl.col("fiscal_year").is_in(fiscal_years))
    if region_codes:
        observations = observations.filter(pl.col("region_code").is_in(region_codes) | pl.col("region_code").is_null())
        totals = totals.filter(pl.col("region_code").is_in(region_codes))
    return ParsedFile(
        observations, totals, parsed.findings, parsed.layout, parsed.encoding, parsed.headers, parsed.skipped_sheets
    )
