"""The words of a judgement's reason (判定理由), in Japanese and English: one wording table, so a report,
an alert and `evaluate` say the same thing in either language. A judgement carries a code and its
figures (branchkpi.domain.target_rules); `words(code, params, lang)` writes the sentence.

Both languages print the figures at the KPI's printed precision (the catalogue's, kpis.Kpi.decimals:
保険証回収率 95.82% / 96.30%, 査定率 0.236%, other rates 61.0%, counts and yen whole), the two sides of a
comparison alike, and more places only where that precision would print two different figures as one
(実績 96.29% は目標 96.30% 以上に届かず, never 96.30% against 96.30%). Japanese sentences carry the unit
(95.82%, 3,000人, 1,234円); the English ones keep the compact form the logs have always read
(`actual 95.82 not ≥ target 96.30`)."""

from __future__ import annotations

from typing import Any

from branchkpi.domain import figures, kpis

# the side a figure is compared with, by label code
LABELS: dict[str, dict[str, str]] = {
    "target": {"en": "target", "ja": "目標"},
    "previous_year": {"en": "previous year", "ja": "前年度"},
    "previous_year_low": {"en": "previous year (already ≤ 20 %)", "ja": "前年度（既に20%以下）"},
    "ceiling": {"en": "ceiling", "ja": "上限"},
    "prorated": {"en": "target pro-rated {how}:", "ja": "按分目標（{how_ja}）"},
    "stock_path": {
        "en": "path from last year's end {previous_en} to the target {target_en} ({months}/12):",
        "ja": "前年度末 {previous_ja} から目標 {target_ja} への按分（{months}/12）",
    },
}

_SYMBOL = {"ge": "≥", "le": "≤", "gt": ">", "eq": "="}
# Japanese: what the actual did against the other side, met or not
_RELATION_JA = {
    ("ge", True): "以上",
    ("ge", False): "以上に届かず",
    ("le", True): "以下",
    ("le", False): "を上回る",
    ("gt", True): "を上回る",
    ("gt", False): "を上回らず",
    ("eq", True): "どおり",
    ("eq", False): "に届かず",
}

WORDING: dict[str, dict[str, str]] = {
    "not_set": {"en": "target not set (未設定)", "ja": "目標未設定"},
    "not_set_note": {"en": "target not set (未設定): {note}", "ja": "目標未設定: {note}"},
    "no_actual": {"en": "no actual for the period", "ja": "この期間の実績なし"},
    "no_previous": {"en": "no previous-year actual to compare with", "ja": "比較する前年度実績なし"},
    "carried_out": {"en": "carried out", "ja": "実施済み"},
    "not_carried_out": {"en": "not carried out (actual 0)", "ja": "未実施（実績 0）"},
    "small_tenders": {
        "en": "{tenders} tenders (≤ {small}): {single} single-bid {relation} {allowed}",
        "ja": "一般競争入札 {tenders} 件（{small} 件以下）: 一者応札 {single} 件{relation_ja}",
    },
    "single_bid_over_ceiling": {
        "en": "single-bid share {share} % > {ceiling} %",
        "ja": "一者応札の割合 {share}% は上限 {ceiling}% を上回る",
    },
    "single_bid_zero": {
        "en": "single-bid share 0 % (≤ {ceiling} % and ≤ any previous year)",
        "ja": "一者応札の割合 0%（上限 {ceiling}% 以下、前年度以下）",
    },
    "single_bid_needs_previous": {
        "en": "single-bid share {share} % ≤ {ceiling} %, but the previous year's share is needed "
        "(if it was ≤ 20 %, this year must not exceed it)",
        "ja": "一者応札の割合 {share}% は上限 {ceiling}% 以下だが、判定には前年度の割合が必要"
        "（前年度が20%以下なら、それを上回らないこと）",
    },
    "rule_error": {"en": "{message}", "ja": "目標を適用できない: {message}"},
}


_SHARE_KPI = "single_bid_tender_share"
MAX_PLACES = 6  # the most places a comparison is widened to (figures.MAX_DECIMALS)


def figure(value: float, unit: str, decimals: int | None = None, kpi_id: str | None = None, lang: str = "ja") -> str:
    """A figure as printed: 95.82%, 3,000人, 1,234円 in Japanese (95.82, 3,000, 1,234 in English), at
    `decimals` or the KPI's printed precision."""
    if lang == "en":
        return figures.kpi_number(kpi_id or "", unit, value, decimals)
    return figures.kpi_figure(kpi_id or "", unit, value, "ja", decimals)


def places(kpi_id: str | None, unit: str, *values: float) -> int:
    """The KPI's printed precision, widened until figures that differ print differently (a pro-rated
    36.666… against 36.7 reads 36.67 / 36.70), at most MAX_PLACES."""
    n = kpis.decimals_of(kpi_id, unit)
    while n < MAX_PLACES and len({round(v, n) for v in values}) < len({round(v, MAX_PLACES) for v in values}):
        n += 1
    return n


def words(code: str, params: dict[str, Any], lang: str = "ja") -> str:
    """The reason in `lang` (ja or en)."""
    lang = "en" if lang == "en" else "ja"
    if code == "compare":
        return _comparison_words(params, lang)
    shares = [k for k in ("share", "ceiling") if k in params]
    if shares:  # the single-bid share and its ceiling, at that KPI's printed precision
        n = places(_SHARE_KPI, "pct", *(params[k] for k in shares))
        params = {**params, **{k: figures.number(params[k], n) for k in shares}}
    if code == "small_tenders":
        ok = params["ok"]
        params = {**params, "relation": "≤" if ok else ">", "relation_ja": "（1件以下）" if ok else "（1件を超える）"}
    return WORDING[code][lang].format(**params)


def comparison_parts(op: str, ok: bool, label: str, lang: str) -> tuple[str, str, str]:
    """The sentence of a comparison around its two figures, actual first: (before, between, after);
    `label` is the other side's name as written (LABELS, formatted). The frame judgement
    (tasks/evaluate/by_frame.py) writes its sentences from these same parts."""
    if lang == "en":
        relation = _SYMBOL[op] if ok else "not " + _SYMBOL[op]
        return "actual ", f" {relation} {label} ", ""
    return "実績 ", f" は{label} ", f" {_RELATION_JA[(op, ok)]}"


def _comparison_words(p: dict[str, Any], lang: str) -> str:
    # both sides at the KPI's precision, wider only where it would print two different figures alike
    kpi_id, unit = p.get("kpi_id"), p["unit"]
    n = places(kpi_id, unit, p["actual"], p["threshold"])
    extra = {
        "how_ja": p.get("how_ja", ""),
        "previous_ja": figure(p["previous"], unit, kpi_id=kpi_id) if "previous" in p else "",
        "target_ja": figure(p["target"], unit, kpi_id=kpi_id) if "target" in p else "",
        "previous_en": figure(p["previous"], unit, kpi_id=kpi_id, lang="en") if "previous" in p else "",
        "target_en": figure(p["target"], unit, kpi_id=kpi_id, lang="en") if "target" in p else "",
    }
    label = LABELS[p["label"]][lang].format(**{**p, **extra})
    actual, threshold = (figure(p[k], unit, n, kpi_id, lang) for k in ("actual", "threshold"))
    before, between, after = comparison_parts(p["op"], p["ok"], label, lang)
    return f"{before}{actual}{between}{threshold}{after}"
