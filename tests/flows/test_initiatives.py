"""NHI initiative uptake (取組状況 N/M市町村) end to end: the real okayama_initiative_adoption.csv loads
through the quarterly-kpi-actuals flow beside the Okayama municipal files (one batch, one gate) into
initiative_uptake; a corrected copy replaces its figures with an audit row; `branchkpi initiatives` lists
them as table, JSON and CSV with the 目標設定状況 computed from the loaded targets and notes (20/27) beside
the printed 20/27; bad copies are quarantined naming file, row, column and value with nothing loaded; and
`branchkpi report --prefecture` shows the municipalities' targets and marks and the uptake."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from branchkpi.warehouse import schema

from ..conftest import SEED
from ..helpers import KPI_SEED, counts, ingest_kpi, rows

pytestmark = pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)  # the loads: test_kpi_pipeline

ADOPTION = SEED / "okayama_initiative_adoption.csv"
OKAYAMA = [p for p in KPI_SEED if p.name.startswith("okayama_")]


def _load() -> None:
    state, outcome = ingest_kpi(*OKAYAMA, ADOPTION)
    assert state.is_completed(), state.message
    assert outcome.status == "loaded" and outcome.rows_quarantined == 0


@pytest.fixture
def loaded(prefect_server: str, cloned_warehouse: Callable[[str, Callable[[], None]], str]) -> str:
    """A warehouse holding the Okayama files and the uptake as the flow loads them (built once)."""
    return cloned_warehouse("okayama-initiatives", _load)


def _cli(*args: str) -> Any:
    from typer.testing import CliRunner

    from branchkpi.cli import app

    return CliRunner().invoke(app, list(args))


def test_the_seed_file_loads_into_initiative_uptake(loaded: str, tmp_path: Path) -> None:
    uptake = rows(loaded, schema.initiative_uptake)
    assert len(uptake) == 20
    assert {(u["unit_key"], u["fiscal_year"]) for u in uptake} == {("33", 2018)}
    files = {r["id"]: r["file_name"] for r in rows(loaded, schema.landed_files)}
    assert {files[u["source_file_id"]] for u in uptake} == {ADOPTION.name}
    batches = {b["id"]: b for b in rows(loaded, schema.ingest_batches)}
    assert {batches[u["batch_id"]]["status"] for u in uptake} == {"loaded"}
    printed = next(u for u in uptake if u["label_ja"] == "目標設定状況")
    assert (printed["adopted"], printed["total"], printed["pct_printed"]) == (20, 27, 74.0)
    assert sorted(u["position"] for u in uptake) == list(range(2, 22))
    # a corrected copy: one figure changes (22/27 → 23/27); it replaces the row and is audited
    corrected = tmp_path / ADOPTION.name
    text = ADOPTION.read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith("第6章 第2節 3 "))
    corrected.write_text(text.replace(line, line.replace(",22,27,81,", ",23,27,85,")), encoding="utf-8")
    before = counts(loaded)
    state, outcome = ingest_kpi(corrected)
    assert state.is_completed(), state.message
    assert (outcome.rows_inserted, outcome.rows_replaced, outcome.rows_unchanged) == (0, 1, 19)
    (audit,) = rows(loaded, schema.kpi_audit, schema.kpi_audit.c.table_name == "initiative_uptake")
    assert json.loads(audit["row_key"])["section_ja"].startswith("第6章 第2節 3 ")
    assert (json.loads(audit["previous"])["adopted"], json.loads(audit["new"])["adopted"]) == (22, 23)
    assert audit["previous_source_file_id"] != audit["new_source_file_id"]
    assert counts(loaded)["initiative_uptake"] == before["initiative_uptake"] == 20


def _seed_target_setting() -> tuple[int, int]:
    """目標設定状況 straight from the real files: municipalities with a target (targets file) among all of
    them (notes file), checked against the notes' own status."""
    with_target = {r["municipality_ja"] for r in csv.DictReader(io.StringIO(OKAYAMA[0].read_text(encoding="utf-8")))}
    notes = list(csv.DictReader(io.StringIO(OKAYAMA[1].read_text(encoding="utf-8"))))
    assert with_target == {r["municipality_ja"] for r in notes if r["status"] == "set"}
    return len(with_target), len(notes)


def test_the_cli_lists_the_uptake_with_the_target_setting_computed(loaded: str) -> None:
    assert OKAYAMA[0].name == "okayama_collection_rate_targets.csv"
    assert OKAYAMA[1].name == "okayama_collection_rate_notes.csv"
    result = _cli("initiatives", "--prefecture", "okayama", "--fiscal-year", "2018", "--format", "json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert len(listed) == 20
    assert {"section_ja", "label_ja", "fiscal_year", "adopted", "total", "pct", "pct_printed"} <= set(listed[0])
    setting = listed[0]  # printed first in the file, listed first
    assert setting["label_ja"] == "目標設定状況" and setting["fiscal_year"] == 2018
    assert (setting["adopted"], setting["total"], setting["pct"], setting["pct_printed"]) == (20, 27, 74.07, 74)
    assert (setting["computed_adopted"], setting["computed_total"]) == (20, 27) == _seed_target_setting()
    assert setting["computed_pct"] == 74.07
    assert all(r["computed_adopted"] is None for r in listed[1:])  # computed only for 目標設定状況
    high_cost = next(r for r in listed if r["total"] == 8)
    assert (high_cost["adopted"], high_cost["pct"], high_cost["pct_printed"]) == (8, 100.0, 100)
    assert next(r for r in listed if r["adopted"] == 13)["pct"] == 48.15

    result = _cli("initiatives", "--prefecture", "岡山", "--fiscal-year", "平成30年度", "--format", "csv")
    assert result.exit_code == 0, result.output
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(table) == 20 and table[0]["label_ja"] == "目標設定状況"
    assert (table[0]["adopted"], table[0]["total"], table[0]["computed_adopted"], table[0]["computed_total"]) == (
        "20",
        "27",
        "20",
        "27",
    )

    result = _cli("initiatives", "--prefecture", "33", "--fiscal-year", "H30", "--format", "table")
    assert result.exit_code == 0, result.output
    assert "目標設定状況" in result.stdout and "74.07" in result.stdout and "収納率目標の設定" in result.stdout

    result = _cli("initiatives", "--prefecture", "yamaguchi", "--fiscal-year", "2018")
    assert result.exit_code == 1 and "no initiative uptake for yamaguchi" in result.output
    result = _cli("initiatives", "--prefecture", "national", "--fiscal-year", "2018")
    assert result.exit_code == 1 and "not a prefecture" in result.output


def test_bad_copies_are_quarantined_and_nothing_is_loaded(
    prefect_server: str, warehouse_url: str, tmp_path: Path
) -> None:
    text = ADOPTION.read_text(encoding="utf-8").splitlines(keepends=True)
    assert text[1].startswith("第4章 第2節 1 収納率目標の設定,20,27,74,")
    assert ",27,27,100," in text[2]
    bad = tmp_path / "okayama_initiative_adoption.csv"  # row 2: 20/27 printed 75; row 3: 28 of 27 adopted
    bad.write_text(
        "".join(
            [
                text[0],
                text[1].replace(",20,27,74,", ",20,27,75,"),
                text[2].replace(",27,27,100,", ",28,27,100,"),
                *text[3:],
            ]
        ),
        encoding="utf-8",
    )
    unnamed = tmp_path / "initiative_adoption.csv"  # no prefecture in its name
    unnamed.write_text("".join(text), encoding="utf-8")
    before = counts(warehouse_url)
    state, outcome = ingest_kpi(OKAYAMA[0], bad, unnamed)  # good targets in the same batch
    assert state.is_failed() and outcome.status == "failed"
    after = counts(warehouse_url)
    assert after["initiative_uptake"] == after["kpi_targets"] == 0  # never half a batch
    assert after["kpi_audit"] == before["kpi_audit"]
    found = {
        (q["file_name"], q["source_row"], q["column_name"], q["value_text"], q["rule"]): q
        for q in rows(warehouse_url, schema.quarantined_rows)
    }
    assert ("okayama_initiative_adoption.csv", 2, "pct_printed", "75", "pct_matches_counts") in found
    assert ("okayama_initiative_adoption.csv", 3, "adopted", "28", "adopted_within_total") in found
    reason = found[("okayama_initiative_adoption.csv", 2, "pct_printed", "75", "pct_matches_counts")]["reason"]
    assert "computed_pct=74.07" in reason
    refused = [q for q in found.values() if q["file_name"] == "initiative_adoption.csv"]
    assert [(q["rule"], q["source_row"]) for q in refused] == [("file_readable", None)]
    assert "prefecture cannot be told" in refused[0]["reason"]
    assert any("initiative_adoption.csv" in str(f) and "prefecture" in str(f) for f in outcome.findings)
    files = rows(warehouse_url, schema.landed_files)
    assert {f["file_name"] for f in files} >= {bad.name, unnamed.name} and all(
        f["loaded_batch_id"] is None for f in files
    )


def test_the_prefecture_report(loaded: str, tmp_path: Path) -> None:
    result = _cli("report", "--prefecture", "okayama", "--fiscal-year", "2018", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    page = (tmp_path / "okayama_FY2018_prefecture_ja.html").read_text(encoding="utf-8")
    assert "岡山県 平成30年度 国民健康保険 収納率目標と取組状況" in page
    assert "市町村の収納率目標" in page and "取組状況" in page
    kurashiki = page[page.index("<td>倉敷市</td>") :].split("</tr>")[0]
    assert "前年度を上回る" in kurashiki and "93.04%" in kurashiki and "○" in kurashiki  # 93.04 > 92.51
    okayama_city = page[page.index("<td>岡山市</td>") :].split("</tr>")[0]
    assert "91.2%" in okayama_city and "—" in okayama_city  # no actual printed for FY2018
    assert page.count('class="municipality-row') == 14 + 7  # FY2018's targets and the 7 【未設定】
    assert "公表値 20/27市町村（74%）" in page and "市町村の目標から算出 20/27市町村（74.07%）" in page
    assert "一致" in page and "目標未設定: " in page and "高梁市" in page
    assert page.count('class="uptake-row"') == 20 and "第8章 第1節 (2) ⑦ 後期高齢者医療制度" in page
    result = _cli("report", "--prefecture", "okayama", "--fiscal-year", "2018", "--out", str(tmp_path), "--lang", "en")
    assert result.exit_code == 0, result.output
    page = (tmp_path / "okayama_FY2018_prefecture_en.html").read_text(encoding="utf-8")
    assert "Okayama Prefecture FY2018 NHI collection-rate targets and initiative uptake" in page
    assert "printed 20/27 municipalities (74%)" in page and "agrees" in page and "Initiative uptake" in page
    result = _cli("report", "--fiscal-year", "2018", "--out", str(tmp_path))
    assert result.exit_code == 1 and "--prefecture" in result.output
    result = _cli(
        "report", "--branch", "okayama", "--prefecture", "okayama", "--fiscal-year", "2018", "--out", str(tmp_path)
    )
    assert result.exit_code == 1 and "without --branch" in result.output


def test_the_computed_target_setting_follows_the_targets(loaded: str) -> None:
    """Without the 備考 file's word, a municipality counts as set when a collection-rate target is loaded for
    the year or later: clearing the notes' status leaves 20 of 27 from the targets alone."""
    from branchkpi.tasks.initiatives import target_setting
    from branchkpi.warehouse.engine import connect

    engine = connect(loaded)
    assert target_setting(engine, "33", 2018).with_target == 20
    with engine.begin() as conn:
        conn.execute(
            sa.update(schema.reporting_units)
            .where(schema.reporting_units.c.kind == "municipality")
            .values(target_setting=None)
        )
    computed = target_setting(engine, "33", 2018)
    assert (computed.with_target, computed.municipalities) == (20, 27)
    assert target_setting(engine, "33", 2023).with_target == 2  # only two print a target for 令和5年度
