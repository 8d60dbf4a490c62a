"""NHI initiative uptake (取組状況 N/M市町村), the pure parts: the real okayama_initiative_adoption.csv as
the KPI parser reads it (its prefecture from the file name), a file whose prefecture cannot be told
refused naming the file, municipality counts and printed precision as written, and the gate's context
columns: the printed % against adopted/total at half a unit of its printed precision."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from branchkpi.expectations import initiatives as suite
from branchkpi.tasks.landing import LandedFile
from branchkpi.tasks.parse import initiatives
from branchkpi.tasks.parse.batch import parse_kpi_files
from branchkpi.tasks.parse.kpi import kpi_file_kind, parse_kpi_file, sniff_kind
from branchkpi.tasks.validate.initiatives import uptake_frame

from ..conftest import SEED

ADOPTION = SEED / "okayama_initiative_adoption.csv"


def _landed(content: bytes, name: str, file_id: int = 1) -> LandedFile:
    return LandedFile(file_id, "", name, Path(name), len(content), False, content)


def test_the_seed_file_parses_as_it_is() -> None:
    landed = _landed(ADOPTION.read_bytes(), ADOPTION.name)
    assert sniff_kind(landed) == "initiatives"
    parsed = parse_kpi_file(landed)
    assert parsed.kind == "initiatives" and not parsed.findings
    assert parsed.targets.height == parsed.actuals.height == 0
    uptake = parsed.uptake
    assert uptake.height == 20
    assert uptake["reporting_unit"].unique().to_list() == ["33"]  # 岡山, from the file name
    assert uptake["fiscal_year"].unique().to_list() == [2018]
    assert uptake["source_row"].to_list() == list(range(2, 22))  # the file's own row numbers
    first = uptake.row(0, named=True)
    assert (first["label_ja"], first["adopted"], first["total"], first["pct_printed"]) == ("目標設定状況", 20, 27, 74.0)
    assert first["section_ja"] == "第4章 第2節 1 収納率目標の設定"
    assert uptake.filter(pl.col("label_ja") == "取組状況").height == 19
    high_cost = uptake.filter(pl.col("total") == 8).row(0, named=True)
    assert high_cost["note"] == "total is the 8 高医療費市町村, not all 27"  # a quoted cell with a comma


def test_a_file_without_a_prefecture_is_refused_naming_the_file() -> None:
    batch, reports = parse_kpi_files([_landed(ADOPTION.read_bytes(), "initiative_adoption.csv", 9)])
    assert batch.uptake.height == 0 and batch.rows == 0
    (finding,) = batch.findings
    assert finding.rule == "file_readable" and finding.severity == "critical" and finding.file_id == 9
    assert str(finding).startswith("initiative_adoption.csv: ")
    assert "prefecture cannot be told" in finding.reason and "都道府県" in finding.reason
    assert reports[0].error == finding.reason
    # the national total is no prefecture either
    with pytest.raises(initiatives.FileParseError, match="prefecture"):
        initiatives.prefecture_of_file("", "national_initiative_adoption.csv")
    assert initiatives.prefecture_of_file("岡山", "adoption.xlsx") == "33"  # a workbook's sheet names it


def test_other_kpi_headers_are_not_uptake() -> None:
    assert kpi_file_kind(["section_ja", "adopted", "total", "pct_printed", "label_ja", "fiscal_year"]) == "initiatives"
    assert kpi_file_kind(["見出し", "取組市町村数", "市町村数", "割合", "区分", "年度", "備考"]) == "initiatives"
    assert kpi_file_kind(["municipality_ja", "fiscal_year", "target_text", "target_value", "comparator"]) == "targets"
    assert kpi_file_kind(["branch", "fiscal_year", "period", "kpi_id", "value"]) == "actuals"
    assert kpi_file_kind(["municipality_ja", "note_ja", "status"]) == "unit_notes"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("20", 20), ("２０", 20), ("20市町村", 20), (" 0 ", 0), ("20.5", None), ("", None), ("二十", None)],
)
def test_counts_as_printed(text: str, expected: int | None) -> None:
    assert initiatives.count(text) == expected


def test_printed_precision() -> None:
    assert [initiatives.decimals(t) for t in ("74", "74%", "74.1", "７４．０７％", "")] == [0, 0, 1, 2, 0]


def _uptake(*rows: tuple[str, str, str]) -> pl.DataFrame:
    """Uptake rows from (adopted, total, printed %) as written, through the parser's own rules."""
    content = "section_ja,adopted,total,pct_printed,label_ja,fiscal_year\n" + "".join(
        f"第{i}章,{a},{t},{p},取組状況,2018\n" for i, (a, t, p) in enumerate(rows, start=1)
    )
    return parse_kpi_file(_landed(content.encode(), "okayama_uptake.csv")).uptake


def test_the_printed_percentage_against_the_counts() -> None:
    frame = uptake_frame(
        _uptake(
            ("20", "27", "74"),
            ("20", "27", "75"),
            ("20", "27", "74.1"),
            ("20", "27", "74.0"),
            ("1", "8", "13"),
            ("1", "8", "12"),
            ("27", "27", "100%"),
            ("0", "27", "0"),
            ("20", "27", ""),
            ("20", "27", "七割"),
        )
    )
    assert frame["pct_inconsistent"].to_list() == [False, True, False, True, False, False, False, False, False, False]
    assert frame["pct_unreadable"].to_list() == [False] * 9 + [True]  # a blank printed % is not checked
    assert frame["computed_pct"][0] == "74.07"  # shown in the finding
    assert frame["row_id"].to_list() == list(range(10))


def test_counts_that_cannot_be_judged_leave_the_percentage_alone() -> None:
    frame = uptake_frame(_uptake(("28", "27", "104"), ("1", "0", "0"), ("x", "27", "50")))
    assert frame["adopted"].to_list() == [28, 1, None]  # adopted > total: a rule of its own
    assert frame["pct_inconsistent"].to_list() == [False, False, False]  # total 0 or adopted unreadable


def test_every_rule_has_its_japanese_reason() -> None:
    rules = suite.uptake_rules()
    assert {r.name for r in rules} == set(suite.REASONS_JA)
    assert all(r.reason_ja and r.reason for r in rules)
    by_name = {r.name: r for r in rules}
    assert by_name["adopted_within_total"].kwargs == {
        "column_A": "total",
        "column_B": "adopted",
        "or_equal": True,
        "ignore_row_if": "either_value_is_missing",
    }
    assert (by_name["pct_matches_counts"].shown_column, by_name["pct_matches_counts"].raw_column) == (
        "pct_printed",
        "pct_printed_raw",
    )


def test_the_prefecture_report_escapes_what_the_files_wrote(tmp_path: Path) -> None:
    from branchkpi.tasks.initiatives import TargetSetting
    from branchkpi.tasks.report.prefecture import PrefectureReportData, write_prefecture_report

    hostile = "<script>alert(1)</script>"
    municipal = {
        "unit_name": f"{hostile}市",
        "comparator": "ge",
        "target_text": "94.5%以上",
        "target_value": 94.5,
        "actual": 95.1,
        "actual_period": "FY",
        "status": "achieved",
        "mark": "○",
        "reason": "actual 95.1 ≥ target 94.5",
        "reason_ja": "実績 95.10% は目標 94.50% 以上",
    }
    uptake = {
        "section_ja": f"第1章 {hostile}",
        "label_ja": "目標設定状況",
        "adopted": 20,
        "total": 27,
        "pct": 74.07,
        "pct_printed": 74.0,
        "note": hostile,
    }
    data = PrefectureReportData(
        "33", "岡山", "okayama", 2018, "e1", [municipal], [uptake], TargetSetting(19, 27, [f"{hostile}町"])
    )
    page = write_prefecture_report(data, tmp_path, "ja").html.read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;市" in page
    assert "94.5%以上" in page and "95.10%" in page and "実績 95.10% は目標 94.50% 以上" in page  # ja reason
    assert "公表値 20/27市町村（74%）" in page and "市町村の目標から算出 19/27市町村（70.37%）" in page
    assert "不一致" in page  # 19 computed, 20 printed: shown, not hidden
    english = write_prefecture_report(data, tmp_path, "en").html.read_text(encoding="utf-8")
    assert "actual 95.1 ≥ target 94.5" in english and "94.50% or more" in english and "differs" in english
