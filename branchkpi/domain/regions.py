"""Regions: the 47 branches (支部), one per prefecture, by JIS X 0401 code, and the national total (全国).

Every file names regions its own way (`山口`, `山口県`, `山口支部`, `yamaguchi`, `Yamaguchi`, `35`, `35.0`);
`resolve_region` maps all of them to the two-digit JIS code. The national total uses code `00`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

NATIONAL_CODE = "00"


@dataclass(frozen=True)
class Region:
    code: str  # JIS X 0401 prefecture code, "01".."47"; "00" = national total
    name_ja: str  # 山口
    name_romaji: str  # yamaguchi

    @property
    def is_national(self) -> bool:
        return self.code == NATIONAL_CODE


_PREFECTURES: tuple[tuple[str, str], ...] = (
    ("北海道", "hokkaido"),
    ("青森", "aomori"),
    ("岩手", "iwate"),
    ("宮城", "miyagi"),
    ("秋田", "akita"),
    ("山形", "yamagata"),
    ("福島", "fukushima"),
    ("茨城", "ibaraki"),
    ("栃木", "tochigi"),
    ("群馬", "gunma"),
    ("埼玉", "saitama"),
    ("千葉", "chiba"),
    ("東京", "tokyo"),
    ("神奈川", "kanagawa"),
    ("新潟", "niigata"),
    ("富山", "toyama"),
    ("石川", "ishikawa"),
    ("福井", "fukui"),
    ("山梨", "yamanashi"),
    ("長野", "nagano"),
    ("岐阜", "gifu"),
    ("静岡", "shizuoka"),
    ("愛知", "aichi"),
    ("三重", "mie"),
    ("滋賀", "shiga"),
    ("京都", "kyoto"),
    ("大阪", "osaka"),
    ("兵庫", "hyogo"),
    ("奈良", "nara"),
    ("和歌山", "wakayama"),
    ("鳥取", "tottori"),
    ("島根", "shimane"),
    ("岡山", "okayama"),
    ("広島", "hiroshima"),
    ("山口", "yamaguchi"),
    ("徳島", "tokushima"),
    ("香川", "kagawa"),
    ("愛媛", "ehime"),
    ("高知", "kochi"),
    ("福岡", "fukuoka"),
    ("佐賀", "saga"),
    ("長崎", "nagasaki"),
    ("熊本", "kumamoto"),
    ("大分", "oita"),
    ("宮崎", "miyazaki"),
    ("鹿児島", "kagoshima"),
    ("沖縄", "okinawa"),
)

NATIONAL = Region(NATIONAL_CODE, "全国", "national")
BRANCHES: tuple[Region, ...] = tuple(
    Region(f"{i:02d}", ja, romaji) for i, (ja, romaji) in enumerate(_PREFECTURES, start=1)
)
ALL_REGIONS: tuple[Region, ...] = (NATIONAL, *BRANCHES)
BY_CODE: dict[str, Region] = {r.code: r for r in ALL_REGIONS}

# Suffixes printed after a prefecture name: 県/府/都/道 and the association's 支部.
_SUFFIXES = ("支部", "県", "府", "都")
_ALIASES: dict[str, str] = {
    "national": NATIONAL_CODE,
    NATIONAL_CODE: NATIONAL_CODE,
    "全国": NATIONAL_CODE,
    "all": NATIONAL_CODE,
    "japan": NATIONAL_CODE,
    "全国計": NATIONAL_CODE,
    "協会全体": NATIONAL_CODE,
}


def _build_index() -> dict[str, str]:
    index = dict(_ALIASES)
    for r in BRANCHES:
        index[r.name_ja] = r.code
        index[r.name_romaji] = r.code
        index[r.code] = r.code
        index[str(int(r.code))] = r.code
    index["hokkaidou"] = "01"
    index["kyouto"] = "26"
    index["oosaka"] = "27"
    index["hyougo"] = "28"
    index["kouchi"] = "39"
    index["ooita"] = "44"
    index["北海道"] = "01"
    return index


_INDEX = _build_index()


def _normalise(text: str) -> str:
    s = unicodedata.normalize("NFKC", text).strip().lower()
    s = s.replace(" ", "").replace("-", "").replace("_", "")
    for suffix in ("prefecture", "branch", "ken", "fu", "to"):
        if s.endswith(suffix) and s[: -len(suffix)] in _INDEX:
            return s[: -len(suffix)]
    for suffix in _SUFFIXES:
        if s.endswith(suffix) and s[: -len(suffix)] in _INDEX:
            return s[: -len(suffix)]
    if s.endswith(".0") and s[:-2].isdigit():
        s = s[:-2]
    return s


def resolve_region(text: object) -> str | None:
    """Return the JIS code ("00".."47") for a region written in any accepted form, or None."""
    if text is None:
        return None
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str):
        text = str(text)
    return _INDEX.get(_normalise(text))


def region(text: object) -> Region:
    """Like `resolve_region`, but returns the Region and raises ValueError naming the input."""
    code = resolve_region(text)
    if code is None:
        raise ValueError(
            f"unknown region {text!r}: use a JIS prefecture code 01-47, a Japanese name (山口) "
            "or romaji (yamaguchi), or 'national' / 全国"
        )
    return BY_CODE[code]


# the association's own name, which holds 全国 and is no region
_ASSOCIATION_NAMES = ("全国健康保険協会管掌", "全国健康保険協会", "協会けんぽ")
_JA_NAMES: tuple[tuple[str, str], ...] = tuple(
    sorted(
        [(r.name_ja, r.code) for r in BRANCHES] + [("全国", NATIONAL_CODE)],
        key=lambda pair: -len(pair[0]),
    )
)
_ROMAJI_WORDS: dict[str, str] = {
    **{r.name_romaji: r.code for r in BRANCHES},
    **{k: v for k, v in _build_index().items() if k.isalpha() and k.isascii() and k not in ("all", "japan")},
}


def _is_kanji(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or ch in "々〆"


def regions_named_in(text: str) -> tuple[str, ...]:
    """The regions a title line, sheet or file name names (`山口支部 月報`, `令和元年度 全国 加入者の状況`,
    `yamaguchi_insured_persons.csv`), each once, in order. A prefecture's name counts only as a word of
    its own, optionally with 県 / 府 / 都 and 支部 / 計 (大分類 is not 大分, 東京都支部 is not 京都); the
    association's name (全国健康保険協会, 協会けんぽ) is not 全国."""
    s = unicodedata.normalize("NFKC", text).lower()
    for name in _ASSOCIATION_NAMES:
        s = s.replace(name, " ")
    found: list[str] = []
    i = 0
    while i < len(s):
        for name, code in _JA_NAMES:
            if not s.startswith(name, i):
                continue
            end = i + len(name)
            for suffixes in (("県", "府", "都"), ("支部", "計")):
                end += next((len(x) for x in suffixes if s.startswith(x, end)), 0)
            if not (end < len(s) and _is_kanji(s[end])) and code not in found:  # else part of a longer word
                found.append(code)
            i = end - 1
            break
        i += 1
    for word in re.split(r"[^a-z]+", s):
        romaji = _ROMAJI_WORDS.get(word)
        if romaji is not None and romaji not in found:
            found.append(romaji)
    return tuple(found)
