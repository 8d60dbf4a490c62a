"""A finding: one thing wrong with the input, as a person needs to read it (file, row, column, value,
rule, reason). Critical findings block the batch and quarantine the rows; warnings are reported."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["critical", "warning"]

# A quarantined cell keeps this much of its text (a hostile file can hold a 64K-character cell; the
# archive keeps the whole file, the quarantine row only needs enough to recognise the value).
VALUE_TEXT_LIMIT = 1000


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

    def as_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["value_text"] = clipped(self.value_text)
        row["sheet_name"] = row.pop("sheet")
        return row

    def __str__(self) -> str:
        where = self.file_name
        if self.sheet:
            where += f", sheet {self.sheet!r}"
        if self.source_row is not None:
            where += f", row {self.source_row}"
        if self.column_name:
            where += f", column {self.column_name!r}"
        value = f", value {clipped(self.value_text)!r}" if self.value_text is not None else ""
        return f"{where}{value}: {self.reason} [{self.rule}]"
