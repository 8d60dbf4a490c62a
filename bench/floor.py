"""The floor: the same data work as the pipeline, bare. Reads the same files with polars, computes the
same KPI columns (the pipeline's own polars expressions) and a ≥/≤ evaluation of every target, and
writes the same tables with one bulk insert per table into a fresh SQLite warehouse. No Prefect, no
Great Expectations, no landing, audit or quarantine. Prints one JSON line."""

from __future__ import annotations

import argparse
import json
import resource
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STARTED = time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--db", type=Path, required=True)
    args = parser.parse_args()

    import polars as pl
    import sqlalchemy as sa

    from branchkpi.domain import regions
    from branchkpi.tasks.compute import fiscal_year_kpis, monthly_kpis
    from branchkpi.warehouse import schema

    now = datetime.now(UTC)
    batch = str(uuid.uuid4())
    engine = sa.create_engine(f"sqlite:///{args.db}")
    schema.metadata.create_all(engine)
    stats = pl.concat(
        [
            pl.read_csv(p, schema_overrides={"region": pl.String})
            for p in sorted((args.data / "monthly_stats").glob("*.csv"))
        ]
    ).select(
        pl.col("region").alias("region_code"),
        "metric",
        pl.col("fiscal_year").cast(pl.Int32),
        pl.col("month").cast(pl.Int32),
        pl.col("value").cast(pl.Float64),
    )
    monthly, yearly = monthly_kpis(stats), fiscal_year_kpis(stats)

    branch_code = {b.name_romaji: b.code for b in regions.BRANCHES}
    units: Any = []

    def read(branch_file: str, municipal_file: str) -> Any:
        """The branches' and (when present) the municipalities' rows of one table, with unit_key."""
        frames = []
        for kind, path in (("branch", args.data / branch_file), ("municipality", args.data / municipal_file)):
            if path.exists():
                frame = pl.read_csv(path, schema_overrides={"prefecture": pl.String})
                frames.append(_with_unit_key(frame, kind, branch_code))
        return pl.concat(frames, how="diagonal_relaxed")

    target = read("kpi_targets.csv", "municipal_kpi_targets.csv")
    actual = read("kpi_actuals_quarterly.csv", "municipal_kpi_actuals.csv")
    if "municipality" in target.columns:
        units = (
            target.filter(pl.col("municipality").is_not_null())
            .select(
                key=pl.col("unit_key"),
                kind=pl.lit("municipality"),
                name_ja=pl.col("municipality"),
                prefecture_code=pl.col("prefecture"),
            )
            .unique()
        )
    latest = (
        actual.sort("period")
        .group_by("unit_key", "fiscal_year", "kpi_id")
        .agg(pl.col("value").last().alias("actual"), pl.col("period").last().alias("actual_period"))
    )
    run_ids = {int(fy): str(uuid.uuid4()) for fy in target["fiscal_year"].unique()}  # one run per fiscal year
    evaluations = target.join(latest, on=["unit_key", "fiscal_year", "kpi_id"], how="left").select(
        pl.col("fiscal_year").replace_strict(run_ids, return_dtype=pl.String).alias("run_id"),
        "unit_key",
        "kpi_id",
        "fiscal_year",
        pl.lit("FY").alias("period"),
        "comparator",
        "target_value",
        "unit",
        "actual",
        "actual_period",
        pl.when(pl.col("actual").is_null())
        .then(pl.lit("no_actual"))
        .when(pl.col("actual") >= pl.col("target_value"))
        .then(pl.lit("achieved"))
        .otherwise(pl.lit("missed"))
        .alias("status"),
        pl.when(pl.col("actual") >= pl.col("target_value")).then(pl.lit("○")).otherwise(pl.lit("×")).alias("mark"),
        pl.lit("actual vs target").alias("reason"),
        pl.lit("{}").alias("inputs"),
    )
    with engine.begin() as conn:  # one bulk insert per table
        conn.execute(sa.insert(schema.ingest_batches), [{"id": batch, "started_at": now, "status": "loaded"}])
        conn.execute(
            sa.insert(schema.landed_files),
            [
                {
                    "id": 1,
                    "first_batch_id": batch,
                    "file_name": "floor",
                    "sha256": "0" * 64,
                    "size_bytes": 0,
                    "archive_path": "-",
                    "landed_at": now,
                }
            ],
        )
        conn.execute(
            sa.insert(schema.monthly_stats),
            stats.with_columns(source_file_id=pl.lit(1), batch_id=pl.lit(batch), loaded_at=pl.lit(now)).to_dicts(),
        )
        conn.execute(sa.insert(schema.monthly_kpis), monthly.with_columns(computed_at=pl.lit(now)).to_dicts())
        conn.execute(sa.insert(schema.fiscal_year_kpis), yearly.with_columns(computed_at=pl.lit(now)).to_dicts())
        if len(units):
            conn.execute(sa.insert(schema.reporting_units), units.to_dicts())
        common = {"source_file_id": pl.lit(1), "batch_id": pl.lit(batch), "loaded_at": pl.lit(now)}
        conn.execute(
            sa.insert(schema.kpi_targets),
            target.select(
                "unit_key", "fiscal_year", "kpi_id", "comparator", "target_value", "unit", **common
            ).to_dicts(),
        )
        conn.execute(
            sa.insert(schema.kpi_actuals),
            actual.select("unit_key", "fiscal_year", "period", "kpi_id", "value", "unit", **common).to_dicts(),
        )
        conn.execute(
            sa.insert(schema.evaluation_runs),
            [
                {
                    "id": run_id,
                    "created_at": now,
                    "fiscal_year": fy,
                    "evaluated": 0,
                    "achieved": 0,
                    "missed": 0,
                    "on_track": 0,
                    "at_risk": 0,
                    "not_evaluable": 0,
                }
                for fy, run_id in run_ids.items()
            ],
        )
        conn.execute(sa.insert(schema.kpi_evaluations), evaluations.to_dicts())
    rows = stats.height + monthly.height + yearly.height + target.height + actual.height + evaluations.height
    print(
        json.dumps(
            {
                "seconds": time.perf_counter() - STARTED,
                "rows_written": rows,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def _with_unit_key(frame, kind: str, branch_code: dict[str, str]):  # type: ignore[no-untyped-def]
    import polars as pl

    if kind == "branch":
        return frame.with_columns(unit_key=pl.col("branch").replace_strict(branch_code))
    return frame.with_columns(unit_key=pl.format("{}:{}", pl.col("prefecture"), pl.col("municipality")))


if __name__ == "__main__":
    main()
