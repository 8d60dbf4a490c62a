"""The meaning-file set (tests/fixtures/meaning_files, written by make_meaning_files.py from the real
figures), through the real parse and the real gate (Great Expectations on pandas frames: no server), in
one batched run: every loadable file puts exactly the values expected.json lists, in the stored unit,
and every other file is refused for its reason, naming the places or the cell."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ..conftest import FIXTURES
from ..mutants.runner import Case, Outcome, check

MEANING = FIXTURES / "meaning_files"
CASES: dict[str, dict[str, Any]] = json.loads((MEANING / "expected.json").read_text(encoding="utf-8"))
NAMES = sorted(CASES)
LOADS = [n for n in NAMES if CASES[n]["expect"] == "loads"]
REFUSED = [n for n in NAMES if CASES[n]["expect"] == "refused"]


@pytest.fixture(scope="module")
def outcomes() -> dict[str, Outcome]:
    cases = [Case(n, (MEANING / n).read_bytes(), CASES[n].get("context") == "history") for n in NAMES]
    return dict(zip(NAMES, check(cases), strict=True))


def test_every_class_is_there() -> None:
    assert len(LOADS) >= 12 and len(REFUSED) >= 15
    assert set(MEANING.iterdir()) == {MEANING / n for n in CASES} | {MEANING / "expected.json"}


@pytest.mark.parametrize("name", LOADS)
def test_meaning_file_loads_exactly(name: str, outcomes: dict[str, Outcome]) -> None:
    case, outcome = CASES[name], outcomes[name]
    assert not outcome.refused, (outcome.error, [str(f) for f in outcome.critical])
    observations = outcome.parsed.observations
    got = {
        (r["region_code"], r["metric"], r["fiscal_year"], r["month"]): (r["value"], r["yoy_pct_printed"])
        for r in observations.iter_rows(named=True)
    }
    assert got == {(a, b, c, d): (v, y) for a, b, c, d, v, y in case["values"]}
    assert observations.height == len(case["values"])
    totals = outcome.parsed.reported_totals.select("region_code", "metric", "fiscal_year", "value", "yoy_pct_printed")
    assert sorted(map(list, totals.rows())) == sorted(case.get("totals", []))
    assert sorted({f.rule for f in outcome.findings if f.severity == "warning"}) == sorted(case.get("notes", []))


@pytest.mark.parametrize("name", REFUSED)
def test_meaning_file_is_refused_for_its_reason(name: str, outcomes: dict[str, Outcome]) -> None:
    case, outcome = CASES[name], outcomes[name]
    assert outcome.refused
    if "reason" in case:  # refused as a file: nothing of it is read, the message names the places
        assert case["reason"] in (outcome.error or ""), outcome.error
        assert outcome.parsed.observations.height == 0
        if "sheet" in case:
            assert (outcome.error or "").startswith(f"sheet {case['sheet']!r}")
        return
    hits = [f for f in outcome.critical if f.rule == case["rule"]]
    assert hits, [str(f) for f in outcome.critical]
    assert (hits[0].source_row, hits[0].column_name, hits[0].value_text) == (case["row"], case["column"], case["value"])
    if case.get("context") == "history":  # the same file against an empty warehouse is not refused
        fresh = check([Case(name, (MEANING / name).read_bytes())])[0]
        assert not [f for f in fresh.critical if f.rule == case["rule"]]
