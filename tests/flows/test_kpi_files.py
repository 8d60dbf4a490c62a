"""The office-typed KPI files (tests/fixtures/kpi_files) through the real quarterly-kpi-actuals flow, after
the seed's targets and actuals: the loadable ones as one batch put exactly the rows expected.json lists
into the warehouse, the template with headers only is "no rows"; the refused ones as one batch load
nothing, each named in the quarantine with its rule, row, column and value. A template row that replaces
a target's plan text and its place in the plan says so in the run summary (issue 25)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from branchkpi.warehouse import schema

from ..conftest import SEED, both_dialects
from ..helpers import KPI_SEED, artifacts, counts, ingest_kpi, rows
from ..unit.test_kpi_files import CASES, KPI_FILES, LOADS, REFUSED


def _load_kpi_seed() -> None:
    state, _ = ingest_kpi(*KPI_SEED)
    assert state.is_completed(), state.message


@pytest.fixture
def loaded(prefect_server: str, cloned_warehouse: Callable[[str, Callable[[], None]], str]) -> str:
    return cloned_warehouse("kpi-seed", _load_kpi_seed)  # the same template as tests/flows/test_kpi_pipeline.py


def test_office_typed_kpi_files_load_exactly(loaded: str) -> None:
    state, outcome = ingest_kpi(*(KPI_FILES / n for n in LOADS))
    assert state.is_completed(), (state.message, [str(f) for f in outcome.findings])
    actuals = {
        (r["unit_key"], r["fiscal_year"], r["period"], r["kpi_id"]): [r["value"], r["unit"]]
        for r in rows(loaded, schema.kpi_actuals)
    }
    targets = {
        (r["unit_key"], r["fiscal_year"], r["kpi_id"]): [r["comparator"], r["target_value"], r["unit"]]
        for r in rows(loaded, schema.kpi_targets)
    }
    for name in LOADS:
        for unit, fy, period, kpi_id, value, unit_of in CASES[name]["actuals"]:
            assert actuals[(unit, fy, period, kpi_id)] == [value, unit_of], (name, kpi_id)
        for unit, fy, kpi_id, comparator, value, unit_of in CASES[name]["targets"]:
            assert targets[(unit, fy, kpi_id)] == [comparator, value, unit_of], (name, kpi_id)
    reports = {f.file_name: f for f in outcome.files}
    assert reports["template_as_shipped.xlsx"].rows == 0
    assert reports["template_as_shipped.xlsx"].empty_sheets == ["目標", "実績"]
    assert reports["template_actuals_yamaguchi_R2.xlsx"].skipped_sheets == ["表紙", "記入方法"]
    # Gunma's targets given again by the template, without the plan's sentences: replaced, and said so
    replaced = [r for r in outcome.replacements if r["key"].get("unit_key") == "10"]
    assert replaced and all(r["table"] == "kpi_targets" for r in replaced)
    summary = artifacts(state.state_details.flow_run_id)["kpi-actuals-summary"]["data"]
    assert "## 置き換え" in summary and "計画の文言" in summary  # the summary in the report language (ja)


def test_office_typed_kpi_files_refused_load_nothing(loaded: str) -> None:
    before = counts(loaded)
    state, outcome = ingest_kpi(*(KPI_FILES / n for n in REFUSED))
    assert state.is_failed() and "quality gate failed" in state.message
    after = counts(loaded)
    assert (after["kpi_targets"], after["kpi_actuals"]) == (before["kpi_targets"], before["kpi_actuals"])
    quarantined = [q for q in rows(loaded, schema.quarantined_rows) if q["severity"] == "critical"]
    for name in REFUSED:
        case = CASES[name]
        hits = [q for q in quarantined if q["file_name"] == name and q["rule"] == case["rule"]]
        assert hits, (name, [q["rule"] for q in quarantined if q["file_name"] == name])
        assert (hits[0]["source_row"], hits[0]["column_name"], hits[0]["value_text"]) == (
            case["row"],
            case["column"],
            case["value"],
        )
    shown = "\n".join(str(f) for f in outcome.findings)
    assert "fraction_in_plain_cell.xlsx, sheet '実績', row 2, column '実績', value '0.9582'" in shown


@both_dialects("the target's replacement and its audit")
def test_a_template_row_replacing_a_targets_plan_text_and_place_says_so(loaded: str, tmp_path: Path) -> None:
    import openpyxl

    from branchkpi.tasks.kpi_template import TARGET_HEADERS, write_template

    state, _ = ingest_kpi(SEED / "kpi_plan_structure.csv")
    assert state.is_completed(), state.message
    path = write_template(tmp_path)
    book = openpyxl.load_workbook(path)
    cells = {
        "支部": "山口",
        "年度": "令和2年度",
        "KPI": "card_recovery_rate",
        "目標": "96.30%以上",
        "単位": "%",
        "分野": "基盤的保険者機能関係",
        "項目": "保険証の回収",
    }
    book["目標"].append([cells.get(h, "") for h in TARGET_HEADERS])
    book.save(path)
    state, outcome = ingest_kpi(path)
    assert state.is_completed(), state.message
    mine = {r["table"]: r for r in outcome.replacements if r["key"].get("kpi_id") == "card_recovery_rate"}
    assert set(mine) == {"kpi_targets", "kpi_plan_structure"}
    assert "kpi_text_ja" in mine["kpi_targets"]["changed"]  # the plan's sentence is gone from the target
    assert mine["kpi_plan_structure"]["changed"]["item_ja"][1] == "保険証の回収"
    assert "replaced: kpi_targets 35 FY2020 card_recovery_rate" in outcome.message
    audited = rows(loaded, schema.kpi_audit)
    assert {a["table_name"] for a in audited} >= {"kpi_targets", "kpi_plan_structure"}
    summary = artifacts(state.state_details.flow_run_id)["kpi-actuals-summary"]["data"]
    assert "計画上の位置（項目）" in summary
