"""Operations on the session's `make server` stack: a backfill fans out over two workers (the
script's own and a second one, one run at a time each), both take runs, and the Prefect UI, opened in
headless Chromium, shows the runs by name with their artifacts. Screenshots go to ./var/ui/."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from branchkpi.warehouse import schema

from ..conftest import ROOT, TIDY_SEED, WORKER_WAREHOUSE_SECRET, PrefectStack
from ..helpers import rows, seed_values, stats_values
from ..postgres import PostgresServer

BIN = Path(sys.executable).parent
SCREENSHOTS = ROOT / "var" / "ui"


@pytest.fixture(scope="module")
def second_worker(prefect_stack: PrefectStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second worker of pool branchkpi beside the one `make server` started, as the README says to
    add one (same command on another machine); one run at a time, like the first."""
    log = tmp_path_factory.mktemp("second-worker") / "worker.log"
    env = {**prefect_stack.worker_env, "PREFECT_API_URL": prefect_stack.api_url}
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [str(BIN / "prefect"), "worker", "start", "--pool", "branchkpi", "--name", "second-worker", "--limit", "1"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 120
    while "started!" not in log.read_text(errors="replace"):
        assert worker.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
        time.sleep(0.5)
    yield "second-worker"
    os.killpg(worker.pid, signal.SIGTERM)
    worker.wait(timeout=30)


@dataclass
class FannedOut:
    url: str
    password: str
    cli: subprocess.CompletedProcess[str]
    parent_run_id: str
    year_run_ids: dict[str, str]  # period label of the batch -> flow run id


def backfill_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "branchkpi"), "backfill", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def fanned_out(
    prefect_stack: PrefectStack, second_worker: str, postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> FannedOut:
    """`branchkpi backfill --fan-out` of FY2017–FY2020 into PostgreSQL, the URL in a Secret block that
    the CLI and the workers both read (a URL with a password is never a run parameter)."""
    from prefect.blocks.system import Secret

    url = postgres.url(postgres.create_database())
    Secret(value=url).save(WORKER_WAREHOUSE_SECRET, overwrite=True)
    env = {k: v for k, v in os.environ.items() if k != "BRANCHKPI_WAREHOUSE_URL"}
    env |= {
        "PREFECT_API_URL": prefect_stack.api_url,
        "BRANCHKPI_WAREHOUSE_SECRET": WORKER_WAREHOUSE_SECRET,
        "BRANCHKPI_HOME": str(tmp_path_factory.mktemp("fan-out") / "var"),
    }
    cli = backfill_cli(env, "--from-fy", "2017", "--to-fy", "2020", "--fan-out", str(TIDY_SEED))
    batches = rows(url, schema.ingest_batches)
    parent = next(b["flow_run_id"] for b in batches if b["period"] == "FY2017-FY2020")
    years = {b["period"]: b["flow_run_id"] for b in batches if b["period"] != "FY2017-FY2020"}
    return FannedOut(url, postgres.password, cli, parent, years)


def worker_of_runs(run_ids: list[str], timeout: float = 30) -> dict[str, str]:
    """Which worker executed each flow run, from Prefect's own prefect.worker.executed-flow-run events."""
    from prefect.client.orchestration import get_client

    found: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while set(found) < set(run_ids) and time.monotonic() < deadline:
            runs = {"id": [f"prefect.flow-run.{r}" for r in run_ids]}
            body = {
                "filter": {"event": {"name": ["prefect.worker.executed-flow-run"]}, "any_resource": runs},
                "limit": 50,
            }
            for event in client.request("POST", "/events/filter", json=body).json()["events"]:
                for related in event["related"]:
                    run_id = related["prefect.resource.id"].removeprefix("prefect.flow-run.")
                    if run_id in run_ids:
                        found[run_id] = event["resource"]["prefect.resource.name"]
            time.sleep(1)
    return found


def test_backfill_fans_out_over_two_workers(fanned_out: FannedOut, second_worker: str) -> None:
    cli = fanned_out.cli
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert "FY2017–FY2020: 4 loaded, 0 skipped, 0 failed" in cli.stdout
    assert stats_values(fanned_out.url) == seed_values(TIDY_SEED)  # the years landed in any order: same data
    kpis = rows(fanned_out.url, schema.monthly_kpis, schema.monthly_kpis.c.fiscal_year == 2018)
    assert len(kpis) == 192 and all(k["yoy_pct"] is not None for k in kpis)  # YoY whatever order they ran in
    assert len(fanned_out.year_run_ids) == 4

    runs = list(fanned_out.year_run_ids.values())
    workers = worker_of_runs(runs)
    assert set(workers) == set(runs), f"every year ran on a worker: {workers}"
    assert second_worker in workers.values() and len(set(workers.values())) == 2, workers

    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        year_runs = [client.read_flow_run(r) for r in runs]
        parent = client.read_flow_run(fanned_out.parent_run_id)
    assert {r.deployment_id for r in year_runs} and all(r.state and r.state.is_completed() for r in year_runs)
    assert sorted(r.name for r in year_runs) == [f"monthly-stats-FY{y}-03" for y in range(2017, 2021)]
    for run in [parent, *year_runs]:  # the PostgreSQL password never became a run parameter
        assert fanned_out.password not in json.dumps(run.parameters, default=str)
    assert all(r.parameters["warehouse_url"] is None for r in year_runs)


def test_fanned_out_backfill_resumes(fanned_out: FannedOut, prefect_stack: PrefectStack, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "BRANCHKPI_WAREHOUSE_URL"}
    env |= {
        "PREFECT_API_URL": prefect_stack.api_url,
        "BRANCHKPI_WAREHOUSE_SECRET": WORKER_WAREHOUSE_SECRET,
        "BRANCHKPI_HOME": str(tmp_path / "var"),
    }
    again = backfill_cli(env, "--from-fy", "2017", "--to-fy", "2020", "--fan-out", str(TIDY_SEED))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "FY2017–FY2020: 0 loaded, 4 skipped, 0 failed" in again.stdout  # nothing was submitted


def test_fan_out_on_sqlite_names_the_warehouse(prefect_stack: PrefectStack, second_worker: str, tmp_path: Path) -> None:
    """A URL without a password travels as the year runs' parameter, so the workers write where the
    backfill points, whatever their own configuration says."""
    url = f"sqlite:///{tmp_path / 'var' / 'warehouse.sqlite'}"
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_stack.api_url,
        "BRANCHKPI_WAREHOUSE_URL": url,
        "BRANCHKPI_HOME": str(tmp_path / "var"),
    }
    cli = backfill_cli(env, "--from-fy", "2019", "--to-fy", "2020", "--fan-out", str(TIDY_SEED), "--branch", "35")
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert {r["region_code"] for r in rows(url, schema.monthly_stats)} == {"00", "35"}
    assert len(rows(url, schema.monthly_stats)) == 2 * 2 * 6 * 12


def test_ui_shows_the_runs_and_their_artifacts(
    fanned_out: FannedOut, prefect_stack: PrefectStack, browser: Any
) -> None:
    """Open the UI as an operator would: search the runs by name, open the backfill, see its four
    fiscal-year runs and its artifacts, then open one year's run and see its summary artifact."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    wait = WebDriverWait(browser, 60)

    def visible(css: str) -> Any:
        return wait.until(lambda d: next((e for e in d.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()), False))

    def page_shows(*texts: str) -> None:
        wait.until(lambda d: all(t in d.find_element(By.TAG_NAME, "body").text for t in texts))

    def open_tab(name: str) -> None:
        xpath = f"//*[self::button or @role='tab' or self::li or self::a][normalize-space()='{name}']"
        wait.until(lambda d: next((e for e in d.find_elements(By.XPATH, xpath) if e.is_displayed()), False)).click()

    browser.get(f"{prefect_stack.ui_url}/runs")
    visible("input[placeholder='Search by flow run name']").send_keys("backfill-FY2017-FY2020")
    visible(f"a[href$='/runs/flow-run/{fanned_out.parent_run_id}']").click()  # ours among same-named runs
    wait.until(lambda d: fanned_out.parent_run_id in d.current_url)
    page_shows("backfill-FY2017-FY2020", "Completed")
    browser.save_screenshot(str(SCREENSHOTS / "backfill-run.png"))

    open_tab("Subflow Runs")
    page_shows(*[f"monthly-stats-FY{y}-03" for y in range(2017, 2021)])
    browser.save_screenshot(str(SCREENSHOTS / "backfill-year-runs.png"))

    open_tab("Artifacts")
    page_shows("backfill-summary", "backfill-progress")
    browser.save_screenshot(str(SCREENSHOTS / "backfill-artifacts.png"))

    year_run = fanned_out.year_run_ids["FY2018-03"]
    browser.get(f"{prefect_stack.ui_url}/runs")
    visible("input[placeholder='Search by flow run name']").send_keys("monthly-stats-FY2018-03")
    visible(f"a[href$='/runs/flow-run/{year_run}']").click()
    page_shows("monthly-stats-FY2018-03", "backfill-year")
    open_tab("Artifacts")
    page_shows("monthly-stats-summary")
    browser.save_screenshot(str(SCREENSHOTS / "year-run-artifacts.png"))
    for shot in ("backfill-run", "backfill-year-runs", "backfill-artifacts", "year-run-artifacts"):
        assert (SCREENSHOTS / f"{shot}.png").stat().st_size > 10_000
