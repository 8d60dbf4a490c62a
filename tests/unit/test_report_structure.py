"""The branch report in the plan's printed structure (分野 → 項目 → 小項目 with the item's mark), its
title per period, its reasons in the report's language, and the Excel workbook read back with
openpyxl: sheets, headers, number formats, the red ×, frozen and printed header rows, no formula.

Evaluation rows are built here as tasks.evaluate gives them (with the plan-structure keys)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import polars as pl

from branchkpi.tasks.report import figures
from branchkpi.tasks.report.gather import BranchReportData, RankedKpi
from branchkpi.tasks.report.html import kpi_fields, write_report
from branchkpi.tasks.report.structure import plan_fields
from branchkpi.tasks.report.wording import Labels
from branchkpi.tasks.report.xlsx import MISSED_FILL, write_workbook

BASIC, STRATEGIC = "基盤的保険者機能関係", "戦略的保険者機能関係"


def kpi_row(kpi_id: str, mark: str = "○", item: tuple[Any, ...] | None = None, **extra: Any) -> dict[str, Any]:
    """An evaluation row; item = (group_ja, item_no, item_ja, sub_item_no, sub_item_ja, item_mark)."""
    status = {"○": "achieved", "×": "missed", "△": "at_risk", "—": "not_evaluable"}[mark]
    keys = ("group_ja", "item_no", "item_ja", "sub_item_no", "sub_item_ja", "item_mark")
    place = dict(zip(keys, item or (None,) * 6, strict=True))
    return {
        "unit_key": "35",
        "fiscal_year": 2020,
        "period": "FY",
        "kpi_id": kpi_id,
        "group": "基盤的保険者機能",
        "comparator": "ge",
        "target_value": 96.3,
        "target_text": None,
        "unit": "pct",
        "actual": 95.82,
        "actual_period": "FY",
        "previous": 96.0,
        "status": status,
        "mark": mark,
        "reason": "actual 95.82 not ≥ target 96.3",
        "reason_ja": "実績 95.82% は目標 96.30% 以上に届かず",
        "kpi_text_ja": None,
        **place,
        **extra,
    }


def yamaguchi_rows() -> list[dict[str, Any]]:
    """Yamaguchi FY2020 in catalogue order (as gather sorts them): unnumbered items, ① ② of an item's
    KPI line, an item's own KPI and its 【被保険者】 breakdown sub-item, and a KPI of no known place."""
    service = (BASIC, None, "サービス水準の向上")
    judo = (BASIC, None, "柔道整復施術療養費の適正化の推進", None, None)
    guidance = (STRATEGIC, None, "特定保健指導の実施率の向上")
    return [
        kpi_row("service_standard_rate", "○", (*service, "①", None, "○")),
        kpi_row("mail_application_rate", "×", (*service, "②", None, "×")),
        kpi_row("judo_multi_site_frequent_share", "○", (*judo, "○")),
        kpi_row("specific_health_guidance_rate", "×", (*guidance, None, None, "×")),
        kpi_row("specific_health_guidance_rate_insured", "○", (*guidance, "①", "【被保険者】", "×")),
        kpi_row("specific_health_guidance_rate_insured_in_house", "×", (*guidance, "①", "【被保険者】", "×")),
        kpi_row("generic_drug_share", "—", group="戦略的保険者機能"),
    ]


def report_data(rows: list[dict[str, Any]], quarter: int | None = None) -> BranchReportData:
    stats = pl.DataFrame(
        {
            "metric": ["insured_persons"] * 3,
            "region_code": ["35"] * 3,
            "fiscal_year": [2019, 2020, 2020],
            "month": [4, 4, 5],
            "value": [260700.0, 260511.0, 261020.0],
            "yoy_pct": [0.3, -0.1, 0.2],
        }
    )
    data = BranchReportData("35", "山口", "yamaguchi", 2020, quarter, [2019, 2020], stats)
    data.kpi_rows = rows
    data.ranked = [RankedKpi("lifestyle_checkup_rate", 52.6, 61.23, 4, 47)]
    return data


def test_fields_items_and_sub_items_in_printed_order_with_their_marks() -> None:
    fields = plan_fields(yamaguchi_rows())
    assert [(f.name, f.known) for f in fields] == [(BASIC, True), (STRATEGIC, True), ("戦略的保険者機能", False)]
    service, judo = fields[0].items
    assert service.label == "サービス水準の向上" and service.mark == "×"  # ① ○ and ② ×: the item ×
    assert [(s.label, s.mark) for s in service.children] == [("①", "○"), ("②", "×")]
    assert judo.mark == "○" and [r["kpi_id"] for r in judo.rows] == ["judo_multi_site_frequent_share"]
    (guidance,) = fields[1].items
    assert guidance.mark == "×" and [r["kpi_id"] for r in guidance.rows] == ["specific_health_guidance_rate"]
    (insured,) = guidance.children
    assert insured.label == "① 【被保険者】" and insured.mark == "×" and len(insured.rows) == 2
    assert [r["kpi_id"] for r in fields[2].rows] == ["generic_drug_share"]


def test_numbered_items_sort_by_their_printed_numbers() -> None:
    """Gunma numbers items 2, 5, 10 and sub-items (1) （1） ①: 10 comes after 5, not after 1."""
    rows = [
        kpi_row("dependent_recheck_submission_rate", item=(BASIC, "10", "被扶養者資格の再確認の徹底", None, None, "○")),
        kpi_row("service_standard_rate", item=(BASIC, "2", "サービス水準の向上", None, None, "○")),
        kpi_row("claim_review_reduction_rate", item=(BASIC, "5", "効果的なレセプト点検の推進", "（２）", "b", "○")),
        kpi_row("mail_application_rate", item=(BASIC, "5", "効果的なレセプト点検の推進", "(1)", "a", "○")),
    ]
    (basic,) = plan_fields(rows)
    assert [i.no for i in basic.items] == ["2", "5", "10"]
    assert [s.no for s in basic.items[1].children] == ["(1)", "（２）"]
    # the KPIs' positions in the printed plan, where loaded, come before numbers and the catalogue
    positioned = [{**r, "position": p} for r, p in zip(rows, (1, 3, 2, 4), strict=True)]
    assert [i.no for i in plan_fields(positioned)[0].items] == ["10", "5", "2"]


def test_without_a_loaded_structure_the_report_groups_by_catalogue_as_before() -> None:
    rows = [kpi_row("service_standard_rate"), kpi_row("generic_drug_share", group="戦略的保険者機能")]
    fields = kpi_fields(report_data(rows), Labels("ja"))
    assert [f["name"] for f in fields] == ["基盤的保険者機能", "戦略的保険者機能"]
    assert [line["kind"] for f in fields for line in f["lines"]] == ["kpi", "kpi"]
    english = kpi_fields(report_data(rows), Labels("en"))
    assert [f["name"] for f in english] == ["Basic functions", "Strategic functions"]


def test_html_lines_carry_headings_marks_and_reasons_in_the_reports_language() -> None:
    ja = kpi_fields(report_data(yamaguchi_rows()), Labels("ja"))
    lines = ja[0]["lines"]
    assert [(line["kind"], line.get("label") or line["name"]) for line in lines] == [
        ("item", "サービス水準の向上"),
        ("kpi", "① サービススタンダード"),
        ("kpi", "② 郵送化率"),
        ("item", "柔道整復施術療養費の適正化の推進"),
        ("kpi", "柔道整復"),
    ]
    assert (lines[0]["mark"], lines[3]["mark"], lines[2]["item_mark"]) == ("×", "○", "×")
    assert lines[2]["reason"] == "実績 95.82% は目標 96.30% 以上に届かず"
    assert ja[2]["name"] == "戦略的保険者機能（計画の項目が未登録）"
    guidance = [line["kind"] for line in ja[1]["lines"]]
    assert guidance == ["item", "kpi", "sub-item", "kpi", "kpi"]
    en = kpi_fields(report_data(yamaguchi_rows()), Labels("en"))
    assert en[0]["lines"][2]["reason"] == "actual 95.82 not ≥ target 96.3"
    # an evaluation stored before reason_ja existed: the English reason, not an empty cell
    assert figures.reason({"reason": "no actual"}, Labels("ja")) == "no actual"


def test_titles_of_the_annual_and_the_quarterly_report() -> None:
    ja, en = Labels("ja"), Labels("en")
    assert ja.report_title(2020, None) == "令和2年度 事業実績"
    assert ja.report_title(2020, 2) == "令和2年度 事業計画実施状況（第2四半期）"
    assert en.report_title(2020, 2) == "FY2020 Business plan progress (Q2)"


def test_the_html_report_escapes_structure_headings(tmp_path: Path) -> None:
    """Headings come from a data file: shown as text, like every other value."""
    rows = [kpi_row("service_standard_rate", "×", (BASIC, "1", "<b>x</b>", "(1)", "<script>1</script>", "×"))]
    written = write_report(report_data(rows, quarter=1), tmp_path)
    html = written.html.read_text(encoding="utf-8")
    assert "<script>1" not in html and "&lt;script&gt;1&lt;/script&gt;" in html and "&lt;b&gt;x" in html
    assert "山口支部 令和2年度 事業計画実施状況（第1四半期）" in html
    assert written.title == "山口 令和2年度 事業計画実施状況（第1四半期）"


def cells(ws: Any) -> list[Any]:
    return [c for row in ws.iter_rows() for c in row]


def test_workbook_sheets_headers_formats_fills_panes_and_print_titles(tmp_path: Path) -> None:
    path = write_workbook(report_data(yamaguchi_rows()), tmp_path)
    assert path.name == "yamaguchi_FY2020_ja.xlsx"
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["KPI達成状況", "偏差値と順位", "被保険者数"]

    kpi = book["KPI達成状況"]
    assert "山口支部 令和2年度 事業実績" in kpi["A1"].value
    headers = [c.value for c in kpi[3]]
    assert headers == ["分野", "項目", "小項目", "KPI", "目標", "実績", "判定", "項目判定", "理由", "KPI ID"]
    assert kpi.freeze_panes == "A4" and kpi.print_title_rows == "$1:$3"
    body = [[c.value for c in row] for row in kpi.iter_rows(min_row=4)]
    by_id = {r[9]: r for r in body}
    assert set(by_id) == {r["kpi_id"] for r in yamaguchi_rows()}
    mail = by_id["mail_application_rate"]
    assert mail[:3] == [BASIC, "サービス水準の向上", "②"]
    assert mail[6:9] == ["×", "×", "実績 95.82% は目標 96.30% 以上に届かず"]
    assert by_id["generic_drug_share"][:3] == ["戦略的保険者機能（計画の項目が未登録）", None, None]
    # the figure, not a text, at the KPI's printed precision with its unit in the number format
    assert kpi.cell(4, 6).number_format == '0.0"%"' and kpi.cell(4, 6).value == 95.82
    assert by_id["judo_multi_site_frequent_share"][5] == 95.82
    judo_row = 4 + [r[9] for r in body].index("judo_multi_site_frequent_share")
    assert kpi.cell(judo_row, 6).number_format == '0.00"%"'  # printed 1.49%: two places
    for cell in cells(kpi):
        if cell.value == "×":
            assert cell.fill.fgColor.rgb.endswith(MISSED_FILL.fgColor.rgb[-6:]) and cell.fill.fill_type == "solid"
        elif cell.row > 3:
            assert cell.fill.fill_type is None

    ranking = book["偏差値と順位"]
    assert [c.value for c in ranking[2]] == ["KPI", "実績", "偏差値", "順位", "支部数"]
    assert [c.value for c in ranking[3]] == ["生活習慣病予防健診", 52.6, 61.23, 4, 47]
    assert ranking["C3"].number_format == "0.0" and ranking["B3"].number_format == '0.0"%"'
    assert ranking.freeze_panes == "A3"

    stats = book["被保険者数"]
    assert stats["B2"].value == "令和元年度" and stats["D2"].value == "令和2年度"
    heads = [None, "実数（人）", "前年同月比（%）", "実数（人）", "前年同月比（%）"]  # the 月報's units
    assert [c.value for c in stats[3]] == heads  # A3 lies under A2
    assert stats["A1"].value == "山口支部 被保険者数（人）"
    assert [stats.cell(r, 1).value for r in range(4, 16)] == [f"{m}月" for m in (4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3)]
    assert (stats["D4"].value, stats["E4"].value, stats["D5"].value) == (260511.0, -0.1, 261020.0)
    assert stats["D4"].number_format == "#,##0" and stats["E4"].number_format == '0.0"%"'
    assert stats["A16"].value == "年度平均" and stats["D16"].value is None  # 10 months missing: no average
    assert stats.freeze_panes == "B4" and stats.print_title_rows == "$1:$3"


def test_workbook_in_english_and_a_quarter(tmp_path: Path) -> None:
    book = openpyxl.load_workbook(write_workbook(report_data(yamaguchi_rows(), quarter=1), tmp_path, "en"))
    assert book.sheetnames == ["KPI results", "Deviation and rank", "insured persons"]
    assert "Yamaguchi branch FY2020 Business plan progress (Q1)" in book["KPI results"]["A1"].value
    assert [c.value for c in book["KPI results"][3]][:4] == ["Field", "Item", "Sub-item", "KPI"]
    stats = book["insured persons"]
    assert [stats.cell(r, 1).value for r in range(4, 8)] == ["Apr", "May", "Jun", "FY average (to Q1)"]


def test_workbook_text_from_data_is_never_a_formula(tmp_path: Path) -> None:
    hostile = ["=1+2", "+81", "-2+3", "@SUM(A1)", '=HYPERLINK("http://x")']
    rows = [
        kpi_row(
            "a_kpi_of_the_file",
            "×",
            (hostile[0], None, hostile[2], None, hostile[3], "×"),
            kpi_text_ja=hostile[4],
            target_text=hostile[1],
            reason_ja="x\x00y",
        )
    ]
    path = write_workbook(report_data(rows), tmp_path)
    book = openpyxl.load_workbook(path)
    everything = [c for ws in book.worksheets for c in cells(ws)]
    assert everything and all(c.data_type != "f" for c in everything)
    values = {c.value for c in everything}
    assert set(hostile) <= values and "xy" in values  # kept as text; a control character Excel refuses dropped
    assert all(c.quotePrefix for c in everything if isinstance(c.value, str) and c.value.startswith(("=", "@")))
