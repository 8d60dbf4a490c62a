"""Every line that changes meaning is read (issue 26), rule by rule: unit words and unit lines, what a
title, key-value line, sheet or file name states, contradictions between two places, the shape of each
row, transposed tables and one sheet per month, `4月分` labels, `ﾒﾓ` remarks. End to end with the gate:
test_meaning_files.py and test_mutants.py."""

from __future__ import annotations

import io

import openpyxl
import pytest

from branchkpi.domain import fiscal, numbers, regions, units
from branchkpi.tasks.parse import context

from ..mutants.files import landed


def parse(name: str, content: bytes | str):  # type: ignore[no-untyped-def]
    from branchkpi.tasks.parse.batch import parse_statistics

    data = content.encode("utf-8") if isinstance(content, str) else content
    parsed, reports = parse_statistics([landed(1, name, data)])
    return parsed, reports[0].error


def values(parsed) -> dict[tuple, float]:  # type: ignore[no-untyped-def]
    return {
        (r["region_code"], r["metric"], r["fiscal_year"], r["month"]): r["value"]
        for r in parsed.observations.iter_rows(named=True)
    }


def book(sheets: dict[str, list[list[object]]]) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- what a line says --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "number", "unit"),
    [
        ("2,237,406事業所", "2,237,406", "事業所"),
        ("260,511 人", "260,511", "人"),
        ("12件", "12", "件"),
        ("3,000円", "3,000", "円"),
        ("275千円", "275", "千円"),
        ("704万", "704万", None),
        ("1.5%", "1.5", "%"),
        ("about 260 thousand", "about 260 thousand", None),
        ("٢٥٨", "٢٥٨", None),
    ],
)
def test_a_cell_and_its_unit_word(cell: str, number: str, unit: str | None) -> None:
    assert numbers.split_unit(cell, units.is_unit_word) == (number, unit)


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("（単位：千人）", ["千人"]),
        ("単位：人、百万円", ["人", "百万円"]),
        ("※ 金額は千円単位", ["千円"]),
        ("［単位 千人］", ["千人"]),
        ("令和2年度 山口支部", None),
    ],
)
def test_the_units_a_line_states(line: str, words: list[str] | None) -> None:
    assert units.stated_units(line) == words


@pytest.mark.parametrize(
    ("text", "years", "periods", "months"),
    [
        ("令和2年度 山口支部 月報", [2020], [], []),
        ("monthly_stats_FY2005", [2005], [], []),
        ("FY2018-2020.csv", [2018, 2019, 2020], [], []),  # a span: every year of it (none binds alone)
        ("平成30年度 2018～2020年度", [2018, 2019, 2020, 2018], [], []),
        ("stats_2018-2020.csv", [], [], []),  # years without FY or 年度 are no fiscal years
        ("令和2年4月分", [], [(2020, 4)], []),
        ("2020年10月末現在", [], [(2020, 10)], []),
        ("R3.1", [], [(2020, 1)], []),
        ("令和3年4月15日作成", [], [], []),  # a date of a day says no month
        ("4月分", [], [], [4]),
        ("3月末現在", [], [], [3]),
    ],
)
def test_what_a_title_says_of_time(
    text: str, years: list[int], periods: list[tuple[int, int]], months: list[int]
) -> None:
    assert fiscal.fiscal_years_in(text) == years
    assert [(p.fiscal_year, p.month) for p in fiscal.periods_in(text)] == periods
    assert fiscal.months_in(text) == months


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("山口支部 月報（速報）", ("35",)),
        ("全国健康保険協会 山口支部", ("35",)),  # the association's name is not 全国
        ("令和元年度 全国 加入者の状況", ("00",)),
        ("東京都支部", ("13",)),  # not 京都
        ("大分類別", ()),  # not 大分
        ("yamaguchi_insured_persons.csv", ("35",)),
        ("all_branches.csv", ()),
    ],
)
def test_the_regions_a_title_names(text: str, codes: tuple[str, ...]) -> None:
    assert regions.regions_named_in(text) == codes


@pytest.mark.parametrize(
    ("cells", "kind", "stated"),
    [
        ([""], "blank", []),
        (["令和元年度 全国 加入者の状況"], "title", [("fiscal_year", 2019), ("region", "00")]),
        (["（単位：千人）"], "unit", [("unit", "千人")]),
        (["", "年度", "令和2年度"], "title", [("fiscal_year", 2020)]),
        (["※ 単位：千人"], "note", [("unit", "千人")]),
        (["※ 平成30年度から算定方法を変更"], "note", []),  # a note's years are no statement
        (["合計", "12,345"], "unread", []),
    ],
)
def test_lines_are_classified_and_read(cells: list[str], kind: str, stated: list[tuple[str, object]]) -> None:
    line = context.classify_line(cells, 1)
    assert line.kind == kind
    assert [(s.what, s.value) for s in line.statements] == stated


# --- units applied --------------------------------------------------------------------------------


def test_a_unit_line_applies_to_the_metrics_it_fits() -> None:
    text = (
        '（単位：千人、千円）\n支部,年月,被保険者数,平均標準報酬月額,保険給付費\n山口,2020-04,260.5,279,"5,000,000"\n'
    )
    parsed, error = parse("u.csv", text)
    assert error is None
    assert values(parsed) == {
        ("35", "insured_persons", 2020, 4): 260_500,
        ("35", "avg_standard_monthly_remuneration_yen", 2020, 4): 279_000,
        ("35", "insurance_benefits", 2020, 4): 5_000,  # 千円 → 百万円
    }
    assert parsed.observations["printed_unit"].to_list() == [100, 1000, 0.001]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("（単位：千人）\n支部,年月,平均標準報酬月額\n山口,2020-04,279000\n", "fits none of the table's figures"),
        ("（単位：千ドル）\n支部,年月,保険給付費\n山口,2020-04,5000\n", "'千ドル' is not a unit we know"),
        ("単位：千人\n支部,年月,被保険者数（人）\n山口,2020-04,260511\n", "two units for 被保険者数"),
        ("支部,年月,平均標準報酬月額（百万円）\n山口,2020-04,279000\n", "does not fit 平均標準報酬月額"),
    ],
)
def test_a_unit_that_fits_nothing_or_contradicts_refuses_the_file(text: str, reason: str) -> None:
    parsed, error = parse("u.csv", text)
    assert reason in (error or "") and parsed.observations.height == 0


def test_a_unit_column_is_read_row_by_row() -> None:
    text = "region,metric,fiscal_year,month,value,unit\n35,insured_persons,2020,4,260.5,千人\n"
    text += "35,dependents,2020,4,176000,kg\n"
    parsed, _ = parse("u.csv", text)
    assert values(parsed) == {("35", "insured_persons", 2020, 4): 260_500}
    [finding] = [f for f in parsed.findings if f.rule == "unit_fits_metric"]
    assert (finding.source_row, finding.column_name, finding.value_text) == (3, "unit", "kg")


# --- contradictions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        (
            "a.csv",
            "支部,年度,対象年月,被保険者数\n山口,令和2年度,2019年4月,260656\n",
            "年度 B2 '令和2年度' (FY2020) vs 対象年月 C2 '2019年4月' (FY2019)",
        ),
        ("a.csv", "支部,月,対象年月,被保険者数\n山口,5月,2019年4月,260656\n", "the month is stated twice"),
        ("a.csv", "支部,暦年,月,年度,被保険者数\n山口,2021,1,令和3年度,260656\n", "fiscal year is stated twice"),
        ("yamaguchi_FY2019.csv", "支部,年月,被保険者数\n山口,2020-04,260656\n", "the file name 'yamaguchi_FY2019.csv'"),
        ("a.csv", "島根支部\n支部,年月,被保険者数\n山口,2020-04,260656\n", "the region is stated twice"),
        ("a.csv", "支部,支部,年月,被保険者数\n山口,広島,2020-04,260656\n", "state the region twice"),
        ("dependents.csv", "◆被保険者数\n山口,2年度,前年同月比\n4月,260511,-0.1\n", "the metric is stated twice"),
    ],
)
def test_what_the_file_says_twice_must_agree(name: str, text: str, reason: str) -> None:
    parsed, error = parse(name, text)
    assert reason in (error or ""), error
    assert parsed.observations.height == 0


def test_agreeing_statements_load() -> None:
    text = "令和2年度 山口支部 被保険者数（令和3年3月末現在）\n支部,年度,対象年月,被保険者数\n"
    text += "山口,令和2年度,2020年4月,260511\n山口,2020,2021年3月,258201\n"
    parsed, error = parse("yamaguchi_FY2020.csv", text)
    assert error is None and len(values(parsed)) == 2


# --- shape --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "支部,年度,月,平均標準報酬月額,前年同月比\n山口,令和元年度,4月,275,034,1.1\n",
            "unquoted thousands separator?",
        ),
        ("支部,年月,被保険者数,前年同月比\n山口,2019-04,0.8%\n", "a cell missing"),
        ("支部,年月,被保険者数\n山口,2019-04,260656\n山口,2019-05,,260000\n", "row 3 has 4 cells"),
        ("山口,1年度,前年同月比\n4月,260,656,0.8%\n", "unquoted thousands separator?"),
    ],
)
def test_a_row_that_does_not_fit_its_header_refuses_the_file(text: str, reason: str) -> None:
    parsed, error = parse("s.csv", text)
    assert reason in (error or ""), error
    assert parsed.observations.height == 0


def test_trailing_empty_cells_of_every_row_are_no_figure() -> None:
    parsed, error = parse("s.csv", "支部,年月,被保険者数,,\n山口,2019-04,260656,,\n山口,2019-05,261076,,\n")
    assert error is None and len(values(parsed)) == 2


def test_a_sheet_cell_outside_the_table_refuses_it() -> None:
    content = book({"集計": [["支部", "年月", "被保険者数"], ["山口", "2019-04", 260656, 1]]})
    _, error = parse("s.xlsx", content)
    assert "row 2, column D: '1' stands outside the table" in (error or "")


# --- layouts --------------------------------------------------------------------------------------


def test_a_transposed_sheet_with_region_and_year_in_its_title() -> None:
    content = book(
        {
            "月報": [
                ["山口支部 令和2年度"],
                ["区分", "4月", "5月"],
                ["被保険者数", 260511, 260300],
                ["前年同月比", -0.1, -0.3],
            ]
        }
    )
    parsed, error = parse("t.xlsx", content)
    assert error is None
    assert values(parsed) == {("35", "insured_persons", 2020, 4): 260511, ("35", "insured_persons", 2020, 5): 260300}
    assert parsed.observations["yoy_pct_printed"].to_list() == [-0.1, -0.3]


def test_one_sheet_per_month_takes_the_period_from_the_sheet_name() -> None:
    content = book(
        {f"令和2年{m}月": [["支部", "被保険者数"], ["山口", 260000 + m]] for m in (10, 11)} | {"表紙": [["月報"]]}
    )
    parsed, error = parse("m.xlsx", content)
    assert error is None
    assert values(parsed) == {("35", "insured_persons", 2020, 10): 260010, ("35", "insured_persons", 2020, 11): 260011}
    assert parsed.skipped_sheets == ["表紙"]


@pytest.mark.parametrize("label", ["4月分", "4月末", "4月末現在"])
def test_month_labels_as_offices_write_them(label: str) -> None:
    parsed, error = parse("p.csv", f"◆被保険者数\n山口,2年度,前年同月比\n{label},260511,-0.1\n")
    assert error is None and values(parsed) == {("35", "insured_persons", 2020, 4): 260511}
    parsed, error = parse("t.csv", f"支部,年度,月,被保険者数\n山口,2020,{label},260511\n")
    assert error is None and values(parsed) == {("35", "insured_persons", 2020, 4): 260511}


@pytest.mark.parametrize("header", ["ﾒﾓ", "メモ", "摘要", "注", "備考"])
def test_remarks_columns_are_read_past(header: str) -> None:
    parsed, error = parse("r.csv", f"支部,年月,被保険者数,{header}\n山口,2020-04,260511,確認済\n")
    assert error is None and len(values(parsed)) == 1 and not parsed.findings


@pytest.mark.parametrize(
    "text",
    [
        '区分,年月,被保険者数,,（単位：千人）\n全国,2020-04,"24,913.4",,\n',
        '区分,年月,被保険者数,（単位：千人）\n全国,2020-04,"24,913.4"\n',
        '◆被保険者数\n全国,2年度,前年同月比,（単位：千人）\n4月,"24,913.4",1.5%\n',
        '全国 令和2年度\n区分,4月,（単位：千人）\n被保険者数,"24,913.4"\n',
    ],
)
def test_a_unit_beside_the_headings_applies_to_the_table(text: str) -> None:
    parsed, error = parse("u.csv", text)
    assert error is None and values(parsed) == {("00", "insured_persons", 2020, 4): 24_913_400}


@pytest.mark.parametrize(
    "text",
    [
        "支部,年月,,被保険者数\n山口,2020-04,123,260511\n",
        "◆被保険者数\n山口,1年度,,2年度\n4月,260656,0.8,260511\n",
        "山口 令和2年度\n区分,4月,,5月\n被保険者数,260511,9,260300\n",
    ],
)
def test_a_figure_under_no_header_refuses_the_file(text: str) -> None:
    parsed, error = parse("h.csv", text)
    assert "stands under no header" in (error or "") and parsed.observations.height == 0
