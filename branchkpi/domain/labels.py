"""Labels as senders write them (見出し): the normal form a header, title line, sheet name or file name
is compared in, and the one synonym table (header_synonyms.md beside this module, read here, so the
documentation and the parsers cannot disagree).

A label matches only exactly, after normalisation; a label that merely contains a known word is not
that word (`任意継続被保険者数` is not `被保険者数`). `contains_known` exists only to refuse such near
names with a clear message.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

_DECORATION = re.compile(r"[◆◇■□●○★☆※\s_\-・/:：]")
_BRACKETED = re.compile(r"[（(【\[「<＜〔]([^）)】\]」>＞〕]*)[）)】\]」>＞〕]")
_BRACKET_CHARS = re.compile(r"[（()）【】\[\]「」<>＜＞〔〕]")
_UNIT_PREFIX = re.compile(r"^単位[:：]?\s*")


@dataclass(frozen=True)
class Label:
    """A label in normal form: `key` to match on, and the unit words its brackets (or its last word)
    held (`被保険者数（千人）` → 千人; their factors: branchkpi.domain.units)."""

    written: str
    key: str
    units: tuple[str, ...] = ()


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower()


def _squash(text: str) -> str:
    return _DECORATION.sub("", _BRACKET_CHARS.sub("", text))


@cache
def _table() -> dict[str, list[list[str]]]:
    """The synonym file's rows by section: {'Columns': [[role, synonym, meaning]], 'Metrics': …}."""
    text = resources.files("branchkpi.domain").joinpath("header_synonyms.md").read_text(encoding="utf-8")
    sections: dict[str, list[list[str]]] = {}
    current = ""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("## "):
            current = line[3:].strip()
            sections[current] = []
        elif line.startswith("|") and current and not line.startswith("|---"):
            if i + 1 < len(lines) and lines[i + 1].startswith("|---"):
                continue  # the table's own header row
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 2:
                sections[current].append(cells)
    return sections


def section(name: str) -> list[tuple[str, str]]:
    """The first two cells of each row of one section of the synonym table (`Columns`, `Metrics`, …)."""
    return [(cells[0], cells[1]) for cells in _table()[name]]


def section_rows(name: str) -> list[list[str]]:
    """Every cell of each row of one section (the `Units` table has four columns)."""
    return [list(cells) for cells in _table()[name]]


def fold(text: str) -> str:
    """NFKC (全角 → 半角, half-width katakana → full-width), stripped, lower case: how words are compared."""
    return _fold(text)


@cache
def _bracket_words() -> dict[str, str]:
    words = {_fold(word): "note" for _, word in section("Notes in brackets")}
    words.update({_fold(cells[0]): "unit" for cells in section_rows("Units")})
    return words


def label(text: object) -> Label:
    """The normal form of a label: NFKC, lower case, spaces and decoration removed, bracketed units and
    notes stripped (and kept aside). Other bracketed words stay part of the key."""
    written = "" if text is None else str(text)
    folded = _fold(written)
    units: list[str] = []
    kinds = _bracket_words()

    def strip_known(match: re.Match[str]) -> str:
        inner = _UNIT_PREFIX.sub("", match.group(1).strip())
        kind = kinds.get(inner)
        if kind == "unit":
            units.append(inner)
            return ""
        if kind == "note":
            return ""
        return match.group(0)

    folded = _BRACKETED.sub(strip_known, folded)
    # a unit after a space or 単位: (`被保険者数 人`, `保険給付費 単位:百万円`)
    parts = folded.rsplit(None, 1)
    if len(parts) == 2:
        tail = _UNIT_PREFIX.sub("", parts[1])
        if kinds.get(tail) == "unit":
            units.append(tail)
            folded = parts[0]
    return Label(written, _squash(folded), tuple(units))


def key(text: object) -> str:
    return label(text).key


@cache
def column_roles() -> dict[str, str]:
    """Normal form of every column synonym → its role (region, period, value, note, group, …)."""
    roles: dict[str, str] = {}
    for role, synonym in section("Columns"):
        k = key(synonym)
        if roles.get(k, role) != role:
            raise ValueError(f"header_synonyms.md: {synonym!r} is listed for {roles[k]} and {role}")
        roles[k] = role
    return roles


def column_role(text: object) -> str | None:
    return column_roles().get(key(text)) if key(text) else None


_NAME_SEPARATORS = re.compile(r"[\s_\-.・]+")


def spans(text: str) -> list[str]:
    """The words of a file or sheet name and every run of consecutive words, joined, in normal form
    (`national_insured_persons.csv` → national, insured, persons, nationalinsured, insuredpersons, …),
    longest first: a metric named in a file name is one of them exactly."""
    stem = re.sub(r"\.(csv|tsv|txt|xlsx|xlsm)$", "", _fold(text))
    words = [w for w in _NAME_SEPARATORS.split(stem) if w]
    found = {key("".join(words[i:j])) for i in range(len(words)) for j in range(i + 1, len(words) + 1)}
    return sorted((s for s in found if s), key=len, reverse=True)
