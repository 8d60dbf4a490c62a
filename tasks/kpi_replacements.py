"""What a KPI load replaced, as the run summary and the CLI name it: a target's figure, its plan text
(計画の文言) or its place in the plan (分野 / 項目 / 小項目), an actual's value. The old values stay in
kpi_audit; this is the line a person reads (issue 25: a file row that replaces a target's plan text or
place says so)."""

from __future__ import annotations

from typing import Any

# what a replaced KPI column is, as the summary names it
_REPLACED_WHAT = {  # column → (ja, en)
    "kpi_text_ja": ("計画の文言", "plan text (計画の文言)"),
    "group_ja": ("計画上の位置（分野）", "place in the plan (分野)"),
    "item_no": ("計画上の位置（項目番号）", "place in the plan (項目番号)"),
    "item_ja": ("計画上の位置（項目）", "place in the plan (項目)"),
    "sub_item_no": ("計画上の位置（小項目番号）", "place in the plan (小項目番号)"),
    "sub_item_ja": ("計画上の位置（小項目）", "place in the plan (小項目)"),
    "position": ("計画上の位置（順番）", "place in the plan (順番)"),
    "target_value": ("目標値", "target value"),
    "target_text": ("目標（印刷どおり）", "target as printed"),
    "comparator": ("比較方法", "comparator"),
    "value": ("実績", "value"),
    "as_of": ("時点", "as of"),
    "note": ("備考", "note"),
    "target_note": ("目標の備考", "target note"),
}


def replacement_line(replacement: dict[str, Any], lang: str = "en") -> str:
    """One replaced KPI row: `kpi_targets 35 FY2020 card_recovery_rate: plan text (計画の文言) '…' → None`
    (in Japanese: `… card_recovery_rate: 計画の文言 '…' → None`)."""
    key = replacement["key"]
    where = " ".join(
        str(v)
        for v in (key.get("unit_key"), f"FY{key.get('fiscal_year')}", key.get("kpi_id"), key.get("period"))
        if v is not None
    )
    changed = "; ".join(
        f"{_REPLACED_WHAT.get(column, (column, column))[0 if lang == 'ja' else 1]} {_short(old)!r} → {_short(new)!r}"
        for column, (old, new) in replacement["changed"].items()
    )
    return f"{replacement['table']} {where}: {changed}"


def _short(value: Any) -> Any:
    return f"{value[:40]}…" if isinstance(value, str) and len(value) > 41 else value
