"""Numbers as offices write them: `"257,346"`, `１，２３４`, `1.5%`, `△16%`, `704万`, `12件`, `3,000円`.

One function, `parse_number`, turns such a cell into a float or raises `NumberFormatError` saying what
was wrong. Digits are ASCII 0-9 or full-width ０-９ (what a Japanese IME types); every other character
that is or looks like a digit (Arabic-Indic ٣, Devanagari ३, mathematical bold 𝟑, superscript ³,
circled ③ …) is rejected rather than read (`foreign_digit`; see docs/decisions.md, "Look-alike digits").
Never returned: NaN, ±infinity, -0, or a magnitude beyond MAX_ABS_VALUE (so beyond int64 too).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable

# Minus signs as printed: △ / ▲ (Japanese accounting), U+2212, full-width hyphen (NFKC → '-').
_MINUS_MARKS = ("△", "▲", "−", "‐", "–", "ー")
# longest first: 事業所 before 所 (`2,237,406事業所`)
_UNIT_SUFFIXES = ("事業所", "ポイント", "件", "人", "円", "所", "名", "%", "％", "pt")
_MULTIPLIERS = {"万": 10_000, "億": 100_000_000, "千": 1_000, "百万": 1_000_000}
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$", re.ASCII)
_GROUPED_RE = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$", re.ASCII)
_ACCEPTED_DIGITS = frozenset("0123456789０１２３４５６７８９")
# Cells that mean "nothing printed here".
BLANK_MARKERS = frozenset({"", "-", "－", "―", "—", "…", "*", "＊", "n/a", "na", "null", "none"})

MAX_ABS_VALUE = 1e15  # beyond any statistic we store (national benefits are ~6e6 million yen)


class NumberFormatError(ValueError):
    pass


def foreign_digit(text: str) -> str | None:
    """The first character of `text` that is, or normalises (NFKC) to, a digit but is not one of the
    accepted ASCII or full-width digits; None if there is none."""
    for ch in text:
        if ch.isascii() or ch in _ACCEPTED_DIGITS:
            continue
        if unicodedata.category(ch)[0] == "N" or any(c.isdigit() for c in unicodedata.normalize("NFKC", ch)):
            return ch
    return None


def reject_foreign_digits(text: str) -> None:
    """Raise ValueError naming the character if `text` holds a look-alike digit (see foreign_digit)."""
    ch = foreign_digit(text)
    if ch is not None:
        raise NumberFormatError(
            f"look-alike digit {ch!r} (U+{ord(ch):04X} {unicodedata.name(ch, '?')}) in {text!r}: "
            "only 0-9 and full-width ０-９ are read as digits"
        )


def is_blank(cell: object) -> bool:
    if cell is None:
        return True
    if isinstance(cell, float) and math.isnan(cell):
        return True
    return isinstance(cell, str) and unicodedata.normalize("NFKC", cell).strip().lower() in BLANK_MARKERS


def parse_number(cell: object, allow_negative_zero: bool = False) -> float:
    """Parse one cell as printed into a float. Raises NumberFormatError with the cell text.

    `-0` (also `△0`, `-0.0`) is an error unless `allow_negative_zero` (a printed 前年同月比 of △0.0% is
    a change that rounds to zero): then it is returned as 0.0, so -0.0 is never stored."""
    if isinstance(cell, bool):
        raise NumberFormatError(f"not a number: {cell!r}")
    if isinstance(cell, int):
        value = float(cell)
    elif isinstance(cell, float):
        value = cell
    else:
        value = _parse_text(str(cell))
    if math.isnan(value) or math.isinf(value):
        raise NumberFormatError(f"not a finite number: {cell!r}")
    if abs(value) > MAX_ABS_VALUE:
        raise NumberFormatError(f"number out of range (|x| > 1e15): {cell!r}")
    if value == 0 and math.copysign(1.0, value) < 0:
        if not allow_negative_zero:
            raise NumberFormatError(f"negative zero is not a value: {cell!r}")
        return 0.0
    return value


_DIGITS = "0123456789０１２３４５６７８９"
_BARE_MULTIPLIERS = frozenset({"万", "億", "千", "百万"})


def split_unit(cell: str, is_unit: Callable[[str], bool]) -> tuple[str, str | None]:
    """A printed figure and the unit word written after it, when `is_unit` knows the word:
    `2,237,406事業所` → (`2,237,406`, `事業所`), `275千円` → (`275`, `千円`), `260,511 人` → (`260,511`,
    `人`). A bare multiplier stays with the number (`704万` → (`704万`, None)), and so does any other tail
    (`about 260 thousand`: not a number, for the caller to refuse as it is)."""
    text = cell.strip()
    last = max((text.rfind(d) for d in _DIGITS), default=-1)
    if last < 0:
        return cell, None
    tail = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text[last + 1 :]))
    if not tail or tail in _BARE_MULTIPLIERS or not is_unit(tail):
        return cell, None
    return text[: last + 1], tail


def _parse_text(raw: str) -> float:
    reject_foreign_digits(raw)
    s = raw.strip()
    negative = False
    for mark in _MINUS_MARKS:
        if s.startswith(mark):
            negative = True
            s = s[len(mark) :].strip()
            break
    s = unicodedata.normalize("NFKC", s).strip()
    s = re.sub(r"(?<=\D)\s+|\s+(?=\D)", "", s)  # "1,234 人" is fine; "1 2" is not a number
    if s.startswith("(") and s.endswith(")"):  # accounting negative: (1,234)
        negative = not negative
        s = s[1:-1]
    multiplier = 1.0
    stripped = True
    while stripped and s:
        stripped = False
        for suffix in _UNIT_SUFFIXES:
            if s.endswith(suffix):
                s = s[: -len(suffix)]
                stripped = True
        for word, factor in sorted(_MULTIPLIERS.items(), key=lambda kv: -len(kv[0])):
            if s.endswith(word):
                s = s[: -len(word)]
                multiplier *= factor
                stripped = True
                break
    if "," in s:
        if not _GROUPED_RE.match(s):
            raise NumberFormatError(f"misplaced thousands separator in {raw!r}")
        s = s.replace(",", "")
    if not s.isascii() or not _NUMBER_RE.match(s):
        raise NumberFormatError(f"not a number: {raw!r}")
    value = float(s) * multiplier
    return -value if negative else value
