"""The monthly statistics (月報) metrics: ids, Japanese headings, units and how they aggregate.

`aggregation` says how a fiscal-year figure is formed from the months: `sum` for flows (保険給付費, and
1人あたり医療費 whose annual figure is the sum of the months) and `mean` for stocks and averages
(事業所数, 被保険者数, 被扶養者数, 平均標準報酬月額). `capped_by_national`: counts and sums, for which no
branch can exceed the national total (averages and per-capita figures can).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from branchkpi.domain import labels

Aggregation = Literal["sum", "mean"]


@dataclass(frozen=True)
class Metric:
    id: str
    name_ja: str
    name_en: str
    unit: str
    aggregation: Aggregation
    capped_by_national: bool
    derived: bool = False


# 保険給付費 prints no unit; its magnitude (national ≈ 6.2 million a year) is that of 百万円. We store the
# value as printed and use this factor only where yen are needed (benefits per member).
INSURANCE_BENEFITS_YEN_PER_UNIT = 1_000_000

METRICS: tuple[Metric, ...] = (
    Metric("establishments", "事業所数", "covered establishments", "count", "mean", True),
    Metric("insured_persons", "被保険者数", "insured persons", "persons", "mean", True),
    Metric("dependents", "被扶養者数", "dependents", "persons", "mean", True),
    Metric(
        "avg_standard_monthly_remuneration_yen",
        "平均標準報酬月額",
        "average standard monthly remuneration",
        "yen",
        "mean",
        False,
    ),
    Metric("insurance_benefits", "保険給付費", "insurance benefits paid", "million yen (as printed)", "sum", True),
    Metric("medical_cost_per_capita_yen", "1人あたり医療費", "medical cost per member", "yen", "sum", False),
)

DERIVED_METRICS: tuple[Metric, ...] = (
    Metric("members", "加入者数", "members (insured + dependents)", "persons", "mean", True, derived=True),
    Metric(
        "insurance_benefits_per_member_yen",
        "加入者1人当たり保険給付費",
        "insurance benefits per member",
        "yen",
        "sum",
        False,
        derived=True,
    ),
)

BY_ID: dict[str, Metric] = {m.id: m for m in (*METRICS, *DERIVED_METRICS)}
INPUT_METRIC_IDS: tuple[str, ...] = tuple(m.id for m in METRICS)


# The units a header may print for each kind of metric (header_synonyms.md lists the words).
UNITS_BY_KIND: dict[str, frozenset[str]] = {
    "count": frozenset({"所", "事業所", "か所", "件"}),
    "persons": frozenset({"人", "名"}),
    "yen": frozenset({"円"}),
    "million yen (as printed)": frozenset({"百万円"}),
}


def _build_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for m in (*METRICS, *DERIVED_METRICS):
        for name in (m.id, m.name_ja, m.name_en):
            index[labels.key(name)] = m.id
    for metric_id, synonym in labels.section("Metrics"):
        if metric_id not in BY_ID:
            raise ValueError(f"header_synonyms.md: {metric_id!r} is not a metric id")
        index[labels.key(synonym)] = metric_id
    return index


_INDEX = _build_index()


def resolve_metric(text: object) -> str | None:
    """Map a metric label to its id, exactly after normalisation (labels.label): the id, the Japanese
    heading (`◆被保険者数`, `1人あたり医療費（入院+入院外+歯科）`), the English name or a documented
    synonym. A label that only contains a metric's name is None."""
    if text is None:
        return None
    return _INDEX.get(labels.key(text))


def metric_named_in(name: str) -> str | None:
    """The metric a file or sheet name names as one of its words (`national_insured_persons.csv`,
    `山口_被扶養者数_令和2年度.xlsx`), or None."""
    for span in labels.spans(name):
        if span in _INDEX:
            return _INDEX[span]
    return None


def near_metric(text: object) -> str | None:
    """The metric name a label contains without being it (`◆任意継続被保険者数` contains 被保険者数):
    such a label is refused, never read as that metric. None when the label is a metric or names none."""
    k = labels.key(text)
    if not k or k in _INDEX:
        return None
    for name in sorted(_INDEX, key=len, reverse=True):
        if len(name) >= 3 and not name.isascii() and name in k:
            return _INDEX[name]
    return None


def unit_problem(metric_id: str, label: labels.Label) -> str | None:
    """Why the units a header prints do not fit the metric (a scaled unit such as 千人, or another
    kind of unit), or None."""
    metric = BY_ID[metric_id]
    if label.scaled_units:
        return (
            f"the unit {label.scaled_units[0]} is scaled; {metric.name_ja} is stored as printed in "
            f"{'/'.join(sorted(UNITS_BY_KIND.get(metric.unit, {'-'})))}: send the figures unscaled"
        )
    allowed = UNITS_BY_KIND.get(metric.unit, frozenset())
    wrong = [u for u in label.units if u not in allowed]
    if wrong:
        return f"the unit {wrong[0]} does not fit {metric.name_ja} ({'/'.join(sorted(allowed)) or metric.unit})"
    return None


# Rows that print a fiscal-year figure under the months (合計 in the published tables and in tidy files).
_ANNUAL_LABELS: dict[str, str] = {
    "合計": "total",
    "計": "total",
    "年度計": "total",
    "年度合計": "total",
    "年計": "total",
    "total": "total",
    "年度平均": "average",
    "平均": "average",
    "average": "average",
}


def annual_label(text: object) -> str | None:
    """`total` for 合計 / 計 / 年度計, `average` for 年度平均, None for anything else (a month)."""
    return _ANNUAL_LABELS.get(labels.key(text)) if text is not None else None


def printed_annual_fits(metric_id: str | None, kind: str | None) -> bool:
    """Whether a printed fiscal-year row is that metric's fiscal-year figure: a 合計 for a summed metric
    (保険給付費), a 年度平均 for a stock or average (被保険者数). The other pairs (a 合計 of monthly
    head counts) are not the figure the warehouse derives and are skipped with a note."""
    if metric_id not in BY_ID or kind is None:
        return False
    return (BY_ID[metric_id].aggregation == "sum") == (kind == "total")
