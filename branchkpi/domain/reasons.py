"""The words of a judgement's reason (判定理由), in Japanese and English: one wording table, so a report,
an alert and `evaluate` say the same thing in either language. A judgement carries a code and its
figures (branchkpi.domain.target_rules); `words(code, params, lang)` writes the sentence.

Japanese sentences print the figures as a planning officer writes them (95.82%, 3,000, 1,234円), the
two sides of a comparison at the same precision; the English ones keep the compact form the logs and
tests have always read (`actual 95.82 not ≥ target 96.3`)."""

from __future__ import annotations

from typing import Any

# the side a figure is compared with, by label code
LABELS: dict[str, dict[str, str]] = {
    "target": {"en": "target", "ja": "目標"},
    "previous_year": {"en": "previous year", "ja": "前年度"},
    "previous_year_low": {"en": "previous year (already ≤ 20 %)", "ja": "前年度（既に20%以下）"},
    "ceiling": {"en": "ceiling", "ja": "上限"},
    "prorated": {"en": "target pro-rated {how}:", "ja": "按分目標（{how_ja}）"},
    "stock_path": {
        "en": "path from last year's end {previous:g} to the target {target:g} ({months}/12):",
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
        "en": "single-bid share {share:g} % > {ceiling:g} %",
        "ja": "一者応札の割合 {share:g}% は上限 {ceiling:g}% を上回る",
    },
    "single_bid_zero": {
        "en": "single-bid share 0 % (≤ {ceiling:g} % and ≤ any previous year)",
        "ja": "一者応札の割合 0%（上限 {ceiling:g}% 以下、前年度以下）",
    },
    "single_bid_needs_previous": {
        "en": "single-bid share {share:g} % ≤ {ceiling:g} %, but the previous year's share is needed "
        "(if it was ≤ 20 %, this year must not exceed it)",
        "ja": "一者応札の割合 {share:g}% は上限 {ceiling:g}% 以下だが、判定には前年度の割合が必要"
        "（前年度が20%以下なら、それを上回らないこと）",
    },
    "rule_error": {"en": "{message}", "ja": "目標を適用できない: {message}"},
}


def figure(value: float, unit: str, decimals: int | None = None) -> str:
    """A figure as printed: 95.82%, 3,000, 1,234円 (thousands separators; `decimals` or its own)."""
    places = decimals_of(value) if decimals is None else decimals
    text = f"{value:,.{places}f}"
    return text + {"pct": "%", "yen": "円"}.get(unit, "")


def decimals_of(value: float) -> int:
    """The decimals a figure is written with (at most 6): 95.82 → 2, 3000.0 → 0."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return len(text.partition(".")[2])


# both sides of a comparison are printed at one precision: the finer of the two, at most this
COMPARISON_MAX_PLACES = 2


def comparison_places(actual: float, threshold: float) -> int:
    """The decimals of both figures of a comparison (a pro-rated 36.666… reads 36.67)."""
    return min(max(decimals_of(actual), decimals_of(threshold)), COMPARISON_MAX_PLACES)


def english_figure(value: float) -> str:
    """A figure in the English reason: the compact form the logs and tests have always read (95.82)."""
    return f"{value:g}"


def comparison_parts(op: str, ok: bool, label: str, lang: str) -> tuple[str, str, str]:
    """The sentence of a comparison around its two figures, actual first: (before, between, after);
    `label` is the other side's name as written (LABELS, formatted)."""
    if lang == "en":
        relation = _SYMBOL[op] if ok else "not " + _SYMBOL[op]
        return "actual ", f" {relation} {label} ", ""
    return "実績 ", f" は{label} ", f" {_RELATION_JA[(op, ok)]}"


def words(code: str, params: dict[str, Any], lang: str = "ja") -> str:
    """The reason in `lang` (ja or en)."""
    lang = "en" if lang == "en" else "ja"
    if code == "compare":
        return _comparison_words(params, lang)
    if code == "small_tenders":
        ok = params["ok"]
        params = {**params, "relation": "≤" if ok else ">", "relation_ja": "（1件以下）" if ok else "（1件を超える）"}
    return WORDING[code][lang].format(**params)


def _comparison_words(p: dict[str, Any], lang: str) -> str:
    extra = {
        "how_ja": p.get("how_ja", ""),
        "previous_ja": figure(p["previous"], p["unit"]) if "previous" in p else "",
        "target_ja": figure(p["target"], p["unit"]) if "target" in p else "",
    }
    label = LABELS[p["label"]][lang].format(**{**p, **extra})
    before, between, after = comparison_parts(p["op"], p["ok"], label, lang)
    if lang == "en":
        actual, threshold = english_figure(p["actual"]), english_figure(p["threshold"])
    else:
        places = comparison_places(p["actual"], p["threshold"])
        actual, threshold = figure(p["actual"], p["unit"], places), figure(p["threshold"], p["unit"], places)
    return f"{before}{actual}{between}{threshold}{after}"
