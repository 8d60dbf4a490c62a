"""Reading .xlsx workbooks safely: the zip directory is checked before openpyxl opens it (zip bombs),
formulas are never evaluated (the values Excel saved; a formula without one is read as its text), and
each sheet comes back as rows of cell texts."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from branchkpi.tasks.parse.cells import FileParseError

# An .xlsx is a zip. Before openpyxl opens one we read its directory and refuse it (zip bombs: a few
# hundred KB of deflated repeated bytes that inflate to gigabytes) when it would inflate beyond:
# - MAX_XLSX_UNCOMPRESSED in total: the landing limit of a CSV (tasks.landing.MAX_FILE_BYTES, 256 MiB);
#   a statistics or KPI workbook is under 10 MB unpacked, the municipal KPI actuals under 100 MB;
# - MAX_XLSX_RATIO for any member above MAX_XLSX_RATIO_FLOOR bytes: worksheets Excel or openpyxl
#   write deflate 5-20x (repeated styles reach ~50x); deflate of one repeated byte reaches ~1000x;
#   small members (styles, shared strings) may compress better and cannot inflate far;
# - MAX_XLSX_MEMBERS members (a workbook has tens; an archive of 10^5 entries is not a workbook).
# Python's zipfile never inflates a member beyond the size its directory declares (it stops and the
# CRC check fails), so checking the declared sizes bounds what openpyxl can be made to read.
MAX_XLSX_UNCOMPRESSED = 256 * 1024 * 1024


MAX_XLSX_RATIO = 100


MAX_XLSX_RATIO_FLOOR = 1024 * 1024


MAX_XLSX_MEMBERS = 10_000


# Excel's own limit for the text of one cell; a longer cell was not typed in Excel.
MAX_XLSX_CELL_CHARS = 32_767


def excel_sheets(content: bytes, file_name: str) -> list[tuple[str, list[list[str]]]]:
    """Every sheet as rows of cell texts. Formulas are never evaluated: we read the values Excel
    saved (data_only), so a cell `=CMD|...` arrives as its cached value or as nothing."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            check_zip_directory(archive.infolist(), file_name)
            bad = archive.testzip()
            if bad is not None:
                raise FileParseError(f"damaged .xlsx (member {bad} fails its CRC)")
            worksheets = [
                i for i in archive.infolist() if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml")
            ]
            has_formulas = any(_member_contains(archive, i, (b"<f>", b"<f ", b":f>", b":f ")) for i in worksheets)
            merges = {i.filename: _merged_ranges(archive, i) for i in worksheets}
    except zipfile.BadZipFile as exc:
        raise FileParseError(f"not a readable .xlsx (truncated or damaged: {exc})") from exc
    except (zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, ValueError) as exc:
        raise FileParseError(f"not a readable .xlsx ({type(exc).__name__}: {exc})") from exc

    import openpyxl  # imported here: only Excel files pay for it

    try:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        # formulas as written, only to name a formula cell that has no saved value (never computed)
        formulas = openpyxl.load_workbook(io.BytesIO(content), read_only=True) if has_formulas else None
    except Exception as exc:  # openpyxl raises many kinds for damaged files
        raise FileParseError(f"not a readable .xlsx ({type(exc).__name__}: {exc})") from exc
    sheets: list[tuple[str, list[list[str]]]] = []
    try:
        for ws in book.worksheets:
            formula_rows = iter(formulas[ws.title].iter_rows()) if formulas is not None else None
            rows: list[list[str]] = []
            for row in ws.iter_rows():
                texts = [_excel_cell_text(c) for c in row]
                if formula_rows is not None:
                    for i, cell in enumerate(next(formula_rows, ())):
                        written = getattr(cell, "value", None)
                        if i < len(texts) and texts[i] == "" and isinstance(written, str) and written.startswith("="):
                            texts[i] = written  # no saved value: the formula's text, for the gate to quarantine
                for i, text in enumerate(texts):
                    if len(text) > MAX_XLSX_CELL_CHARS:
                        raise FileParseError(
                            f"sheet {ws.title!r}, row {len(rows) + 1}, column {i + 1}: a cell of "
                            f"{len(text):,} characters (Excel's limit is {MAX_XLSX_CELL_CHARS:,})"
                        )
                rows.append(texts)
            sheets.append((str(ws.title), _fill_merged(rows, merges.get(getattr(ws, "_worksheet_path", ""), []))))
    except FileParseError:
        raise
    except Exception as exc:
        raise FileParseError(f"damaged .xlsx ({type(exc).__name__}: {exc})") from exc
    finally:
        book.close()
        if formulas is not None:
            formulas.close()
    return sheets


_MERGE_REF = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*\bref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"')


def _merged_ranges(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> list[tuple[int, int, int, int]]:
    """The merged ranges of a sheet (min_col, min_row, max_col, max_row; 1-based), read from its XML:
    openpyxl's read-only mode, which keeps memory flat for large workbooks, does not expose them."""
    from openpyxl.utils.cell import range_boundaries

    tail = b""
    ranges: list[tuple[int, int, int, int]] = []
    with archive.open(info) as member:
        while chunk := member.read(1024 * 1024):
            window = tail + chunk
            cut = window.rfind(b"<")  # a tag split across chunks is read with the next one
            head, tail = (window[:cut], window[cut:]) if cut > 0 else (window, b"")
            for ref in _MERGE_REF.findall(head):
                ranges.append(tuple(int(v) for v in range_boundaries(ref.decode("ascii"))))  # type: ignore[arg-type]
        for ref in _MERGE_REF.findall(tail):
            ranges.append(tuple(int(v) for v in range_boundaries(ref.decode("ascii"))))  # type: ignore[arg-type]
    return ranges


# A merged range larger than this is not a header or a label spread over rows (a sheet-wide merge):
# it is left as Excel shows it, the value in its first cell only.
MAX_MERGED_CELLS = 10_000


def _fill_merged(rows: list[list[str]], ranges: list[tuple[int, int, int, int]]) -> list[list[str]]:
    """Every cell of a merged range holds the range's value, as a person reads the sheet: a group heading
    merged over three columns heads all three, a region merged over twelve month rows names each."""
    for min_col, min_row, max_col, max_row in ranges:
        if (max_col - min_col + 1) * (max_row - min_row + 1) > MAX_MERGED_CELLS or min_row > len(rows):
            continue
        top = rows[min_row - 1]
        value = top[min_col - 1] if min_col - 1 < len(top) else ""
        for r in range(min_row - 1, min(max_row, len(rows))):
            row = rows[r]
            if len(row) < max_col:
                row.extend([""] * (max_col - len(row)))
            for c in range(min_col - 1, max_col):
                if not row[c]:
                    row[c] = value
    return rows


def _member_contains(archive: zipfile.ZipFile, info: zipfile.ZipInfo, needles: tuple[bytes, ...]) -> bool:
    """Whether a member's bytes hold one of the needles, read 1 MiB at a time."""
    tail = b""
    with archive.open(info) as member:
        while chunk := member.read(1024 * 1024):
            window = tail + chunk
            if any(n in window for n in needles):
                return True
            tail = window[-8:]
    return False


def check_zip_directory(infos: list[zipfile.ZipInfo], file_name: str) -> None:
    """Refuse a zip whose directory promises more than a workbook holds (see MAX_XLSX_* above)."""
    if len(infos) > MAX_XLSX_MEMBERS:
        raise FileParseError(
            f"refused: the .xlsx has {len(infos):,} members (limit {MAX_XLSX_MEMBERS:,}), not a workbook"
        )
    total = 0
    for info in infos:
        total += info.file_size
        ratio = info.file_size / max(1, info.compress_size)
        if info.file_size > MAX_XLSX_RATIO_FLOOR and ratio > MAX_XLSX_RATIO:
            raise FileParseError(
                f"refused: member {info.filename} would inflate from {info.compress_size:,} to "
                f"{info.file_size:,} bytes ({ratio:,.0f}x; limit {MAX_XLSX_RATIO}x): a zip bomb, not a workbook"
            )
        if total > MAX_XLSX_UNCOMPRESSED:
            raise FileParseError(
                f"refused: the .xlsx would inflate to more than {MAX_XLSX_UNCOMPRESSED:,} bytes "
                f"(at member {info.filename}, {info.file_size:,} bytes): a zip bomb or not a statistics file"
            )


def _excel_cell_text(cell: Any) -> str:
    value = getattr(cell, "value", None)
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        fmt = getattr(cell, "number_format", "") or ""
        if "%" in fmt:  # Excel keeps 1.5% as 0.015
            return f"{value * 100:.10g}%"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return repr(value) if isinstance(value, float) else str(value)
    if hasattr(value, "strftime"):
        return str(value.strftime("%Y-%m-%d"))
    return str(value)
