"""NHI initiative uptake of a prefecture (取組状況 N/M市町村) as the `initiatives` command and the
prefecture report show it: every printed figure with its percentage computed from adopted/total, and
the 目標設定状況 (municipalities with a collection-rate target set / all municipalities) computed
again from the loaded municipal targets and notes, beside the printed one.

A municipality has a target set when its 備考 says so (reporting_units.target_setting: set, not 【未設定】);
where no 備考 was loaded, when a collection-rate target other than 未設定 is loaded for the fiscal year or
a later one. All municipalities = the prefecture's municipalities the warehouse knows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from branchkpi.domain import regions
from branchkpi.warehouse import initiatives as uptake_reads

TARGET_SETTING_LABEL = "目標設定状況"
COLUMNS = [
    "section_ja",
    "label_ja",
    "fiscal_year",
    "adopted",
    "total",
    "pct",
    "pct_printed",
    "computed_adopted",
    "computed_total",
    "computed_pct",
    "note",
]


@dataclass(frozen=True)
class TargetSetting:
    """目標設定状況 computed: municipalities with a target set, of all municipalities of the prefecture."""

    with_target: int
    municipalities: int
    not_set: list[str]  # the names of those without one, for the report

    @property
    def pct(self) -> float | None:
        return pct(self.with_target, self.municipalities)


def pct(adopted: int | None, total: int | None) -> float | None:
    """adopted/total in %, two decimals (20/27 → 74.07)."""
    if adopted is None or not total:
        return None
    return round(adopted * 100 / total, 2)


def resolve_prefecture(text: str) -> regions.Region:
    """A prefecture by romaji (okayama), Japanese (岡山, 岡山県) or JIS code (33)."""
    code = regions.resolve_region(text) or regions.resolve_region(str(text).strip().removesuffix("県"))
    if code is None or code == regions.NATIONAL_CODE:
        raise ValueError(f"{text!r} is not a prefecture: give its name (okayama, 岡山) or JIS code (33)")
    return regions.BY_CODE[code]


def target_setting(engine: sa.Engine, prefecture_code: str, fiscal_year: int) -> TargetSetting:
    units = uptake_reads.municipal_target_setting(engine, prefecture_code, fiscal_year)
    with_target = [u for u in units if _has_target(u)]
    not_set = [u["name_ja"] for u in units if not _has_target(u)]
    return TargetSetting(len(with_target), len(units), not_set)


def _has_target(unit: dict[str, Any]) -> bool:
    if unit["target_setting"] in ("set", "not_set"):  # the municipality's own word (備考) wins
        return bool(unit["target_setting"] == "set")
    return bool(unit["has_target"])


def uptake_table(engine: sa.Engine, prefecture_code: str, fiscal_year: int) -> list[dict[str, Any]]:
    """One row per printed figure, in the printed order; the 目標設定状況 row also carries the figure
    computed from the municipal targets (computed_adopted / computed_total / computed_pct)."""
    rows = uptake_reads.uptake(engine, prefecture_code, fiscal_year)
    computed = target_setting(engine, prefecture_code, fiscal_year) if rows else None
    out = []
    for r in rows:
        beside = computed if r["label_ja"] == TARGET_SETTING_LABEL and computed and computed.municipalities else None
        out.append(
            {
                **r,
                "pct": pct(r["adopted"], r["total"]),
                "computed_adopted": beside.with_target if beside else None,
                "computed_total": beside.municipalities if beside else None,
                "computed_pct": beside.pct if beside else None,
            }
        )
    return out
