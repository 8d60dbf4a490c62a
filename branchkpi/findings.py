"""A finding: one thing wrong with the input, as a person needs to read it (file, row, column, value,
rule, reason). Critical findings block the batch and quarantine the rows; warnings are reported."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["critical", "warning"]


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

    def as_row(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        where = self.file_name
        if self.source_row is not None:
            where += f", row {self.source_row}"
        if self.column_name:
            where += f", column {self.column_name!r}"
        value = f", value {self.value_text!r}" if self.value_text is not None else ""
        return f"{where}{value}: {self.reason} [{self.rule}]"
