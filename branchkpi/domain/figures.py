"""Figures as a person reads them on a run page or in a terminal table: thousands separators, the unit
the branch prints (人, 円, %, 件, 事業所, 百万円), and never exponent form (1.04075e+06 is a figure no
planning officer can read or copy into a report). The counterpart of `numbers`, which reads printed
figures; machine-readable outputs (JSON, CSV, the warehouse) keep the full value and never pass here."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from branchkpi.domain import kpis, metrics

Lang = Literal["ja", "en"]

# the most decimals a figure is shown with when the caller gives none: every published figure has
# fewer (0.281% is the finest), and it cuts float noise such as 1040750.3900000001
MAX_DECIMALS = 6

# unit kind → (ja, en) text written after the number
_UNIT_TEXT: dict[str, tuple[str, str]] = {
    "pct": ("%", "%"),
    "yen": ("円", " yen"),
    "persons": ("人", " persons"),
    "count": ("件", ""),
    "establishments": ("事業所", " establishments"),
    "million_yen": ("百万円", " million yen"),
}

# the 月報 metrics' unit (metrics.Metric.unit, in English words) → unit kind and decimals shown:
# counts of people and establishments are whole, yen are read to the yen
_METRIC_UNITS: dict[str, tuple[str, int]] = {
    "count": ("establishments", 0),
    "persons": ("persons", 0),
    "yen": ("yen", 0),
    "million yen (as printed)": ("million_yen", 0),
}

# KPIs counted in people or establishments rather than cases (the plans print 人 / 名 / 事業所 after them)
_KPI_COUNT_UNITS: dict[str, str] = {
    "lifestyle_checkup_count": "persons",
    "employer_checkup_data_count": "persons",
    "checkup_eligible_insured_count": "persons",
    "dependent_specific_checkup_count": "persons",
    "specific_health_guidance_completed_insured": "persons",
    "specific_health_guidance_completed_dependents": "persons",
    "specific_health_guidance_completed_insured_in_house": "persons",
    "specific_health_guidance_completed_insured_outsourced": "persons",
    "specific_health_guidance_eligible_insured": "persons",
    "specific_health_guidance_eligible_dependents": "persons",
    "health_committee_members": "persons",
    "health_committee_new_commissions": "persons",
    "mail_magazine_subscribers": "persons",
    "health_declaration_establishments": "establishments",
    "new_health_declaration_establishments": "establishments",
    "dependent_recheck_establishments_sent": "establishments",
    "dependent_recheck_establishments_submitted": "establishments",
}

NONE_TEXT = "—"  # the plans' dash for "no figure"


def number(value: float | int | None, digits: int | None = None) -> str:
    """15419118 → 15,419,118; 290305.17 (digits=0) → 290,305; 0.281 → 0.281; 1040750.0 → 1,040,750.
    `digits` fixes the decimals; without it the value is shown as it is (shortest exact decimal, up to
    MAX_DECIMALS). A minus stays "-": △ is the at-risk mark on the same pages."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) and digits is None:
        return f"{value:,}"
    if value != value or value in (float("inf"), float("-inf")):  # NaN, ±inf: say so, as Python does
        return str(value)
    if digits is not None:  # + 0.0: no "-0.0" for a value that rounds to zero; 25 at one place is 25.0
        return f"{round(value, digits) + 0.0:,.{digits}f}"
    exact = Decimal(repr(round(value, MAX_DECIMALS) + 0.0))
    text = f"{exact:,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def unit_text(kind: str | None, lang: Lang = "ja") -> str:
    ja, en = _UNIT_TEXT.get(kind or "", ("", ""))
    return ja if lang == "ja" else en


def figure(value: float | int | None, kind: str | None, lang: Lang = "ja", digits: int | None = None) -> str:
    """A number with its unit: 15,419,118人, 96.3%, 290,305円; — when there is none."""
    if value is None:
        return NONE_TEXT
    return number(value, digits) + unit_text(kind, lang)


def metric_figure(metric_id: str, value: float | int | None, lang: Lang = "ja") -> str:
    """A 月報 metric's value: 被保険者数 15,419,118人, 1人あたり医療費 21,305円, 保険給付費 6,123百万円."""
    kind, digits = metric_unit_kind(metric_id)
    return figure(value, kind, lang, digits)


def metric_unit_kind(metric_id: str) -> tuple[str | None, int]:
    """The unit kind a 月報 metric is printed in and its decimals (被保険者数: persons, 0)."""
    metric = metrics.BY_ID.get(metric_id)
    return _METRIC_UNITS.get(metric.unit, (None, 2)) if metric else (None, 2)


def metric_unit(metric_id: str, lang: Lang = "ja") -> str:
    """The unit a 月報 table or chart axis is headed with: 人, 事業所, 円, 百万円 (persons, … in English)."""
    return unit_text(metric_unit_kind(metric_id)[0], lang).strip()


def metric_number(metric_id: str, value: float | int | None) -> str:
    """A 月報 cell under a heading that carries the unit: 260,511 (被保険者数, 人), 6,123 (百万円)."""
    return number(value, metric_unit_kind(metric_id)[1]) if value is not None else NONE_TEXT


def kpi_unit_kind(kpi_id: str, unit: str | None) -> str | None:
    """The unit kind a KPI's figures are printed in: %, 円, or for counts 人 / 事業所 / 件."""
    unit = unit or (kpis.BY_ID[kpi_id].unit if kpi_id in kpis.BY_ID else None)
    if unit == "count":
        return _KPI_COUNT_UNITS.get(kpi_id, "count")
    return unit


def kpi_number(kpi_id: str, unit: str | None, value: float | int | None, digits: int | None = None) -> str:
    """A KPI's figure at its printed precision (the catalogue's, kpis.Kpi.decimals), without its unit:
    95.82, 0.236, 61.0, 3,000. `digits` gives more places where the precision would hide a difference."""
    if value is None:
        return NONE_TEXT
    return number(value, kpis.decimals_of(kpi_id, unit) if digits is None else digits)


def kpi_figure(
    kpi_id: str, unit: str | None, value: float | int | None, lang: Lang = "ja", digits: int | None = None
) -> str:
    """A KPI's actual or target as the plan prints it, at the KPI's printed precision and with its unit:
    95.82%, 0.236%, 61.0%, 3,000人, 7件, 150円."""
    if value is None:
        return NONE_TEXT
    return kpi_number(kpi_id, unit, value, digits) + unit_text(kpi_unit_kind(kpi_id, unit), lang)


def pct(value: float | None, digits: int = 1) -> str:
    """A rate or change in per cent: 前年同月比 -0.1%, share of national 1.05%."""
    return figure(value, "pct", "ja", digits)
