"""The monthly statistics (月報) metrics: ids, Japanese headings, units and how they aggregate.

`aggregation` says how a fiscal-year figure is formed from the months: `sum` for flows (保険給付費, and
1人あたり医療費 whose annual figure is the sum of the months) and `mean` for stocks and averages
(事業所数, 被保険者数, 被扶養者数, 平均標準報酬月額). `capped_by_national`: counts and sums, for which no
branch can exceed the national total (averages and per-capita figures can).

`plausible_national` / `plausible_branch`: the range a month's figure can have, for 全国 and for any of
the 47 branches, derived from the real series in data/sample/seed (全国 and 山口, FY2017–FY2020; the
derivation is checked in tests/unit/test_plausibility.py, rounded outward to two significant digits):
- 全国: the seed's national minimum ÷ 3 to its maximum × 3 (decades of growth either way, and still
  inside ×10, so a ×10 or ÷10 slip of a national figure is out of range);
- a branch, for counts and sums: the national minimum ÷ 1,000 to the national maximum ÷ 2 (a branch
  holds far more than 1/500 and less than 1/4 of the nation: 山口 1/95, the largest branch about 1/6;
  widened ×/÷2);
- a branch, for averages and per-capita figures: the national minimum ÷ 2 to the national maximum × 2.
Every range spans less than a factor of 1,000, so a figure inside it typed ×1,000 or ÷1,000 (千人, 千円
forgotten or applied twice) lands outside. `RATIOS` are the cross-metric ratios a region's month must
keep (被扶養者数 ÷ 被保険者数, …), with their ranges and why.
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
    plausible_national: tuple[float, float] = (0.0, float("inf"))
    plausible_branch: tuple[float, float] = (0.0, float("inf"))


# 保険給付費 prints no unit; its magnitude (national ≈ 6.2 million a year) is that of 百万円. We store the
# value as printed and use this factor only where yen are needed (benefits per member).
INSURANCE_BENEFITS_YEN_PER_UNIT = 1_000_000

METRICS: tuple[Metric, ...] = (
    # seed 全国 2,013,546–2,398,948, 山口 21,461–23,003
    Metric(
        "establishments",
        "事業所数",
        "covered establishments",
        "count",
        "mean",
        True,
        plausible_national=(670_000, 7_200_000),
        plausible_branch=(2_000, 1_200_000),
    ),
    # seed 全国 22,727,499–24,924,113, 山口 257,300–261,267
    Metric(
        "insured_persons",
        "被保険者数",
        "insured persons",
        "persons",
        "mean",
        True,
        plausible_national=(7_500_000, 75_000_000),
        plausible_branch=(22_000, 13_000_000),
    ),
    # seed 全国 15,376,592–15,726,170, 山口 163,834–176,174
    Metric(
        "dependents",
        "被扶養者数",
        "dependents",
        "persons",
        "mean",
        True,
        plausible_national=(5_100_000, 48_000_000),
        plausible_branch=(15_000, 7_900_000),
    ),
    # seed 全国 281,874–292,822 yen, 山口 268,511–279,439
    Metric(
        "avg_standard_monthly_remuneration_yen",
        "平均標準報酬月額",
        "average standard monthly remuneration",
        "yen",
        "mean",
        False,
        plausible_national=(93_000, 880_000),
        plausible_branch=(140_000, 590_000),
    ),
    # seed 全国 446,283–591,712 (百万円), 山口 4,826–6,421
    Metric(
        "insurance_benefits",
        "保険給付費",
        "insurance benefits paid",
        "million yen (as printed)",
        "sum",
        True,
        plausible_national=(140_000, 1_800_000),
        plausible_branch=(440, 300_000),
    ),
    # seed 全国 12,567–16,814 yen, 山口 13,388–17,775
    Metric(
        "medical_cost_per_capita_yen",
        "1人あたり医療費",
        "medical cost per member",
        "yen",
        "sum",
        False,
        plausible_national=(4_100, 51_000),
        plausible_branch=(6_200, 34_000),
    ),
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


def parts_of(metric_id: str) -> tuple[str, ...]:
    """The input metrics a metric stands for: 加入者数 is 被保険者数 and 被扶養者数; any other is itself."""
    return ("insured_persons", "dependents") if metric_id == "members" else (metric_id,)


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


def plausible_range(metric_id: str, region_code: str | None) -> tuple[float, float]:
    """The range a month's figure of the metric can have for 全国 (`00`) or a branch."""
    metric = BY_ID[metric_id]
    return metric.plausible_national if region_code == "00" else metric.plausible_branch


@dataclass(frozen=True)
class Ratio:
    """A ratio between metrics of one region and month that the real series keep within a range:
    numerator × scale ÷ the sum of the denominators."""

    id: str
    name_ja: str
    numerator: str
    denominators: tuple[str, ...]
    plausible: tuple[float, float]
    scale: float = 1.0

    @property
    def metrics(self) -> tuple[str, ...]:
        return (self.numerator, *self.denominators)


RATIOS: tuple[Ratio, ...] = (
    # seed 0.617–0.686 (全国 and 山口); room for a branch with almost twice as many dependents per insured
    # person, or half as many. Swapped 被保険者数 and 被扶養者数 give 1 ÷ the ratio: 1.46–1.62.
    Ratio("dependents_per_insured", "被扶養者数 ÷ 被保険者数", "dependents", ("insured_persons",), (0.3, 1.2)),
    # seed 10.4–12.0; ×/÷ 3.5. A 事業所数 or 被保険者数 typed ×10 (or the two swapped) lands outside.
    Ratio("insured_per_establishment", "被保険者数 ÷ 事業所数", "insured_persons", ("establishments",), (3.0, 40.0)),
    # seed 11,072–15,214 yen a month per member (保険給付費 in 百万円); ÷3.5 to ×3.3: a 保険給付費 typed
    # ×10 or ÷10, or in 千円, lands outside.
    Ratio(
        "benefits_per_member_yen",
        "保険給付費 ÷ 加入者数（円）",
        "insurance_benefits",
        ("insured_persons", "dependents"),
        (3_000.0, 50_000.0),
        scale=float(INSURANCE_BENEFITS_YEN_PER_UNIT),
    ),
)
