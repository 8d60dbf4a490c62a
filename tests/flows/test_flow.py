"""The monthly-branch-stats flow end to end on a real SQLite file, through a real Prefect server:
the seed statistics in both layouts, run names, artifacts, idempotent and corrective re-loads."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from branchkpi.expectations import monthly_stats
from branchkpi.warehouse import schema

from ..conftest import LAYOUT_SEED, SEED, TIDY_SEED, both_dialects
from ..helpers import artifacts, counts, rows, run_monthly, stats_values


def _flow_run(flow_run_id: object):  # type: ignore[no-untyped-def]
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id)


@both_dialects("the load, its audit and the KPI tables are written with the dialect's SQL")
def test_seed_end_to_end(prefect_server: str, warehouse_url: str, bk_home: Path) -> None:
    state, outcome = run_monthly(TIDY_SEED, period="2021-03")
    assert state.is_completed() and state.name == "Warned"  # the 2020 pandemic months jump > 10 %
    assert outcome.rows_landed == outcome.rows_inserted == 576
    assert outcome.expectations_failed == 0 and outcome.expectations_warned == 1
    assert counts(warehouse_url)["monthly_stats"] == 576
    # 6 metrics + 2 derived × 2 regions × 4 fiscal years × 12 months
    assert counts(warehouse_url)["monthly_kpis"] == 8 * 2 * 4 * 12
    assert counts(warehouse_url)["fiscal_year_kpis"] == 8 * 2 * 4

    flow_run = _flow_run(state.state_details.flow_run_id)
    assert flow_run.name == "monthly-stats-FY2020-03"
    assert flow_run.state.name == "Warned"
    task_names = sorted({t.split("-")[0] for t in _task_run_names(flow_run.id)})
    assert task_names == ["close", "compute", "land", "load", "open", "parse", "quality", "quarantine"]

    found = artifacts(flow_run.id)
    assert set(found) >= {"monthly-stats-summary", "monthly-kpis"}, found
    summary = found["monthly-stats-summary"]
    assert summary["type"] == "markdown"
    text = str(summary["data"])
    passed = len(monthly_stats.rules()) - 1  # every rule but yoy_jump, which warns of the spring-2020 months
    for needle in ("受け取った行 | 576", "隔離した行 | 0", f"合格 {passed} / 警告 1 / 不合格 0", "Data Docs"):
        assert needle in text
    table = found["monthly-kpis"]
    assert table["type"] == "table"
    import json

    kpi_rows = json.loads(table["data"]) if isinstance(table["data"], str) else table["data"]
    assert {r["region"] for r in kpi_rows} == {"national", "yamaguchi"}
    assert all(r["fiscal_year"] == 2020 and r["month"] == 3 for r in kpi_rows)
    # as the branch reads it: the unit, the month, the metric and the figure first, with separators and units
    assert list(kpi_rows[0])[:5] == ["支部", "期間", "指標", "実数", "前年同月比"]
    assert {r["支部"] for r in kpi_rows} == {"全国", "山口支部"} and {r["期間"] for r in kpi_rows} == {"令和3年3月"}
    benefits = next(r for r in kpi_rows if r["region"] == "yamaguchi" and r["metric_id"] == "insurance_benefits")
    assert benefits["指標"] == "保険給付費" and benefits["前年同月比"] == benefits["前年同月比（印字）"] != ""
    insured = next(r for r in kpi_rows if r["region"] == "national" and r["metric_id"] == "insured_persons")
    assert re.fullmatch(r"\d{1,3}(,\d{3})+人", insured["実数"]), insured  # e.g. 25,000,000人, never 2.5e+07
    # the year as the 月報 prints it: 1人あたり医療費 summed (年度累計), 平均標準報酬月額 averaged, never summed
    year = {r["metric_id"]: (r["年度累計"], r["年度平均"]) for r in kpi_rows if r["region"] == "yamaguchi"}
    assert (
        re.fullmatch(r"[\d,]+円", year["medical_cost_per_capita_yen"][0]) and not year["medical_cost_per_capita_yen"][1]
    )
    assert not year["avg_standard_monthly_remuneration_yen"][0] and year["insured_persons"][0] == ""
    assert re.fullmatch(r"[\d,]+円", year["avg_standard_monthly_remuneration_yen"][1])

    # Data Docs of this validation exist under var/
    docs = Path(outcome.data_docs_path)
    assert docs.is_file() and bk_home in docs.parents
    assert (bk_home / "data_docs" / "index.html").is_file()


def _task_run_names(flow_run_id: object) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return [r.name for r in runs]


def test_published_layout_loads_the_same_figures(prefect_server: str, warehouse_url: str) -> None:
    state, outcome = run_monthly(LAYOUT_SEED, SEED / "branch_annual_totals.csv")
    assert state.is_completed(), state.message
    assert outcome.rows_inserted == 576 and outcome.totals_loaded == 8
    from_layout = stats_values(warehouse_url)
    printed = {
        r["region_code"] + r["metric"] + str(r["fiscal_year"]) + str(r["month"]): r["yoy_pct_printed"]
        for r in rows(warehouse_url, schema.monthly_stats)
    }

    state, outcome = run_monthly(TIDY_SEED)
    assert state.is_completed()
    assert (outcome.rows_inserted, outcome.rows_replaced, outcome.rows_unchanged) == (0, 0, 576)
    assert stats_values(warehouse_url) == from_layout
    again = {
        r["region_code"] + r["metric"] + str(r["fiscal_year"]) + str(r["month"]): r["yoy_pct_printed"]
        for r in rows(warehouse_url, schema.monthly_stats)
    }
    assert again == printed
    totals = rows(warehouse_url, schema.reported_fiscal_year_totals)
    assert {(t["region_code"], t["fiscal_year"], t["value"], t["yoy_pct_printed"]) for t in totals} >= {
        ("35", 2020, 68710.0, -3.8),
        ("00", 2017, 5808692.0, 5.0),
    }


@both_dialects("the unchanged rows are found by comparing in SQL")
def test_same_file_twice_changes_nothing(prefect_server: str, warehouse_url: str, tmp_path: Path) -> None:
    state, _ = run_monthly(TIDY_SEED)
    assert state.is_completed()
    before = counts(warehouse_url)
    snapshot = rows(warehouse_url, schema.monthly_stats)
    kpis = rows(warehouse_url, schema.monthly_kpis)
    state, outcome = run_monthly(TIDY_SEED)
    assert state.is_completed()
    assert outcome.rows_loaded == 0 and outcome.rows_unchanged == 576
    assert outcome.files[0].previously_loaded
    after = counts(warehouse_url)
    # only the run's own bookkeeping grows: one more batch row and its reported warnings
    for table in (
        "monthly_stats",
        "monthly_stats_audit",
        "monthly_kpis",
        "fiscal_year_kpis",
        "landed_files",
        "reported_fiscal_year_totals",
    ):
        assert after[table] == before[table], table
    assert after["ingest_batches"] == before["ingest_batches"] + 1
    assert rows(warehouse_url, schema.monthly_stats) == snapshot
    assert rows(warehouse_url, schema.monthly_kpis) == kpis


@both_dialects("upserts and the audit trail")
def test_corrected_file_replaces_values_with_audit(prefect_server: str, warehouse_url: str, tmp_path: Path) -> None:
    state, _ = run_monthly(TIDY_SEED)
    original = rows(warehouse_url, schema.landed_files)[0]
    corrected = tmp_path / "branch_monthly_stats_corrected.csv"
    lines = TIDY_SEED.read_text(encoding="utf-8").splitlines()
    # Yamaguchi insured persons FY2020 April: 260511 → 260600 (a late correction, with its printed
    # 前年同月比 corrected too: -0.1 → 0.0, as the gate reconciles the two)
    target = "yamaguchi,山口,insured_persons,被保険者数,2020,4,2020,260511"
    assert sum(line.startswith(target) for line in lines) == 1
    lines = [line.replace(",260511,-0.1,", ",260600,0.0,") if line.startswith(target) else line for line in lines]
    corrected.write_text("\n".join(lines) + "\n", encoding="utf-8")

    state, outcome = run_monthly(corrected)
    assert state.is_completed(), state.message
    assert (outcome.rows_inserted, outcome.rows_replaced, outcome.rows_unchanged) == (0, 1, 575)
    values = stats_values(warehouse_url)
    assert values[("35", "insured_persons", 2020, 4)] == 260600
    audit = rows(warehouse_url, schema.monthly_stats_audit)
    assert len(audit) == 1
    entry = audit[0]
    assert (entry["previous_value"], entry["new_value"]) == (260511, 260600)
    assert entry["previous_source_file_id"] == original["id"]
    new_file = rows(warehouse_url, schema.landed_files, schema.landed_files.c.id == entry["new_source_file_id"])[0]
    assert new_file["sha256"] != original["sha256"] and new_file["file_name"] == corrected.name
    assert entry["replaced_at"] is not None and entry["batch_id"] == outcome.batch_id
    # the KPIs follow the correction: April's YoY and FY2021's... recomputed from the new value
    kpi = rows(
        warehouse_url,
        schema.monthly_kpis,
        schema.monthly_kpis.c.region_code == "35",
        schema.monthly_kpis.c.metric == "insured_persons",
        schema.monthly_kpis.c.fiscal_year == 2020,
        schema.monthly_kpis.c.month == 4,
    )[0]
    assert kpi["value"] == 260600
    assert kpi["yoy_pct"] == pytest.approx((260600 / 260656 - 1) * 100)
    # both files stay archived
    assert len(rows(warehouse_url, schema.landed_files)) == 2


def test_landing_folder_is_emptied_into_the_archive(prefect_server: str, warehouse_url: str, bk_home: Path) -> None:
    landing = bk_home / "landing"
    landing.mkdir()
    shutil.copy(TIDY_SEED, landing / TIDY_SEED.name)
    state, outcome = run_monthly(period="2020-04")
    assert state.is_completed()
    assert outcome.period == "FY2020-04"
    assert list(landing.iterdir()) == []
    archived = list((bk_home / "archive").rglob("*.csv"))
    assert len(archived) == 1 and archived[0].read_bytes() == TIDY_SEED.read_bytes()
    assert _flow_run(state.state_details.flow_run_id).name == "monthly-stats-FY2020-04"

    # Nothing waiting: the run for a loaded month still publishes that month's KPIs.
    state, outcome = run_monthly(period="2020-05")
    assert state.is_completed() and outcome.status == "unchanged" and not outcome.files
    assert "monthly-kpis" in artifacts(state.state_details.flow_run_id)
    # …but a month with no data at all fails, saying why.
    state, outcome = run_monthly(period="2023-05")
    assert state.is_failed()
    assert "no data" in state.message


@both_dialects("one transaction for the load and the KPIs")
def test_kpis_roll_back_with_the_load(prefect_server: str, warehouse_url: str) -> None:
    """The warehouse never holds half a batch: a database error inside the load rolls it back whole."""
    from branchkpi.warehouse import loads
    from branchkpi.warehouse.engine import connect

    _state, _ = run_monthly(TIDY_SEED)
    before = counts(warehouse_url)
    engine = connect(warehouse_url)
    with engine.begin() as conn:  # make the audit insert fail inside the load's transaction
        if conn.dialect.name == "sqlite":
            conn.execute(
                sa.text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON monthly_stats_audit "
                    "BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END"
                )
            )
        else:
            conn.execute(
                sa.text(
                    "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'disk full (simulated)'; END $$"
                )
            )
            conn.execute(
                sa.text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON monthly_stats_audit FOR EACH ROW EXECUTE FUNCTION refuse()"
                )
            )
    from branchkpi.tasks.landing import LandedFile
    from branchkpi.tasks.parse.files import parse_file

    content = TIDY_SEED.read_bytes().replace(b",260511,", b",260600,")
    parsed = parse_file(LandedFile(1, "x" * 64, "fix.csv", TIDY_SEED, len(content), False, content))
    with pytest.raises(sa.exc.DBAPIError, match="disk full"):
        loads.load_statistics(engine, parsed.observations, parsed.reported_totals, _batch_id(warehouse_url), [1])
    assert counts(warehouse_url) == before
    assert stats_values(warehouse_url)[("35", "insured_persons", 2020, 4)] == 260511


def _batch_id(url: str) -> str:
    return rows(url, schema.ingest_batches)[0]["id"]


def test_no_input_is_not_a_failed_gate(prefect_server: str, warehouse_url: str, bk_home: Path) -> None:
    """A fresh BRANCHKPI_HOME without a landing folder: a month the warehouse has is republished (as
    docs/decisions.md says), a month it lacks fails saying there was nothing to load, not that a gate
    failed (no gate ran)."""
    assert not (bk_home / "landing").exists()
    state, outcome = run_monthly(period="2019-03")
    assert state.is_failed() and outcome.failure == "no input"
    assert outcome.status_line == "FAILED: nothing to load" and "quality gate" not in state.message
    assert "no data for FY2018-03 in the warehouse" in state.message

    run_monthly(TIDY_SEED, period="2021-03")
    state, outcome = run_monthly(period="2019-03")  # nothing waiting: the month's KPIs are republished
    assert state.is_completed(), state.message
    assert outcome.status == "unchanged" and "published the warehouse's KPIs of FY2018-03" in state.message
    assert all(b["status"] != "running" for b in rows(warehouse_url, schema.ingest_batches))
