"""Synthetic data at scale, fixed seed, consistent with the real published series kept in `seed/`
(package data: the project's data/sample/seed): monthly statistics of the 47 branches and the national
total (stats), the branches' KPI targets and quarterly actuals and the municipalities' NHI KPIs (kpis),
fiscal-year actuals of the ranked KPIs (ranked). For demos, tests at scale and `make bench`."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from branchkpi.synthetic import kpis, ranked, stats
from branchkpi.synthetic.stats import SEED

SEED_DIR = Path(__file__).parent / "seed"  # the real figures the synthetic series extend


def real_kpi_actuals() -> pl.DataFrame:
    return pl.read_csv(SEED_DIR / "kpi_actuals.csv", infer_schema=False).with_columns(
        pl.col("fiscal_year").cast(pl.Int32), pl.col("value").cast(pl.Float64, strict=False)
    )


def okayama_municipalities() -> list[str]:
    """The 27 municipalities of 岡山県 as the seed's NHI files name them."""
    files = [SEED_DIR / f"okayama_collection_rate_{kind}.csv" for kind in ("targets", "notes", "actuals")]
    names = pl.concat([pl.read_csv(p, infer_schema=False)["municipality_ja"] for p in files])
    return names.unique(maintain_order=True).to_list()


def write_synthetic(out: Path, years: range, seed: int = SEED, municipal: bool = False) -> list[tuple[Path, int]]:
    """Write every synthetic file under `out`; returns (path, rows) per file written."""
    real = real_kpi_actuals()
    out.mkdir(parents=True, exist_ok=True)
    written: list[tuple[Path, int]] = []
    monthly = stats.synth_monthly_stats(stats.read_real_stats(SEED_DIR / "branch_monthly_stats.csv"), years, seed)
    for path in stats.write_by_fiscal_year(monthly, out / "monthly_stats"):
        written.append((path, monthly.filter(pl.col("fiscal_year") == int(path.stem[-4:])).height))
    targets, actuals = kpis.synth_branch_kpis(real, years, seed)
    frames = [
        ("kpi_targets.csv", targets),
        ("kpi_actuals_quarterly.csv", actuals),
        ("kpi_actuals_synthetic.csv", ranked.synth_kpi_actuals(real, years, seed)),
    ]
    if municipal:
        m_targets, m_actuals = kpis.synth_municipal_kpis(okayama_municipalities(), years, seed)
        frames += [("municipal_kpi_targets.csv", m_targets), ("municipal_kpi_actuals.csv", m_actuals)]
    for name, frame in frames:
        frame.write_csv(out / name)
        written.append((out / name, frame.height))
    return written
