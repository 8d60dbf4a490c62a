"""The landing sensor for real: the session's server with its worker and the watcher `scripts/server.sh`
starts beside it (`branchkpi watch` on the worker's landing folder). A file copied into landing is
loaded by a run of `monthly` that the deployment's trigger started, within 60 s; three files copied
within seconds are one run; KPI files go to `quarterly-actuals`; a file written slowly in chunks is
ingested once, whole; a copy of a loaded file makes no run; a bad file makes one failed run and one
alert; a watcher stopped and started again announces what arrived meanwhile and nothing twice; a
second watcher on the same folder stands by; `branchkpi status` shows what is in, what is late and
what runs next. The runs on the worker write into the warehouse of the workers' Secret block, which
each test points at a new SQLite file."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from branchkpi.tasks.landing import is_landable
from branchkpi.warehouse import schema

from ..conftest import FIXTURES, ROOT, SEED, TIDY_SEED, WORKER_WAREHOUSE_SECRET, PrefectStack
from ..flows.test_alerts import wait_for
from ..helpers import Receiver, counts, rows

EVENT = "branchkpi.landing.file-arrived"
BRANCHKPI = str(Path(sys.executable).with_name("branchkpi"))


def _clear(folder: Path) -> None:
    for path in folder.glob("*") if folder.is_dir() else []:
        if path.is_file() and is_landable(path):
            path.unlink()


@pytest.fixture
def webhook() -> Iterator[Receiver]:
    """A real HTTP receiver for the alerts; the automations removed afterwards."""
    hook = Receiver()
    yield hook
    from branchkpi.flows.automations import uninstall

    uninstall()
    hook.close()


@pytest.fixture
def sensor_warehouse(prefect_stack: PrefectStack, tmp_path: Path) -> Iterator[str]:
    """A new SQLite warehouse for the worker's runs (and the watcher's checksum look-up), through the
    workers' Secret block; the worker's landing folder empty before and after."""
    from prefect.blocks.system import Secret

    (tmp_path / "sensor").mkdir()
    url = f"sqlite:///{tmp_path / 'sensor' / 'warehouse.sqlite'}"
    Secret(value=url).save(WORKER_WAREHOUSE_SECRET, overwrite=True)
    _clear(prefect_stack.landing_dir)
    prefect_stack.landing_dir.mkdir(parents=True, exist_ok=True)
    yield url
    _clear(prefect_stack.landing_dir)


def sensor_runs(deployment: str, since: datetime, folder: Path) -> list[Any]:
    """The runs of a deployment created since `since` for files of `folder` (the trigger's `paths`)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId, FlowRunFilter
    from prefect.client.schemas.filters import FlowRunFilterExpectedStartTime as Expected

    with get_client(sync_client=True) as client:
        deployment_id = client.read_deployment_by_name(deployment).id
        found = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
            flow_run_filter=FlowRunFilter(expected_start_time=Expected(after_=since)),
        )
    return [
        r
        for r in found
        if not r.auto_scheduled and all(str(p).startswith(str(folder)) for p in (r.parameters.get("paths") or [""]))
    ]


def wait_finished(deployment: str, since: datetime, folder: Path, count: int = 1, timeout: float = 90) -> list[Any]:
    deadline, found = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        found = sensor_runs(deployment, since, folder)
        if len(found) >= count and all(r.state and r.state.is_final() for r in found):
            return found
        time.sleep(1)
    raise AssertionError(f"{len(found)} of {count} run(s) finished: {[(r.name, r.state_name) for r in found]}")


def arrival_events(since: datetime) -> list[dict[str, Any]]:
    from prefect.client.orchestration import get_client

    query = {"filter": {"event": {"name": [EVENT]}, "occurred": {"since": since.isoformat()}}, "limit": 50}
    with get_client(sync_client=True) as client:
        return list(client.request("POST", "/events/filter", json=query).json()["events"])


def announced(sha256: str, since: datetime) -> int:
    """How many arrival events named the file with this checksum."""
    file_id = f"branchkpi.landing.file.{sha256}"
    return sum(any(r["prefect.resource.id"] == file_id for r in e["related"]) for e in arrival_events(since))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_file_copied_into_landing_is_loaded_within_60_seconds(
    prefect_stack: PrefectStack, sensor_warehouse: str, tmp_path: Path
) -> None:
    landing = prefect_stack.landing_dir
    since = datetime.now(UTC)
    shutil.copy(TIDY_SEED, landing / TIDY_SEED.name)
    (run,) = wait_finished("monthly-branch-stats/monthly", since, landing, timeout=75)
    assert run.state.is_completed() and run.state_name == "Warned", run.state  # the seed's real 2020 YoY jumps
    assert run.end_time is not None and (run.end_time - since).total_seconds() < 60, run.end_time - since
    assert run.parameters["paths"] == [str(landing / TIDY_SEED.name)]
    assert counts(sensor_warehouse)["monthly_stats"] == 576  # its rows are in the warehouse
    assert not (landing / TIDY_SEED.name).exists()  # moved into the archive
    (event,) = [e for e in arrival_events(since) if e["payload"]["paths"] == run.parameters["paths"]]
    assert event["resource"]["branchkpi.landing.kind"] == "statistics"
    assert [r["prefect.resource.id"] for r in event["related"]] == [f"branchkpi.landing.file.{sha(TIDY_SEED)}"]

    # the same file again (same checksum): no new run
    again = datetime.now(UTC)
    shutil.copy(TIDY_SEED, landing / "again.csv")
    deadline = time.monotonic() + 30
    while "not announced: again.csv (already loaded" not in prefect_stack.watcher_log.read_text():
        assert time.monotonic() < deadline, prefect_stack.watcher_log.read_text()[-2000:]
        time.sleep(1)
    time.sleep(3)
    assert sensor_runs("monthly-branch-stats/monthly", again, landing) == []
    assert announced(sha(TIDY_SEED), again) == 0


def fiscal_year_files(folder: Path, years: list[str]) -> list[Path]:
    """The seed split into one file per fiscal year (one send of several files, no month twice)."""
    folder.mkdir(parents=True, exist_ok=True)
    seed = pl.read_csv(TIDY_SEED, infer_schema=False)
    out = []
    for fy in years:
        path = folder / f"monthly_stats_FY{fy}.csv"
        seed.filter(pl.col("fiscal_year") == fy).write_csv(path)
        out.append(path)
    return out


def test_three_files_copied_within_seconds_are_one_run(
    prefect_stack: PrefectStack, sensor_warehouse: str, tmp_path: Path
) -> None:
    landing = prefect_stack.landing_dir
    files = fiscal_year_files(tmp_path / "send", ["2017", "2018", "2019"])
    since = datetime.now(UTC)
    for path in files:
        shutil.copy(path, landing / path.name)
        time.sleep(1.5)
    (run,) = wait_finished("monthly-branch-stats/monthly", since, landing)
    assert run.state.is_completed(), run.state
    assert sorted(run.parameters["paths"]) == sorted(str(landing / p.name) for p in files)
    time.sleep(8)  # no second run follows for any of them
    assert len(sensor_runs("monthly-branch-stats/monthly", since, landing)) == 1
    (batch,) = rows(sensor_warehouse, schema.ingest_batches)
    assert batch["files"] == 3 and batch["flow_run_id"] == str(run.id)
    assert counts(sensor_warehouse)["monthly_stats"] == 3 * 144


def test_kpi_files_start_the_quarterly_actuals_run(
    prefect_stack: PrefectStack, sensor_warehouse: str, tmp_path: Path
) -> None:
    """A send of KPI files (plan targets and actuals) goes to `quarterly-actuals`, not to `monthly`."""
    landing = prefect_stack.landing_dir
    since = datetime.now(UTC)
    for name in ("kpi_plan_items.csv", "kpi_actuals.csv"):
        shutil.copy(SEED / name, landing / name)
    (run,) = wait_finished("quarterly-kpi-actuals/quarterly-actuals", since, landing)
    assert run.state.is_completed(), run.state
    assert sorted(Path(p).name for p in run.parameters["paths"]) == ["kpi_actuals.csv", "kpi_plan_items.csv"]
    loaded = counts(sensor_warehouse)
    assert loaded["kpi_targets"] > 0 and loaded["kpi_actuals"] > 0
    assert sensor_runs("monthly-branch-stats/monthly", since, landing) == []
    (event,) = [e for e in arrival_events(since) if e["payload"]["paths"] == run.parameters["paths"]]
    assert event["resource"]["branchkpi.landing.kind"] == "kpi" and len(event["related"]) == 2


def test_a_file_written_slowly_is_ingested_once_and_whole(
    prefect_stack: PrefectStack, sensor_warehouse: str, tmp_path: Path
) -> None:
    """Written in six chunks 2 s apart (12 s in all, each pause shorter than the quiet period): the
    watcher waits for the last chunk, the run lands the whole file, once."""
    landing = prefect_stack.landing_dir
    (whole,) = fiscal_year_files(tmp_path / "send", ["2020"])
    content = whole.read_bytes()
    since = datetime.now(UTC)
    target = landing / whole.name
    step = len(content) // 6 + 1
    with target.open("wb") as out:
        for first in range(0, len(content), step):
            out.write(content[first : first + step])
            out.flush()
            assert sensor_runs("monthly-branch-stats/monthly", since, landing) == [], "picked up half-written"
            time.sleep(2)
    (run,) = wait_finished("monthly-branch-stats/monthly", since, landing)
    assert run.state.is_completed(), run.state
    time.sleep(8)
    assert len(sensor_runs("monthly-branch-stats/monthly", since, landing)) == 1
    (landed,) = rows(sensor_warehouse, schema.landed_files)
    assert landed["sha256"] == hashlib.sha256(content).hexdigest() and landed["size_bytes"] == len(content)
    assert counts(sensor_warehouse)["monthly_stats"] == 144
    assert announced(hashlib.sha256(content).hexdigest(), since) == 1


def test_a_bad_file_makes_one_failed_run_and_one_alert(
    prefect_stack: PrefectStack, sensor_warehouse: str, webhook: Receiver
) -> None:
    from typer.testing import CliRunner

    from branchkpi.cli import app

    received = webhook.received
    result = CliRunner().invoke(app, ["alerts", "install", "--webhook", webhook.url, "--allow-private-urls"])
    assert result.exit_code == 0, result.output
    landing = prefect_stack.landing_dir
    since = datetime.now(UTC)
    shutil.copy(FIXTURES / "bad_inputs" / "negative_count.csv", landing / "negative_count.csv")
    (run,) = wait_finished("monthly-branch-stats/monthly", since, landing)
    assert run.state.is_failed(), run.state
    wait_for(received, 1)
    time.sleep(5)  # a second alert has its chance to come
    assert len(received) == 1, [m["text"] for m in received]
    text = received[0]["text"]
    assert text.startswith("[branchkpi] データ品質エラー") and "negative_count.csv" in text and "山口支部" in text
    assert f"/runs/flow-run/{run.id}" in text


def start_watcher(prefect_stack: PrefectStack, home: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**prefect_stack.worker_env, "PREFECT_API_URL": prefect_stack.api_url, "BRANCHKPI_HOME": str(home)}
    with log.open("ab") as out:
        return subprocess.Popen(
            [BRANCHKPI, "watch"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def wait_log(log: Path, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline, f"{text!r} not in {log}:\n{log.read_text()[-2000:]}"
        time.sleep(0.5)


def test_a_restarted_watcher_announces_what_came_meanwhile_and_nothing_twice(
    prefect_stack: PrefectStack, sensor_warehouse: str, tmp_path: Path
) -> None:
    """A watcher of its own (another host's view of a shared folder: the worker copies files from it
    rather than moving them, so the first file is still there when the watcher starts again)."""
    home, log = tmp_path / "host-b", tmp_path / "watcher.log"
    landing = home / "landing"
    first, second = fiscal_year_files(tmp_path / "send", ["2018", "2019"])
    watcher = start_watcher(prefect_stack, home, log)
    standby = None
    try:
        wait_log(log, "watching")
        since = datetime.now(UTC)
        shutil.copy(first, landing / first.name)
        (run,) = wait_finished("monthly-branch-stats/monthly", since, landing)
        assert run.state.is_completed(), run.state
        stop(watcher)

        shutil.copy(second, landing / second.name)  # arrives while no watcher runs
        down = datetime.now(UTC)
        time.sleep(2)
        watcher = start_watcher(prefect_stack, home, log)
        (run,) = wait_finished("monthly-branch-stats/monthly", down, landing)
        assert run.state.is_completed() and run.parameters["paths"] == [str(landing / second.name)]
        assert announced(sha(first), since) == 1 and announced(sha(second), since) == 1
        assert counts(sensor_warehouse)["monthly_stats"] == 2 * 144

        # a second watcher on the same folder waits for the first
        standby = start_watcher(prefect_stack, home, tmp_path / "standby.log")
        wait_log(tmp_path / "standby.log", "standing by until it stops", timeout=30)
        assert standby.poll() is None
    finally:
        stop(watcher)
        if standby is not None:
            stop(standby)


def test_status_shows_what_is_in_what_is_late_and_what_runs_next(
    prefect_stack: PrefectStack, sensor_warehouse: str
) -> None:
    """`branchkpi status` over a warehouse holding the seed (山口 and 全国) that the landing sensor's run
    loaded, on the session's server, with a copy of the loaded file waiting in landing (the watcher
    leaves it: already loaded)."""
    import json

    landing = prefect_stack.landing_dir
    since = datetime.now(UTC)
    shutil.copy(TIDY_SEED, landing / TIDY_SEED.name)
    (run,) = wait_finished("monthly-branch-stats/monthly", since, landing)
    shutil.copy(TIDY_SEED, landing / "again.csv")
    wait_log(prefect_stack.watcher_log, "not announced: again.csv (already loaded", timeout=30)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BRANCHKPI_")},
        "PREFECT_API_URL": prefect_stack.api_url,
        "BRANCHKPI_HOME": prefect_stack.worker_env["BRANCHKPI_HOME"],
        "BRANCHKPI_WAREHOUSE_URL": sensor_warehouse,
    }

    def status(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [BRANCHKPI, "status", "--as-of", "2021-05-10", *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    out = status("--fiscal-year", "令和2年度", "--format", "json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    stats = [p for p in data["periods"] if p["kind"] == "stats"]
    assert len(stats) == 12 and {p["status"] for p in stats} == {"overdue"}
    assert (stats[0]["period"], stats[0]["arrived"], stats[0]["expected"]) == ("2020-04", 2, 48)
    monthly = next(d for d in data["deployments"] if d["name"] == "monthly-branch-stats/monthly")
    assert monthly["last"]["run"] == run.name and monthly["last"]["state"] == "Warned"
    assert monthly["next"]["period"].startswith("FY") and monthly["next"]["role"] in ("due", "pickup")
    (waiting,) = data["waiting"]
    assert waiting["name"] == "again.csv" and waiting["kind"] == "statistics" and waiting["loaded_batch"]

    out = status("--fiscal-year", "2020")
    assert out.returncode == 0, out.stderr
    assert "提出状況と実行予定 — 令和2年度" in out.stdout and "令和2年4月" in out.stdout and "期限超過" in out.stdout
    assert "monthly-branch-stats/monthly" in out.stdout and "読込済みの写し" in out.stdout
    out = status("--fiscal-year", "2020", "--lang", "en")
    assert out.returncode == 0 and "overdue" in out.stdout and "Landing folder" in out.stdout
