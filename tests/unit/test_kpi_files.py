"""KPI files typed the way branch offices type them (tests/fixtures/kpi_files, written by
make_kpi_files.py from the sample data's real figures), read with the seed's targets and actuals as the
warehouse would hold them: every loadable file reads exactly the rows expected.json lists, and every file
that must be refused has its row flagged by the gate's context column of that rule (the suites
themselves run on them in tests/warehouse/test_kpi_files_gate.py). Also the template, which carries no
data, and the sheets around a KPI table."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest

from branchkpi.tasks.kpi_template import ACTUAL_HEADERS, GUIDE_SHEET, TARGET_HEADERS, guide_rows, write_template
from branchkpi.tasks.landing import LandedFile
from branchkpi.tasks.parse.batch import ParsedKpiBatch, parse_kpi_files
from branchkpi.tasks.validate.kpi import actuals_frame, targets_frame
from branchkpi.tasks.validate.kpi_names import resolve_names

from ..conftest import FIXTURES, SEED

KPI_FILES = FIXTURES / "kpi_files"
CASES: dict[str, dict[str, Any]] = json.loads((KPI_FILES / "expected.json").read_text(encoding="utf-8"))
LOADS = sorted(n for n, c in CASES.items() if c["expect"] == "loads")
REFUSED = sorted(n for n, c in CASES.items() if c["expect"] == "refused")
SEED_FILES = ("kpi_plan_items.csv", "kpi_actuals.csv", "okayama_collection_rate_targets.csv")

# the gate's context column that flags a row for each rule (expectations/kpi.py)
FLAGGED_BY = {
    "value_plausible": pl.col("implausible"),
    "scale_jump": pl.col("scale_jump"),
    "percentage_in_range": ~pl.col("pct_value").is_between(0, 100),
    "as_of_in_period": pl.col("as_of_conflict").is_not_null(),
    "fiscal_year_agrees": pl.col("fiscal_year_conflict").is_not_null(),
    "period_in_fiscal_year": pl.col("period_outside_fiscal_year"),
    "period_readable": pl.col("period").is_null(),
    "kpi_known": pl.col("kpi_id").is_null(),
    "kpi_text_agrees": pl.col("kpi_text_conflict").is_not_null(),
    "unit_agrees": pl.col("unit_disagrees"),
    "one_actual_per_period": pl.struct("reporting_unit", "fiscal_year", "period", "kpi_id").is_duplicated(),
}


def landed(name: str, content: bytes, file_id: int = 7) -> LandedFile:
    return LandedFile(file_id, hashlib.sha256(content).hexdigest(), name, Path(name), len(content), False, content)


def parse(*files: tuple[str, bytes]) -> tuple[ParsedKpiBatch, list[Any]]:
    return parse_kpi_files([landed(name, content, 7 + i) for i, (name, content) in enumerate(files)])


_SEED, _ = parse(*((n, (SEED / n).read_bytes()) for n in SEED_FILES))
WORDINGS = _SEED.targets.select(
    unit_key="reporting_unit", fiscal_year="fiscal_year", kpi_id="kpi_id", kpi_text_ja="kpi_text_ja"
)
LOADED = _SEED.actuals.select(
    unit_key="reporting_unit", fiscal_year="fiscal_year", period="period", kpi_id="kpi_id", unit="unit", value="value"
)


def read(name: str) -> tuple[ParsedKpiBatch, list[Any]]:
    """One fixture, its KPIs named as the gate names them with the seed's targets loaded."""
    batch, reports = parse((name, (KPI_FILES / name).read_bytes()))
    return resolve_names(batch, WORDINGS), reports


def test_every_family_is_there() -> None:
    assert len(LOADS) >= 5 and len(REFUSED) >= 18
    assert set(KPI_FILES.iterdir()) == {KPI_FILES / n for n in CASES} | {KPI_FILES / "expected.json"}
    assert set(FLAGGED_BY) >= {CASES[n]["rule"] for n in REFUSED}


@pytest.mark.parametrize("name", LOADS)
def test_kpi_file_reads_exactly(name: str) -> None:
    case = CASES[name]
    batch, reports = read(name)
    assert reports[0].error is None, reports[0].error
    actuals = batch.actuals.select("reporting_unit", "fiscal_year", "period", "kpi_id", "value", "unit").rows()
    targets = batch.targets.select("reporting_unit", "fiscal_year", "kpi_id", "comparator", "target_value", "unit")
    assert sorted(map(list, actuals), key=str) == sorted(case["actuals"], key=str)
    assert sorted(map(list, targets.rows()), key=str) == sorted(case["targets"], key=str)
    assert reports[0].skipped_sheets == case.get("skipped_sheets", [])
    assert reports[0].empty_sheets == case.get("empty_sheets", [])
    assert not [f for f in batch.findings if f.severity == "critical"]
    checked = actuals_frame(batch.actuals, LOADED, batch.headers) if batch.actuals.height else None
    if checked is not None:  # nothing a rule flags: no scale jump, every 時点 in its period, years agree
        for rule, flagged in FLAGGED_BY.items():
            if rule not in ("percentage_in_range", "period_readable", "kpi_known"):
                assert checked.filter(flagged.fill_null(False)).height == 0, rule
    if batch.targets.height:
        checked = targets_frame(batch.targets, batch.actuals, LOADED)
        assert checked.filter(pl.col("implausible") | pl.col("scale_jump")).height == 0


@pytest.mark.parametrize("name", REFUSED)
def test_kpi_file_row_is_flagged(name: str) -> None:
    case = CASES[name]
    batch, _ = read(name)
    frame = (
        actuals_frame(batch.actuals, LOADED, batch.headers)
        if batch.actuals.height
        else targets_frame(batch.targets, batch.actuals, LOADED)
    )
    flagged = frame.filter(FLAGGED_BY[case["rule"]].fill_null(False))
    assert case["row"] in flagged["source_row"].to_list(), frame.row(0, named=True)


def test_why_a_kpi_is_not_named_and_what_a_wording_names() -> None:
    batch, _ = read("wording_fits_two_kpis.csv")
    assert "fits several KPIs exactly" in batch.actuals["kpi_naming"][0]
    batch, _ = read("id_and_wording_disagree.csv")
    assert batch.actuals["kpi_text_conflict"][0].endswith("names refund_claim_recovery_rate, not card_recovery_rate")
    batch, _ = read("as_of_in_the_year_before.xlsx")
    frame = actuals_frame(batch.actuals, LOADED, batch.headers)
    assert frame["as_of_conflict"][0] == "年度 令和2年度 and 期間 FY = FY2020 (2020-04…2021-03)"


# --- the template ------------------------------------------------------------------------------------


def template_bytes(tmp_path: Path, lang: str = "ja") -> bytes:
    return write_template(tmp_path, lang).read_bytes()


def test_the_template_carries_no_data(tmp_path: Path) -> None:
    book = openpyxl.load_workbook(io.BytesIO(template_bytes(tmp_path)))
    assert book.sheetnames == ["目標", "実績", "記入方法"]
    assert [c.value for c in book["目標"][1]] == TARGET_HEADERS and book["目標"].max_row == 1
    assert [c.value for c in book["実績"][1]] == ACTUAL_HEADERS and book["実績"].max_row == 1
    batch, reports = parse(("kpi_template.xlsx", template_bytes(tmp_path)))
    assert batch.rows == 0 and not batch.findings
    assert reports[0].empty_sheets == ["目標", "実績"] and reports[0].skipped_sheets == ["記入方法"]


def test_the_guide_holds_the_examples_in_japanese_or_english(tmp_path: Path) -> None:
    ja, en = guide_rows("ja"), guide_rows("en")
    assert ja[0] == ["列", "書き方", "記入例（目標シート）", "記入例（実績シート）"]
    assert en[0][:2] == ["column", "how to fill it in"]
    columns = [r[0] for r in ja[1:] if r and r[0] in TARGET_HEADERS + ACTUAL_HEADERS]
    assert set(columns) == set(TARGET_HEADERS) | set(ACTUAL_HEADERS)  # every column explained
    examples = {r[0]: (r[2], r[3]) for r in ja[1:] if len(r) == 4}
    assert examples["KPI"] == ("card_recovery_rate", "保険証回収率") and examples["実績"][1] == "95.82"
    assert any("0.9582" in r[1] for r in ja[1:] if len(r) == 4)
    assert all(r[0] == e[0] and r[2:] == e[2:] for r, e in zip(ja, en, strict=True) if len(r) == 4 and r is not ja[0])
    book = openpyxl.load_workbook(io.BytesIO(template_bytes(tmp_path / "en", "en")))
    assert book.sheetnames == ["目標", "実績", GUIDE_SHEET["en"]]
    # the examples are shown, never loaded: a guide sheet is skipped whatever it holds
    assert parse(("kpi_template.xlsx", template_bytes(tmp_path / "en2", "en")))[0].rows == 0


def test_targets_left_with_their_headers_and_actuals_filled(tmp_path: Path) -> None:
    """The crash of issue 27 (`failed to vstack column 'fiscal_year'`): a header-only sheet beside a filled one."""
    path = write_template(tmp_path)
    book = openpyxl.load_workbook(path)
    book["実績"].append(["山口", "令和2年度", "FY", "mail_application_rate", "92.8%", "", "", ""])
    book.save(path)
    batch, reports = parse(("kpi_template.xlsx", path.read_bytes()), ("kpi_template_copy.xlsx", path.read_bytes()))
    assert batch.actuals.height == 2 and batch.targets.height == 0
    assert batch.targets.schema == ParsedKpiBatch().targets.schema
    assert [r.empty_sheets for r in reports] == [["目標"], ["目標"]]


def test_a_cover_sheet_and_notes_under_the_table(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "表紙"
    book.active.append(["令和2年度 KPI実績", "山口支部"])
    sheet = book.create_sheet("実績")
    for row in (
        ACTUAL_HEADERS,
        ["山口", "令和2年度", "FY", "郵送化率", 92.8, "%", "", ""],
        ["※ 速報値"],
        ["注1 郵送化率は申請書の郵送分"],
        ["(注) 数値は令和3年5月時点"],
        ["*暫定値"],
        ["出典：全国健康保険協会 山口支部"],
        ["資料：事業報告"],
    ):
        sheet.append(row)
    sheet.merge_cells("A4:H4")  # a note merged across the row reads in every cell of it
    out = io.BytesIO()
    book.save(out)
    batch, reports = parse(("kpi.xlsx", out.getvalue()))
    assert batch.actuals.height == 1 and not batch.findings
    assert reports[0].skipped_sheets == ["表紙"]
    # a row naming its branch is data, whatever its KPI cell starts with
    text = "支部,年度,期間,KPI,実績,単位\n山口,令和2年度,FY,※ジェネリック医薬品使用割合,80.6,%\n※ 注記\n"
    assert parse(("kpi.csv", text.encode()))[0].actuals["kpi_raw"].to_list() == ["※ジェネリック医薬品使用割合"]
