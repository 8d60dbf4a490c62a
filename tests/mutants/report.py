"""One run: the originals (fresh and with the real series as history) and the mutants through the real
parse and gate, and what was caught, per class and by which rules."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .classes import Mutant
from .generator import generate, infos, sample
from .runner import Case, Outcome, check


@dataclass
class Result:
    mutants: list[Mutant]
    outcomes: list[Outcome]
    originals: list[tuple[str, bool, Outcome]] = field(default_factory=list)

    @property
    def knowable(self) -> list[tuple[Mutant, Outcome]]:
        return [(m, o) for m, o in zip(self.mutants, self.outcomes, strict=True) if m.knowable]

    @property
    def missed(self) -> list[tuple[Mutant, Outcome]]:
        return [(m, o) for m, o in self.knowable if not o.refused]

    @property
    def originals_refused(self) -> list[tuple[str, bool, Outcome]]:
        return [r for r in self.originals if r[2].refused]

    @property
    def ok(self) -> bool:
        return not self.missed and not self.originals_refused

    def text(self, verbose: bool = False) -> str:
        caught = len(self.knowable) - len(self.missed)
        lines = [f"mutants_caught={caught}/{len(self.knowable)} originals_refused={len(self.originals_refused)}"]
        for kind in sorted({m.kind for m in self.mutants}):
            mine = [(m, o) for m, o in zip(self.mutants, self.outcomes, strict=True) if m.kind == kind]
            known = [(m, o) for m, o in mine if m.knowable]
            rules = Counter(rule for _, o in known if o.refused for rule in (o.rules or ["file_readable"]))
            top = ", ".join(f"{r} {n}" for r, n in rules.most_common(4))
            line = f"  {kind}: {sum(o.refused for _, o in known)}/{len(known)} caught ({top})"
            unknown = [(m, o) for m, o in mine if not m.knowable]
            if unknown:
                line += f"; not knowable {len(unknown)} (refused anyway {sum(o.refused for _, o in unknown)})"
            lines.append(line)
        for name, history, outcome in self.originals_refused:
            lines.append(f"  ORIGINAL REFUSED {name} (history={history}): {outcome.error or outcome.critical[0]}")
        for m, _ in self.missed if verbose else self.missed[:10]:
            lines.append(f"  MISSED {m.kind} {m.original} (history={m.history}): {m.detail} [{m.why}]")
        return "\n".join(lines)


def run(size: int = 0, rounds: int = 2, seed: int = 26) -> Result:
    """Generate, sample (`size` 0: every mutant) and check, originals and mutants in one batched run."""
    found = infos()
    mutants = generate(rounds, seed, found)
    if size:
        mutants = sample(mutants, size, seed)
    cases = [Case(i.original.name, i.original.content, history) for i in found for history in (False, True)]
    cases += [Case(m.name, m.content, m.history) for m in mutants]
    outcomes = check(cases)
    originals = [(c.name, c.history, o) for c, o in zip(cases[: 2 * len(found)], outcomes, strict=False)]
    return Result(mutants, outcomes[2 * len(found) :], originals)
