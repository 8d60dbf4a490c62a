"""The office-file set through the real monthly flow: the loadable files as one batch put exactly the
figures expected.json lists into the warehouse (each file its own slice), with the printed totals and
the skipped sheets reported; the files that must be refused, as one batch, load nothing at all, each
named with its reason and the header as the sender wrote it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from branchkpi.tasks.coverage import statistics_grid
from branchkpi.warehouse import reads, schema
from branchkpi.warehouse.engine import connect

from ..helpers import counts, rows, run_monthly, stats_values
from ..unit.test_office_files import CASES, LOADS, OFFICE, REFUSED


def test_office_files_load_exactly(prefect_server: str, warehouse_url: str, bk_home: Path) -> None:
    state, outcome = run_monthly(*(OFFICE / n for n in LOADS))
    assert not state.is_failed(), (state.message, [str(f) for f in outcome.findings if f.severity == "critical"])
    expected = {(a, b, c, d): v for n in LOADS for a, b, c, d, v, _ in CASES[n]["values"]}
    assert stats_values(warehouse_url) == expected
    printed = {
        (r["region_code"], r["metric"], r["fiscal_year"], r["month"]): r["yoy_pct_printed"]
        for r in rows(warehouse_url, schema.monthly_stats)
    }
    assert printed == {(a, b, c, d): y for n in LOADS for a, b, c, d, _, y in CASES[n]["values"]}
    totals = {
        (r["region_code"], r["metric"], r["fiscal_year"]): r["value"]
        for r in rows(warehouse_url, schema.reported_fiscal_year_totals)
    }
    assert totals == {(a, b, c): v for n in LOADS for a, b, c, v, _ in CASES[n].get("totals", [])}
    skipped = {f.file_name: f.skipped_sheets for f in outcome.files if f.skipped_sheets}
    assert skipped == {n: CASES[n]["skipped_sheets"] for n in LOADS if "skipped_sheets" in CASES[n]}

    # the coverage grid of FY2019 from the warehouse: Yamaguchi's six metrics came in five files
    loaded, replaced = reads.statistics_coverage(connect(warehouse_url), 2019)
    grid = {(r["unit"], r["period"]): r for r in statistics_grid(loaded, replaced, 2019, date(2020, 6, 1))}
    assert {grid[("yamaguchi", f"2019-{m:02d}")]["metrics"] for m in range(4, 13)} == {6}
    assert {grid[("national", f"2019-{m:02d}")]["metrics"] for m in range(4, 13)} == {3}
    assert grid[("yamaguchi", "2019-04")]["status"] in ("loaded", "warned")
    assert grid[("hokkaido", "2019-04")]["status"] == "missing"


def test_office_files_refused_load_nothing(prefect_server: str, warehouse_url: str, bk_home: Path) -> None:
    """Among them the two quiet wrong loads of the past: ◆任意継続被保険者数 read as 被保険者数, and a
    merged header whose other columns were dropped."""
    state, _ = run_monthly(*(OFFICE / n for n in REFUSED))
    assert state.is_failed() and "quality gate failed" in state.message
    after = counts(warehouse_url)
    assert after["monthly_stats"] == after["monthly_kpis"] == after["reported_fiscal_year_totals"] == 0
    landed = {r["file_name"]: r for r in rows(warehouse_url, schema.landed_files)}
    assert sorted(landed) == REFUSED and all(r["loaded_batch_id"] is None for r in landed.values())
    quarantined = [q for q in rows(warehouse_url, schema.quarantined_rows) if q["severity"] == "critical"]
    for name in REFUSED:
        case = CASES[name]
        mine = [q for q in quarantined if q["file_name"] == name]
        assert mine, name
        if "rule" in case:
            hit = next(q for q in mine if q["rule"] == case["rule"])
            assert (hit["source_row"], hit["column_name"], hit["value_text"]) == (
                case["row"],
                case["column"],
                case["value"],
            )
        else:
            assert [q["rule"] for q in mine] == ["file_readable"]
            assert case["reason"] in mine[0]["reason"] and not mine[0]["reason"].startswith(name)
    merged = next(q for q in quarantined if q["file_name"] == "merged_group_任意継続.xlsx")
    assert merged["reason"].startswith("sheet '集計': column C")
