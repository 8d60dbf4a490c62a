"""How a file names a KPI (KPI / 指標 / kpi_id), by one exact rule.

A text names a KPI when, in its normal form (`wording_key`), it equals
- the KPI's id (`card_recovery_rate`), or
- one of the catalogue's Japanese names (`NAMES_JA`: 保険証回収率, 資格喪失後1か月以内の保険証回収率 …), or
- the plan's printed wording of one of the unit's targets as loaded (kpi_text_ja of kpi_targets, in the
  warehouse or in the same batch: 特定健康診査 実施率 31.6% (受診見込者数：15,544人)).

The normal form: NFKC (全角/半角), a bracketed part removed with its brackets (`(受診見込者数：15,544人)`,
`（※）`, `［注］`: figures and notes printed beside the name), a note from ※ to the end removed (`※医科、
DPC…`; a ※ that opens the text is only dropped), a converter's superscript mark `^{*}` removed, every
space removed, a closing 。 or . dropped, lower case.

A text whose normal form fits several KPIs (one sentence printed for a count and its rate), or that
only contains a name or wording, or is contained in one (`保険証回収率を96.3%以上とする`, `特定保健指導`),
names none: the file is refused with the candidates. Substring search is used only to list those
candidates, never to decide."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from branchkpi.domain import kpis

# The catalogue's Japanese names of each KPI, exact, beside the short name the reports print (the
# catalogue's first phrase, added by catalogue_names): the names the plans and offices write. Every name's
# normal form belongs to one KPI only (tests/unit/test_kpi_names.py).
NAMES_JA: dict[str, tuple[str, ...]] = {
    "service_standard_rate": (
        "サービススタンダードの達成状況",
        "サービススタンダード達成率",
        "サービススタンダードの達成率",
    ),
    "mail_application_rate": ("郵送化率", "現金給付等の申請に係る郵送化率", "申請の郵送化率"),
    "claim_review_reduction_rate": (
        "査定率",
        "レセプト点検の査定率",
        "社会保険診療報酬支払基金と合算したレセプト点検の査定率",
    ),
    "reexamination_reduction_per_claim_yen": (
        "再審査レセプト1件当たりの査定額",
        "協会けんぽの再審査レセプト1件当たりの査定額",
    ),
    "claim_review_effect_per_member_yen": ("査定効果額", "加入者1人当たり診療内容等査定効果額"),
    "judo_multi_site_frequent_share": (
        "柔道整復",
        "柔道整復施術療養費の申請に占める施術箇所3部位以上かつ月15日以上の施術の申請の割合",
        "柔道整復施術療養費の申請に占める、施術箇所3部位以上、かつ月15日以上の施術の申請の割合",
    ),
    "card_recovery_rate": (
        "保険証回収率",
        "資格喪失後1か月以内の保険証回収率",
        "日本年金機構回収分も含めた資格喪失後1か月以内の保険証回収率",
    ),
    "refund_claim_recovery_rate": ("返納金債権", "返納金債権の回収率", "返納金債権回収率"),
    "post_eligibility_refund_share": (
        "資格喪失後受診に伴う返納金",
        "資格喪失後受診に伴う返納金の割合",
        "医療給付費総額に占める資格喪失後受診に伴う返納金の割合",
    ),
    "ceiling_certificate_use_rate": (
        "限度額適用認定証",
        "限度額適用認定証の使用割合",
        "高額療養費制度に占める限度額適用認定証の使用割合",
    ),
    "dependent_recheck_submission_rate": (
        "被扶養者資格の確認",
        "被扶養者資格の確認書の提出率",
        "被扶養者資格の確認対象事業所からの確認書の提出率",
    ),
    "dependent_recheck_establishments_sent": ("被扶養者資格の確認書の送付対象事業所数",),
    "dependent_recheck_establishments_submitted": ("被扶養者資格の確認書の提出事業所数",),
    "lifestyle_checkup_rate": ("生活習慣病予防健診", "生活習慣病予防健診受診率", "生活習慣病予防健診実施率"),
    "lifestyle_checkup_count": ("生活習慣病予防健診受診者数",),
    "employer_checkup_data_rate": ("事業者健診データ", "事業者健診データ取得率", "事業者健診結果データ取得率"),
    "employer_checkup_data_count": (
        "事業者健診結果データ提供者数",
        "事業者健診データ取得者数",
        "事業者健診結果データ取得者数",
    ),
    "checkup_eligible_insured_count": ("生活習慣病予防健診受診対象者数", "被保険者受診対象者数"),
    "dependent_specific_checkup_rate": (
        "被扶養者の特定健康診査",
        "被扶養者の特定健診受診率",
        "被扶養者の特定健康診査実施率",
        "被扶養者の特定健康診査受診率",
    ),
    "dependent_specific_checkup_count": ("特定健診受診者数", "被扶養者の特定健診受診者数"),
    "specific_health_guidance_rate": ("特定保健指導の実施率", "特定保健指導実施率"),
    "specific_health_guidance_rate_insured": ("被保険者の特定保健指導の実施率", "被保険者の特定保健指導実施率"),
    "specific_health_guidance_rate_dependents": ("被扶養者の特定保健指導の実施率", "被扶養者の特定保健指導実施率"),
    "specific_health_guidance_rate_insured_in_house": ("協会保健師実施分の特定保健指導実施率",),
    "specific_health_guidance_rate_insured_outsourced": ("アウトソーシング分の特定保健指導実施率",),
    "specific_health_guidance_completed_insured": ("被保険者の特定保健指導終了者数",),
    "specific_health_guidance_completed_dependents": ("被扶養者の特定保健指導終了者数",),
    "specific_health_guidance_completed_insured_in_house": ("協会保健師実施分の特定保健指導終了者数",),
    "specific_health_guidance_completed_insured_outsourced": ("アウトソーシング分の特定保健指導終了者数",),
    "specific_health_guidance_eligible_insured": ("被保険者の特定保健指導対象者数",),
    "specific_health_guidance_eligible_dependents": ("被扶養者の特定保健指導対象者数",),
    "treatment_after_referral_rate": ("受診勧奨", "受診勧奨後3か月以内に医療機関を受診した者の割合"),
    "health_declaration_establishments": ("健康宣言事業所数",),
    "new_health_declaration_establishments": ("新規宣言", "新規宣言事業所数"),
    "generic_drug_share": ("ジェネリック医薬品", "ジェネリック医薬品使用割合", "ジェネリック医薬品の使用割合"),
    "data_based_advocacy": ("意見発信", "データに基づく意見発信"),
    "regional_conference_participation_rate": (
        "地域医療構想調整会議",
        "地域医療構想調整会議への被用者保険者の参加率",
    ),
    "health_committee_coverage_rate": (
        "健康保険委員が委嘱されている",
        "全被保険者数に占める健康保険委員が委嘱されている事業所の被保険者数の割合",
    ),
    "health_committee_members": ("健康保険委員の委嘱者数", "健康保険委員委嘱者数"),
    "health_committee_new_commissions": ("年間委嘱数", "健康保険委員の年間委嘱数"),
    "mail_magazine_subscribers": ("メールマガジン", "メールマガジンの登録者数", "メールマガジン登録者数"),
    "pr_understanding_rate": ("加入者理解率", "広報活動における加入者理解率"),
    "single_bid_tender_share": ("一者応札", "一者応札案件の割合", "一般競争入札に占める一者応札案件の割合"),
    "general_competitive_tender_count": ("一般競争入札案件数",),
    "single_bid_tender_count": ("一者応札案件数",),
    "nhi_collection_rate": ("収納率", "保険料収納率", "現年分の保険料(税)収納率"),
    "nhi_specific_checkup_rate": ("国保特定健診受診率",),
    "nhi_health_guidance_rate": ("国保特定保健指導実施率",),
    "nhi_generic_drug_share": ("国保後発医薬品使用割合",),
}

_SUPERSCRIPT_MARK = re.compile(r"\^\{[^{}]*\}")
_BRACKETED = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|〔[^〔〕]*〕")
_SPACES = re.compile(r"\s+")
_NOTE_MARKS = "※*"


def wording_key(text: object) -> str:
    """A KPI's name or wording in normal form (see the module's docstring)."""
    s = unicodedata.normalize("NFKC", str(text or "")).strip()
    s = _SUPERSCRIPT_MARK.sub("", s)
    while True:  # innermost brackets first: (…(…)…) goes whole
        shorter = _BRACKETED.sub("", s)
        if shorter == s:
            break
        s = shorter
    s = s.lstrip(_NOTE_MARKS + " ")
    for mark in _NOTE_MARKS:
        s = s.split(mark, 1)[0]
    s = _SPACES.sub("", s)
    return s.rstrip("。.").lower()


MAX_CANDIDATES_SHOWN = 6

How = Literal["id", "name", "wording", "ambiguous", "partial", "unknown", "blank"]


@dataclass(frozen=True)
class Naming:
    """What a text names: the KPI, or why none (ambiguous, partial, unknown) with the candidates."""

    text: str
    how: How
    kpi_id: str | None = None
    candidates: tuple[str, ...] = ()

    @property
    def explanation(self) -> str:
        """The candidates as a person reads them, for the finding (empty when there are none)."""
        if not self.candidates:
            return ""
        shown = self.candidates[:MAX_CANDIDATES_SHOWN]
        listed = ", ".join(f"{k} ({display_name(k)})" for k in shown)
        if len(self.candidates) > len(shown):
            listed += f" and {len(self.candidates) - len(shown)} more"
        if self.how == "ambiguous":
            return f"fits several KPIs exactly: {listed}; give the kpi_id"
        return f"fits only in part: {listed}; give the kpi_id, a catalogue name or the plan's wording as loaded"


def display_name(kpi_id: str) -> str:
    """The KPI's short Japanese name (保険証回収率), or its id where it has none."""
    names = catalogue_names().get(kpi_id)
    return names[0] if names else kpi_id


@dataclass
class KpiNames:
    """The names a unit's files may use: ids, the catalogue's names and the plan wordings given."""

    wordings: dict[str, set[str]] = field(default_factory=dict)  # normal form → KPI ids

    @classmethod
    def with_wordings(cls, wordings: Iterable[tuple[str | None, str | None]]) -> KpiNames:
        """The catalogue's names plus (plan wording, kpi_id) pairs, e.g. the unit's loaded targets."""
        names = cls({k: set(v) for k, v in _catalogue_keys().items()})
        for text, kpi_id in wordings:
            key = wording_key(text) if text else ""
            if key and kpi_id in kpis.BY_ID:
                names.wordings.setdefault(key, set()).add(kpi_id)
        return names

    def resolve(self, text: object) -> Naming:
        raw = "" if text is None else str(text)
        key = wording_key(raw)
        if not key:
            return Naming(raw, "blank")
        if key in kpis.BY_ID:
            return Naming(raw, "id", key)
        ids = self.wordings.get(key, set())
        if len(ids) == 1:
            kpi_id = next(iter(ids))
            how: How = "name" if kpi_id in _catalogue_keys().get(key, set()) else "wording"
            return Naming(raw, how, kpi_id)
        if ids:
            return Naming(raw, "ambiguous", None, tuple(sorted(ids)))
        partial = {
            kpi_id
            for name, named in self.wordings.items()
            if len(min(name, key, key=len)) >= 2 and (name in key or key in name)
            for kpi_id in named
        }
        if partial:
            return Naming(raw, "partial", None, tuple(sorted(partial)))
        return Naming(raw, "unknown")


_CATALOGUE_KEYS: dict[str, set[str]] = {}


def catalogue_names() -> dict[str, tuple[str, ...]]:
    """Every KPI's exact names: the short name the reports print (its first phrase in the catalogue,
    branchkpi.domain.kpis) and those of NAMES_JA."""
    out = {k.id: k.phrases[:1] for k in kpis.CATALOGUE}
    for kpi_id, names in NAMES_JA.items():
        out[kpi_id] = tuple(dict.fromkeys((*out.get(kpi_id, ()), *names)))
    return out


def _catalogue_keys() -> dict[str, set[str]]:
    if not _CATALOGUE_KEYS:
        for kpi_id, names in catalogue_names().items():
            for name in names:
                _CATALOGUE_KEYS.setdefault(wording_key(name), set()).add(kpi_id)
    return _CATALOGUE_KEYS


CATALOGUE_NAMES = KpiNames.with_wordings(())


def resolve_exact(text: object) -> str | None:
    """The KPI a text names by id or catalogue name alone (no plan wording), else None."""
    return CATALOGUE_NAMES.resolve(text).kpi_id
