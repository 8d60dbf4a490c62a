"""Mutation testing of the KPI files' gate: `make mutants-kpi` (or `python -m tests.mutants.kpi [--sample N]`).

The originals are the sample data's KPI files (data/sample/seed) and the office-typed KPI files that load
(tests/fixtures/kpi_files), each checked with the seed's targets and actuals in a warehouse of its own
(SQLite in a temporary folder), as a branch's next file would be. Every original gets every mistake of
tests/mutants/kpi_mutations.py that applies to it. The originals and all mutants go through the real
parser and the real gate (the plan wordings and previous actuals read from that warehouse, the Great
Expectations suites) in one batch, each file its own part, so they do not meet in the batch rules.

Prints `mutants_caught=N/M originals_refused=K` and a line per class; `run_kpi_mutants()` returns the same
as a KpiMutationReport for `make mutants` and the test (tests/warehouse/test_kpi_mutants.py). The bar:
every knowable mutant caught, no original refused."""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "data" / "sample" / "seed"
FIXTURES = ROOT / "tests" / "fixtures" / "kpi_files"
SEED_FILES = (
    "kpi_plan_items.csv",
    "kpi_plan_structure.csv",
    "kpi_actuals.csv",
    "okayama_collection_rate_targets.csv",
    "okayama_collection_rate_notes.csv",
    "okayama_collection_rate_actuals.csv",
)
SEED_ORIGINALS = ("kpi_actuals.csv", "kpi_plan_items.csv", "okayama_collection_rate_targets.csv")


@dataclass
class KpiMutationReport:
    caught: int = 0
    total: int = 0
    originals: int = 0
    originals_refused: list[str] = field(default_factory=list)
    reader_faults: list[str] = field(default_factory=list)  # a mutant that crashed a reader (a bug)
    by_class: dict[str, Counter[str]] = field(default_factory=dict)  # class → total, caught, knowable, missed
    knowable_missed: list[str] = field(default_factory=list)
    unknowable: list[str] = field(default_factory=list)  # not caught, and no rule can know them
    seconds: float = 0.0

    def summary_line(self) -> str:
        return f"mutants_caught={self.caught}/{self.total} originals_refused={len(self.originals_refused)}"

    def lines(self) -> list[str]:
        out = [self.summary_line()]
        for mistake, c in self.by_class.items():
            out.append(
                f"  {mistake:<27} caught {c['caught']}/{c['total']}  knowable {c['knowable']}  "
                f"knowable missed {c['missed']}"
            )
        out += [f"  KNOWABLE MISSED: {m}" for m in self.knowable_missed]
        out += [f"  REFUSED ORIGINAL: {m}" for m in self.originals_refused]
        out += [f"  READER FAULT: {m}" for m in self.reader_faults]
        out += [f"  unknowable, not caught: {m}" for m in self.unknowable[:12]]
        if len(self.unknowable) > 12:
            out.append(f"  … {len(self.unknowable) - 12} more unknowable")
        out.append(f"  {self.originals} originals, {self.total} mutants, {self.seconds:.1f} s")
        return out


def originals() -> list[tuple[str, bytes]]:
    """The files mutated: the seed's KPI targets and actuals, and the office-typed files that load."""
    cases = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
    loadable = sorted(n for n, c in cases.items() if c["expect"] == "loads")
    return [(n, (SEED / n).read_bytes()) for n in SEED_ORIGINALS] + [(n, (FIXTURES / n).read_bytes()) for n in loadable]


def prepared_warehouse(workdir: Path) -> Any:
    """A warehouse of its own in `workdir` holding the seed's KPI files, loaded as `ingest` loads them
    (landed, parsed, gated, loaded), without Prefect."""
    from branchkpi.config import Settings
    from branchkpi.tasks.landing import land_files
    from branchkpi.tasks.parse.batch import parse_kpi_files
    from branchkpi.tasks.validate import kpi as gate
    from branchkpi.warehouse import batches, kpi_loads
    from branchkpi.warehouse.engine import connect

    engine = connect(f"sqlite:///{workdir / 'warehouse.sqlite'}")
    batch_id = batches.start_batch(engine, None, None)
    files = land_files([SEED / n for n in SEED_FILES], batch_id, engine, Settings(home=workdir, yoy_warn_pct=10.0))
    batch, _ = parse_kpi_files(files)
    batch, loaded = gate.gate_inputs(batch, engine)
    result = gate.run_kpi_gate(
        batch.targets,
        batch.actuals,
        workdir / "data_docs",
        workdir / "gx",
        "mutants-seed",
        structure=batch.structure,
        loaded_actuals=loaded,
        headers=batch.headers,
    )
    critical = [f for f in batch.findings + result.findings if f.severity == "critical"]
    if critical:
        raise SystemExit(f"the seed does not pass the gate: {critical[0]}")
    kpi_loads.load_kpi_batch(
        engine,
        batch.targets,
        batch.actuals,
        batch.unit_list(),
        batch_id,
        [f.id for f in files],
        structure=batch.structure,
    )
    return engine


@dataclass
class Checked:
    """What one file was refused for: its critical findings (`rule row N` in `critical`), or the fault
    that crashed a reader on it."""

    critical: list[str]
    fault: str | None = None
    findings: list[Any] = field(default_factory=list)


def check(files: list[tuple[str, bytes]], engine: Any, workdir: Path) -> tuple[list[Checked], Any]:
    """Every file through the real parser and gate, as parts of one batch: what each one is refused for
    (its critical findings), and the batch as the gate resolved it."""
    from branchkpi.tasks.landing import LandedFile
    from branchkpi.tasks.parse.batch import _READER_FAULTS, ParsedKpiBatch
    from branchkpi.tasks.parse.cells import FileParseError
    from branchkpi.tasks.parse.kpi import parse_kpi_file
    from branchkpi.tasks.validate import kpi as gate

    results = [Checked([]) for _ in files]
    batch = ParsedKpiBatch()
    first_id = 1_000_000
    for part, (name, content) in enumerate(files):
        landed = LandedFile(
            first_id + part, hashlib.sha256(content).hexdigest(), name, Path(name), len(content), False, content
        )
        try:
            parsed = parse_kpi_file(landed)
        except FileParseError as exc:
            results[part].critical.append(f"file_readable: {exc}")
            continue
        except _READER_FAULTS as exc:
            results[part].fault = f"{type(exc).__name__}: {exc}"
            continue
        for kind in ("targets", "actuals", "structure"):
            setattr(parsed, kind, getattr(parsed, kind).with_columns(part=pl.lit(part, pl.Int32)))
        batch.add(parsed, landed.id)
    batch, loaded = gate.gate_inputs(batch, engine)
    result = gate.run_kpi_gate(
        batch.targets,
        batch.actuals,
        workdir / "data_docs",
        workdir / "gx",
        "mutants",
        structure=batch.structure,
        loaded_actuals=loaded,
        headers=batch.headers,
    )
    for finding in batch.findings + result.findings:
        if finding.severity == "critical" and finding.file_id is not None:
            results[finding.file_id - first_id].critical.append(f"{finding.rule} row {finding.source_row}")
            results[finding.file_id - first_id].findings.append(finding)
    return results, batch


def run_kpi_mutants(sample: int | None = None, seed: int = 27, workdir: Path | None = None) -> KpiMutationReport:
    """Make the mutants of every original (a stratified sample of `sample` when given), check them with
    the originals, and tell what was caught."""
    from tests.mutants.kpi_facts import mutants_of

    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        work = workdir or Path(tmp)
        engine = prepared_warehouse(work)
        base = originals()
        checked, resolved = check(base, engine, work)
        report = KpiMutationReport(originals=len(base))
        report.originals_refused = [
            f"{n}: {c.critical[:3]}" for (n, _), c in zip(base, checked, strict=True) if c.critical
        ]
        made = [
            m for part, (name, content) in enumerate(base) for m in mutants_of(name, content, part, resolved, engine)
        ]
        made = _sample(made, sample, seed) if sample else made
        results, _ = check([(m.name, m.content) for m in made], engine, work)
    for mutant, result in zip(made, results, strict=True):
        c = report.by_class.setdefault(mutant.mistake, Counter())
        caught = bool(result.critical) or result.fault is not None
        c["total"] += 1
        c["caught"] += caught
        c["knowable"] += mutant.knowable
        report.total += 1
        report.caught += caught
        label = f"{mutant.mistake} {mutant.original} {mutant.where}"
        if result.fault is not None:
            report.reader_faults.append(f"{label}: {result.fault}")
        if mutant.knowable and not caught:
            c["missed"] += 1
            report.knowable_missed.append(f"{label} ({mutant.why})")
        elif not caught:
            report.unknowable.append(f"{label}: {mutant.why}")
    report.seconds = time.monotonic() - started
    return report


def _sample(made: list[Any], size: int, seed: int) -> list[Any]:
    """`size` mutants drawn evenly from each class (all of a class that has fewer), fixed by `seed`."""
    rng = random.Random(seed)
    by_class: dict[str, list[Any]] = {}
    for m in made:
        by_class.setdefault(m.mistake, []).append(m)
    share = max(1, size // max(1, len(by_class)))
    return [m for group in by_class.values() for m in (rng.sample(group, share) if len(group) > share else group)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=None, help="check a fixed sample of this many mutants")
    parser.add_argument("--seed", type=int, default=27)
    args = parser.parse_args(argv)
    report = run_kpi_mutants(args.sample, args.seed)
    print("\n".join(report.lines()))
    return 1 if report.knowable_missed or report.originals_refused or report.reader_faults else 0


if __name__ == "__main__":
    sys.exit(main())
