"""The meaning-file set through the real monthly flow (issue 26): the loadable files as one batch put
exactly the figures expected.json lists into the warehouse, in the stored unit (千人 ×1,000, 千円 for
保険給付費 ÷1,000); the refused files, as one batch, load nothing, each named with its reason; and with
the real series loaded, a figure typed ×10 that is inside a branch's range fails the run (scale_jump)."""

from __future__ import annotations

from pathlib import Path

from branchkpi.warehouse import schema

from ..conftest import TIDY_SEED
from ..helpers import counts, rows, run_monthly, stats_values
from ..unit.test_meaning_files import CASES, LOADS, MEANING, REFUSED


def test_meaning_files_load_exactly(prefect_server: str, warehouse_url: str, bk_home: Path) -> None:
    state, outcome = run_monthly(*(MEANING / n for n in LOADS))
    assert not state.is_failed(), (state.message, [str(f) for f in outcome.findings if f.severity == "critical"])
    expected = {(a, b, c, d): v for n in LOADS for a, b, c, d, v, _ in CASES[n]["values"]}
    assert stats_values(warehouse_url) == expected
    totals = {
        (r["region_code"], r["metric"], r["fiscal_year"]): r["value"]
        for r in rows(warehouse_url, schema.reported_fiscal_year_totals)
    }
    assert totals == {(a, b, c): v for n in LOADS for a, b, c, v, _ in CASES[n].get("totals", [])}
    warned = {q["rule"] for q in rows(warehouse_url, schema.quarantined_rows) if q["severity"] == "warning"}
    assert {"line_not_read", "derived_column_ignored"} <= warned


def test_meaning_files_refused_load_nothing(prefect_server: str, warehouse_url: str, bk_home: Path) -> None:
    fresh = [n for n in REFUSED if CASES[n].get("context") != "history"]
    state, _ = run_monthly(*(MEANING / n for n in fresh))
    assert state.is_failed() and "quality gate failed" in state.message
    after = counts(warehouse_url)
    assert after["monthly_stats"] == after["reported_fiscal_year_totals"] == 0
    quarantined = [q for q in rows(warehouse_url, schema.quarantined_rows) if q["severity"] == "critical"]
    for name in fresh:
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
            assert [q["rule"] for q in mine] == ["file_readable"] and case["reason"] in mine[0]["reason"]


def test_a_figure_ten_times_its_history_fails_the_run(prefect_server: str, warehouse_url: str, bk_home: Path) -> None:
    state, _ = run_monthly(TIDY_SEED)
    assert not state.is_failed(), state.message
    before = stats_values(warehouse_url)
    state, outcome = run_monthly(MEANING / "ten_times_history.csv")
    assert state.is_failed()
    hits = [f for f in outcome.findings if f.rule == "scale_jump"]
    assert hits and hits[0].source_row == 2 and "scale_jump=10" in hits[0].reason, [str(f) for f in outcome.findings]
    assert stats_values(warehouse_url) == before  # nothing of the batch loaded
