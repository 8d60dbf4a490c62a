"""Figures as printed (issue 25, item 6): each KPI's precision in the catalogue is the one the plans and
reports print its figures with (derived here from the seed's printed targets and actuals), and every
place an officer reads a KPI's figure uses it: the report, the workbook, evaluate's table, the run
pages, the alerts and the reasons beside them. 査定率 0.236% is 0.236% everywhere, never 0.2%."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from branchkpi.cli.evaluate import _kpi_line
from branchkpi.domain import figures, kpis, reasons
from branchkpi.domain.target_rules import Measurement, Target, judge, judge_in_year
from branchkpi.flows import report_page
from branchkpi.flows.alert_text import target_line
from branchkpi.flows.artifact_text import evaluation_row
from branchkpi.tasks.report import figures as report_figures
from branchkpi.tasks.report.wording import Labels
from branchkpi.tasks.report.xlsx import measure_format

from .test_report_structure import kpi_row, report_data

SEED = Path(__file__).resolve().parents[2] / "data" / "sample" / "seed"
# (file, value column, KPI column or a fixed KPI id)
PRINTED = [
    ("kpi_plan_items.csv", "target_value", "kpi_id"),
    ("kpi_actuals.csv", "value", "kpi_id"),
    ("okayama_collection_rate_targets.csv", "target_value", "nhi_collection_rate"),
    ("okayama_collection_rate_actuals.csv", "value", "nhi_collection_rate"),
]


def printed_decimals() -> dict[str, int]:
    """The most places each KPI's figures are printed with in the seed (96.30 → 2, 0.236 → 3)."""
    found: dict[str, int] = defaultdict(int)
    for name, value_column, kpi in PRINTED:
        with (SEED / name).open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                value = (row.get(value_column) or "").strip()
                if value:
                    kpi_id = row.get(kpi, kpi)
                    found[kpi_id] = max(found[kpi_id], len(value.partition(".")[2]))
    return found


def test_the_catalogue_says_the_precision_the_plans_print() -> None:
    seen = printed_decimals()
    assert seen["claim_review_reduction_rate"] == 3 and seen["card_recovery_rate"] == 2  # 0.236, 96.30
    for kpi_id, places in seen.items():
        kpi = kpis.BY_ID[kpi_id]
        # a rate printed whole (100%とする, 20%以下) keeps one place, as the plans print their other rates
        assert kpi.precision == max(places, kpis.DEFAULT_DECIMALS[kpi.unit]), kpi_id
    unseen = [k for k in kpis.CATALOGUE if k.id not in seen]
    assert unseen and all(k.decimals is None for k in unseen)  # the unit's own precision


def test_a_kpi_unknown_to_the_catalogue_or_in_another_unit_takes_its_units_precision() -> None:
    assert kpis.decimals_of("a_kpi_of_the_file", "pct") == 1 and kpis.decimals_of("x", "count") == 0
    assert kpis.decimals_of("card_recovery_rate", "count") == 0 and kpis.decimals_of("card_recovery_rate") == 2


SATEI = {  # Yamaguchi's 査定率 FY2020: 0.236% against the previous year's 0.281%
    "kpi_id": "claim_review_reduction_rate",
    "comparator": "ge_prev_year",
    "target_value": None,
    "unit": "pct",
    "actual": 0.236,
    "previous": 0.281,
    "status": "missed",
    "mark": "×",
    "reason": "actual 0.236 not ≥ previous year 0.281",
    "reason_ja": "実績 0.236% は前年度 0.281% 以上に届かず",
}


def test_every_place_an_officer_reads_prints_the_same_figure(tmp_path: Path) -> None:
    judged = judge(
        Target("claim_review_reduction_rate", "ge_prev_year", "pct"),
        Measurement(0.236, "pct"),
        Measurement(0.281, "pct"),
    )
    assert (judged.reason_ja, judged.reason) == (SATEI["reason_ja"], SATEI["reason"])
    assert report_figures.kpi_value(0.236, "pct", Labels("ja"), "claim_review_reduction_rate") == "0.236%"
    assert figures.kpi_figure("post_eligibility_refund_share", "pct", 0.044) == "0.044%"  # was 0.0%
    row = kpi_row("claim_review_reduction_rate", "×", **{k: v for k, v in SATEI.items() if k not in ("kpi_id", "mark")})
    assert evaluation_row(row | {"unit_key": "35", "period": "FY"}, None, "ja")["実績"] == "0.236%"
    assert _kpi_line(row, None, "ja")["実績"] == "0.236%" and _kpi_line(row, None, "ja")["前年度"] == "0.281%"
    assert "実績 0.236% / 目標 対前年度以上" in target_line(row, "ja")
    page = report_page._kpi_table([row], Counter(["missed"]), "ja")
    assert any(">0.236%<" in line and ">0.281%<" in line for line in page)
    assert measure_format("claim_review_reduction_rate", "pct") == '0.000"%"'
    from branchkpi.tasks.report.xlsx import write_workbook

    book = openpyxl.load_workbook(write_workbook(report_data([row]), tmp_path))
    cell = book["KPI達成状況"]["F4"]
    assert cell.value == 0.236 and cell.number_format == '0.000"%"'  # Excel shows 0.236%


@pytest.mark.parametrize(
    ("kpi_id", "unit", "value", "shown", "excel"),
    [
        ("card_recovery_rate", "pct", 96.3, "96.30%", '0.00"%"'),
        ("lifestyle_checkup_rate", "pct", 52.6, "52.6%", '0.0"%"'),
        ("service_standard_rate", "pct", 100, "100.0%", '0.0"%"'),
        ("health_committee_members", "count", 2933, "2,933人", '#,##0"人"'),
        ("health_declaration_establishments", "count", 1100, "1,100事業所", '#,##0"事業所"'),
        ("data_based_advocacy", "count", 2, "2件", '#,##0"件"'),
        ("claim_review_effect_per_member_yen", "yen", 150, "150円", '#,##0"円"'),
    ],
)
def test_figures_and_excel_formats_at_the_kpis_precision(
    kpi_id: str, unit: str, value: float, shown: str, excel: str
) -> None:
    assert figures.kpi_figure(kpi_id, unit, value) == shown
    assert measure_format(kpi_id, unit) == excel


def test_a_reason_widens_only_where_the_precision_would_print_two_figures_alike() -> None:
    close = judge(Target("card_recovery_rate", "ge", "pct", 96.3), Measurement(96.295, "pct"))
    assert close.reason_ja == "実績 96.295% は目標 96.300% 以上に届かず"  # never 96.30% against 96.30%
    met = judge(Target("card_recovery_rate", "ge", "pct", 96.3), Measurement(96.3, "pct"))
    assert met.reason_ja == "実績 96.30% は目標 96.30% 以上"
    behind = judge_in_year(Target("lifestyle_checkup_count", "ge", "count", 110), Measurement(36, "count"), 4, True)
    assert behind.reason_ja == "実績 36人 は按分目標（月数按分 4/12） 37人 以上に届かず"  # 36.666… differs whole
    ahead = judge_in_year(Target("lifestyle_checkup_count", "ge", "count", 110), Measurement(37, "count"), 4, True)
    assert ahead.reason_ja == "実績 37.0人 は按分目標（月数按分 4/12） 36.7人 以上"  # 37 against 37 would hide it
    assert reasons.places("card_recovery_rate", "pct", 95.82, 96.3) == 2
    share = judge(Target("single_bid_tender_share", "single_bid_composite", "pct", 20), Measurement(100 / 7, "pct"))
    assert share.reason_ja.startswith("一者応札の割合 14.3% は上限 20.0% 以下")


def test_the_english_report_prints_the_same_precision() -> None:
    labels = Labels("en")
    row: dict[str, Any] = kpi_row("card_recovery_rate", "×", target_value=96.3)
    assert report_figures.kpi_value(95.82, "pct", labels, "card_recovery_rate") == "95.82%"
    assert report_figures.target_text(row, labels) == "96.30% or more"
    assert report_figures.kpi_value(150, "yen", labels, "claim_review_effect_per_member_yen") == "150 yen"
