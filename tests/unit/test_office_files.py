"""The office-file set (tests/fixtures/office_files, written by make_office_files.py from the sample
data's real figures): every loadable file parses to exactly the values expected.json lists, and every
file that must be refused is refused with a message naming what the sender wrote."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from branchkpi.tasks.landing import LandedFile
from branchkpi.tasks.parse.batch import parse_statistics

from ..conftest import FIXTURES

OFFICE = FIXTURES / "office_files"
CASES: dict[str, dict[str, Any]] = json.loads((OFFICE / "expected.json").read_text(encoding="utf-8"))
LOADS = sorted(n for n, c in CASES.items() if c["expect"] == "loads")
REFUSED = sorted(n for n, c in CASES.items() if c["expect"] == "refused")


def parse(name: str):  # type: ignore[no-untyped-def]
    content = (OFFICE / name).read_bytes()
    landed = LandedFile(7, hashlib.sha256(content).hexdigest(), name, Path(name), len(content), False, content)
    return parse_statistics([landed])


def test_every_family_is_there() -> None:
    assert len(LOADS) >= 10 and len(REFUSED) >= 6
    assert set(OFFICE.iterdir()) == {OFFICE / n for n in CASES} | {OFFICE / "expected.json"}


@pytest.mark.parametrize("name", LOADS)
def test_office_file_reads_exactly(name: str) -> None:
    case = CASES[name]
    parsed, reports = parse(name)
    assert reports[0].error is None, reports[0].error
    got = {
        (r["region_code"], r["metric"], r["fiscal_year"], r["month"]): (r["value"], r["yoy_pct_printed"])
        for r in parsed.observations.iter_rows(named=True)
    }
    assert got == {(a, b, c, d): (v, y) for a, b, c, d, v, y in case["values"]}
    assert parsed.observations.height == len(case["values"])  # no row twice
    totals = parsed.reported_totals.select("region_code", "metric", "fiscal_year", "value", "yoy_pct_printed").rows()
    assert sorted(map(list, totals)) == sorted(case.get("totals", []))
    assert sorted({f.rule for f in parsed.findings}) == sorted(case.get("notes", []))
    assert reports[0].skipped_sheets == case.get("skipped_sheets", [])


@pytest.mark.parametrize("name", REFUSED)
def test_office_file_is_refused_with_what_the_sender_wrote(name: str) -> None:
    case = CASES[name]
    parsed, reports = parse(name)
    if "rule" not in case:  # the whole file is refused: nothing of it is read
        assert parsed.observations.height == parsed.reported_totals.height == 0
        assert case["reason"] in (reports[0].error or ""), reports[0].error
        assert not (reports[0].error or "").startswith(name)  # the finding names the file, once
        if "sheet" in case:
            assert (reports[0].error or "").startswith(f"sheet {case['sheet']!r}")
        return
    # a row refused by the parser names the row, the header as written and the value
    hits = [f for f in parsed.findings if f.rule == case["rule"]]
    if hits:
        assert (hits[0].source_row, hits[0].column_name, hits[0].value_text) == (
            case["row"],
            case["column"],
            case["value"],
        )
        assert case["reason"] in hits[0].reason
        assert case["row"] not in parsed.observations["source_row"].to_list()
    else:  # left to the gate: the row reaches it with the cell as written (tests/flows/test_office_files.py)
        row = parsed.observations.filter(parsed.observations["source_row"] == case["row"])
        assert row["fiscal_year"].to_list() == [None] and row["fiscal_year_raw"].to_list() == [case["value"]]
        assert parsed.headers[(7, None)]["fiscal_year"] == case["column"]
