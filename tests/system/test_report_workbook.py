"""The report as an Excel workbook, made by the real CLI on the seed data (Yamaguchi FY2020: the plan,
its printed structure, the actuals and the 月報) and read back with openpyxl: the marks in the workbook
are the marks `branchkpi evaluate --format json` gives for the same branch and year."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ..conftest import SEED

PLAN = [SEED / "kpi_plan_items.csv", SEED / "kpi_plan_structure.csv", SEED / "kpi_actuals.csv"]


def invoke(*args: str) -> Any:
    from typer.testing import CliRunner

    from branchkpi.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_workbook_marks_equal_evaluate_for_yamaguchi_fy2020(
    prefect_server: str, warehouse_url: str, tmp_path: Path
) -> None:
    import openpyxl

    invoke("ingest", str(SEED / "branch_monthly_stats.csv"))
    invoke("ingest", *map(str, PLAN))
    year = ("--branch", "yamaguchi", "--fiscal-year", "2020")
    evaluated = json.loads(invoke("evaluate", *year, "--format", "json").stdout)
    made = invoke("report", *year, "--out", str(tmp_path), "--format", "xlsx")
    path = Path(made.stdout.split(" (")[0].strip())
    assert path == tmp_path / "yamaguchi_FY2020_ja.xlsx" and not list(tmp_path.glob("*.html"))  # only what was asked

    book = openpyxl.load_workbook(path)
    metric_sheets = ["事業所数", "被保険者数", "被扶養者数", "平均標準報酬月額", "保険給付費", "1人あたり医療費"]
    assert book.sheetnames == ["KPI達成状況", "偏差値と順位", *metric_sheets]
    assert all(c.data_type != "f" for ws in book.worksheets for row in ws.iter_rows() for c in row)

    kpi = book["KPI達成状況"]
    header = [c.value for c in kpi[3]]
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in kpi.iter_rows(min_row=4)]
    in_workbook = {r["KPI ID"]: (r["判定"], r["項目判定"] or None) for r in rows}
    from_evaluate = {r["kpi_id"]: (r["mark"], r["item_mark"]) for r in evaluated}
    assert in_workbook == from_evaluate and len(in_workbook) > 20
    assert {m for m, _ in in_workbook.values()} == {"○", "×"}  # a closed year: achieved or missed
    # the plan's structure, as printed: every Yamaguchi FY2020 KPI is placed in a field and item
    fields = ("基盤的保険者機能関係", "戦略的保険者機能関係", "組織体制関係")
    assert all(r["分野"] in fields and r["項目"] for r in rows)
    assert any(r["理由"] and "目標" in r["理由"] for r in rows if r["判定"] == "×")  # the Japanese reason
    for row in kpi.iter_rows(min_row=4):
        for cell in row[6:8]:
            assert (cell.fill.fill_type == "solid") == (cell.value == "×")

    insured = book["被保険者数"]
    assert [insured.cell(2, c).value for c in (2, 4, 6)] == ["平成30年度", "令和元年度", "令和2年度"]
    assert insured["F4"].value == 260511 and insured["G4"].value == pytest.approx(-0.1, abs=0.05)
    assert insured["F4"].number_format == "#,##0" and insured["G4"].number_format == '0.0"%"'
    assert insured["F3"].value == "実数（人）" and insured["G3"].value == "前年同月比（%）"  # the 月報's units
    card = next(r for r in kpi.iter_rows(min_row=4) if r[9].value == "card_recovery_rate")
    assert (card[5].value, card[5].number_format) == (95.82, '0.00"%"')  # Excel shows 95.82%
    assert insured.freeze_panes == "B4" and insured.print_title_rows == "$1:$3"

    # the HTML page of the same run is laid out the same way: items with their marks, KPIs under them
    page = invoke("report", *year, "--out", str(tmp_path))
    html = Path(page.stdout.split(" (")[0].strip()).read_text(encoding="utf-8")
    assert "山口支部 令和2年度 事業実績" in html
    assert html.index("基盤的保険者機能関係") < html.index("戦略的保険者機能関係") < html.index("組織体制関係")
    assert html.count('class="item-row"') == len({r["項目"] for r in rows})
    shown = re.findall(r'data-status="(\w+)" data-item-mark="(.?)"', html)
    assert sorted(m for _, m in shown) == sorted(item for _, item in from_evaluate.values())
