"""Parsers on the layouts offices send: every seed file as it is, title lines, stacked tables, Excel
sheets named after the metric, period columns, CP932 published tables."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from branchkpi.tasks.landing import LandedFile
from branchkpi.tasks.parse.cells import FileParseError
from branchkpi.tasks.parse.files import parse_file

from ..conftest import LAYOUT_SEED, TIDY_SEED


def landed(name: str, content: bytes) -> LandedFile:
    return LandedFile(1, hashlib.sha256(content).hexdigest(), name, Path(name), len(content), False, content)


def parse_path(path: Path):  # type: ignore[no-untyped-def]
    return parse_file(landed(path.name, path.read_bytes()))


def key_values(frame: pl.DataFrame) -> dict[tuple, float]:
    return {
        (r["region_code"], r["metric"], r["fiscal_year"], r["month"]): r["value"] for r in frame.iter_rows(named=True)
    }


def test_every_published_seed_file_equals_the_tidy_seed() -> None:
    tidy = parse_path(TIDY_SEED)
    assert tidy.layout == "tidy" and tidy.observations.height == 576 and not tidy.findings
    combined: dict[tuple, float] = {}
    for path in sorted(LAYOUT_SEED.glob("*.csv")):
        parsed = parse_path(path)
        assert parsed.layout == "published", path.name
        assert parsed.observations.height == 48 and not parsed.findings, path.name
        assert (
            parsed.observations.null_count().select("region_code", "metric", "fiscal_year", "month", "value").row(0)
            == (0,) * 5
        )
        combined.update(key_values(parsed.observations))
    assert combined == key_values(tidy.observations)
    benefits = parse_path(LAYOUT_SEED / "yamaguchi_insurance_benefits.csv")
    assert benefits.reported_totals.select("fiscal_year", "value", "yoy_pct_printed").rows() == [
        (2017, 69294.0, 2.8),
        (2018, 69865.0, 0.8),
        (2019, 71402.0, 2.2),
        (2020, 68710.0, -3.8),
    ]


PUBLISHED_WITH_TITLES = """◆被保険者数
山口,1年度,前年同月比,2年度,前年同月比
4月,"260,656",0.8%,"260,511",△0.1%
5月,"261,076",0.7%,"260,300",△0.3%

◆被扶養者数（人）
山口,1年度,前年同月比,2年度,前年同月比
４月,"181,000",-1.0%,"179,500",△0.8%
５月,"180,900",-1.1%,"179,300",△0.9%
※ 被扶養者数は各月末現在
"""


def test_title_lines_and_stacked_tables_in_cp932() -> None:
    parsed = parse_file(landed("monthly_report.csv", PUBLISHED_WITH_TITLES.encode("cp932")))
    assert parsed.encoding == "cp932" and parsed.layout == "published"
    values = key_values(parsed.observations)
    assert values[("35", "insured_persons", 2020, 5)] == 260300
    assert values[("35", "dependents", 2019, 4)] == 181000
    assert len(values) == 8
    yoy = parsed.observations.filter(pl.col("metric") == "insured_persons", pl.col("fiscal_year") == 2020)
    assert sorted(yoy["yoy_pct_printed"].to_list()) == [-0.3, -0.1]
    rows = dict(zip(parsed.observations["value_raw"], parsed.observations["source_row"], strict=True))
    assert rows["260,300"] == 4 and rows["179,300"] == 9  # rows as the file numbers them


def test_excel_published_layout_named_by_sheet() -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "被保険者数"
    ws.append(["全国", "令和元年度", "前年同月比", "令和2年度", "前年同月比"])
    ws.append(["4月", 24_600_000, 0.012, 24_913_420, 0.015])
    ws.cell(row=2, column=3).number_format = "0.0%"
    ws.cell(row=2, column=5).number_format = "0.0%"
    other = book.create_sheet("被扶養者数")
    other.append(["全国", "R1", "前年同月比"])
    other.append(["4月", "16,000,000", "△1.5%"])
    buf = io.BytesIO()
    book.save(buf)
    parsed = parse_file(landed("national.xlsx", buf.getvalue()))
    values = key_values(parsed.observations)
    assert values == {
        ("00", "insured_persons", 2019, 4): 24_600_000,
        ("00", "insured_persons", 2020, 4): 24_913_420,
        ("00", "dependents", 2019, 4): 16_000_000,
    }
    assert sorted(parsed.observations["yoy_pct_printed"].to_list()) == pytest.approx([-1.5, 1.2, 1.5])


@pytest.mark.parametrize(
    ("header", "row"),
    [
        ("region,metric,period,value", "山口県,insured_persons,2021-01,258638"),
        ("支部,指標,年月,値", '山口支部,被保険者数,令和3年1月,"258,638"'),
        ("region,metric,calendar_year,month,value", "35,insured_persons,2021,1,258638"),
        ("Region,Metric,Fiscal Year,Month,Value", "Yamaguchi,Insured persons,FY2020,Jan,258638"),
    ],
)
def test_ways_of_giving_the_month(header: str, row: str) -> None:
    parsed = parse_file(landed("m.csv", f"{header}\n{row}\n".encode()))
    observation = parsed.observations.row(0, named=True)
    if "Jan" in row:  # English month names are not accepted: the gate will say so
        assert observation["month"] is None and observation["month_raw"] == "Jan"
        return
    assert (observation["region_code"], observation["fiscal_year"], observation["month"]) == ("35", 2020, 1)
    assert observation["value"] == 258638


def test_tab_separated_and_utf16_as_excel_saves_unicode_text() -> None:
    text = "region\tmetric\tfiscal_year\tmonth\tvalue\nyamaguchi\tdependents\t2020\t4\t179500\n"
    for content in (text.encode(), text.encode("utf-16")):
        parsed = parse_file(landed("m.txt", content))
        assert key_values(parsed.observations) == {("35", "dependents", 2020, 4): 179500}


def test_file_errors_name_the_file_once() -> None:
    """The finding names the file; the parser's message does not repeat it (`f.csv: f.csv: …`)."""
    from branchkpi.tasks.parse.batch import parse_statistics

    _, reports = parse_statistics([landed("empty.csv", b"   \n"), landed("x.xlsx", b"PK\x03\x04garbage")])
    assert reports[0].error == "the file is empty"
    assert (reports[1].error or "").startswith("not a readable .xlsx")
    parsed, _ = parse_statistics([landed("empty.csv", b"   \n")])
    assert [str(f) for f in parsed.findings] == ["empty.csv: the file is empty [file_readable]"]
    with pytest.raises(FileParseError, match=r"^the file is empty"):
        parse_file(landed("empty.csv", b"   \n"))
