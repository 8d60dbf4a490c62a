"""Parse one landed statistics file into observations (the entry point of the statistics parsers).

Accepted as offices send them: CSV (UTF-8, UTF-8 with BOM, CP932) and .xlsx (every sheet), tidy
(parse.tidy) or in the published layout (parse.published). Cells keep their text as written (`*_raw`
columns) next to the parsed value, so the quality gate can quarantine a row with the value the person
typed. Parsing never drops a row silently: a cell that does not parse becomes NULL and the gate
rejects it; a file that cannot be read at all raises FileParseError."""

from __future__ import annotations

import polars as pl

from branchkpi.tasks.landing import LandedFile
from branchkpi.tasks.parse.cells import FileParseError
from branchkpi.tasks.parse.decoding import SNIFF_ROWS, check_line_lengths, csv_rows, decode_text, sniff_delimiter
from branchkpi.tasks.parse.observations import ParsedFile
from branchkpi.tasks.parse.published import parse_published, published_header_index
from branchkpi.tasks.parse.tidy import parse_tidy_csv, parse_tidy_rows
from branchkpi.tasks.parse.xlsx import excel_sheets


def parse_file(landed: LandedFile) -> ParsedFile:
    """Parse one landed file. Raises FileParseError for a file that cannot be read at all."""
    name = landed.file_name
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    content = landed.content
    parts: list[ParsedFile] = []
    if suffix in ("xlsx", "xlsm") or content[:4] == b"PK\x03\x04":
        for sheet_name, rows in excel_sheets(content, name):
            if any(any(c.strip() for c in r) for r in rows):
                parts.append(_parse_rows(rows, landed, context=sheet_name, encoding="xlsx"))
        if not parts:
            raise FileParseError(f"{name}: the workbook has no data in any sheet")
    else:
        text, encoding = decode_text(content, name)
        check_line_lengths(text, name)
        delimiter = sniff_delimiter(text)
        try:
            head = csv_rows(text, delimiter, limit=SNIFF_ROWS)
        except FileParseError as exc:
            raise FileParseError(f"{name}: {exc}") from exc
        if not any(any(c.strip() for c in r) for r in head):
            raise FileParseError(f"{name}: the file has no data rows")
        if published_header_index(head) is not None:
            try:
                rows = csv_rows(text, delimiter)
            except FileParseError as exc:
                raise FileParseError(f"{name}: {exc}") from exc
            parts.append(_parse_rows(rows, landed, context="", encoding=encoding))
        else:
            parts.append(parse_tidy_csv(text, delimiter, head, landed, encoding))
    return ParsedFile(
        observations=pl.concat([p.observations for p in parts], how="vertical"),
        reported_totals=pl.concat([p.reported_totals for p in parts], how="vertical"),
        findings=[f for p in parts for f in p.findings],
        layout="+".join(sorted({p.layout for p in parts})),
        encoding=parts[0].encoding,
    )


def _parse_rows(rows: list[list[str]], landed: LandedFile, context: str, encoding: str) -> ParsedFile:
    if published_header_index(rows[:SNIFF_ROWS]) is not None:
        parsed = parse_published(rows, landed, context)
        parsed.encoding = encoding
        return parsed
    return parse_tidy_rows(rows, landed, encoding)
