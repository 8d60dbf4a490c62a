"""Reading a text file's bytes safely: encodings (UTF-8 with or without BOM, CP932, UTF-16; mixed
encodings and binary data refused), a limit on line length, the delimiter, and CSV rows."""

from __future__ import annotations

import csv
import io

from branchkpi.tasks.parse.cells import FileParseError

# A line of a CSV that no person fills in comes near: our widest real rows (KPI plan items with their
# notes) are under 2,000 characters. Longer lines are machine output or an attack; refusing them
# before the csv module runs keeps it from building a list of a million cells (or a 10 MB cell that
# would be stored as the quarantined value).
MAX_LINE_CHARS = 64 * 1024


SNIFF_ROWS = 40


def decode_text(content: bytes, file_name: str) -> tuple[str, str]:
    """Bytes → text. UTF-8 (with or without BOM) first, then CP932 (Windows Shift_JIS, which also
    covers ㈱ 髙 﨑 and circled digits that plain shift_jis rejects)."""
    if not content.strip():
        raise FileParseError("the file is empty")
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return content.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise FileParseError(f"damaged UTF-16 text ({exc.reason})") from exc
    if b"\x00" in content[:65536]:
        raise FileParseError("binary data (NUL bytes), not a CSV text file")
    if content.startswith(b"\xef\xbb\xbf"):
        try:
            return content[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise FileParseError(
                f"starts with a UTF-8 BOM but byte {exc.start + 3} is not UTF-8 "
                f"(0x{content[exc.start + 3]:02x}): mixed encodings in one file"
            ) from exc
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as utf8_error:
        _refuse_mixed_encodings(content, file_name)
        try:
            return content.decode("cp932"), "cp932"
        except UnicodeDecodeError as exc:
            raise FileParseError(
                f"neither UTF-8 nor CP932 text (byte 0x{content[exc.start]:02x} at offset "
                f"{exc.start}; UTF-8 failed at offset {utf8_error.start})"
            ) from exc


def _is_japanese(ch: str) -> bool:
    return "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef"


def _refuse_mixed_encodings(content: bytes, file_name: str) -> None:
    """A file that is not UTF-8 as a whole but has UTF-8 lines with Japanese text in it is two files
    pasted together (an office appended CP932 rows to a UTF-8 file, or the reverse). Decoding it all
    as CP932 would turn the UTF-8 lines into mojibake that may pass as unknown text: refuse it, naming
    a line of each kind. (A CP932 line with kanji is practically never valid UTF-8: its lead bytes
    0x81-0x9F are UTF-8 continuation bytes; requiring Japanese characters rules out chance pairs of
    half-width kana.)"""
    utf8_line = other_line = None
    for number, line in enumerate(content.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            other_line = other_line or number
        else:
            if utf8_line is None and any(_is_japanese(ch) for ch in text):
                utf8_line = number
        if utf8_line and other_line:
            raise FileParseError(
                f"mixed encodings in one file: line {utf8_line} is UTF-8 but line {other_line} "
                "is not (CP932/Shift_JIS?); save the whole file in one encoding"
            )


def check_line_lengths(text: str, file_name: str) -> None:
    """Refuse a text with a line longer than MAX_LINE_CHARS, naming the line (1-based)."""
    start, number, size = 0, 1, len(text)
    while start < size:
        end = text.find("\n", start)
        end = size if end < 0 else end
        if end - start > MAX_LINE_CHARS:
            # lone CR line ends (old Mac exports) are lines too
            longest = max(len(part) for part in text[start:end].split("\r"))
            if longest > MAX_LINE_CHARS:
                raise FileParseError(
                    f"line {number} is {end - start:,} characters long (limit {MAX_LINE_CHARS:,}): "
                    "not a table a person fills in"
                )
        start, number = end + 1, number + 1


def sniff_delimiter(text: str) -> str:
    head = text[:4096].splitlines()[:5]
    sample = "\n".join(head)
    if sample.count("\t") > sample.count(","):
        return "\t"
    return ","


def csv_rows(text: str, delimiter: str, limit: int | None = None) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    rows: list[list[str]] = []
    try:
        for row in reader:
            rows.append(row)
            if limit is not None and len(rows) >= limit:
                break
    except csv.Error as exc:
        raise FileParseError(f"malformed CSV at line {reader.line_num}: {exc}") from exc
    return rows
