"""The monthly statistics (月報) metrics: ids, Japanese headings, units and how they aggregate.

`aggregation` says how a fiscal-year figure is formed from the months: `sum` for flows (保険給付費, and
1人あたり医療費 whose annual figure is the sum of the months) and `mean` for stocks and averages
(事業所数, 被保険者数, 被扶養者数, 平均標準報酬月額). `capped_by_national`: counts and sums, for which no
branch can exceed the national total (averages and per-capita figures can).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

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
    aliases: tuple[str, ...] = field(default=())


# 保険給付費 prints no unit; its magnitude (national ≈ 6.2 million a year) is that of 百万円. We store the
# value as printed and use this factor only where yen are needed (benefits per member).
INSURANCE_BENEFITS_YEN_PER_UNIT = 1_000_000

METRICS: tuple[Metric, ...] = (
    Metric(
        "establishments",
        "事業所数",
        "covered establishments",
        "count",
        "mean",
        True,
        aliases=("事業所", "適用事業所数", "establishment", "employers"),
    ),
    Metric(
        "insured_persons",
        "被保険者数",
        "insured persons",
        "persons",
        "mean",
        True,
        aliases=("被保険者", "insured", "insuredpersons"),
    ),
    Metric("dependents", "被扶養者数", "dependents", "persons", "mean", True, aliases=("被扶養者", "dependent")),
    Metric(
        "avg_standard_monthly_remuneration_yen",
        "平均標準報酬月額",
        "average standard monthly remuneration",
        "yen",
        "mean",
        False,
        aliases=(
            "標準報酬月額",
            "avgstandardmonthlyremuneration",
            "averagestandardmonthlyremuneration",
            "avg_standard_monthly_remuneration",
            "remuneration",
        ),
    ),
    Metric(
        "insurance_benefits",
        "保険給付費",
        "insurance benefits paid",
        "million yen (as printed)",
        "sum",
        True,
        aliases=("給付費", "benefits", "insurancebenefits"),
    ),
    Metric(
        "medical_cost_per_capita_yen",
        "1人あたり医療費",
        "medical cost per member",
        "yen",
        "sum",
        False,
        aliases=(
            "1人当たり医療費",
            "一人当たり医療費",
            "一人あたり医療費",
            "medicalcostpercapita",
            "medical_cost_per_capita",
            "percapitamedicalcost",
        ),
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

_DECORATION = re.compile(r"[◆◇■□●○・★☆【】\[\]「」\s_\-]")
_PARENTHESISED = re.compile(r"[（(][^）)]*[）)]")


def _key(text: str) -> str:
    s = unicodedata.normalize("NFKC", text).lower()
    s = _PARENTHESISED.sub("", s)
    return _DECORATION.sub("", s)


def _build_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for m in (*METRICS, *DERIVED_METRICS):
        for name in (m.id, m.name_ja, m.name_en, *m.aliases):
            index[_key(name)] = m.id
    return index


_INDEX = _build_index()


def resolve_metric(text: object) -> str | None:
    """Map a metric id, Japanese heading (`◆被保険者数`, `1人あたり医療費（入院+入院外+歯科）`) or English
    name to the metric id, or None."""
    if text is None:
        return None
    return _INDEX.get(_key(str(text)))


def find_metric_in(text: str) -> str | None:
    """Find a metric named somewhere inside a longer text (a title line or a file name)."""
    key = _key(text)
    exact = _INDEX.get(key)
    if exact:
        return exact
    # longest name first, so 被扶養者数 is not read as 被保険者数's shorter alias and vice versa
    for name in sorted(_INDEX, key=len, reverse=True):
        if len(name) >= 4 and name in key:
            return _INDEX[name]
    return None
