"""Backfill of prior fiscal years: one monthly run per year, resumable (years already loaded from
the same files are skipped), idempotent, with a progress artifact; on both dialects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from branchkpi.warehouse import schema

from ..conftest import TIDY_SEED, both_dialects
from ..helpers import artifacts, counts, rows, seed_values, stats_values


def run_backfill(from_fy: int, to_fy: int, **kw: Any) -> tuple[Any, list[dict[str, Any]]]:
    from branchkpi.flows.backfill import backfill

    state = backfill(from_fy=from_fy, to_fy=to_fy, paths=[str(TIDY_SEED)], return_state=True, **kw)
    return state, state.result(raise_on_failure=False)


@both_dialects("the backfill log and the upserts")
def test_backfill_resumes_and_is_idempotent(prefect_server: str, warehouse_url: str) -> None:
    state, results = run_backfill(2017, 2018)  # "interrupted" after two years
    assert state.is_completed(), state.message
    assert [(r["fiscal_year"], r["rows_loaded"]) for r in results] == [(2017, 144), (2018, 144)]
    assert counts(warehouse_url)["monthly_stats"] == 288

    state, results = run_backfill(2017, 2020)  # resumed: the first two years are skipped
    assert [r["status"] for r in results][:2] == ["skipped", "skipped"]
    assert [r["rows_loaded"] for r in results] == [0, 0, 144, 144]
    assert state.message == "FY2017–FY2020: 2 loaded, 2 skipped, 0 failed"
    progress = artifacts(state.state_details.flow_run_id)["backfill-progress"]
    assert progress["type"] == "progress" and float(progress["data"]) == 100.0

    assert stats_values(warehouse_url) == seed_values(TIDY_SEED)
    after = counts(warehouse_url)
    assert after["monthly_kpis"] == 768 and after["monthly_stats_audit"] == 0
    # FY2018's YoY was computed once FY2017 was there, whatever the order of the years
    kpi = rows(warehouse_url, schema.monthly_kpis, schema.monthly_kpis.c.fiscal_year == 2018)
    assert all(k["yoy_pct"] is not None for k in kpi)

    state, results = run_backfill(2017, 2020, force=True)  # forced: reloaded, nothing changes
    assert [r["status"] for r in results] == ["unchanged", "unchanged", "warned", "warned"]
    bookkeeping = {"ingest_batches": 0, "quarantined_rows": 0}  # each run logs its batch and its warnings
    assert counts(warehouse_url) | bookkeeping == after | bookkeeping
    assert len(rows(warehouse_url, schema.backfill_log)) == 4


def test_backfill_of_some_branches(prefect_server: str, warehouse_url: str, tmp_path: Path) -> None:
    state, _ = run_backfill(2019, 2020, branches=["山口"])
    assert state.is_completed()
    loaded = {r["region_code"] for r in rows(warehouse_url, schema.monthly_stats)}
    assert loaded == {"35", "00"}  # the branch, and the national total it is checked against
    assert {r["scope"] for r in rows(warehouse_url, schema.backfill_log)} == {"00,35"}


def test_a_bad_year_fails_alone(prefect_server: str, warehouse_url: str, tmp_path: Path) -> None:
    """The years go as one batch; when it fails the gate, they are loaded one by one, so the good
    years load and the report names the bad one (nothing of the bad year is in the warehouse)."""
    lines = TIDY_SEED.read_text(encoding="utf-8").splitlines()
    bad = next(i for i, line in enumerate(lines) if ",2019,7,2019," in line)
    cells = lines[bad].split(",")
    cells[7] = "12x34"  # a value that is not a number
    lines[bad] = ",".join(cells)
    broken = tmp_path / "branch_monthly_stats_broken.csv"
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    from branchkpi.flows.backfill import backfill

    state = backfill(from_fy=2017, to_fy=2020, paths=[str(broken)], return_state=True)
    results = state.result(raise_on_failure=False)
    assert state.is_failed() and "3 loaded, 0 skipped, 1 failed" in state.message
    assert "first failure FY2019" in state.message and "12x34" in state.message
    assert results[2]["status"] == "failed" and [r["rows_loaded"] for r in results] == [144, 144, 0, 144]
    loaded = {r["fiscal_year"] for r in rows(warehouse_url, schema.monthly_stats)}
    assert loaded == {2017, 2018, 2020}
    # the corrected file: FY2019 loads, the other years are there already
    state, results = run_backfill(2017, 2020)
    assert state.is_completed() and [r["rows_loaded"] for r in results] == [0, 0, 144, 0]
    assert counts(warehouse_url)["monthly_stats"] == 4 * 144


def test_backfill_books_its_own_batch_and_moves_its_progress_year_by_year(
    prefect_server: str, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The backfill's batch is closed with what it did; its progress artifact moves as each year is
    booked (not 0 until the end; here every year: a real backfill's moves at most once a second); a
    year of warnings makes the whole backfill Warned; and "loaded" counts the years that really
    loaded rows."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from branchkpi.flows import progress
    from branchkpi.flows.backfill_artifacts import BackfillProgress

    monkeypatch.setattr(BackfillProgress, "EVERY_SECONDS", 0.0)

    seen: list[float] = []

    def on_year(_label: str) -> None:  # the progress artifact as it stands when each year is booked
        with get_client(sync_client=True) as client:
            (artifact,) = client.read_latest_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["backfill-progress"])), limit=1
            )
        seen.append(float(artifact.data))  # type: ignore[arg-type]

    progress.subscribe(on_year, channel="backfill")
    try:
        state, results = run_backfill(2017, 2020)
    finally:
        progress.unsubscribe(on_year)
    assert seen == [25.0, 50.0, 75.0, 100.0]
    assert [r["status"] for r in results] == ["loaded", "loaded", "warned", "warned"]  # 2020's real YoY jumps
    assert state.is_completed() and state.name == "Warned", (state.name, state.message)
    assert state.message == "FY2017–FY2020: 4 loaded, 0 skipped, 0 failed"
    (batch,) = [b for b in rows(warehouse_url, schema.ingest_batches) if b["period"] == "FY2017-FY2020"]
    assert batch["status"] == "warned" and batch["finished_at"] is not None
    assert batch["rows_inserted"] == 4 * 144 and batch["message"] == state.message

    state, results = run_backfill(2017, 2020, force=True)  # everything unchanged: nothing "loaded"
    assert [r["rows_loaded"] for r in results] == [0, 0, 0, 0]
    assert state.message == "FY2017–FY2020: 0 loaded, 4 unchanged, 0 skipped, 0 failed"
    assert all(b["status"] != "running" for b in rows(warehouse_url, schema.ingest_batches))
