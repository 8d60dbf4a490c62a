"""What a run page and a terminal table show a person (issue 19, item 7): figures with separators and
units, never in exponent form; 山口支部 and 令和2年度; Japanese KPI names and targets in words; the key
columns first; run names carrying the branch, not its JIS code; the report's content as a page."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from branchkpi.cli.output import cell_text
from branchkpi.domain import figures
from branchkpi.flows import artifacts, report_page
from branchkpi.flows.artifact_text import evaluation_row, kpi_name, target_words
from branchkpi.flows.evaluate_targets import run_scope, unit_slug


def judged(**over: Any) -> dict[str, Any]:
    """Yamaguchi's FY2020 card recovery rate as the evaluation judged it (95.82 < 96.30)."""
    return {
        "unit_key": "35",
        "unit_name": "yamaguchi",
        "fiscal_year": 2020,
        "period": "FY",
        "kpi_id": "card_recovery_rate",
        "group": "基盤的保険者機能",
        "comparator": "ge",
        "target_value": 96.3,
        "target_text": None,
        "unit": "pct",
        "actual": 95.82,
        "actual_period": "FY",
        "previous": 95.92,
        "status": "missed",
        "mark": "×",
        "reason": "actual 95.82 not ≥ target 96.3",
    } | over


MONTH_ROW = {
    "region": "yamaguchi",
    "region_ja": "山口",
    "metric": "insured_persons",
    "fiscal_year": 2020,
    "month": 3,
    "value": 15419118.0,
    "yoy_pct": -0.1234,
    "yoy_pct_printed": -0.1,
    "fytd_months": 12,
    "fytd_total": 1.04075e6,
    "fytd_average": 290305.17,
    "fytd_yoy_pct": 0.31,
    "share_of_national_pct": 1.6895,
}


@pytest.mark.parametrize(
    ("value", "digits", "shown"),
    [
        (15419118, None, "15,419,118"),
        (290305.17, 0, "290,305"),
        (290305.17, None, "290,305.17"),
        (1.04075e6, None, "1,040,750"),
        (1040750.3900000001, None, "1,040,750.39"),  # float noise cut, not shown
        (0.281, None, "0.281"),  # the finest printed KPI (査定率) keeps its decimals
        (1e20, None, "100,000,000,000,000,000,000"),
        (-0.04, 1, "0.0"),  # no "-0.0"
        (-1.25, 1, "-1.2"),
        (None, None, ""),
    ],
)
def test_numbers_are_figures_never_exponents(value: float | None, digits: int | None, shown: str) -> None:
    assert figures.number(value, digits) == shown
    assert "e+" not in figures.number(value, digits)


def test_figures_carry_the_units_the_branch_prints() -> None:
    assert figures.metric_figure("insured_persons", 15419118.0) == "15,419,118人"
    assert figures.metric_figure("avg_standard_monthly_remuneration_yen", 290305.17) == "290,305円"
    assert figures.metric_figure("establishments", 46123.0) == "46,123事業所"
    assert figures.metric_figure("insurance_benefits", 6201234.0) == "6,201,234百万円"
    assert figures.metric_figure("insured_persons", 15419118.0, "en") == "15,419,118 persons"
    assert figures.kpi_figure("card_recovery_rate", "pct", 95.82) == "95.82%"
    assert figures.kpi_figure("health_committee_members", "count", 3000) == "3,000人"
    assert figures.kpi_figure("data_based_advocacy", "count", 2) == "2件"
    assert figures.kpi_figure("data_based_advocacy", "count", None) == "—"


def test_cli_tables_print_figures_and_keep_years_plain() -> None:
    assert cell_text("fytd_total", 1.04075e6) == "1,040,750"  # was 1.04075e+06
    assert cell_text("value", 15419118) == "15,419,118"
    assert cell_text("fytd_average", 290305.17) == "290,305.17"
    assert cell_text("yoy_pct", -0.1234) == "-0.1"
    assert cell_text("fiscal_year", 2020) == "2020" and cell_text("unit_key", 1234) == "1234"
    assert cell_text("rank", 12) == "12" and cell_text("name_ja", "山口") == "山口" and cell_text("x", None) == ""


def test_the_months_kpi_table_reads_like_the_report_key_columns_first() -> None:
    (ja,) = artifacts.kpi_table([MONTH_ROW])
    assert list(ja)[:4] == ["支部", "期間", "指標", "実数"]
    assert (ja["支部"], ja["期間"], ja["指標"], ja["実数"]) == ("山口支部", "令和3年3月", "被保険者数", "15,419,118人")
    # a head count is never summed over the year: its 年度平均, as the 月報 prints it; a flow's total
    assert ja["年度累計"] == "" and ja["年度平均"] == "290,305人"
    (benefits,) = artifacts.kpi_table([MONTH_ROW | {"metric": "insurance_benefits", "fytd_total": 69834.0}])
    assert benefits["年度累計"] == "69,834百万円" and benefits["年度平均"] == ""
    (pay,) = artifacts.kpi_table([MONTH_ROW | {"metric": "avg_standard_monthly_remuneration_yen"}])
    assert pay["年度累計"] == "" and pay["年度平均"] == "290,305円"  # an average is never summed either
    assert ja["前年同月比"] == ja["前年同月比（印字）"] == "-0.1%" and ja["全国に占める割合"] == "1.69%"
    assert list(ja)[-4:] == ["region", "metric_id", "fiscal_year", "month"]  # the ids last, for a machine
    (en,) = artifacts.kpi_table([MONTH_ROW | {"region": "national"}], "en")
    assert list(en)[:4] == ["branch", "period", "metric", "value"]
    assert (en["branch"], en["metric"], en["value"]) == ("national", "insured persons", "15,419,118 persons")


def test_the_evaluation_table_names_the_unit_kpi_and_target_in_words() -> None:
    row = evaluation_row(judged(), None, "ja")
    assert list(row)[:5] == ["対象", "期間", "KPI", "実績", "判定"]
    assert (row["対象"], row["期間"], row["KPI"], row["実績"], row["判定"]) == (
        "山口支部",
        "令和2年度",
        "保険証回収率",
        "95.82%",
        "×",
    )
    assert row["目標"] == "96.30%以上" and row["前年度実績"] == "95.92%" and row["状況"] == "未達成"
    assert row["kpi_id"] == "card_recovery_rate" and list(row)[-1] == "status_id"
    quarter = evaluation_row(judged(period="Q1", status="at_risk", mark="△"), None, "ja")
    assert quarter["期間"] == "令和2年度第1四半期" and quarter["状況"] == "要注意"
    town = evaluation_row(judged(unit_key="33:倉敷市", unit_name="倉敷市", kpi_id="nhi_collection_rate"), None, "ja")
    assert town["対象"] == "倉敷市" and town["KPI"] == "収納率"
    en = evaluation_row(judged(), None, "en")
    assert (en["unit"], en["target"], en["status"]) == ("Yamaguchi branch", "96.30% or more", "missed")


def test_comparators_read_as_words_never_ids() -> None:
    assert target_words(judged(comparator="ge_prev_year", target_value=None), "ja") == "対前年度以上"
    assert target_words(judged(comparator="le_prev_year", target_value=None), "ja") == "対前年度以下"
    assert (
        target_words(judged(kpi_id="single_bid_tender_share", comparator="le", target_value=20.0), "ja") == "20.0%以下"
    )
    assert target_words(judged(comparator=None, target_value=None), "ja") == "未設定"
    assert target_words(judged(comparator="ge_prev_year", target_value=None), "en") == "at least last year's"
    assert target_words(judged(target_text="94.5%以上"), "ja") == "94.5%以上"  # the plan's own words


def test_a_kpi_without_a_catalogue_name_reads_as_the_plans_sentence() -> None:
    sentence = "被保険者の特定保健指導の実施率を前年度以上とする。"
    assert kpi_name("specific_health_guidance_rate_insured", sentence, "ja") == sentence
    assert kpi_name("specific_health_guidance_rate_insured", None, "en") == "Specific health guidance rate insured"
    assert kpi_name("card_recovery_rate", "保険証回収率を96.3%以上とする。", "ja") == "保険証回収率"
    texts = {("35", 2020, "specific_health_guidance_rate_insured"): sentence}
    (row,) = artifacts.evaluation_table([judged(kpi_id="specific_health_guidance_rate_insured")], texts)
    assert row["KPI"] == sentence and row["事業計画の記載"] == sentence


def test_the_evaluation_summary_shows_japanese_text_not_ids() -> None:
    rows = [
        judged(),
        judged(
            kpi_id="claim_review_reduction_rate",
            comparator="ge_prev_year",
            target_value=None,
            actual=0.27,
            previous=0.281,
        ),
    ]
    ja = artifacts.evaluation_summary(rows, "FY2020", "run-1")
    assert ja.startswith("# KPI の評価 令和2年度") and "目標 2 件: ○ 0、× 2" in ja
    assert "| 山口支部 | 保険証回収率 | 96.30%以上 | 95.82% | × |" in ja
    assert "| 山口支部 | 査定率 | 対前年度以上 | 0.270% | × |" in ja  # 査定率 is printed to three places
    assert "card_recovery_rate" not in ja and "ge_prev_year" not in ja and "yamaguchi" not in ja
    en = artifacts.evaluation_summary(rows, "FY2020", "run-1", lang="en")
    assert "| Yamaguchi branch | Card recovery rate | 96.30% or more | 95.82% | × |" in en
    assert "at least last year's" in en and "ge_prev_year" not in en


def test_run_names_carry_the_branch_not_its_jis_code() -> None:
    assert unit_slug("35") == "yamaguchi" and unit_slug("33:倉敷市") == "okayama-倉敷市"
    assert run_scope(["35"]) == "-yamaguchi" and run_scope([]) == ""
    assert run_scope(["10", "11", "35"]) == "-gunma-saitama-yamaguchi"
    assert run_scope(["01", "02", "03", "04"]) == "-4-units"


def _report(tmp_path: Path, chart_bytes: int) -> tuple[SimpleNamespace, SimpleNamespace]:
    chart = tmp_path / "insured_persons.png"
    chart.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * chart_bytes)
    written = SimpleNamespace(
        title="山口 令和2年度 事業実績",
        charts=[chart],
        name_romaji="yamaguchi",
        html=tmp_path / "yamaguchi_FY2020_ja.html",
    )
    ranked = [SimpleNamespace(kpi_id="card_recovery_rate", value=95.82, deviation_score=48.26, rank=30, branches=47)]
    data = SimpleNamespace(
        kpi_rows=[
            judged(kpi_text_ja=None),
            judged(
                kpi_id="service_standard_rate",
                actual=100.0,
                status="achieved",
                mark="○",
                target_value=100.0,
                comparator="eq",
            ),
        ],
        ranked=ranked,
    )
    return written, data


def test_the_report_page_carries_title_marks_kpis_and_charts(tmp_path: Path) -> None:
    written, data = _report(tmp_path, 100)
    page = report_page.page(written, data, "ja")
    assert page.startswith("# 山口 令和2年度 事業実績")
    assert "○ 1　× 1　△ 0　— 0" in page
    # the KPI table as HTML (Prefect's markdown tables never wrap a cell: a long reason ran off the page)
    heads = re.findall(r"<th[^>]*>([^<]*)</th>", page)
    assert heads == ["KPI", "実績", "判定", "目標", "前年度実績", "状況", "理由"]
    cells = [re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in re.findall(r"<tr data-status[^>]*>(.*?)</tr>", page)]
    assert cells[0] == [
        "保険証回収率",
        "95.82%",
        "×",
        "96.30%以上",
        "95.92%",
        "未達成",
        "actual 95.82 not ≥ target 96.3",
    ]
    assert cells[1][:3] == ["サービススタンダード", "100.0%", "○"]
    assert "\n\n" not in page[page.index("<table") : page.index("</table>")]  # one HTML block
    assert "| 保険証回収率 | 95.82% | 48.3 | 30 / 47 |" in page  # 偏差値と順位
    assert "![被保険者数](data:image/png;base64,iVBORw" in page  # the chart itself, not a link to a file
    assert "yamaguchi_FY2020_ja.html" in page and "file://" not in page


def test_the_report_pages_table_keeps_data_as_text(tmp_path: Path) -> None:
    written, data = _report(tmp_path, 100)
    data.kpi_rows[0]["kpi_text_ja"] = None
    data.kpi_rows[0]["reason_ja"] = "<script>alert(1)</script>\n\n| not | a table |\r\n<img src=x onerror=1>"
    page = report_page.page(written, data, "ja")
    table = page[page.index("<table") : page.index("</table>")]
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in table
    assert "<img src=x" not in page and "\n\n" not in table  # one HTML block: the data cannot end it


def test_a_run_reporting_many_branches_stops_embedding_charts(tmp_path: Path) -> None:
    written, data = _report(tmp_path, 1000)
    budget = report_page.ChartBudget(limit=1500)
    assert "data:image/png" in report_page.page(written, data, "ja", budget)
    second = report_page.page(written, data, "en", budget)  # over the run's budget: the files are named
    assert "data:image/png" not in second and "insured_persons.png" in second and "too large" in second
