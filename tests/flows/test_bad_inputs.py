"""The bad-input set (tests/fixtures/bad_inputs, written by make_bad_inputs.py): every file ends in a
load, a clear error or a quarantine through the real flow, and the warehouse's row counts show that
nothing was lost or half-loaded."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from branchkpi.tasks.coverage import grid
from branchkpi.warehouse import schema
from branchkpi.warehouse.engine import connect

from ..conftest import FIXTURES, both_dialects
from ..helpers import counts, rows, run_monthly

BAD = FIXTURES / "bad_inputs"
CASES = json.loads((BAD / "expected.json").read_text(encoding="utf-8"))
YAMAGUCHI_FY2020 = [f"{2020 + (m < 4)}-{m:02d}" for m in (4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3)]


def test_the_set_is_large_enough() -> None:
    assert len(CASES) >= 15
    assert {c["expect"] for c in CASES.values()} == {"loads", "loads_with_warning", "quarantine", "file_error"}


FILE_ERRORS = sorted(n for n, c in CASES.items() if c["expect"] == "file_error")


@pytest.mark.parametrize("name", sorted(n for n in CASES if n not in FILE_ERRORS))
def test_bad_input(name: str, prefect_server: str, warehouse_url: str, bk_home: Path) -> None:
    case = CASES[name]
    state, outcome = run_monthly(BAD / name)
    after = counts(warehouse_url)
    landed = rows(warehouse_url, schema.landed_files)
    # the landed file is always kept in the archive, byte for byte
    assert len(landed) == 1
    archived = bk_home / "archive" / landed[0]["archive_path"]
    assert archived.read_bytes() == (BAD / name).read_bytes()

    if case["expect"] in ("loads", "loads_with_warning"):
        assert state.is_completed(), state.message
        assert after["monthly_stats"] == case["rows"] == outcome.rows_loaded
        assert after["monthly_kpis"] > 0
        criticals = [f for f in outcome.findings if f.severity == "critical"]
        assert criticals == []
        if case["expect"] == "loads_with_warning":
            warned = [f for f in outcome.findings if f.severity == "warning"]
            assert any(f.rule == case["detail"] for f in warned), outcome.findings
            assert any(f.column_name == case["column"] for f in warned)
        return

    # Failed: a clear message, nothing curated, the reasons quarantined.
    assert state.is_failed()
    assert "quality gate failed" in state.message
    assert after["monthly_stats"] == after["monthly_kpis"] == after["monthly_stats_audit"] == 0
    assert landed[0]["loaded_batch_id"] is None
    quarantined = rows(warehouse_url, schema.quarantined_rows)
    critical = [q for q in quarantined if q["severity"] == "critical"]
    assert critical, "a failed batch must say why"
    assert all(q["file_name"] == name for q in critical)
    if case["expect"] == "quarantine":
        hits = [q for q in critical if q["rule"] == case["detail"]]
        assert hits, [q["rule"] for q in critical]
        for q in hits:  # file, row, column, value, rule and a readable reason
            assert q["source_row"] is not None and q["source_row"] >= 2
            assert q["column_name"]
            assert q["value_text"] is not None
            assert len(q["reason"]) > 15
        assert outcome.rows_quarantined >= 1
    else:
        assert_file_error(name, critical)


def assert_file_error(name: str, critical: list[dict]) -> None:  # type: ignore[type-arg]
    assert [q["rule"] for q in critical] == ["file_readable"], (name, critical)
    assert critical[0]["file_name"] == name and not critical[0]["reason"].startswith(name)  # named once
    assert CASES[name]["detail"].lower() in critical[0]["reason"].lower()
    assert critical[0]["source_row"] is None  # the whole file


def test_unreadable_files(prefect_server: str, warehouse_url: str, bk_home: Path) -> None:
    """The files that cannot be read at all, as one batch (a file error stops nothing but that file's
    parse, so they cannot interact): each is archived, named with its reason, and nothing loads."""
    state, _ = run_monthly(*(BAD / name for name in FILE_ERRORS))
    assert state.is_failed() and "quality gate failed" in state.message
    after = counts(warehouse_url)
    assert after["monthly_stats"] == after["monthly_kpis"] == after["monthly_stats_audit"] == 0
    landed = {r["file_name"]: r for r in rows(warehouse_url, schema.landed_files)}
    assert sorted(landed) == FILE_ERRORS
    critical = [q for q in rows(warehouse_url, schema.quarantined_rows) if q["severity"] == "critical"]
    for name in FILE_ERRORS:
        assert (bk_home / "archive" / landed[name]["archive_path"]).read_bytes() == (BAD / name).read_bytes()
        assert landed[name]["loaded_batch_id"] is None
        assert_file_error(name, [q for q in critical if q["file_name"] == name])
    assert {q["file_name"] for q in critical} == set(FILE_ERRORS)


@both_dialects("the quarantine and the refused cells are written with SQL")
def test_one_bad_file_blocks_the_whole_batch(prefect_server: str, warehouse_url: str) -> None:
    state, _ = run_monthly(BAD / "utf8_bom.csv", BAD / "negative_count.csv")
    assert state.is_failed()
    after = counts(warehouse_url)
    assert after["monthly_stats"] == 0 and after["monthly_kpis"] == 0
    assert after["landed_files"] == 2
    # the coverage grid shows 山口's twelve months of FY2020 as 隔 (refused), not 未着
    engine = connect(warehouse_url)
    cells = {(c["unit"], c["period"]): c["status"] for c in grid(engine, "stats", 2020, date(2021, 6, 1))}
    assert {cells[("yamaguchi", p)] for p in YAMAGUCHI_FY2020} == {"quarantined"}
    assert cells[("hokkaido", "2020-04")] == "missing"
    # the good file is not poisoned: it loads on its own afterwards
    state, _outcome = run_monthly(BAD / "utf8_bom.csv")
    assert state.is_completed()
    assert counts(warehouse_url)["monthly_stats"] == 12
    cells = {(c["unit"], c["period"]): c["status"] for c in grid(engine, "stats", 2020, date(2021, 6, 1))}
    assert {cells[("yamaguchi", p)] for p in YAMAGUCHI_FY2020} <= {"loaded", "warned"}


def test_variants_load_the_same_values(prefect_server: str, warehouse_url: str) -> None:
    """CP932 / Japanese headers, BOM, full-width digits, △ and Excel give identical values."""
    from ..helpers import stats_values

    state, _ = run_monthly(BAD / "utf8_bom.csv")
    reference = stats_values(warehouse_url)
    printed = {r["month"]: r["yoy_pct_printed"] for r in rows(warehouse_url, schema.monthly_stats)}
    for name in ("cp932_japanese_headers.csv", "fullwidth_digits.csv", "triangle_minus.csv", "tidy_workbook.xlsx"):
        state, outcome = run_monthly(BAD / name)
        assert state.is_completed(), (name, state.message)
        assert outcome.rows_replaced == 0 and outcome.rows_inserted == 0, name
        assert stats_values(warehouse_url) == reference
        again = {r["month"]: r["yoy_pct_printed"] for r in rows(warehouse_url, schema.monthly_stats)}
        assert again == pytest.approx(printed), name
