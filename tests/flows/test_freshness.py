"""The freshness flow (提出状況の監視) as its weekday deployment runs it: over a warehouse holding the
seed (山口 and 全国, FY2017–FY2020) it finds the other 46 branches' FY2020 months past due and announces
each period once (one event naming the units when more than a few are late), says nothing new the next
day, and announces the one that then arrives late; the grid is its run's table artifact."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from ..conftest import TIDY_SEED
from ..helpers import artifacts, run_monthly

pytestmark = pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)  # the grid's reads: tests/flows/…kpi


def _events(name: str, flow_run_id: Any, expected: int, timeout: float = 20) -> list[Any]:
    from prefect.client.orchestration import get_client

    query = {
        "filter": {
            "event": {"name": [name]},
            "related": {"id": [f"prefect.flow-run.{flow_run_id}"]},
            "occurred": {"since": "2000-01-01T00:00:00Z"},
        },
        "limit": 50,
    }
    deadline, found = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        with get_client(sync_client=True) as client:
            found = client.request("POST", "/events/filter", json=query).json()["events"]
        if len(found) >= expected:
            break
        time.sleep(0.5)
    time.sleep(1 if expected == 0 else 0)
    return found


def _check(as_of: str, warehouse_url: str) -> tuple[Any, Any]:
    from branchkpi.flows.freshness import freshness

    state = freshness(as_of=as_of, warehouse_url=warehouse_url, return_state=True)
    assert state.is_completed(), state.message
    stats = next(r for r in state.result() if r.kind == "stats")
    return state, stats


def test_overdue_is_announced_once_and_its_late_arrival_too(
    prefect_server: str, warehouse_url: str, tmp_path: Path
) -> None:
    state, _ = run_monthly(TIDY_SEED)
    assert not state.is_failed(), state.message

    first, stats = _check("2021-05-10", warehouse_url)
    assert len(stats.missing) == len(stats.newly_overdue) == 46 * 12  # FY2020: every month of 46 branches
    run_id = first.state_details.flow_run_id
    overdue = _events("branchkpi.data.overdue", run_id, 12)
    assert len(overdue) == 12  # one per month of FY2020, naming its 46 units
    april = next(e for e in overdue if e["payload"]["period"] == "FY2020-04")
    assert len(april["payload"]["units"]) == 46 and "hokkaido" in april["payload"]["units"]
    assert "yamaguchi" not in april["payload"]["units"] and "令和2年4月" in april["payload"]["ja"]
    table = artifacts(run_id)["coverage-stats-fy2020"]["data"]
    grid = {row["unit"]: row for row in (json.loads(table) if isinstance(table, str) else table)}
    assert len(grid) == 48 and set(grid["北海道"].values()) == {"北海道", "未着"}
    assert grid["山口"]["4月"] in ("済", "警") and grid["全国"]["3月"] in ("済", "警")
    page = artifacts(run_id)["status"]  # the one screen of `branchkpi status`, in the UI
    assert page["type"] == "markdown" and page["data"].startswith("# 提出状況と実行予定 — 令和2年度、令和3年度")
    assert "| 令和2年4月 | 期限超過 | 2/48 | 2020-05-19 | 北海道, 青森, 岩手, 宮城, 秋田 ほか 41 |" in page["data"]
    assert "## 実行" in page["data"] and "monthly-branch-stats/monthly" in page["data"]

    # the next weekday: still missing, nothing new to announce
    second, stats = _check("2021-05-11", warehouse_url)
    assert len(stats.missing) == 46 * 12 and stats.newly_overdue == []
    assert _events("branchkpi.data.overdue", second.state_details.flow_run_id, 0) == []

    # 北海道's April arrives (late): announced once as arrived
    hokkaido = tmp_path / "hokkaido_2020_04.csv"
    seed = pl.read_csv(TIDY_SEED, infer_schema=False)
    april_rows = seed.filter(
        (pl.col("region") == "yamaguchi") & (pl.col("fiscal_year") == "2020") & (pl.col("month") == "4")
    )
    april_rows.with_columns(
        region=pl.lit("hokkaido"), region_ja=pl.lit("北海道"), yoy_pct_printed=pl.lit("")
    ).write_csv(hokkaido)
    state, _ = run_monthly(hokkaido)
    assert not state.is_failed(), state.message
    third, stats = _check("2021-05-12", warehouse_url)
    assert [(c["unit"], c["period"]) for c in stats.arrived_late] == [("hokkaido", "2020-04")]
    (arrived,) = _events("branchkpi.data.arrived-late", third.state_details.flow_run_id, 1)
    assert arrived["resource"]["branchkpi.unit"] == "hokkaido" and "北海道" in arrived["payload"]["ja"]
    _, stats = _check("2021-05-13", warehouse_url)
    assert stats.arrived_late == [] and len(stats.missing) == 46 * 12 - 1
