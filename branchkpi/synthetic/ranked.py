"""Synthetic KPI actuals for all 47 branches, with a fixed seed, consistent with the real series:
each branch's value is drawn around the real national figure where one is printed (else around the
real branch figures), with a spread typical of the association's published branch rankings, and the
branches that have real figures keep them (they are not generated). For demos, tests at scale and
the cross-branch deviation scores; the real figures stay the sample data."""

from __future__ import annotations

import random
from collections.abc import Iterable

import polars as pl

from branchkpi.domain import kpis, regions
from branchkpi.synthetic.stats import SEED  # one seed for every synthetic series

# Coefficient of variation across branches, by KPI (published rankings: check-up rates vary more
# than recovery rates, which sit close to their ceiling).
SPREAD = {"card_recovery_rate": 0.015, "generic_drug_share": 0.03, "pr_understanding_rate": 0.08}
DEFAULT_SPREAD = 0.12


def synth_kpi_actuals(real: pl.DataFrame, fiscal_years: Iterable[int], seed: int = SEED) -> pl.DataFrame:
    """real: canonical actuals (branch, fiscal_year, period, kpi_id, value, unit). Returns rows in the
    same canonical format for every ranked KPI, fiscal year and branch without a real figure."""
    rng = random.Random(seed)
    real = real.with_columns(code=pl.col("branch").map_elements(regions.resolve_region, return_dtype=pl.String))
    out: list[dict[str, object]] = []
    for kpi in (k for k in kpis.CATALOGUE if k.ranked):
        figures = real.filter(pl.col("kpi_id") == kpi.id)
        for fy in fiscal_years:
            this_year = figures.filter(pl.col("fiscal_year") == fy)
            national = this_year.filter(pl.col("code") == regions.NATIONAL_CODE)["value"]
            anchor = national if national.len() else this_year["value"]
            if anchor.len() == 0:
                anchor = figures["value"]
            if anchor.len() == 0:
                continue
            center = float(anchor.mean())  # type: ignore[arg-type]
            have = set(this_year["code"].to_list())
            for branch in regions.BRANCHES:
                if branch.code in have:
                    continue
                value = rng.gauss(center, center * SPREAD.get(kpi.id, DEFAULT_SPREAD))
                value = min(100.0, max(0.0, value)) if kpi.unit == "pct" else max(0.0, value)
                out.append(
                    {
                        "branch": branch.name_romaji,
                        "fiscal_year": fy,
                        "period": "FY",
                        "as_of": "",
                        "kpi_id": kpi.id,
                        "value": round(value, 2 if center < 10 else 1),
                        "unit": kpi.unit,
                        "source_file": "synthetic",
                        "note": f"synthetic, seed {seed}",
                    }
                )
    return pl.DataFrame(out)
