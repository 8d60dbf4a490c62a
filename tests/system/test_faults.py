"""Faults a real deployment meets, injected for real: a run's process SIGKILLed at several points,
PostgreSQL stopped before and during a run, the landing file changing while it is read, the disk
under var/ full. After each the warehouse holds a batch whole or not at all, and the next run
completes it. Real processes, real SQLite and PostgreSQL; nothing of ours is mocked."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from branchkpi.warehouse import schema
from branchkpi.warehouse.engine import dispose_all

from ..conftest import TIDY_SEED
from ..faults import ChildRun, assert_batch_complete, batch_statuses, file_values, kill_inside_write, synth_stats
from ..helpers import counts, rows, run_monthly, stats_values
from ..postgres import PostgresServer


@pytest.fixture(scope="module")
def synth_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two fiscal years of 48 regions (6,912 rows): a load long enough to be caught inside."""
    return synth_stats(tmp_path_factory.mktemp("synth"), 2019, 2020)


def _child_env(prefect_server: str, home: Path, url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PREFECT_API_URL": prefect_server,
        "BRANCHKPI_HOME": str(home),
        "BRANCHKPI_WAREHOUSE_URL": url,
        **extra,
    }


# --- SIGKILL mid-run ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dialect", "kill_point"),
    [
        ("sqlite", "landing files"),
        ("sqlite", "inside the load"),
        ("postgresql", "inside the load"),
        ("postgresql", "computing KPIs"),
    ],
    indirect=["dialect"],
)
def test_killed_run_leaves_whole_batch_or_none_and_next_run_completes_it(
    kill_point: str, prefect_server: str, warehouse_url: str, bk_home: Path, synth_files: list[Path]
) -> None:
    expected = file_values(synth_files)
    child = ChildRun(synth_files, _child_env(prefect_server, bk_home, warehouse_url))
    if kill_point == "inside the load":
        child.wait_for("STEP loading")
        kill_inside_write(child, warehouse_url)
    else:
        child.wait_for(f"STEP {kill_point}")
        child.kill()

    after_kill = counts(warehouse_url)
    if kill_point == "inside the load":  # killed holding the write lock: the transaction never committed
        assert after_kill["monthly_stats"] in (0, len(expected)), after_kill
    elif kill_point == "computing KPIs":  # the load had committed, whole
        assert after_kill["monthly_stats"] == len(expected)
    else:
        assert after_kill["monthly_stats"] == 0
    assert after_kill["monthly_stats_audit"] == 0
    assert batch_statuses(warehouse_url) == ["running"]  # its process is gone before it could close it

    state, outcome = run_monthly(*synth_files)
    assert state.is_completed(), state.message
    assert_batch_complete(warehouse_url, expected)
    batches = {r["status"]: r for r in rows(warehouse_url, schema.ingest_batches)}
    assert set(batches) <= {"abandoned", "loaded", "warned", "unchanged"} and "abandoned" in batches, batches
    assert "abandoned" in batches["abandoned"]["message"]
    assert outcome.rows_loaded + outcome.rows_unchanged == len(expected)
    assert counts(warehouse_url)["landed_files"] == len(synth_files)  # each file once
    archive = bk_home / "archive"
    for landed in rows(warehouse_url, schema.landed_files):  # the archive is whole and uncorrupted
        stored = archive / landed["archive_path"]
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == landed["sha256"]


# --- PostgreSQL stopped --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def outage_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL of its own, so stopping it leaves the session's server (and Prefect's) alone."""
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def outage_url(outage_postgres: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = outage_postgres.url(outage_postgres.create_database())
    monkeypatch.setenv("BRANCHKPI_HOME", str(tmp_path / "var"))
    monkeypatch.setenv("BRANCHKPI_WAREHOUSE_URL", url)
    return url


def _flow_task_runs(flow_run_id: str) -> dict[str, int]:
    """Task name -> how many times it ran (1 + retries), from the Prefect API."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        found = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return {t.name.rsplit("-", 1)[0]: t.run_count for t in found}


def test_warehouse_down_when_the_run_starts(
    prefect_server: str, outage_postgres: PostgresServer, outage_url: str, tmp_path: Path
) -> None:
    outage_postgres.pause()
    try:
        child = ChildRun(
            [TIDY_SEED], _child_env(prefect_server, tmp_path / "var", outage_url, BRANCHKPI_DB_RETRY_DELAYS="1,1")
        )
        state, run_id, message = child.finish()
    finally:
        outage_postgres.resume()
    assert state == "FAILED"
    assert "WarehouseUnavailable: the warehouse postgresql+psycopg://branchkpi:***@127.0.0.1:" in message
    assert "is unreachable" in message and outage_postgres.password not in message
    assert _flow_task_runs(run_id)["open-batch"] == 3  # the first try and the two configured retries
    # back up: a re-run loads everything, once
    state, _ = run_monthly(TIDY_SEED)
    assert state.is_completed(), state.message
    assert stats_values(outage_url) == file_values([TIDY_SEED])
    assert batch_statuses(outage_url) == ["warned"]  # the failed start opened no batch (the seed has 6 YoY warnings)


def test_warehouse_lost_mid_run_then_rerun_loads_exactly_once(
    prefect_server: str, outage_postgres: PostgresServer, outage_url: str, tmp_path: Path
) -> None:
    child = ChildRun(
        [TIDY_SEED], _child_env(prefect_server, tmp_path / "var", outage_url, BRANCHKPI_DB_RETRY_DELAYS="1,1")
    )
    child.wait_for("STEP quality gate")  # landed and parsed; the gate reads the warehouse, then the load
    outage_postgres.pause()
    try:
        state, run_id, message = child.finish()
    finally:
        outage_postgres.resume()
    assert state == "FAILED"
    assert "WarehouseUnavailable" in message and "is unreachable" in message, message
    assert max(_flow_task_runs(run_id).values()) == 3  # the step that met the outage was retried twice
    dispose_all()  # the test's own pool held connections the restart cut
    assert counts(outage_url)["monthly_stats"] == 0
    assert batch_statuses(outage_url) == ["running"]  # could not be closed: the warehouse was down

    state, outcome = run_monthly(TIDY_SEED)
    assert state.is_completed(), state.message
    assert outcome.rows_inserted == len(file_values([TIDY_SEED])) and outcome.rows_replaced == 0
    assert stats_values(outage_url) == file_values([TIDY_SEED])
    assert counts(outage_url)["landed_files"] == 1
    assert batch_statuses(outage_url) == ["abandoned", "warned"]  # its flow run had ended Failed
    state, outcome = run_monthly(TIDY_SEED)  # and once more: nothing new
    assert outcome.rows_loaded == 0 and outcome.rows_unchanged == len(file_values([TIDY_SEED]))


def _retry_logged(since: datetime, text: str) -> bool:
    """Whether a run has logged a retry of a step that failed with `text` (Prefect's own log line)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterTimestamp

    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(timestamp=LogFilterTimestamp(after_=since)), limit=200)
    return any(text in log.message and "Retry 1/" in log.message for log in logs)


def test_warehouse_back_within_the_retries_completes_the_run(
    prefect_server: str, outage_postgres: PostgresServer, outage_url: str, tmp_path: Path
) -> None:
    started = datetime.now(UTC)
    child = ChildRun(
        [TIDY_SEED], _child_env(prefect_server, tmp_path / "var", outage_url, BRANCHKPI_DB_RETRY_DELAYS="2,2,2,2,2,2")
    )
    child.wait_for("STEP quality gate")
    outage_postgres.pause()
    try:  # down until a step has met the outage and Prefect has scheduled its retry
        deadline = time.monotonic() + 90
        while not _retry_logged(started, "is unreachable"):
            assert time.monotonic() < deadline and child.process.poll() is None, "\n".join(child.seen)
            time.sleep(0.5)
    finally:
        outage_postgres.resume()
    state, run_id, message = child.finish()
    assert state == "COMPLETED", message
    assert max(_flow_task_runs(run_id).values()) >= 2  # it needed a retry
    dispose_all()
    assert stats_values(outage_url) == file_values([TIDY_SEED])
    assert batch_statuses(outage_url) == ["warned"]


# --- the landing file changes while it is read ---------------------------------------------------

_WRITER = """
import os, sys, time
path, mode = sys.argv[1], sys.argv[2]
with open(path, "ab") as fh:
    while not os.path.exists(path + ".stop"):
        if mode == "append":
            fh.write(b"yamaguchi,x\\n"); fh.flush()
        else:
            size = os.path.getsize(path)
            os.truncate(path, max(size - 4096, 1))
        time.sleep(0.0005)
"""


@pytest.mark.parametrize("mode", ["append", "truncate"])
@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_file_changing_while_read_is_refused(
    mode: str, prefect_server: str, warehouse_url: str, bk_home: Path, tmp_path: Path
) -> None:
    original = TIDY_SEED.read_bytes()
    path = tmp_path / "incoming" / "branch_monthly_stats.csv"
    path.parent.mkdir()
    with open(path, "wb") as fh:  # the seed and 64 MiB of a half-written tail: a read takes a while
        fh.write(original)
        fh.truncate(len(original) + 64 * 1024 * 1024)
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(path), mode])
    try:
        time.sleep(0.2)
        state, outcome = run_monthly(path)
    finally:
        Path(str(path) + ".stop").touch()
        writer.wait(timeout=30)
    assert state.is_failed()
    assert "LandingError: branch_monthly_stats.csv: the file changed while it was being read" in state.message
    assert "refused" in state.message and "sha256" in state.message
    assert counts(warehouse_url)["landed_files"] == 0 and counts(warehouse_url)["monthly_stats"] == 0
    archive = bk_home / "archive"
    assert not archive.exists() or not any(p.is_file() for p in archive.rglob("*"))  # no torn copy kept
    assert outcome is not None and outcome.status == "failed"
    assert batch_statuses(warehouse_url) == ["failed"]

    path.write_bytes(original)  # the sender has finished: the same file lands and loads
    state, outcome = run_monthly(path)
    assert state.is_completed(), state.message
    assert stats_values(warehouse_url) == file_values([TIDY_SEED])


# --- the disk of var/ is full --------------------------------------------------------------------


@pytest.fixture
def small_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """var/ on a 24 MiB tmpfs of its own, with the SQLite warehouse in it."""
    home = tmp_path / "smallvar"
    home.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(home)], capture_output=True, text=True, check=False
    )
    if mounted.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs for the disk-full test (needs root): {mounted.stderr}")
    monkeypatch.setenv("BRANCHKPI_HOME", str(home))
    monkeypatch.setenv("BRANCHKPI_WAREHOUSE_URL", f"sqlite:///{home / 'warehouse.sqlite'}")
    try:
        yield home
    finally:
        dispose_all()
        subprocess.run(["umount", "-l", str(home)], check=False)


def _fill(home: Path, leave_bytes: int) -> Path:
    """Fill the filesystem of `home` up to `leave_bytes` free."""
    filler = home / "filler.bin"
    free = shutil.disk_usage(home).free - leave_bytes
    with open(filler, "wb") as fh:
        while free > 0:
            chunk = min(free, 1 << 20)
            try:
                fh.write(b"\0" * chunk)
                fh.flush()
            except OSError:
                break
            free -= chunk
    return filler


@pytest.mark.parametrize("leave_bytes", [0, 96 * 1024])
def test_disk_full_fails_clearly_and_corrupts_nothing(
    leave_bytes: int, prefect_server: str, small_var: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{small_var / 'warehouse.sqlite'}"
    first = tmp_path / "FY2017.csv"
    second = tmp_path / "FY2018-2020.csv"
    seed = pl.read_csv(TIDY_SEED)
    seed.filter(pl.col("fiscal_year") == 2017).write_csv(first)
    seed.filter(pl.col("fiscal_year") > 2017).write_csv(second)
    state, _ = run_monthly(first)
    assert state.is_completed(), state.message
    before = stats_values(url)
    filler = _fill(small_var, leave_bytes)

    state, _ = run_monthly(second)
    assert state.is_failed()
    assert "StorageFull: no space left on the device" in state.message, state.message
    assert "nothing of this batch was loaded" in state.message
    dispose_all()
    with sqlite3.connect(url.removeprefix("sqlite:///")) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert stats_values(url) == before  # the earlier batch intact, nothing of this one
    assert second.exists()  # the sender's file is never touched
    for part in (small_var / "archive").rglob("*"):  # no half-written archive file
        assert not part.name.endswith(".part"), part
    for landed in rows(url, schema.landed_files):
        stored = small_var / "archive" / landed["archive_path"]
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == landed["sha256"]

    filler.unlink()  # space again: the same file loads, once
    state, _ = run_monthly(second)
    assert state.is_completed(), state.message
    assert stats_values(url) == file_values([first, second])
