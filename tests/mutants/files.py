"""The originals a mutant is made from, and how a file is edited as an office would edit it: the rows of
a CSV (in its own encoding, delimiter and line ends) or the cells of a workbook (with openpyxl, merged
ranges kept when rows are inserted)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl

from branchkpi.tasks.landing import LandedFile
from branchkpi.tasks.parse.decoding import csv_rows, decode_text, sniff_delimiter

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "data" / "sample" / "seed"
FIXTURES = ROOT / "tests" / "fixtures"
LOADABLE_SETS = ("office_files", "meaning_files", "bad_inputs")


@dataclass(frozen=True)
class Original:
    """A file that loads as it is: a seed file or a loadable fixture."""

    name: str
    content: bytes
    source: str

    @property
    def is_xlsx(self) -> bool:
        return self.name.lower().endswith((".xlsx", ".xlsm"))


def originals() -> list[Original]:
    """The real series (the tidy seed and the twelve published tables) and every fixture expected to
    load (office_files, meaning_files, bad_inputs: `loads` and `loads_with_warning`), by name."""
    found = [Original("branch_monthly_stats.csv", (SEED / "branch_monthly_stats.csv").read_bytes(), "seed")]
    found += [Original(p.name, p.read_bytes(), "seed") for p in sorted((SEED / "monthly_report_layout").glob("*.csv"))]
    for folder in LOADABLE_SETS:
        expected = FIXTURES / folder / "expected.json"
        if not expected.is_file():
            continue
        cases = json.loads(expected.read_text(encoding="utf-8"))
        for name, case in sorted(cases.items()):
            if str(case.get("expect", "")).startswith("loads") and case.get("flow", "monthly") == "monthly":
                found.append(Original(name, (FIXTURES / folder / name).read_bytes(), folder))
    return found


def landed(file_id: int, name: str, content: bytes) -> LandedFile:
    return LandedFile(file_id, hashlib.sha256(content).hexdigest(), name, Path(name), len(content), False, content)


@dataclass
class TextFile:
    """A CSV as rows, with what it takes to write it back the way it came."""

    rows: list[list[str]]
    encoding: str
    delimiter: str
    terminator: str

    @classmethod
    def read(cls, content: bytes, name: str) -> TextFile:
        text, encoding = decode_text(content, name)
        delimiter = sniff_delimiter(text)
        return cls(csv_rows(text, delimiter), encoding, delimiter, "\r\n" if "\r\n" in text else "\n")

    def write(self, raw_rows: dict[int, str] | None = None) -> bytes:
        """The rows as CSV text in the file's encoding; `raw_rows` are written as given (a line an office
        typed by hand, e.g. with a figure's thousands separator unquoted)."""
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=self.delimiter, lineterminator=self.terminator)
        for i, row in enumerate(self.rows):
            if raw_rows and i in raw_rows:
                buf.write(raw_rows[i] + self.terminator)
            else:
                writer.writerow(row)
        text = buf.getvalue()
        if self.encoding == "utf-8-sig":
            return b"\xef\xbb\xbf" + text.encode("utf-8")
        return text.encode(self.encoding)

    def quoted(self, cells: list[str]) -> str:
        """One row as csv.writer writes it."""
        buf = io.StringIO()
        csv.writer(buf, delimiter=self.delimiter, lineterminator="").writerow(cells)
        return buf.getvalue()


def edit_book(content: bytes, change: Callable[[Any], None]) -> bytes:
    """The workbook with `change(book)` applied, saved again (cached values as they were: no formulas),
    byte for byte the same each run: openpyxl stamps the save time into the zip and docProps/core.xml."""
    book = openpyxl.load_workbook(io.BytesIO(content))
    change(book)
    out = io.BytesIO()
    book.save(out)
    fixed = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(out.getvalue())) as saved,
        zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as again,
    ):
        for info in saved.infolist():
            data = saved.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2020-01-01T00:00:00Z", data)
            again.writestr(zipfile.ZipInfo(info.filename, date_time=(2020, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return fixed.getvalue()


def insert_row(sheet: Any, index: int, values: list[Any]) -> None:
    """A row inserted before `index` (1-based), the merged ranges below it moved down with their cells
    (openpyxl's insert_rows leaves them where they were)."""
    ranges = [r.coord for r in sheet.merged_cells.ranges]
    for coord in ranges:
        sheet.unmerge_cells(coord)
    sheet.insert_rows(index)
    for j, value in enumerate(values, start=1):
        sheet.cell(index, j).value = value
    for coord in ranges:
        cell_range = openpyxl.worksheet.cell_range.CellRange(coord)
        if cell_range.min_row >= index:
            cell_range.shift(row_shift=1)
        sheet.merge_cells(cell_range.coord)
