"""The plan's structure (分野 → 項目 → 小項目) through the KPI flow: kpi_plan_structure.csv loads with the
seed plan, audited when a placement changes, refused naming row and column when an item is missing;
targets can carry it in 分野 / 項目 / 小項目 columns (the .xlsx template); an evaluation gives each KPI
its own mark and its item's, and keeps both."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from branchkpi.warehouse import schema

from ..conftest import SEED
from ..helpers import KPI_SEED, counts, ingest_kpi, rows

pytestmark = pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
STRUCTURE = SEED / "kpi_plan_structure.csv"


def _evaluate(fiscal_year: int, quarter: int | None, unit: str) -> Any:
    from branchkpi.flows.evaluate_targets import evaluate_targets

    state = evaluate_targets(fiscal_year=fiscal_year, quarter=quarter, unit_keys=[unit], return_state=True)
    assert state.is_completed(), state.message
    return state.result()


def _copy_with(path: Path, change: dict[int, dict[str, str]]) -> Path:
    """The structure file with some data rows (0-based) changed."""
    with STRUCTURE.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        records, fields = list(reader), reader.fieldnames
    for index, values in change.items():
        records[index].update(values)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields or [])
        writer.writeheader()
        writer.writerows(records)
    return path


def test_the_plan_structure_loads_and_each_kpi_gets_its_items_mark(
    prefect_server: str, warehouse_url: str, tmp_path: Path
) -> None:
    state, outcome = ingest_kpi(*KPI_SEED, STRUCTURE)
    assert state.is_completed(), state.message
    assert counts(warehouse_url)["kpi_plan_structure"] == 60
    placed = {(r["unit_key"], r["kpi_id"]): r for r in rows(warehouse_url, schema.kpi_plan_structure)}
    members = placed[("11", "health_committee_members")]
    assert (members["item_no"], members["sub_item_no"]) == ("(6)", "③") and members["item_ja"].startswith(
        "健康保険委員"
    )

    evaluation = _evaluate(2017, 1, "11")  # Saitama, Q1 FY2017: the status report 事業計画実施状況
    by_kpi = {r["kpi_id"]: r for r in evaluation.rows}
    guidance = by_kpi["specific_health_guidance_rate_insured"]  # no actual yet: —, its sub-item's △
    assert (guidance["mark"], guidance["item_mark"], guidance["sub_item_no"]) == ("—", "△", "②")
    assert by_kpi["health_committee_members"]["mark"] == "○"  # a stock ahead of its path (2,933 by June)
    assert "前年度末 2,379人 から目標 3,000人 への按分" in by_kpi["health_committee_members"]["reason_ja"]
    stored = {
        r["kpi_id"]: r
        for r in rows(
            warehouse_url, schema.kpi_evaluations, schema.kpi_evaluations.c.run_id == evaluation.evaluation_id
        )
    }
    assert stored["specific_health_guidance_rate_insured"]["item_mark"] == "△"
    assert stored["specific_health_guidance_rate_insured"]["mark"] == "—"
    assert stored["health_committee_members"]["reason_ja"].startswith("実績 2,933")

    # a placement corrected: replaced with its previous values audited; an item missing: refused
    moved = _copy_with(tmp_path / "kpi_plan_structure.csv", {0: {"item_ja": "サービス水準の向上（改）"}})
    state, outcome = ingest_kpi(moved)
    assert state.is_completed(), state.message
    audit = rows(warehouse_url, schema.kpi_audit, schema.kpi_audit.c.table_name == "kpi_plan_structure")
    assert len(audit) == 1 and json.loads(audit[0]["previous"])["item_ja"] == "サービス水準の向上"
    (tmp_path / "broken").mkdir()
    broken = _copy_with(tmp_path / "broken" / "kpi_plan_structure.csv", {4: {"item_ja": "", "item_no": ""}})
    state, outcome = ingest_kpi(broken)
    assert state.is_failed()
    (finding,) = [f for f in outcome.findings if f.severity == "critical"]
    assert (finding.file_name, finding.source_row, finding.column_name) == ("kpi_plan_structure.csv", 6, "item_ja")
    assert finding.rule == "item_given"
    assert counts(warehouse_url)["kpi_plan_structure"] == 60  # nothing of the refused batch


def test_targets_carry_their_place_in_the_xlsx_template(
    prefect_server: str, warehouse_url: str, tmp_path: Path
) -> None:
    import openpyxl

    from branchkpi.tasks.kpi_template import TARGET_HEADERS, write_template

    path = write_template(tmp_path)
    book = openpyxl.load_workbook(path)
    assert TARGET_HEADERS[-3:] == ["分野", "項目", "小項目"]

    def target(**cells: str) -> list[str]:
        return [cells.get(h, "") for h in TARGET_HEADERS]

    book["目標"].append(
        target(
            支部="山口",
            年度="R2",
            KPI="郵送化率",
            目標="92.5%以上",
            分野="基盤的保険者機能関係",
            項目="サービス水準の向上",
        )
    )
    book["目標"].append(
        target(
            支部="山口",
            年度="令和2年度",
            KPI="card_recovery_rate",
            目標="96.30%以上",
            単位="%",
            分野="基盤的保険者機能関係",
            項目="返納金債権の発生防止のための保険証回収強化、債権回収業務の推進",
        )
    )
    book["実績"].append(["山口", "令和2年度", "FY", "mail_application_rate", "92.8%", "", "", ""])
    book["実績"].append(["山口", "令和2年度", "FY", "保険証回収率", 95.82, "%", "令和3年3月末", ""])
    book.save(path)
    state, _ = ingest_kpi(path)
    assert state.is_completed(), state.message
    placed = {r["kpi_id"]: r for r in rows(warehouse_url, schema.kpi_plan_structure)}
    assert placed["mail_application_rate"]["item_ja"] == "サービス水準の向上"
    assert placed["card_recovery_rate"]["group_ja"] == "基盤的保険者機能関係"
    evaluation = _evaluate(2020, None, "35")
    marks = {r["kpi_id"]: (r["mark"], r["item_mark"]) for r in evaluation.rows}
    assert marks["mail_application_rate"] == ("○", "○") and marks["card_recovery_rate"] == ("×", "×")
