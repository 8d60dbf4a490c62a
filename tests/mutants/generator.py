"""The seeded generator: every class of mistake applied to every original (each with its own random
source, so adding an original or a class changes no other mutant), and a fixed sample stratified by
class."""

from __future__ import annotations

import random
from collections.abc import Callable

from branchkpi.tasks.parse.batch import parse_statistics

from .classes import Info, Mutant, digit_swap, scale_in_title, scale_values
from .files import Original, landed, originals
from .mistakes import column_shift, fiscal_year_off, label_swap, month_changed, row_repeated, unquoted_separator
from .runner import real_series

SEED = 26

Make = Callable[[Info, random.Random], list[Mutant]]
CLASSES: dict[str, Make] = {
    "scale_values": lambda info, rng: scale_values(info, rng, (1000, 0.001), False, "scale_values"),
    "scale_title": scale_in_title,
    "scale_jump": lambda info, rng: scale_values(info, rng, (10, 0.1, 100, 0.01), True, "scale_jump"),
    "digit_swap": lambda info, rng: digit_swap(info, rng, 3),
    "unquoted_separator": unquoted_separator,
    "column_shift": column_shift,
    "label_swap": label_swap,
    "fiscal_year_off": fiscal_year_off,
    "row_repeated": row_repeated,
    "month_changed": month_changed,
}


def infos(found: list[Original] | None = None) -> list[Info]:
    """Every original parsed once (the generator reads its figures and labels from the parse)."""
    out = []
    for i, original in enumerate(found or originals()):
        parsed, _ = parse_statistics([landed(i, original.name, original.content)])
        out.append(Info(original, parsed, real_series()))
    return out


def generate(rounds: int = 2, seed: int = SEED, found: list[Info] | None = None) -> list[Mutant]:
    """`rounds` passes of every class over every original; a mutant identical to another is dropped."""
    mutants: dict[bytes, Mutant] = {}
    for info in found or infos():
        for kind, make in CLASSES.items():
            for r in range(rounds):
                rng = random.Random(f"{seed}:{info.original.name}:{kind}:{r}")
                for m in make(info, rng):
                    if m.content != info.original.content or m.name != info.original.name:
                        mutants.setdefault(m.content + m.name.encode() + bytes([m.history]), m)
    return list(mutants.values())


def sample(mutants: list[Mutant], size: int, seed: int = SEED) -> list[Mutant]:
    """`size` mutants, as many of each class as there are to share (round robin), in a fixed order."""
    rng = random.Random(seed)
    by_kind: dict[str, list[Mutant]] = {}
    for m in mutants:
        by_kind.setdefault(m.kind, []).append(m)
    for group in by_kind.values():
        rng.shuffle(group)
    picked: list[Mutant] = []
    while len(picked) < size and any(by_kind.values()):
        for kind in sorted(by_kind):
            if by_kind[kind] and len(picked) < size:
                picked.append(by_kind[kind].pop())
    return picked
