"""Parse one landed statistics file into observations (the entry point of the statistics parsers).

Accepted as offices send them: CSV (UTF-8, UTF-8 with BOM, CP932) and .xlsx (every sheet), tidy
(parse.tidy) or in the published layout (parse.published). Cells keep their text as written (`*_raw`
columns) next to the parsed value, so the quality gate can quarantine a row with the value the person
typed. Parsing never drops a row silently: a cell that does not parse becomes NULL and the gate
rejects it; a file that cannot be read at all raises FileParseError."""

from __future__ import annotations

from itertools import pairwise

import polars as pl

from branchkpi.domain import labels
from branchkpi.tasks.landing import LandedFile
from branchkpi.tasks.parse.cells import FileParseError
from branchkpi.tasks.parse.decoding import SNIFF_ROWS, check_line_lengths, csv_rows, decode_text, sniff_delimiter
from branchkpi.tasks.parse.headers import header_row_index
from branchkpi.tasks.parse.observations import ParsedFile
from branchkpi.tasks.parse.published import parse_published, published_header_index
from branchkpi.tasks.parse.tidy import parse_tidy_rows
from branchkpi.tasks.parse.transposed import parse_transposed, transposed_header_index
from branchkpi.tasks.parse.xlsx import excel_sheets

# Sheets a workbook carries beside its tables (a cover, notes, a table of contents): skipped when they
# hold no table, and listed in the run's summary.
NON_TABLE_SHEETS = frozenset(
    {
        "表紙",
        "注記",
        "注意事項",
        "備考",
        "説明",
        "目次",
        "はじめに",
        "凡例",
        "cover",
        "notes",
        "note",
        "readme",
        "contents",
        "説明書",
    }
)


def parse_file(landed: LandedFile) -> ParsedFile:
    """Parse one landed file. Raises FileParseError for a file that cannot be read at all; its message
    does not repeat the file name (the finding names the file) and names the sheet of a workbook."""
    name = landed.file_name
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    content = landed.content
    parts: list[ParsedFile] = []
    skipped: list[str] = []
    if suffix in ("xlsx", "xlsm") or content[:4] == b"PK\x03\x04":
        for sheet_name, rows in excel_sheets(content, name):
            if not holds_table(sheet_name, rows):
                skipped.append(sheet_name)
                continue
            try:
                parts.append(_parse_rows(rows, landed, context=sheet_name, encoding="xlsx", sheet=sheet_name))
            except FileParseError as exc:
                raise FileParseError(f"sheet {sheet_name!r}: {exc}") from exc
        if not parts:
            raise FileParseError(
                f"the workbook holds no table in any sheet (sheets: {', '.join(repr(s) for s in skipped)})"
            )
    else:
        text, encoding = decode_text(content, name)
        check_line_lengths(text, name)
        delimiter = sniff_delimiter(text)
        head = csv_rows(text, delimiter, limit=SNIFF_ROWS)  # names its line when the quoting is broken
        if not any(any(c.strip() for c in r) for r in head):
            raise FileParseError("the file has no data rows")
        parts.append(_parse_rows(csv_rows(text, delimiter), landed, "", encoding, from_text=True))
    return ParsedFile(
        observations=pl.concat([p.observations for p in parts], how="vertical"),
        reported_totals=pl.concat([p.reported_totals for p in parts], how="vertical"),
        findings=[f for p in parts for f in p.findings],
        layout="+".join(sorted({p.layout for p in parts})),
        encoding=parts[0].encoding,
        headers={k: v for p in parts for k, v in p.headers.items()},
        skipped_sheets=skipped,
    )


def holds_table(sheet_name: str, rows: list[list[str]]) -> bool:
    """Whether a sheet is meant as a table: any sheet with a table's header, and any other sheet but a
    blank one, a cover or notes sheet (NON_TABLE_SHEETS), or one with no two rows of three cells. A sheet
    that looks like a table and cannot be read stays an error."""
    if not any(any(c.strip() for c in r) for r in rows):
        return False
    head = rows[:SNIFF_ROWS]
    if published_header_index(head) is not None or header_row_index(head) is not None:
        return True
    if transposed_header_index(head) is not None:
        return True
    if labels.key(sheet_name) in {labels.key(n) for n in NON_TABLE_SHEETS}:
        return False
    filled = [sum(1 for c in r if c.strip()) >= 3 for r in rows]
    return any(a and b for a, b in pairwise(filled))


def _parse_rows(
    rows: list[list[str]],
    landed: LandedFile,
    context: str,
    encoding: str,
    sheet: str | None = None,
    from_text: bool = False,
) -> ParsedFile:
    """The layout a table is in decides its parser: the published one (months down, fiscal years across),
    a tidy one with a region column, a transposed one (months across), else a tidy one whose region a
    title line or a name states."""
    head = rows[:SNIFF_ROWS]
    if published_header_index(head) is not None:
        parsed = parse_published(rows, landed, context, sheet, from_text)
        parsed.encoding = encoding
        return parsed
    if header_row_index(head) is None and transposed_header_index(head) is not None:
        return parse_transposed(rows, landed, encoding, sheet, from_text)
    return parse_tidy_rows(rows, landed, encoding, sheet, from_text)
