"""What the branch's KPI report shows, read from the warehouse: the report a branch publishes after a
fiscal year (事業実績) or a quarter (事業計画実施状況).

- statistics (月報): the six monthly metrics of the branch and of the nation, month by month, for the
  report's fiscal year and the ones before it, with 前年同月比 (monthly_kpis);
- KPIs: every target of the branch's plan with its actual, the previous year's and the mark, grouped
  as the plan groups them (the evaluation is the stored one when nothing it reads has changed, else
  it is evaluated and stored now, like `branchkpi evaluate`);
- the branch's deviation score (偏差値) and rank among the branches for the ranked KPIs.

Rendering is elsewhere (charts, html, xlsx beside this module); this module only gathers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl
import sqlalchemy as sa

from branchkpi.domain import fiscal, kpis, metrics, regions
from branchkpi.tasks import evaluate, rank
from branchkpi.warehouse import reads

FISCAL_MONTHS = fiscal.FISCAL_MONTHS  # 4月 … 3月
STAT_METRICS = tuple(m for m in metrics.METRICS if not m.derived)  # the six printed in the 月報
YEARS_SHOWN = 3  # the report's fiscal year and the two before it, as branches print them


class ReportError(ValueError):
    """The report cannot be made as asked (unknown branch, nothing in the warehouse)."""


@dataclass
class RankedKpi:
    kpi_id: str
    value: float | None
    deviation_score: float | None
    rank: int | None
    branches: int  # how many branches report the KPI that year


@dataclass
class BranchReportData:
    branch_code: str
    name_ja: str
    name_romaji: str
    fiscal_year: int
    quarter: int | None
    years: list[int]  # oldest first; the last is the report's fiscal year
    # metric, region_code (the branch or 00), fiscal_year, month, value, yoy_pct; the months of the
    # report's fiscal year end with its quarter in a quarterly report
    stats: pl.DataFrame
    evaluation_id: str | None = None
    kpi_rows: list[dict[str, Any]] = field(default_factory=list)  # one per target, in plan order
    ranked: list[RankedKpi] = field(default_factory=list)

    @property
    def months_shown(self) -> tuple[int, ...]:
        return FISCAL_MONTHS if self.quarter is None else FISCAL_MONTHS[: 3 * self.quarter]

    def file_stem(self, lang: str) -> str:
        """yamaguchi_FY2020_Q1_ja: the name the report's files share (.html, .xlsx, the charts' folder)."""
        quarter = f"_Q{self.quarter}" if self.quarter else ""
        return f"{self.name_romaji}_FY{self.fiscal_year}{quarter}_{lang}"


def resolve_branch(name: str) -> regions.Region:
    """A branch by romaji (yamaguchi), Japanese (山口) or JIS code (35); the national total is not one."""
    code = regions.resolve_region(name)
    if code is None or code == regions.NATIONAL_CODE:
        raise ReportError(f"{name!r} is not a branch: give its name (yamaguchi, 山口) or JIS code (35)")
    return regions.BY_CODE[code]


def gather(
    engine: sa.Engine, branch: str, fiscal_year: int, quarter: int | None = None, years_shown: int = YEARS_SHOWN
) -> BranchReportData:
    if quarter is not None and not 1 <= quarter <= 4:
        raise ReportError(f"quarter must be 1-4, got {quarter}")
    region = resolve_branch(branch)
    years = list(range(fiscal_year - years_shown + 1, fiscal_year + 1))
    stats = _stats(engine, region.code, years, quarter)
    data = BranchReportData(region.code, region.name_ja, region.name_romaji, fiscal_year, quarter, years, stats)
    (evaluation,) = evaluate.run_evaluations(engine, [fiscal_year], quarter, [region.code])
    rows = [r for r in evaluation.rows if r["unit_key"] == region.code]
    if stats.height == 0 and not rows:
        raise ReportError(
            f"nothing for {region.name_romaji} ({region.name_ja}) FY{fiscal_year} in the warehouse: "
            "load its monthly statistics or KPI files first"
        )
    data.evaluation_id = evaluation.evaluation_id if rows else None
    texts = reads.kpi_texts(engine, region.code, fiscal_year)
    data.kpi_rows = sorted(({**r, "kpi_text_ja": texts.get(r["kpi_id"])} for r in rows), key=_plan_order)
    data.ranked = _ranked(engine, region.code, fiscal_year)
    return data


def _stats(engine: sa.Engine, code: str, years: list[int], quarter: int | None) -> pl.DataFrame:
    frame = reads.monthly_kpi_series(
        engine, [code, regions.NATIONAL_CODE], years[0], years[-1], [m.id for m in STAT_METRICS]
    )
    if quarter is not None:  # the report's year only up to its quarter: later months are not reported yet
        shown = list(FISCAL_MONTHS[: 3 * quarter])
        frame = frame.filter((pl.col("fiscal_year") < years[-1]) | pl.col("month").is_in(shown))
    return frame


_KPI_ORDER = {k.id: i for i, k in enumerate(kpis.CATALOGUE)}
_GROUP_ORDER = {name: i for i, name in enumerate(kpis.GROUPS.values())}


def _plan_order(row: dict[str, Any]) -> tuple[int, int, str]:
    return _GROUP_ORDER.get(row.get("group") or "", 99), _KPI_ORDER.get(row["kpi_id"], 999), row["kpi_id"]


def _ranked(engine: sa.Engine, code: str, fiscal_year: int) -> list[RankedKpi]:
    out = []
    for kpi in kpis.CATALOGUE:
        if not kpi.ranked:
            continue
        table = rank.rank_branches(engine, kpi.id, fiscal_year)
        mine = table.filter(pl.col("unit_key") == code)
        if mine.height == 0:
            continue
        row = mine.row(0, named=True)
        out.append(RankedKpi(kpi.id, row["value"], row["deviation_score"], row["rank"], table.height))
    return out


def branches_to_report(
    requested: list[str] | tuple[str, ...] | None, unit_keys: list[str] | None, evaluated_units: set[str]
) -> list[str]:
    """The branches a flow run writes reports for, as JIS codes: those asked for (a flow parameter,
    else BRANCHKPI_REPORT_BRANCHES; "all" = every branch the run evaluated), else the branches the run
    was scoped to (evaluate --branch yamaguchi reports Yamaguchi). Municipalities have no branch report."""
    if requested:
        if any(r.strip().lower() == "all" for r in requested):
            return sorted(u for u in evaluated_units if u in regions.BY_CODE and u != regions.NATIONAL_CODE)
        return sorted({resolve_branch(r).code for r in requested})
    return sorted({u for u in unit_keys or [] if u in regions.BY_CODE and u != regions.NATIONAL_CODE})


def quarter_of(month: int) -> int | None:
    """The report a month's statistics complete: March closes the fiscal year (None: the annual
    report); any other month reports the quarter it falls in (4–6月 Q1 … 1–2月 Q4)."""
    if month == 3:
        return None
    return (FISCAL_MONTHS.index(month)) // 3 + 1
