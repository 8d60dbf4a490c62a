"""Synthetic monthly statistics (月報) for the 47 branches and the national total, any range of fiscal
years, with a fixed seed, for benchmarks and tests at scale.

Consistent with the real series in `data/sample/seed/branch_monthly_stats.csv` (national and 山口,
FY2017–FY2020):
- the national series is the real one where printed; other years extend it with the real seasonal
  profile and the real FY2017→FY2019 growth of each metric (FY2020's pandemic dip is not extended);
- 山口 keeps its real figures where printed;
- counts and sums (事業所数, 被保険者数, 被扶養者数, 保険給付費): the branches add up exactly to the
  national figure (the rounding remainder goes to the largest branch); a branch's 被扶養者数 follows its
  被保険者数 closely, so its ratio stays in the plausible range of the quality gate;
- averages (平均標準報酬月額): the branches' mean weighted by 被保険者数 equals the national figure;
- 1人当たり医療費 follows each branch's 保険給付費 ÷ (被保険者数 + 被扶養者数), with the national
  ratio between the two, so the gate's consistency check holds.
Branch sizes are drawn once (log-normal, fixed seed) and drift slowly; months get a little noise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import polars as pl

from branchkpi.domain import regions
from branchkpi.domain.metrics import INSURANCE_BENEFITS_YEN_PER_UNIT, METRICS

SEED = 20201  # fixed: runs, tests and benchmarks repeat
ADDITIVE = ("establishments", "insured_persons", "dependents", "insurance_benefits")
REAL_BRANCH = "35"  # 山口: the branch with real figures in the seed
MONTHS = list(range(1, 13))
DECIMALS = {"insurance_benefits": 0, "avg_standard_monthly_remuneration_yen": 0, "medical_cost_per_capita_yen": 0}


def national_series(real: pl.DataFrame, fiscal_years: Iterable[int]) -> dict[tuple[str, int, int], float]:
    """(metric, fiscal_year, month) -> national value: real where printed, else extended."""
    nat = real.filter(pl.col("region") == regions.NATIONAL_CODE)
    values = {(r["metric"], r["fiscal_year"], r["month"]): float(r["value"]) for r in nat.iter_rows(named=True)}
    real_years = sorted({fy for _, fy, _ in values})
    out: dict[tuple[str, int, int], float] = {}
    for metric in {m for m, _, _ in values}:
        annual = {fy: sum(values[(metric, fy, m)] for m in MONTHS) for fy in real_years}
        base_year = real_years[0] if len(real_years) < 3 else real_years[2]  # FY2019: before the pandemic
        growth = (annual[base_year] / annual[real_years[0]]) ** (1 / max(1, base_year - real_years[0]))
        for fy in fiscal_years:
            for m in MONTHS:
                if (metric, fy, m) in values:
                    out[(metric, fy, m)] = values[(metric, fy, m)]
                else:
                    ref = base_year if fy < real_years[0] or fy > real_years[-1] else fy
                    anchor = real_years[-1] if fy > real_years[-1] else base_year
                    out[(metric, fy, m)] = values[(metric, ref, m)] * growth ** (fy - anchor)
    # Outside the real years 被扶養者数 keeps its real ratio to 被保険者数 and 1人当たり医療費 its real
    # ratio to 保険給付費 per member (that month of the base year), instead of trends of their own that
    # over decades would give more dependents than insured persons, or a per-capita cost apart from the
    # benefits (the gate checks both ratios).
    base_year = real_years[0] if len(real_years) < 3 else real_years[2]
    for fy in fiscal_years:
        for m in MONTHS:
            if ("dependents", fy, m) in values or ("insured_persons", fy, m) not in out:
                continue
            dependents = values[("dependents", base_year, m)] / values[("insured_persons", base_year, m)]
            out[("dependents", fy, m)] = out[("insured_persons", fy, m)] * dependents
            if ("insurance_benefits", fy, m) in out and ("medical_cost_per_capita_yen", base_year, m) in values:

                def per_member(source: dict[tuple[str, int, int], float], year: int, month: int = m) -> float:
                    members = source[("insured_persons", year, month)] + source[("dependents", year, month)]
                    return source[("insurance_benefits", year, month)] * INSURANCE_BENEFITS_YEN_PER_UNIT / members

                cost = values[("medical_cost_per_capita_yen", base_year, m)] / per_member(values, base_year)
                out[("medical_cost_per_capita_yen", fy, m)] = per_member(out, fy) * cost
    return out


def synth_monthly_stats(real: pl.DataFrame, fiscal_years: Iterable[int], seed: int = SEED) -> pl.DataFrame:
    """real: the seed's tidy statistics with region as a JIS code. Returns tidy rows (region, fiscal_year,
    month, metric, value, unit) for the 47 branches and the national total."""
    years = sorted(set(fiscal_years))
    rng = np.random.default_rng(seed)
    nat = national_series(real, years)
    real_branch = {
        (r["metric"], r["fiscal_year"], r["month"]): float(r["value"])
        for r in real.filter(pl.col("region") == REAL_BRANCH).iter_rows(named=True)
    }
    codes = [b.code for b in regions.BRANCHES]
    n = len(codes)
    size = rng.lognormal(0.0, 0.7, n)  # branch sizes: a few large (Tokyo-like), many small
    size[codes.index("13")] = size.max() * 2.5
    mix = {m: rng.lognormal(0.0, 0.12, n) for m in ADDITIVE}  # each metric a little differently per branch
    # dependents follow the branch's insured persons closely (real ratios 0.62–0.69, the gate's range
    # 0.3–1.2): a third of the spread of the other metrics around them
    mix["dependents"] = mix["insured_persons"] * mix["dependents"] ** (1 / 3)
    pay = rng.lognormal(0.0, 0.08, n)  # remuneration level of the branch
    use = rng.normal(1.0, 0.02, n)  # medical use relative to the benefits paid
    drift = rng.normal(0.0, 0.004, n)  # yearly drift of the size
    largest = int(np.argmax(size))
    rows: dict[str, list[object]] = {k: [] for k in ("region", "fiscal_year", "month", "metric", "value")}

    def emit(code: str, fy: int, month: int, metric: str, value: float) -> None:
        rows["region"].append(code)
        rows["fiscal_year"].append(fy)
        rows["month"].append(month)
        rows["metric"].append(metric)
        rows["value"].append(value)

    for fy in years:
        weight = size * (1 + drift) ** (fy - years[0])
        for month in MONTHS:
            noise = rng.normal(1.0, 0.002, n)
            branch: dict[str, np.ndarray] = {}
            for metric in ADDITIVE:
                total = round(nat[(metric, fy, month)], DECIMALS.get(metric, 0))
                share = weight * mix[metric] * noise
                own = real_branch.get((metric, fy, month))
                values = np.zeros(n)
                others = np.ones(n, dtype=bool)
                if own is not None:
                    values[codes.index(REAL_BRANCH)] = own
                    others[codes.index(REAL_BRANCH)] = False
                rest = total - values.sum()
                values[others] = np.round(rest * share[others] / share[others].sum(), DECIMALS.get(metric, 0))
                values[largest] += round(total - values.sum(), DECIMALS.get(metric, 0))  # exact sum
                branch[metric] = values
                for code, v in zip(codes, values, strict=True):
                    emit(code, fy, month, metric, float(v))
                emit(regions.NATIONAL_CODE, fy, month, metric, float(total))
            _averages(branch, nat, real_branch, codes, pay, use, fy, month, emit)
    frame = pl.DataFrame(
        rows,
        schema={
            "region": pl.String,
            "fiscal_year": pl.Int32,
            "month": pl.Int32,
            "metric": pl.String,
            "value": pl.Float64,
        },
    )
    units = {m.id: m.unit for m in METRICS}
    return frame.with_columns(unit=pl.col("metric").replace_strict(units, default=""))


def _averages(
    branch: dict[str, np.ndarray],
    nat: dict[tuple[str, int, int], float],
    real_branch: dict[tuple[str, int, int], float],
    codes: list[str],
    pay: np.ndarray,
    use: np.ndarray,
    fy: int,
    month: int,
    emit: Callable[[str, int, int, str, float], None],
) -> None:
    """平均標準報酬月額 (weighted by 被保険者数) and 1人当たり医療費 (from benefits per member)."""
    insured = branch["insured_persons"]
    members = insured + branch["dependents"]
    yamaguchi = codes.index(REAL_BRANCH)
    metric = "avg_standard_monthly_remuneration_yen"
    national = round(nat[(metric, fy, month)])
    values = national * pay
    own = real_branch.get((metric, fy, month))
    if own is not None:
        values[yamaguchi] = own
    others = np.arange(len(codes)) != yamaguchi if own is not None else np.ones(len(codes), dtype=bool)
    need = national * insured.sum() - (values[~others] * insured[~others]).sum()
    values[others] *= need / (values[others] * insured[others]).sum()  # weighted mean = national
    for code, v in zip(codes, np.round(values), strict=True):
        emit(code, fy, month, metric, float(v))
    emit(regions.NATIONAL_CODE, fy, month, metric, float(national))

    metric = "medical_cost_per_capita_yen"
    national = round(nat[(metric, fy, month)])
    ratio = nat[("insurance_benefits", fy, month)] * INSURANCE_BENEFITS_YEN_PER_UNIT / members.sum() / national
    values = branch["insurance_benefits"] * INSURANCE_BENEFITS_YEN_PER_UNIT / members / ratio * use
    own = real_branch.get((metric, fy, month))
    if own is not None:
        values[yamaguchi] = own
    for code, v in zip(codes, np.round(values), strict=True):
        emit(code, fy, month, metric, float(v))
    emit(regions.NATIONAL_CODE, fy, month, metric, float(national))


def read_real_stats(path: Path) -> pl.DataFrame:
    """The seed's tidy statistics with the region as a JIS code."""
    frame = pl.read_csv(path, infer_schema=False)
    return frame.select(
        pl.col("region").map_elements(regions.resolve_region, return_dtype=pl.String),
        pl.col("fiscal_year").cast(pl.Int32),
        pl.col("month").cast(pl.Int32),
        "metric",
        pl.col("value").cast(pl.Float64),
    )


def write_by_fiscal_year(frame: pl.DataFrame, folder: Path) -> list[Path]:
    """One tidy CSV per fiscal year (as a branch keeps them), named FY2005.csv …"""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    ordered = frame.sort("fiscal_year", "region", "metric", "month")
    for (fy,), part in ordered.group_by("fiscal_year", maintain_order=True):
        path = folder / f"monthly_stats_FY{fy}.csv"
        part.write_csv(path)
        written.append(path)
    return written
