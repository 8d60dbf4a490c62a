"""The office-typed KPI files (tests/fixtures/kpi_files) through the real gate: a SQLite warehouse holding
the seed's targets and actuals (the plan wordings and previous actuals the rules read), every file its own
part of one batch, the Great Expectations suites run once. A loadable file draws no critical finding; a
refused one is refused by its rule on its row, naming the column as the sender headed it and the cell as
written, with a reason that says what is wrong and where else the row says otherwise. And the KPI mutation
sample (make mutants-kpi): every knowable mutant caught, no original refused, in under a minute."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.mutants.kpi import Checked, check, prepared_warehouse, run_kpi_mutants

from ..unit.test_kpi_files import CASES, KPI_FILES, LOADS, REFUSED


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Checked]:
    work = tmp_path_factory.mktemp("kpi-gate")
    engine = prepared_warehouse(work)
    names = LOADS + REFUSED
    results, _ = check([(n, (KPI_FILES / n).read_bytes()) for n in names], engine, work)
    return dict(zip(names, results, strict=True))


@pytest.mark.parametrize("name", LOADS)
def test_loadable_files_pass(name: str, checked: dict[str, Checked]) -> None:
    assert checked[name].critical == [] and checked[name].fault is None


@pytest.mark.parametrize("name", REFUSED)
def test_refused_files_are_refused_by_their_rule(name: str, checked: dict[str, Checked]) -> None:
    case = CASES[name]
    assert f"{case['rule']} row {case['row']}" in checked[name].critical, checked[name].critical


@pytest.mark.parametrize("name", REFUSED)
def test_the_finding_names_the_file_the_cell_and_why(name: str, checked: dict[str, Checked]) -> None:
    case = CASES[name]
    hits = [f for f in checked[name].findings if f.rule == case["rule"] and f.source_row == case["row"]]
    assert hits, [str(f) for f in checked[name].findings]
    finding = hits[0]
    assert (finding.file_name, finding.column_name, finding.value_text) == (name, case["column"], case["value"])
    assert case["reason"] in finding.reason, finding.reason
    if name.endswith(".xlsx"):
        assert finding.sheet, str(finding)


def test_the_kpi_mutation_sample(tmp_path: Path) -> None:
    started = time.monotonic()
    report = run_kpi_mutants(sample=300, seed=27, workdir=tmp_path)
    assert time.monotonic() - started < 60, report.lines()
    assert report.total >= 250, report.lines()
    assert report.knowable_missed == [], report.lines()
    assert report.originals_refused == [] and report.reader_faults == [], report.lines()
    assert set(report.by_class) == {
        "decimal_point_lost",
        "fraction_for_percent",
        "kpi_id_swapped",
        "kpi_wording_swapped",
        "fiscal_year_off_by_one",
        "duplicate_row_other_value",
    }
    assert report.caught >= 0.75 * report.total, report.lines()
    assert report.summary_line().startswith(f"mutants_caught={report.caught}/{report.total} originals_refused=0")
