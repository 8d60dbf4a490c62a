"""What a KPI's figure can be (妥当な範囲): the plausible range of each percentage KPI, and the factor
against the previous year's actual beyond which a figure is a scale or typing error, not a year's change.

A rate given as a fraction (0.9582 for 95.82 %) or with its decimal point lost (9582, 044 for 0.044 %)
is a figure in the wrong unit. It is told apart by the range where the range says so: every range
below spans less than a factor 100 between its ends where it starts above 0, so a fraction of a figure
inside it falls outside. Where the range starts at 0 (a flow during the year: check-ups accumulate
from April, 0.1 % in June is real), only the previous actual can tell.

Ranges are a branch's or municipality's figures as published (data/sample/seed: Yamaguchi, Gunma,
Saitama, Okayama) with wide margins, not fitted to them; docs/quality-gate.md lists them. They are a
separate table from the catalogue (branchkpi.domain.kpis) on purpose."""

from __future__ import annotations

from dataclasses import dataclass

from branchkpi.domain import kpis


@dataclass(frozen=True)
class PlausibleRange:
    low: float
    high: float

    def text(self, unit: str) -> str:
        sign = "%" if unit == "pct" else ""
        return f"{self.low:g}–{self.high:g}{sign}"


# percentage KPIs: (low, high) of a fiscal year's figure, in %; what the seed prints in the comment
PCT_RANGES: dict[str, tuple[float, float]] = {
    "service_standard_rate": (50.0, 100.0),  # 100
    "mail_application_rate": (30.0, 100.0),  # 91.9, 92.8; targets 92.5, 96.9
    "claim_review_reduction_rate": (0.02, 1.5),  # 0.236, 0.281
    "judo_multi_site_frequent_share": (0.05, 4.5),  # 1.09, 1.49
    "card_recovery_rate": (60.0, 100.0),  # 95.82, 95.92; target 96.30
    "refund_claim_recovery_rate": (10.0, 100.0),  # 52.34, 60.39
    "post_eligibility_refund_share": (0.003, 0.2),  # 0.044, 0.056
    "ceiling_certificate_use_rate": (20.0, 100.0),  # 76.8, 77.9
    "dependent_recheck_submission_rate": (40.0, 100.0),  # 93.1, 95.2
    "lifestyle_checkup_rate": (15.0, 95.0),  # 51.9, 52.6; targets 49.9–61.0
    "employer_checkup_data_rate": (1.0, 80.0),  # 11.2, 14.7; targets 10.0–22.2
    "dependent_specific_checkup_rate": (5.0, 90.0),  # 23.3, 24.4; targets 30.1–43.2
    "specific_health_guidance_rate": (1.0, 60.0),  # 16.7, 19.6; target 22.4
    "specific_health_guidance_rate_insured": (1.0, 60.0),  # 16.9, 19.9; targets 8.7–23.0
    "specific_health_guidance_rate_dependents": (1.0, 60.0),  # 11.2, 14.0; targets 4.2–10.2
    "specific_health_guidance_rate_insured_in_house": (1.0, 60.0),  # 11.3, 14.5
    "specific_health_guidance_rate_insured_outsourced": (1.0, 60.0),  # 5.4, 5.6
    "treatment_after_referral_rate": (1.0, 80.0),  # 9.0, 9.6; targets 11.8, 12.9
    "generic_drug_share": (40.0, 100.0),  # 79.9, 80.6; targets 72.3–80.7
    "regional_conference_participation_rate": (0.0, 100.0),  # 62.5 (5 of 8 meetings): any share
    "health_committee_coverage_rate": (10.0, 100.0),  # 53.3, 57.8; targets 51.0, 56.5
    "pr_understanding_rate": (5.0, 100.0),  # 41.3, 46.7
    "single_bid_tender_share": (0.0, 100.0),  # 0: any share
    "nhi_collection_rate": (70.0, 100.0),  # 92.51–98.7; targets 91.2–98
    "nhi_specific_checkup_rate": (5.0, 95.0),
    "nhi_health_guidance_rate": (1.5, 100.0),
    "nhi_generic_drug_share": (40.0, 100.0),
}

# A figure this many times its previous actual, or this many times smaller, is a scale or typing error
# (a fraction for a percentage: ×1/100; a lost decimal point: ×10, ×100, ×1,000). The published
# series move by at most ×1.5 from one fiscal year to the next (新規宣言事業所数 137 → 203).
SCALE_JUMP_FACTOR = 5.0


def plausible_range(kpi_id: str | None, in_year: bool = False) -> PlausibleRange | None:
    """The range a figure of this KPI lies in, or None where there is no range (counts, yen, unknown).
    During the year (`in_year`) a flow starts from 0 in April: only its upper end holds."""
    bounds = PCT_RANGES.get(kpi_id or "")
    if bounds is None:
        return None
    low, high = bounds
    kpi = kpis.BY_ID.get(kpi_id or "")
    if in_year and kpi is not None and kpi.cumulative:
        low = 0.0
    return PlausibleRange(low, high)


def scale_factor(value: float | None, previous: float | None) -> float | None:
    """How many times larger (> 1) or smaller (< 1) a figure is than its previous actual, when that is a
    scale error (beyond SCALE_JUMP_FACTOR either way); None when it is not, or cannot be told (a 0)."""
    if value is None or previous is None or value <= 0 or previous <= 0:
        return None
    ratio = value / previous
    return ratio if ratio >= SCALE_JUMP_FACTOR or ratio <= 1 / SCALE_JUMP_FACTOR else None
