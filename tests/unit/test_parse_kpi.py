"""The two readers of a KPI CSV read the same rows: polars' reader where a record is a line (no quote
character, no lone CR, no row wider than the header), the csv module otherwise. Same values, same
file row numbers (title lines and blank lines counted), nothing dropped."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from branchkpi.tasks.landing import LandedFile
from branchkpi.tasks.parse import kpi as parse_kpi

from ..conftest import SEED


def landed(content: bytes, name: str) -> LandedFile:
    return LandedFile(7, hashlib.sha256(content).hexdigest(), name, Path(name), len(content), False, content)


def quoted(text: str) -> str:
    """Every field quoted: the same cells, but only the csv module may read it."""
    return "\n".join(",".join(f'"{c}"' for c in line.split(",")) if line else "" for line in text.split("\n"))


def parse(text: str, name: str) -> parse_kpi.ParsedKpiFile:
    return parse_kpi.parse_kpi_file(landed(text.encode("utf-8"), name))


def test_both_readers_give_the_same_targets_with_title_and_blank_lines() -> None:
    seed = (SEED / "okayama_collection_rate_targets.csv").read_text(encoding="utf-8")
    header, *rows = seed.rstrip("\n").split("\n")
    # two title lines above the header, a blank line and a line of empty cells among the data
    text = "\n".join(["岡山県 収納率目標", "", header, *rows[:10], "", ",,,,", *rows[10:]]) + "\n"
    fast, exact = (
        parse(text, "okayama_collection_rate_targets.csv"),
        parse(quoted(text), "okayama_collection_rate_targets.csv"),
    )
    assert fast.targets.height == len(rows) == 45
    assert_frame_equal(fast.targets, exact.targets)
    assert fast.targets["source_row"].head(2).to_list() == [4, 5]  # line 4 is the first data row
    assert fast.targets["source_row"][10] == 16  # after the blank line (14) and the empty cells (15)
    assert [f.rule for f in fast.findings] == [f.rule for f in exact.findings]


def test_cp932_and_crlf_files_read_like_utf8() -> None:
    seed = (SEED / "okayama_collection_rate_actuals.csv").read_text(encoding="utf-8")
    fast = parse_kpi.parse_kpi_file(
        landed(seed.replace("\n", "\r\n").encode("cp932"), "okayama_collection_rate_actuals.csv")
    )
    exact = parse(quoted(seed), "okayama_collection_rate_actuals.csv")
    assert fast.actuals.height == 5
    assert_frame_equal(fast.actuals, exact.actuals)


def test_a_row_wider_than_the_header_is_read_whole() -> None:
    text = "municipality_ja,fiscal_year,value,unit\n倉敷市,2017,92.51,pct\n里庄町,2017,98.7,pct,extra\n"
    parsed = parse(text, "okayama_collection_rate_actuals.csv")
    assert parsed.actuals["source_row"].to_list() == [2, 3]
    assert parsed.actuals["value"].to_list() == [92.51, 98.7]


def test_a_first_row_narrower_than_the_header_and_lone_cr_line_ends() -> None:
    text = "municipality_ja,fiscal_year,value,unit\n倉敷市,2017\n里庄町,2017,98.7,pct\n"
    for variant in (text, text.replace("\n", "\r")):
        parsed = parse(variant, "okayama_collection_rate_actuals.csv")
        assert parsed.actuals["source_row"].to_list() == [2, 3]
        assert parsed.actuals["value_raw"].to_list() == ["", "98.7"]
        assert parsed.actuals["value"].to_list() == [None, 98.7]


def test_a_large_file_reads_in_one_frame() -> None:
    rows = [f"市町村{i % 300:03d},{2005 + i % 16},{80 + i % 20}.5,pct" for i in range(120_000)]
    text = "prefecture,municipality,fiscal_year,value,unit\n" + "\n".join(f"33,{r}" for r in rows) + "\n"
    parsed = parse(text, "municipal_kpi_actuals.csv")
    assert parsed.actuals.height == 120_000
    assert parsed.actuals["source_row"].is_sorted()
    assert parsed.actuals["source_row"][-1] == 120_001
    assert parsed.actuals.select(pl.col("reporting_unit").n_unique()).item() == 300
