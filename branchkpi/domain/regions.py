"""Regions: the 47 branches (支部), one per prefecture, by JIS X 0401 code, and the national total (全国).

Every file names regions its own way (`山口`, `山口県`, `山口支部`, `yamaguchi`, `Yamaguchi`, `35`, `35.0`);
`resolve_region` maps all of them to the two-digit JIS code. The national total uses code `00`.
"""

from __future__ import annotations

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
