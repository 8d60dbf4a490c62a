"""KPI targets, actuals and their evaluation end to end: the seed plan items and actuals of Gunma,
Saitama and Yamaguchi and the Okayama municipal files load unchanged through the quarterly-kpi-actuals
flow; evaluate-targets marks them, stores the run, and emits events for missed and at-risk targets;
bad target files are rejected whole; branches are ranked by deviation score."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from branchkpi.warehouse import schema

from ..conftest import FIXTURES, SEED, both_dialects
from ..helpers import KPI_SEED, artifacts, counts, ingest_kpi, rows


def evaluate(fiscal_year: int, quarter: int | None = None, units: list[str] | None = None) -> tuple[Any, list[dict]]:
    from branchkpi.flows.evaluate_targets import evaluate_targets

    state = evaluate_targets(fiscal_year=fiscal_year, quarter=quarter, unit_keys=units, return_state=True)
    assert state.is_completed(), state.message
    return state, state.result().rows


def _flow_run_name(state: Any) -> str:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(state.state_details.flow_run_id).name


def _load_kpi_seed() -> None:
    state, _ = ingest_kpi(*KPI_SEED)
    assert state.is_completed(), state.message


@pytest.fixture
def loaded(prefect_server: str, cloned_warehouse: Callable[[str, Callable[[], None]], str]) -> str:
    """A warehouse holding the seed's KPI files as the quarterly-kpi-actuals flow loads them (loaded
    once per dialect, copied for each test)."""
    return cloned_warehouse("kpi-seed", _load_kpi_seed)


@both_dialects("the KPI loads (COPY / executemany, upserts, their audit)")
def test_seed_files_load_as_they_are(loaded: str) -> None:
    after = counts(loaded)
    assert after["kpi_targets"] == 60 + 45
    assert after["kpi_actuals"] == 89 + 5
    units = rows(loaded, schema.reporting_units, schema.reporting_units.c.kind == "municipality")
    assert len(units) == 27
    assert Counter(u["target_setting"] for u in units) == {"set": 20, "not_set": 7}  # 目標設定状況：20/27市町村
    assert all(u["prefecture_code"] == "33" for u in units)
    # the same files again: known by their checksums, not even read
    state, outcome = ingest_kpi(*KPI_SEED)
    assert state.is_completed() and outcome.status == "unchanged" and outcome.rows_landed == 0
    assert "were loaded before" in outcome.message
    # forced, they are read, checked and compared: idempotent, nothing changes
    state, outcome = ingest_kpi(*KPI_SEED, force=True)
    assert state.is_completed() and outcome.rows_loaded == 0 and outcome.rows_unchanged == 199
    assert counts(loaded) | {"ingest_batches": 0} == after | {"ingest_batches": 0}


@both_dialects("the evaluation reads its inputs and stores its rows with SQL")
def test_yamaguchi_fiscal_year_2020(loaded: str) -> None:
    state, result = evaluate(2020, units=["35"])
    found = artifacts(state.state_details.flow_run_id)
    table = found["kpi-evaluation"]["data"]
    table = json.loads(table) if isinstance(table, str) else table
    assert [r["kpi_id"] for r in table] == [r["kpi_id"] for r in result]  # missed first
    # the run page reads like the report: unit, period, KPI, actual and mark first, in Japanese
    assert list(table[0])[:8] == ["対象", "期間", "KPI", "実績", "判定", "目標", "前年度実績", "状況"]
    assert {r["対象"] for r in table} == {"山口支部"} and {r["期間"] for r in table} == {"令和2年度"}
    assert table[0]["判定"] == "×" and table[0]["状況"] == "未達成"
    card = next(r for r in table if r["kpi_id"] == "card_recovery_rate")
    assert (card["KPI"], card["実績"], card["目標"], card["前年度実績"]) == (
        "保険証回収率",
        "95.82%",
        "96.30%以上",  # at the plan's precision (96.30%)
        "95.92%",
    )
    review = next(r for r in table if r["kpi_id"] == "claim_review_reduction_rate")
    assert review["目標"] == "対前年度以上" and review["前年度実績"] == "0.281%"
    assert all(r["KPI"] and "_" not in r["KPI"] for r in table), "every KPI by its Japanese name or the plan's text"
    summary = found["kpi-evaluation-summary"]["data"]
    assert "# KPI の評価 令和2年度" in summary and "× 13" in summary
    assert "| 山口支部 | 保険証回収率 | 96.30%以上 | 95.82% | × |" in summary
    assert "ge_prev_year" not in summary and "card_recovery_rate" not in summary
    assert _flow_run_name(state) == "evaluate-FY2020-yamaguchi"  # the branch, never its JIS code (35)
    by_kpi = {r["kpi_id"]: r for r in result}
    assert len(result) == 26  # every plan item of the branch, none left unjudged
    assert not [r for r in result if r["status"] == "not_evaluable"]
    assert by_kpi["service_standard_rate"]["mark"] == "○"
    assert by_kpi["card_recovery_rate"]["status"] == "missed"  # 95.82 < 96.30
    assert by_kpi["claim_review_reduction_rate"]["previous"] == 0.281  # from the warehouse, FY2019
    assert by_kpi["single_bid_tender_share"]["status"] == "achieved"  # 0 of 7 tenders single-bid
    assert by_kpi["data_based_advocacy"]["status"] == "missed"  # 実施なし
    assert by_kpi["generic_drug_share"]["actual_period"] == "2020-09"  # measured on September claims
    assert [r["status"] for r in result][: Counter(r["status"] for r in result)["missed"]] == ["missed"] * 13
    # the run and every judgement are stored with their inputs
    stored = rows(loaded, schema.kpi_evaluations)
    assert len(stored) == 26
    inputs = json.loads(next(r for r in stored if r["kpi_id"] == "card_recovery_rate")["inputs"])
    assert inputs == {"target": 96.3, "actual": 95.82, "previous": 95.92}
    run = rows(loaded, schema.evaluation_runs)[0]
    assert (run["evaluated"], run["missed"], run["achieved"], run["not_evaluable"]) == (26, 13, 13, 0)


def test_every_seed_plan_item_evaluates_where_data_is_there(loaded: str) -> None:
    for fiscal_year, quarter, unit in ((2021, None, "10"), (2017, 1, "11"), (2020, None, "35")):
        _, result = evaluate(fiscal_year, quarter, [unit])
        for r in result:
            if r["status"] == "not_evaluable":  # only for lack of data: Gunma FY2021 has no actuals yet
                assert r["reason"] == "no actual for the period", r


def test_saitama_first_quarter_checkup_rate_is_at_risk(loaded: str) -> None:
    state, result = evaluate(2017, 1, ["11"])
    assert _flow_run_name(state) == "evaluate-FY2017-Q1-saitama"
    table = artifacts(state.state_details.flow_run_id)["kpi-evaluation"]["data"]
    table = json.loads(table) if isinstance(table, str) else table
    row = next(r for r in table if r["kpi_id"] == "lifestyle_checkup_rate")
    assert (row["対象"], row["期間"], row["実績"], row["判定"], row["状況"]) == (
        "埼玉支部",
        "平成29年度第1四半期",
        "10.4%",
        "△",
        "要注意",
    )
    checkup = next(r for r in result if r["kpi_id"] == "lifestyle_checkup_rate")
    assert (checkup["actual"], checkup["target_value"], checkup["status"], checkup["mark"]) == (
        10.4,
        49.9,
        "at_risk",
        "△",
    )
    subscribers = next(r for r in result if r["kpi_id"] == "mail_magazine_subscribers")
    assert subscribers["status"] == "on_track" and subscribers["previous"] == 2223


def test_okayama_not_set_municipalities_are_reported(loaded: str) -> None:
    municipal = [
        u["key"] for u in rows(loaded, schema.reporting_units, schema.reporting_units.c.kind == "municipality")
    ]
    state, result = evaluate(2018, units=municipal)
    assert _flow_run_name(state) == "evaluate-FY2018-27-units"
    kurashiki_only, _ = evaluate(2018, units=["33:倉敷市"])
    assert _flow_run_name(kurashiki_only) == "evaluate-FY2018-okayama-倉敷市"  # not 33-倉敷市
    summary = artifacts(state.state_details.flow_run_id)["kpi-evaluation-summary"]["data"]
    assert "33:" not in summary and "nhi_collection_rate" not in summary
    not_set = [r for r in result if r["reason"].startswith("target not set")]
    assert len({r["unit_key"] for r in not_set}) == 7
    assert all(r["mark"] == "—" and "未設定" in r["reason"] for r in not_set)
    kurashiki = next(r for r in result if r["unit_key"] == "33:倉敷市")
    assert (kurashiki["comparator"], kurashiki["actual"], kurashiki["previous"]) == ("gt_prev_year", 93.04, 92.51)
    assert kurashiki["status"] == "achieved"


def test_the_kpi_coverage_grid_from_the_loaded_seed(loaded: str) -> None:
    """`coverage --kind kpi`: 山口's FY2020 year is in (its targeted KPIs only), its quarters are past
    due and missing but Q2, which a September actual fills; the table reads in Japanese."""
    from datetime import date

    from branchkpi.tasks.coverage import grid, grid_table
    from branchkpi.warehouse.engine import connect

    cells = grid(connect(loaded), "kpi", 2020, date(2021, 6, 1))
    by = {(c["unit"], c["period"]): c for c in cells}
    units = {c["unit"] for c in cells}
    assert "yamaguchi" in units and all(u == "yamaguchi" or u.startswith("33:") for u in units)
    assert {c["period"] for c in cells if c["unit"] != "yamaguchi"} == {"FY"}  # a municipality owes its year
    fy = by[("yamaguchi", "FY")]
    assert fy["status"] == "loaded" and 0 < fy["metrics"] <= fy["metrics_expected"] == 26
    assert by[("yamaguchi", "Q2")]["status"] == "loaded" and by[("yamaguchi", "Q1")]["status"] == "missing"
    assert by[("yamaguchi", "Q1")]["due"] == "2020-07-21"
    headers, table = grid_table(cells, "ja")
    assert headers[-1] == "年度" and table[0]["unit"] == "山口" and table[0]["年度"] == "済"
    kurashiki = {
        c["period"]: c for c in grid(connect(loaded), "kpi", 2018, date(2019, 6, 1)) if c["unit_ja"] == "倉敷市"
    }
    assert list(kurashiki) == ["FY"] and kurashiki["FY"]["status"] == "loaded"


def test_missed_and_at_risk_targets_emit_events(loaded: str) -> None:
    """One digest per unit and period: the eight flagged targets of 埼玉 reach the event bus as one event
    whose payload lists each of them in plan order, with its message in Japanese and English. (The
    committee members, a stock ahead of its path from last March, are on track: not flagged.)"""
    state, result = evaluate(2017, 1, ["11"])
    flagged = [r for r in result if r["status"] in ("missed", "at_risk")]
    assert len(flagged) == 8 and "health_committee_members" not in {r["kpi_id"] for r in flagged}
    flow_run_id = str(state.state_details.flow_run_id)
    found: list[Any] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not found:
        found = _events("branchkpi.target.", flow_run_id)
        time.sleep(1)
    assert len(found) == 1
    (event,) = found
    missed = sum(r["status"] == "missed" for r in flagged)
    assert event.event == ("branchkpi.target.missed" if missed else "branchkpi.target.at_risk")
    assert event.resource["branchkpi.unit"] == "11" and event.resource["branchkpi.period"] == "FY2017-Q1"
    assert (event.payload["missed"], event.payload["at_risk"]) == (missed, len(flagged) - missed)
    assert {t["kpi_id"] for t in event.payload["targets"]} == {r["kpi_id"] for r in flagged}
    checkup = next(t for t in event.payload["targets"] if t["kpi_id"] == "lifestyle_checkup_rate")
    assert checkup["actual"] == 10.4 and checkup["mark"] == "△"
    assert "埼玉支部" in event.payload["ja"] and "平成29年度第1四半期" in event.payload["ja"]
    assert "Saitama" in event.payload["en"]


@both_dialects("the evaluation's digest is read and stored with SQL")
def test_an_unchanged_year_reuses_its_evaluation(loaded: str, tmp_path: Path) -> None:
    first, result = evaluate(2020, units=["35"])
    again, reused = evaluate(2020, units=["35"])
    assert "reused" in again.message and again.result().reused
    assert again.result().evaluation_id == first.result().evaluation_id
    assert [r["mark"] for r in reused] == [r["mark"] for r in result]  # read back from kpi_evaluations
    assert {r["kpi_id"]: r["target_text"] for r in reused} == {r["kpi_id"]: r["target_text"] for r in result}
    assert len(rows(loaded, schema.evaluation_runs)) == 1
    summary = artifacts(again.state_details.flow_run_id)["kpi-evaluation-summary"]["data"]
    assert "前回の評価を再利用" in summary and first.result().evaluation_id in summary
    # a corrected actual of the year: evaluated anew, and the changed mark is there
    corrected = tmp_path / "kpi_actuals_corrected.csv"
    corrected.write_text(
        "branch,fiscal_year,period,kpi_id,value,unit\nyamaguchi,2020,FY,card_recovery_rate,97.0,pct\n", encoding="utf-8"
    )
    state, _ = ingest_kpi(corrected)
    assert state.is_completed(), state.message
    third, after = evaluate(2020, units=["35"])
    assert not third.result().reused and len(rows(loaded, schema.evaluation_runs)) == 2
    assert next(r for r in after if r["kpi_id"] == "card_recovery_rate")["status"] == "achieved"  # 97.0 ≥ 96.3
    # another scope or a forced run is never a reuse
    from branchkpi.flows.evaluate_targets import evaluate_targets

    forced = evaluate_targets(fiscal_year=2020, unit_keys=["35"], force=True, return_state=True)
    assert not forced.result().reused and len(rows(loaded, schema.evaluation_runs)) == 3


def test_several_years_in_one_run(loaded: str) -> None:
    from branchkpi.flows.evaluate_targets import evaluate_targets

    state = evaluate_targets(fiscal_year=2017, to_fiscal_year=2021, return_state=True)
    assert state.is_completed(), state.message
    evaluations = state.result()
    assert [e.fiscal_year for e in evaluations] == [2017, 2018, 2019, 2020, 2021]
    runs = rows(loaded, schema.evaluation_runs)
    assert sorted(r["fiscal_year"] for r in runs) == [2017, 2018, 2019, 2020, 2021]  # one stored run per year
    one = evaluate(2020)[1]  # the same as a run of that year alone (reused: nothing changed)
    assert sorted((r["unit_key"], r["kpi_id"], r["mark"]) for r in one) == sorted(
        (r["unit_key"], r["kpi_id"], r["mark"]) for r in evaluations[3].rows
    )
    summary = artifacts(state.state_details.flow_run_id)["kpi-evaluation-summary"]["data"]
    assert "| 平成29年度 |" in summary and "| 令和3年度 |" in summary
    assert summary.startswith("# KPI の評価 平成29年度〜令和3年度")
    assert _flow_run_name(state) == "evaluate-FY2017-FY2021"  # every unit: no scope in the name


def _events(prefix: str, flow_run_id: str) -> list[Any]:
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventRelatedFilter

    async def read() -> list[Any]:
        async with get_client() as client:
            page = await client.read_events(
                filter=EventFilter(
                    event=EventNameFilter(prefix=[prefix]),
                    related=EventRelatedFilter(id=[f"prefect.flow-run.{flow_run_id}"]),
                ),
                limit=50,
            )
            return list(page.events)

    return asyncio.run(read())


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("unknown_comparator.csv", "comparator_known"),
        ("pct_target_as_count.csv", "unit_matches_kpi"),
        ("count_actual_for_pct_kpi.csv", "unit_matches_kpi"),
        ("duplicate_kpi.csv", "one_target_per_kpi"),
        ("unknown_branch.csv", "reporting_unit_known"),
        ("month_outside_year.csv", "period_in_fiscal_year"),
        ("missing_target_value.csv", "target_value_given"),
        ("percentage_over_100.csv", "percentage_in_range"),
    ],
)
def test_bad_target_files_are_rejected_whole(name: str, rule: str, prefect_server: str, warehouse_url: str) -> None:
    good = SEED / "kpi_plan_items.csv"
    state, _ = ingest_kpi(good, FIXTURES / "bad_kpi" / name)
    assert state.is_failed()
    assert "quality gate failed" in state.message and name in state.message
    after = counts(warehouse_url)
    assert after["kpi_targets"] == after["kpi_actuals"] == 0  # nothing half-loaded, not even the good file
    quarantined = rows(warehouse_url, schema.quarantined_rows, schema.quarantined_rows.c.severity == "critical")
    assert [q["rule"] for q in quarantined] == [rule] * len(quarantined)
    assert all((q["file_name"] == name and q["source_row"] == 2) or q["source_row"] == 3 for q in quarantined)


def test_rank_branches_by_deviation_score(loaded: str, tmp_path: Path) -> None:
    from branchkpi.synthetic.ranked import synth_kpi_actuals
    from branchkpi.tasks.rank import rank_branches
    from branchkpi.warehouse.engine import connect

    real = pl.read_csv(SEED / "kpi_actuals.csv", infer_schema=False).with_columns(
        pl.col("fiscal_year").cast(pl.Int32), pl.col("value").cast(pl.Float64)
    )
    synthetic = synth_kpi_actuals(real, [2019, 2020])
    assert synthetic.equals(synth_kpi_actuals(real, [2019, 2020]))  # fixed seed
    path = tmp_path / "kpi_actuals_synthetic.csv"
    synthetic.write_csv(path)
    state, _ = ingest_kpi(path)
    assert state.is_completed(), state.message
    ranked = rank_branches(connect(loaded), "lifestyle_checkup_rate", 2020)
    assert ranked.height == 47
    assert ranked["deviation_score"].mean() == pytest.approx(50)
    assert ranked["deviation_score"].std(ddof=0) == pytest.approx(10)
    yamaguchi = ranked.filter(pl.col("unit_key") == "35").row(0, named=True)
    assert yamaguchi["value"] == 52.6  # the real figure, not a synthetic one
    values = ranked["value"].to_list()
    assert values == sorted(values, reverse=True) and ranked["rank"].to_list()[0] == 1
    with connect(loaded).connect() as conn:
        national = conn.execute(
            sa.select(sa.func.count()).select_from(schema.kpi_actuals).where(schema.kpi_actuals.c.unit_key == "00")
        ).scalar_one()
    assert national == 2  # the national reference stays out of the ranking


def test_filled_xlsx_template_loads_like_the_csv(prefect_server: str, warehouse_url: str, tmp_path: Path) -> None:
    import openpyxl

    from branchkpi.tasks.kpi_template import write_template

    path = write_template(tmp_path)
    book = openpyxl.load_workbook(path)
    targets, actuals = book["目標"], book["実績"]
    targets.append(["山口", "R2", "郵送化率", "", "92.5%以上", ""])  # the KPI by its catalogue name
    targets.append(["35", "2020", "pr_understanding_rate", "", "対前年度以上", ""])
    targets.append(["山口", "令和2年度", "card_recovery_rate", "", "96.30%以上", "%"])
    actuals.append(["yamaguchi", "令和2年度", "FY", "mail_application_rate", "92.8%", "", "", ""])
    actuals.append(["山口", "令和元年度", "通年", "pr_understanding_rate", 46.7, "%", "", ""])
    actuals.append(["山口", "令和2年度", "FY", "pr_understanding_rate", 41.3, "％", "", ""])
    actuals.append(["山口", "令和2年度", "FY", "card_recovery_rate", 0.9582, "%", "令和3年3月末", ""])
    actuals["E5"].number_format = "0.00%"  # a fraction in a cell of Excel's % format: 95.82 %
    book.save(path)
    state, _ = ingest_kpi(path)
    assert state.is_completed(), state.message
    assert counts(warehouse_url)["kpi_targets"] == 3 and counts(warehouse_url)["kpi_actuals"] == 4
    _, result = evaluate(2020, units=["35"])
    marks = {r["kpi_id"]: (r["target_value"], r["comparator"], r["actual"], r["mark"]) for r in result}
    assert marks == {
        "card_recovery_rate": (96.3, "ge", 95.82, "×"),
        "mail_application_rate": (92.5, "ge", 92.8, "○"),
        "pr_understanding_rate": (None, "ge_prev_year", 41.3, "×"),
    }
