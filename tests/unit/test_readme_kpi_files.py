"""README's "KPI files" section says exactly what is accepted: every example in its tables is checked
here as written there (the KPI names with the seed's targets loaded, 期間, 時点, figures, 目標), and the
sheet-name and title examples of its text."""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest

from branchkpi.domain import kpis, regions
from branchkpi.domain.kpi_names import KpiNames
from branchkpi.domain.kpi_periods import as_of_within, parse_as_of, parse_kpi_period, stated_fiscal_years
from branchkpi.tasks.validate.kpi import actuals_frame
from branchkpi.tasks.validate.kpi_names import resolve_names

from ..conftest import SEED
from .test_kpi_files import FLAGGED_BY, LOADED, WORDINGS, parse

README = (SEED.parents[2] / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("### KPI files") : README.index("\n### ", README.index("### KPI files") + 5)]


def table(first_header: str) -> list[list[str]]:
    """The rows (cells) of the section's table whose first header cell is `first_header`."""
    lines = SECTION.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    assert rows, first_header
    return rows


def quoted(cell: str) -> list[str]:
    return re.findall(r"`([^`]*)`", cell)


def test_the_section_has_its_tables() -> None:
    for header in ("KPI as written", "期間 as written", "時点 as written", "実績 as written", "目標 as written"):
        assert len(table(header)) >= 3, header


@pytest.mark.parametrize("row", table("KPI as written"), ids=lambda r: r[0])
def test_kpi_names(row: list[str]) -> None:
    (written,), branch, names = quoted(row[0]), row[1], row[2]
    unit = regions.resolve_region(branch)
    loaded = WORDINGS.filter(WORDINGS["unit_key"] == unit).select("kpi_text_ja", "kpi_id").rows()
    naming = KpiNames.with_wordings(loaded).resolve(written)
    if names.startswith("refused"):
        assert naming.kpi_id is None
        assert naming.how == ("partial" if "in part" in names else "ambiguous"), naming
    else:
        assert naming.kpi_id == quoted(names)[0]


@pytest.mark.parametrize("row", table("期間 as written"), ids=lambda r: r[0])
def test_periods(row: list[str]) -> None:
    written = quoted(row[0]) + ([""] if row[0].startswith("empty") else [])
    for text in written:
        if row[1].startswith("refused"):
            with pytest.raises(ValueError):
                parse_kpi_period(text, 2020)
            continue
        read = parse_kpi_period(text, 2020)
        assert read.period == quoted(row[1])[0], text
        assert read.stated_fiscal_year == (2020 if "stating FY2020" in row[1] else None), text


@pytest.mark.parametrize("row", table("時点 as written"), ids=lambda r: r[0])
def test_as_of(row: list[str]) -> None:
    for text in quoted(row[0]):
        read = parse_as_of(text, 2020)
        assert read is not None
        if row[1].startswith("refused"):
            assert not as_of_within(2020, "FY", read), text
        else:
            assert read.label == quoted(row[1])[0] and as_of_within(2020, "FY", read), text


def test_sheet_name_and_title_examples() -> None:
    paragraph = SECTION[SECTION.index("**Sheet name and title.**") : SECTION.index("**Figures.**")]
    stating, none = quoted(paragraph)[:4], quoted(paragraph)[4]
    assert stating == ["令和2年度 事業実績", "R2実績", "2020年度", "FY2020"]
    assert all(stated_fiscal_years(s) == (2020,) for s in stating)
    assert stated_fiscal_years(none) == ()


def _actual_file(value: str, unit: str, kpi_id: str, percent_cell: bool) -> tuple[str, bytes]:
    if not percent_cell:
        text = io.StringIO()
        csv.writer(text).writerows(
            [["支部", "年度", "期間", "KPI", "実績", "単位"], ["山口", "令和2年度", "FY", kpi_id, value, unit]]
        )
        return "kpi.csv", text.getvalue().encode()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["支部", "年度", "期間", "KPI", "実績", "単位"])
    sheet.append(["山口", "令和2年度", "FY", kpi_id, float(value), unit])
    sheet["E2"].number_format = "0.00%"
    out = io.BytesIO()
    book.save(out)
    return "kpi.xlsx", out.getvalue()


_RULE = re.compile(r"\(`(\w+)`\)")


@pytest.mark.parametrize("row", table("実績 as written"), ids=lambda r: r[0])
def test_figures(row: list[str]) -> None:
    value, unit, kpi_id = quoted(row[0])[0], (quoted(row[1]) or [""])[0], quoted(row[2])[0]
    batch, _ = parse(_actual_file(value, unit, kpi_id, "% format" in row[0]))
    batch = resolve_names(batch, WORDINGS)
    frame = actuals_frame(batch.actuals, LOADED, batch.headers)
    if row[3].startswith("refused"):
        rule = _RULE.search(row[3])
        assert rule is not None
        assert frame.filter(FLAGGED_BY[rule[1]].fill_null(False)).height == 1, rule[1]
    else:
        assert frame["value"].to_list() == [float(quoted(row[3])[0])]
        assert frame["unit"].to_list() == [kpis.BY_ID[kpi_id].unit]
        for rule, flagged in FLAGGED_BY.items():
            assert frame.filter(flagged.fill_null(False)).height == 0, rule


@pytest.mark.parametrize("row", table("目標 as written"), ids=lambda r: r[0])
def test_targets(row: list[str]) -> None:
    expected = quoted(row[1])[0].split()
    for text in quoted(row[0]):
        comparator, value, unit = kpis.parse_target_text(text)
        assert comparator == expected[0], text
        if len(expected) > 1:
            assert (value, unit) == (float(expected[1]), expected[2]), text
        else:
            assert value is None, text
