"""A finding: one thing wrong with the input, as a person needs to read it (file, row, column, value,
rule, reason). Critical findings block the batch and quarantine the rows; warnings are reported.

Every finding reads in Japanese (default) and English: `sentence(lang)`. The gate's findings carry their
rule's Japanese reason (`reason_ja`, expectations/rules.py) and the place named in Japanese (山口支部
被保険者数 令和2年4月); the parsers' findings are worded by rule in RULE_JA, and where their English reason
holds a detail the rule alone does not say (why a file could not be read) the detail follows in
brackets. `str(finding)` stays the English line the logs and the quarantine table keep."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["critical", "warning"]
Lang = Literal["ja", "en"]

# A quarantined cell keeps this much of its text (a hostile file can hold a 64K-character cell; the
# archive keeps the whole file, the quarantine row only needs enough to recognise the value).
VALUE_TEXT_LIMIT = 1000

# The parsers' rules in Japanese: (sentence, whether the English reason's own detail follows it)
RULE_JA: dict[str, tuple[str, bool]] = {
    "file_readable": ("ファイルを読み取れない", True),
    "unknown_column": ("列の見出しを認識できない（この列は読み飛ばした）", False),
    "total_row_skipped": (
        "印字の年度計はこの指標の年度の数値ではない（合計は合算する指標、年度平均は人数・平均の指標）: 読み飛ばした",
        False,
    ),
    "total_not_a_number": ("合計欄が数値ではない", False),
    "total_value_unreadable": ("年度計（合計・年度平均）の値を読み取れない", False),
    "yoy_printed_unreadable": ("印字の前年同月比が数値ではない（空欄として登録）", False),
    "csv_shape": ("CSV の行の長さや引用符がそろわないため、1 行ずつ読んだ", True),
    "row_has_extra_cells": ("見出しより多いセルがある行がある（余分なセルは読み飛ばした）", True),
    "derived_column_ignored": ("内訳から計算する指標の列: 印字の数値は登録しない", False),
    "duplicate_column": ("同じ役割の列が 2 つある（最初の列を使う）", False),
    "period_day": ("期間が月の途中の日付（月報は月単位）", True),
    "sign_off_rejected": ("承認で差し戻された", True),
}


def clipped(text: str | None) -> str | None:
    if text is None or len(text) <= VALUE_TEXT_LIMIT:
        return text
    return f"{text[:VALUE_TEXT_LIMIT]}… ({len(text):,} characters)"


@dataclass(frozen=True)
class Finding:
    file_name: str
    rule: str
    reason: str
    severity: Severity = "critical"
    file_id: int | None = None
    source_row: int | None = None
    column_name: str | None = None
    value_text: str | None = None
    sheet: str | None = None  # the sheet of a workbook
    reason_ja: str | None = None  # the reason in Japanese, where the rule gives one (the gate's rules)
    period: str | None = None  # the period of the row it is about (FY2020-04, FY2020-Q1, FY2020), if known

    def as_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["value_text"] = clipped(self.value_text)
        row["sheet_name"] = row.pop("sheet")
        del row["reason_ja"], row["period"]  # the quarantine keeps the English line; the period is its row's
        return row

    def reason_in(self, lang: Lang) -> str:
        """The reason in `lang`: English as written; Japanese from the rule (or RULE_JA), with the
        English detail in brackets where only it says what went wrong."""
        if lang == "en":
            return self.reason
        if self.reason_ja:
            return self.reason_ja
        worded = RULE_JA.get(self.rule) or RULE_JA.get(_rule_family(self.rule))
        if worded is None:
            return self.reason
        ja, detail = worded
        return f"{ja}（{self.reason}）" if detail and self.reason else ja

    def where(self, lang: Lang) -> str:
        """negative_count.csv、シート '集計'、7行目、列 '被保険者数'、値 '-5' (or the English words)."""
        value = clipped(self.value_text)
        if lang == "en":
            parts = [self.file_name]
            parts += [f"sheet {self.sheet!r}"] if self.sheet else []
            parts += [f"row {self.source_row}"] if self.source_row is not None else []
            parts += [f"column {self.column_name!r}"] if self.column_name else []
            parts += [f"value {value!r}"] if self.value_text is not None else []
            return ", ".join(parts)
        parts = [self.file_name]
        parts += [f"シート「{self.sheet}」"] if self.sheet else []
        parts += [f"{self.source_row}行目"] if self.source_row is not None else []
        parts += [f"列「{self.column_name}」"] if self.column_name else []
        parts += [f"値「{value}」"] if self.value_text is not None else []
        return "、".join(parts)

    def sentence(self, lang: Lang) -> str:
        """The whole finding as a person reads it, in `lang`: where, what is wrong, the rule's id."""
        return f"{self.where(lang)}: {self.reason_in(lang)} [{self.rule}]"

    def __str__(self) -> str:
        return self.sentence("en")


def _rule_family(rule: str) -> str:
    """total_fiscal_year_unreadable → total_value_unreadable: the parsers name such rules by column."""
    if rule.startswith("total_") and rule.endswith("_unreadable"):
        return "total_value_unreadable"
    return rule
