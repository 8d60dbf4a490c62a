"""The KPI catalogue of the business plans (事業計画): id, unit, its nature (flow, level or stock), the plan
group it is reported under, and the Japanese phrases that name it.

Flows (累積: check-up and guidance rates and counts, fiscal-year-to-date effects, annual counts of new
things) grow from April to March, so during the year they are judged against a pro-rated target;
levels (rates, shares) against the target as is; stocks (committee members, magazine subscribers,
declared establishments: a count at a point in time with a year-end target) against the path from the
previous fiscal year-end actual to the target, pro-rated by the months elapsed.

Each KPI also says its printed precision (`decimals`): the places the plans and reports print its
figures with (保険証回収率 96.30%, 査定率 0.236%, rates otherwise 61.0%; counts and yen whole). Every
figure of a KPI an officer reads (report, workbook, `evaluate`, run pages, alerts, reasons) is shown
at it, so the table and the reason beside it never print one actual two ways."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

GROUPS = {
    "basic": "基盤的保険者機能",
    "strategic": "戦略的保険者機能",
    "organization": "組織体制",
}


# a rate is printed with one decimal (61.0%以上, 22.4%) unless its KPI says more; a rate printed whole
# (100%とする, 20%以下) still shows one, so that 99.96% never reads 100% beside a ×; counts and yen whole
DEFAULT_DECIMALS: dict[str, int] = {"pct": 1, "count": 0, "yen": 0}

Nature = Literal["flow", "level", "stock"]
NATURES: tuple[Nature, ...] = ("flow", "level", "stock")


@dataclass(frozen=True)
class Kpi:
    id: str
    unit: str  # pct, count, yen
    group: str  # key of GROUPS
    nature: Nature  # flow: accumulates through the year; level: a rate or share; stock: a count at a point in time
    phrases: tuple[str, ...]  # Japanese words that identify it in a plan's KPI text
    ranked: bool = False  # compared across branches (偏差値, rank)
    # places printed after the point (96.30% → 2); None: the unit's own (DEFAULT_DECIMALS)
    decimals: int | None = None

    @property
    def precision(self) -> int:
        """The decimals its figures are printed with (tests/unit/test_kpi_precision.py derives them from
        the seed's printed targets and actuals)."""
        return DEFAULT_DECIMALS.get(self.unit, 0) if self.decimals is None else self.decimals

    @property
    def cumulative(self) -> bool:
        """A flow (check-ups done, guidance completed): judged in the year against a pro-rated target."""
        return self.nature == "flow"

    @property
    def stock(self) -> bool:
        """A stock with a year-end target (members, subscribers, declared establishments): judged in the
        year against the path from last year's end to the target."""
        return self.nature == "stock"


CATALOGUE: tuple[Kpi, ...] = (
    Kpi("service_standard_rate", "pct", "basic", "level", ("サービススタンダード",)),
    Kpi("mail_application_rate", "pct", "basic", "level", ("郵送化率",)),
    Kpi("claim_review_reduction_rate", "pct", "basic", "level", ("査定率",), ranked=True, decimals=3),
    Kpi("reexamination_reduction_per_claim_yen", "yen", "basic", "level", ("再審査レセプト", "1件当たりの査定額")),
    Kpi("claim_review_effect_per_member_yen", "yen", "basic", "flow", ("査定効果額",)),
    Kpi("judo_multi_site_frequent_share", "pct", "basic", "level", ("柔道整復",), decimals=2),
    Kpi("card_recovery_rate", "pct", "basic", "level", ("保険証回収率",), ranked=True, decimals=2),
    Kpi("refund_claim_recovery_rate", "pct", "basic", "level", ("返納金債権", "回収率"), decimals=2),
    Kpi("post_eligibility_refund_share", "pct", "basic", "level", ("資格喪失後受診に伴う返納金",), decimals=3),
    Kpi("ceiling_certificate_use_rate", "pct", "basic", "level", ("限度額適用認定証",)),
    Kpi("dependent_recheck_submission_rate", "pct", "basic", "level", ("被扶養者資格の確認",)),
    Kpi("dependent_recheck_establishments_sent", "count", "basic", "level", ()),
    Kpi("dependent_recheck_establishments_submitted", "count", "basic", "level", ()),
    Kpi("lifestyle_checkup_rate", "pct", "strategic", "flow", ("生活習慣病予防健診",), ranked=True),
    Kpi("lifestyle_checkup_count", "count", "strategic", "flow", ("生活習慣病予防健診受診者数",)),
    Kpi(
        "employer_checkup_data_rate",
        "pct",
        "strategic",
        "flow",
        ("事業者健診データ", "事業者健診結果データ"),
        ranked=True,
    ),
    Kpi("employer_checkup_data_count", "count", "strategic", "flow", ("事業者健診結果データ提供者数",)),
    Kpi("checkup_eligible_insured_count", "count", "strategic", "level", ()),
    Kpi(
        "dependent_specific_checkup_rate",
        "pct",
        "strategic",
        "flow",
        ("被扶養者の特定健康診査", "特定健診"),
        ranked=True,
    ),
    Kpi("dependent_specific_checkup_count", "count", "strategic", "flow", ("特定健診受診者数",)),
    Kpi("specific_health_guidance_rate", "pct", "strategic", "flow", ("特定保健指導の実施率",), ranked=True),
    Kpi("specific_health_guidance_rate_insured", "pct", "strategic", "flow", ()),
    Kpi("specific_health_guidance_rate_dependents", "pct", "strategic", "flow", ()),
    Kpi("specific_health_guidance_rate_insured_in_house", "pct", "strategic", "flow", ()),
    Kpi("specific_health_guidance_rate_insured_outsourced", "pct", "strategic", "flow", ()),
    Kpi("specific_health_guidance_completed_insured", "count", "strategic", "flow", ()),
    Kpi("specific_health_guidance_completed_dependents", "count", "strategic", "flow", ()),
    Kpi("specific_health_guidance_completed_insured_in_house", "count", "strategic", "flow", ()),
    Kpi("specific_health_guidance_completed_insured_outsourced", "count", "strategic", "flow", ()),
    Kpi("specific_health_guidance_eligible_insured", "count", "strategic", "level", ()),
    Kpi("specific_health_guidance_eligible_dependents", "count", "strategic", "level", ()),
    Kpi("treatment_after_referral_rate", "pct", "strategic", "level", ("受診勧奨",), ranked=True),
    Kpi("health_declaration_establishments", "count", "strategic", "stock", ("健康宣言事業所数",)),
    Kpi("new_health_declaration_establishments", "count", "strategic", "flow", ("新規宣言",)),
    Kpi("generic_drug_share", "pct", "strategic", "level", ("ジェネリック医薬品",), ranked=True),
    Kpi("data_based_advocacy", "count", "strategic", "flow", ("意見発信",)),
    Kpi("regional_conference_participation_rate", "pct", "strategic", "level", ("地域医療構想調整会議",)),
    Kpi(
        "health_committee_coverage_rate", "pct", "organization", "level", ("健康保険委員が委嘱されている",), ranked=True
    ),
    Kpi("health_committee_members", "count", "organization", "stock", ("健康保険委員の委嘱者数",)),
    Kpi("health_committee_new_commissions", "count", "organization", "flow", ("年間委嘱数",)),
    Kpi("mail_magazine_subscribers", "count", "organization", "stock", ("メールマガジン",)),
    Kpi("pr_understanding_rate", "pct", "organization", "level", ("加入者理解率",), ranked=True),
    Kpi("single_bid_tender_share", "pct", "organization", "level", ("一者応札",)),
    Kpi("general_competitive_tender_count", "count", "organization", "level", ()),
    Kpi("single_bid_tender_count", "count", "organization", "level", ()),
    # NHI (国保) municipal KPIs, as in the prefectures' 保険者努力支援制度 indicators:
    Kpi("nhi_collection_rate", "pct", "basic", "level", ("収納率",), decimals=2),  # 現年分の保険料(税)収納率
    Kpi("nhi_specific_checkup_rate", "pct", "strategic", "flow", ("国保特定健診受診率",)),  # 特定健診受診率
    Kpi("nhi_health_guidance_rate", "pct", "strategic", "flow", ("国保特定保健指導実施率",)),  # 特定保健指導実施率
    Kpi("nhi_generic_drug_share", "pct", "strategic", "level", ("国保後発医薬品使用割合",)),  # 後発医薬品使用割合
)

BY_ID: dict[str, Kpi] = {k.id: k for k in CATALOGUE}
# Components printed beside a KPI (numerator, denominator, tender counts): never judged on their own
TENDER_COMPONENTS = ("general_competitive_tender_count", "single_bid_tender_count")


def decimals_of(kpi_id: str | None, unit: str | None = None) -> int:
    """The printed precision of a KPI's figures; a KPI the catalogue does not know (a file's own id),
    or a figure in another unit than the KPI's own, is printed at its unit's (DEFAULT_DECIMALS: a rate
    61.0%, a count 3,000)."""
    kpi = BY_ID.get(kpi_id or "")
    if kpi is not None and unit in (None, kpi.unit):
        return kpi.precision
    return DEFAULT_DECIMALS.get(unit or "", 0)


# the figure may carry thousands separators (1,100事業所以上, 3,000人以上)
_TARGET_RE = re.compile(
    r"^(?P<num>[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*"
    r"(?P<unit>%|％|件|人|名|円|事業所|所|社)?\s*(?P<cmp>以上|以下|超|未満)?$"
)


def parse_target_text(text: str) -> tuple[str, float | None, str | None]:
    """A target as printed → (comparator, value, unit or None).

    `94.5%以上` → ge 94.5 pct; `91.2%` (no 以上) → ge (plain rates are minimums); `20%以下` → le;
    `前年度収納率を上回る` / `拡大を図る` → gt_prev_year; `対前年度以上` → ge_prev_year;
    `対前年度以下` → le_prev_year; `【未設定】` / `未設定` / empty → not_set; `100%とする` → eq;
    `実施する` → done. Counts may carry separators and their unit word: `1,100事業所以上`, `3,000人以上`."""
    s = unicodedata.normalize("NFKC", text or "").strip().replace(" ", "").rstrip("。")
    if not s or "未設定" in s:
        return "not_set", None, None
    if s in ("実施", "実施する") or s.endswith("を実施する"):  # a qualitative KPI: done when carried out
        return "done", None, None
    if "上回る" in s or "拡大" in s:
        return "gt_prev_year", None, None
    if "前年" in s and "以上" in s:
        return "ge_prev_year", None, None
    if "前年" in s and ("以下" in s or "下回る" in s):
        return "le_prev_year", None, None
    stated = s.endswith("とする")  # 100%とする: exactly (eq), unless 以上 / 以下 says otherwise
    m = _TARGET_RE.match(s.removesuffix("とする"))
    if not m:
        raise ValueError(f"target not understood: {text!r} (e.g. 94.5%以上, 20%以下, 前年度を上回る, 【未設定】)")
    unit = {"%": "pct", "件": "count", "人": "count", "名": "count", "事業所": "count", "所": "count", "社": "count"}
    comparator = {"以下": "le", "未満": "le", "以上": "ge", "超": "ge"}.get(m["cmp"] or "", "eq" if stated else "ge")
    return comparator, float(m["num"].replace(",", "")), {**unit, "円": "yen"}.get(m["unit"] or "")
