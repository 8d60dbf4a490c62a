"""Units (単位) of the monthly figures: the one table of unit words (header_synonyms.md, section
`Units`, read here), what each word is worth in its measure's base unit (人, 所, 円) and the metrics it
may be applied to. A figure is stored in its metric's unit (人, 所, 円; 保険給付費 in 百万円, as the
association prints it), so 千人 is ×1,000 for 被保険者数 and 千円 is ×1/1,000 for 保険給付費. A word not
listed for a metric does not fit it (`%` never fits a figure, 千人 never fits 平均標準報酬月額): the file is
refused where the word stands, never loaded on a guess.

Also here: the unit words a line states (`（単位：千人）`, `単位：人、百万円`, `※ 金額は百万円単位`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from branchkpi.domain import labels, metrics


@dataclass(frozen=True)
class Unit:
    word: str  # folded (NFKC, lower case)
    factor: float | None  # in the base unit of its measure; None: the word states no unit (`as printed`)
    metrics: frozenset[str]


# what one stored unit of a metric is in the base unit of its measure (円 for 保険給付費)
STORED_FACTOR: dict[str, float] = {"insurance_benefits": float(metrics.INSURANCE_BENEFITS_YEN_PER_UNIT)}


@cache
def table() -> dict[str, Unit]:
    """Every unit word of header_synonyms.md by its folded form."""
    out: dict[str, Unit] = {}
    for cells in labels.section_rows("Units"):
        word, factor, listed = labels.fold(cells[0]), cells[1].strip(), cells[2].split() if len(cells) > 2 else []
        unknown = [m for m in listed if m not in metrics.BY_ID]
        if unknown:
            raise ValueError(f"header_synonyms.md, Units: {cells[0]!r} lists unknown metrics {unknown}")
        out[word] = Unit(word, None if factor in ("-", "") else float(factor), frozenset(listed))
    return out


def unit(word: str) -> Unit | None:
    return table().get(labels.fold(word).replace(" ", "")) or table().get(labels.fold(word))


def is_unit_word(word: str) -> bool:
    return unit(word) is not None


def states_no_unit(word: str) -> bool:
    """`as printed, unit not stated`: a unit cell that says the figure is as printed."""
    found = unit(word)
    return found is not None and found.factor is None


def factor(metric_id: str, word: str) -> float | None:
    """What one figure written in `word` is in the metric's stored unit (千人 → 1000 for 被保険者数,
    千円 → 0.001 for 保険給付費), or None when the word does not fit the metric."""
    found = unit(word)
    if found is None or found.factor is None or metric_id not in found.metrics:
        return None
    return found.factor / STORED_FACTOR.get(metric_id, 1.0)


def fitting_words(metric_id: str) -> list[str]:
    """The words that fit a metric, for a message (`人/千人/万人/…`)."""
    return [u.word for u in table().values() if metric_id in u.metrics]


def unit_problem(metric_id: str, words: tuple[str, ...] | list[str]) -> str | None:
    """Why the unit words a header or line prints do not fit the metric (or disagree), or None."""
    name = metrics.BY_ID[metric_id].name_ja
    factors = set()
    for word in words:
        if states_no_unit(word):
            continue
        f = factor(metric_id, word)
        if f is None:
            return f"the unit {word} does not fit {name} ({'/'.join(fitting_words(metric_id)[:8])})"
        factors.add(f)
    if len(factors) > 1:
        return f"two different units for {name}: {', '.join(words)}"
    return None


_STATED = re.compile(r"単位\s*[:：は]?\s*([^)）\]］】]+)")
_SUFFIXED = re.compile(r"([^\s、,，・/:：()（）]+?)\s*単位")
_SEPARATORS = re.compile(r"[、,，・/／\s]+")


def stated_units(text: str) -> list[str] | None:
    """The unit words a title or note line states, in order (`（単位：千人）` → [千人], `単位：人、百万円` →
    [人, 百万円], `金額は百万円単位` → [百万円]); an unknown word after 単位 is returned as written so the
    caller can refuse it. None when the line states no unit."""
    folded = labels.fold(text)
    match = _STATED.search(folded)
    if match:
        words = [w for w in _SEPARATORS.split(match.group(1).strip()) if w]
        return words or None
    match = _SUFFIXED.search(folded)
    if match:
        word = re.sub(r"^.*[はを]", "", match.group(1))
        return [word] if word else None
    return None
