"""Synthetic KPI targets and quarterly actuals at scale, fixed seed: the 47 branches' ranked KPIs, and
the NHI side's 1,741 municipalities (市町村, with Tokyo's 23 wards) for the four 国保 KPIs.

Actuals are drawn around each KPI's typical level (the real national figure where the seed prints
one) and reported at the end of each quarter: cumulative KPIs (check-up rates) build up through the
year, level KPIs move a little. Targets sit near the unit's own level, so some are met and some
missed. Municipality names are real for 岡山県 (the seed's 27); elsewhere they are numbered
placeholders under their prefecture, in the real count per prefecture."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import polars as pl

from branchkpi.domain import kpi_ranges, kpis, regions
from branchkpi.synthetic.stats import SEED  # one seed for every synthetic series

# 市町村 per prefecture (JIS order 01–47; 東京都 counts its 23 special wards): 1,741 in all
MUNICIPALITIES_PER_PREFECTURE = (
    179,
    40,
    33,
    35,
    25,
    35,
    59,
    44,
    25,
    35,
    63,
    54,
    62,
    33,
    30,
    15,
    19,
    17,
    27,
    77,
    42,
    35,
    54,
    29,
    19,
    26,
    43,
    41,
    39,
    30,
    19,
    19,
    27,
    23,
    19,
    24,
    17,
    20,
    34,
    60,
    20,
    21,
    45,
    18,
    26,
    43,
    41,
)
NHI_LEVELS = {  # typical municipal level (%) and spread across municipalities
    "nhi_collection_rate": (94.0, 2.5),
    "nhi_specific_checkup_rate": (37.0, 8.0),
    "nhi_health_guidance_rate": (28.0, 12.0),
    "nhi_generic_drug_share": (80.0, 3.0),
}
QUARTER_ENDS = ((1, 6), (2, 9), (3, 12), (4, 3))  # quarter, calendar month of its end


def municipalities(okayama_names: list[str]) -> pl.DataFrame:
    """prefecture (JIS code), municipality (name): the 1,741 reporting units of the NHI side."""
    prefs, names = [], []
    for branch, count in zip(regions.BRANCHES, MUNICIPALITIES_PER_PREFECTURE, strict=True):
        real = okayama_names if branch.code == "33" else []
        own = real[:count] + [f"{branch.name_ja}市町村{i:03d}" for i in range(len(real) + 1, count + 1)]
        prefs += [branch.code] * count
        names += own
    return pl.DataFrame({"prefecture": prefs, "municipality": names})


def _quarterly(rng: np.random.Generator, level: np.ndarray, cumulative: bool, scale: float) -> dict[str, np.ndarray]:
    """Quarter-end actuals for units × years: level is the year-end value per unit and year; `scale`
    sizes the noise of a level KPI to its magnitude (a 0.26 % rate moves by hundredths)."""
    out = {}
    for quarter, _ in QUARTER_ENDS:
        if cumulative:
            value = level * quarter / 4 * rng.normal(1.0, 0.03, level.shape)
        else:
            value = level + rng.normal(0.0, 0.3, level.shape) * (4 - quarter) * scale
        out[str(quarter)] = np.clip(value, 0.0, 100.0)
    return out


def _frames(
    units: pl.DataFrame,
    unit_cols: list[str],
    kpi_ids: list[str],
    centers: dict[str, tuple[float, float]],
    fiscal_years: list[int],
    rng: np.random.Generator,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every figure inside its KPI's plausible range (branchkpi.domain.kpi_ranges), as the gate checks
    them; small rates (査定率 0.26 %) move on their own scale, not by whole points."""
    targets, actuals = [], []
    n, years = units.height, np.array(fiscal_years)
    for kpi_id in kpi_ids:
        kpi = kpis.BY_ID[kpi_id]
        center, spread = centers[kpi_id]
        low, high = kpi_ranges.PCT_RANGES.get(kpi_id, (0.0, 100.0))
        floor, ceiling = max(low, center / 3, 0.01), min(high, 99.9)
        scale = min(1.0, center / 20)  # points of movement, relative to the KPI's size
        digits = 1 if center >= 10 else 2
        own = np.clip(rng.normal(center, spread, n), floor, min(ceiling, 99.5))  # the unit's level
        trend = rng.normal(0.3, 0.2, n) * scale  # points a year
        level = np.clip(own[:, None] + trend[:, None] * (years - years[-1])[None, :], floor, ceiling)
        year_end = np.clip(level + rng.normal(0.0, 0.6, level.shape) * scale, floor, ceiling)
        target = np.round(np.clip(level + rng.normal(0.2, 0.8, level.shape) * scale, floor, ceiling), digits)
        grid = units.join(pl.DataFrame({"fiscal_year": fiscal_years}), how="cross")
        targets.append(
            grid.with_columns(
                kpi_id=pl.lit(kpi_id),
                target_value=pl.Series(target.ravel()),
                unit=pl.lit(kpi.unit),
                comparator=pl.lit("ge"),
            )
        )
        for quarter, month in QUARTER_ENDS:
            value = _quarterly(rng, year_end, kpi.cumulative, scale)[str(quarter)]
            if not kpi.cumulative:
                value = np.clip(value, floor, ceiling)
            period = pl.format("{}-{}", pl.col("fiscal_year") + (1 if month == 3 else 0), pl.lit(f"{month:02d}"))
            values = pl.Series(np.round(value.ravel(), 2))
            actuals.append(grid.with_columns(period=period, kpi_id=pl.lit(kpi_id), value=values, unit=pl.lit(kpi.unit)))
    order = [*unit_cols, "fiscal_year"]
    target_frame = pl.concat(targets).select(*order, "kpi_id", "target_value", "unit", "comparator")
    actual_frame = pl.concat(actuals).select(*order, "period", "kpi_id", "value", "unit")
    return target_frame, actual_frame


def synth_branch_kpis(
    real_actuals: pl.DataFrame, fiscal_years: Iterable[int], seed: int = SEED
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Targets (branch, fiscal_year, kpi_id, target_value, unit, comparator) and quarterly actuals
    (branch, fiscal_year, period, kpi_id, value, unit) of every ranked percentage KPI, 47 branches."""
    rng = np.random.default_rng(seed + 1)
    ranked = [k.id for k in kpis.CATALOGUE if k.ranked and k.unit == "pct"]
    centers = {}
    for kpi_id in ranked:
        printed = real_actuals.filter(pl.col("kpi_id") == kpi_id)["value"]
        center = float(printed.mean()) if printed.len() else 50.0  # type: ignore[arg-type]
        centers[kpi_id] = (center, max(min(0.5, center * 0.2), center * 0.08))
    branches = pl.DataFrame({"branch": [b.name_romaji for b in regions.BRANCHES]})
    return _frames(branches, ["branch"], ranked, centers, sorted(set(fiscal_years)), rng)


def synth_municipal_kpis(
    okayama_names: list[str], fiscal_years: Iterable[int], seed: int = SEED
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Targets and quarterly actuals of the four NHI KPIs for the 1,741 municipalities, with the
    columns prefecture (JIS code) and municipality in front."""
    rng = np.random.default_rng(seed + 2)
    return _frames(
        municipalities(okayama_names),
        ["prefecture", "municipality"],
        list(NHI_LEVELS),
        NHI_LEVELS,
        sorted(set(fiscal_years)),
        rng,
    )
