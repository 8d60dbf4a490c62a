"""Runs started at once never interleave their writes: a second run waits for the warehouse's write
lock and then finds nothing new; eight runs over four periods end as four sequential runs would, on
SQLite (with "busy" retries when the lock is held too long) and on PostgreSQL."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from branchkpi.domain.regions import resolve_region
from branchkpi.warehouse import schema
from branchkpi.warehouse.engine import connect

from ..conftest import FIXTURES, ROOT, TIDY_SEED, PrefectStack, both_dialects
from ..helpers import Receiver, counts, rows, run_monthly, stats_values

BRANCHKPI = str(Path(sys.executable).with_name("branchkpi"))


@both_dialects("the write lock: an advisory lock or BEGIN IMMEDIATE")
def test_two_runs_for_one_period_equal_one_run(prefect_server: str, warehouse_url: str, bk_home: Path) -> None:
    env = {**os.environ, "PREFECT_API_URL": prefect_server}
    runs = [
        subprocess.Popen(
            [BRANCHKPI, "run", "monthly", "--period", "2021-03", str(TIDY_SEED)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [r.communicate(timeout=300) for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outputs
    for _, stderr in outputs:
        assert "Traceback" not in stderr, stderr
    after = counts(warehouse_url)
    assert after["monthly_stats"] == 576 and after["monthly_stats_audit"] == 0
    assert after["landed_files"] == 1 and after["ingest_batches"] == 2
    assert after["monthly_kpis"] == 768
    batches = sorted(rows(warehouse_url, schema.ingest_batches), key=lambda b: b["rows_inserted"])
    assert [(b["rows_inserted"], b["rows_unchanged"]) for b in batches] == [(0, 576), (576, 0)]
    # the values are exactly those of the file, each once
    seed = pl.read_csv(TIDY_SEED)
    expected = {
        (resolve_region(r["region"]), r["metric"], r["fiscal_year"], r["month"]): float(r["value"])
        for r in seed.iter_rows(named=True)
    }
    assert stats_values(warehouse_url) == expected


# 4 periods, one file each (a fiscal year of the seed), each run twice at the same moment
PERIODS = {2017: "2018-03", 2018: "2019-03", 2019: "2020-03", 2020: "2021-03"}


def _period_files(folder: Path) -> dict[int, Path]:
    seed = pl.read_csv(TIDY_SEED)
    files = {}
    for fiscal_year in PERIODS:
        files[fiscal_year] = folder / f"monthly_FY{fiscal_year}.csv"
        seed.filter(pl.col("fiscal_year") == fiscal_year).write_csv(files[fiscal_year])
    return files


def _derived(url: str) -> dict[str, list[tuple[object, ...]]]:
    """The KPI tables without their computation times, values rounded: what a run's order must not change."""
    out = {}
    with connect(url).connect() as conn:
        for table in (schema.monthly_kpis, schema.fiscal_year_kpis, schema.reported_fiscal_year_totals):
            columns = [c for c in table.c if c.name not in ("computed_at", "loaded_at", "batch_id", "source_file_id")]
            out[table.name] = sorted(
                tuple(round(v, 9) if isinstance(v, float) else v for v in r) for r in conn.execute(sa.select(*columns))
            )
    return out


def _busy_retry_logged(since: datetime) -> bool:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterTimestamp

    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(timestamp=LogFilterTimestamp(after_=since)), limit=200)
    return any("is busy" in log.message and "Retry" in log.message for log in logs)


class AlertUnderLoad:
    """Alerts installed on the session's server and a bad file's run started at once: under the eight
    runs' load its alert reaches the receiver within 10 s of the failure, and the server's log, from
    here on, holds no `database is locked` and nothing dead-lettered."""

    def __init__(self, stack: PrefectStack, home: Path) -> None:
        from branchkpi.flows.automations import install

        self.stack, self.hook = stack, Receiver()
        self.log_from, self.since = stack.server_log.stat().st_size, datetime.now(UTC).isoformat()
        install(self.hook.url, allow_private_urls=True)
        env = {**os.environ, "PREFECT_API_URL": stack.api_url, "BRANCHKPI_HOME": str(home)}
        env["BRANCHKPI_WAREHOUSE_URL"] = f"sqlite:///{home / 'warehouse.sqlite'}"
        self.bad = subprocess.Popen(
            [BRANCHKPI, "ingest", str(FIXTURES / "bad_inputs" / "negative_count.csv")],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def check(self) -> None:
        from prefect.client.orchestration import get_client

        from branchkpi.flows.alerts import QUALITY_FAILED
        from branchkpi.flows.automations import uninstall

        try:
            assert self.bad.wait(timeout=300) == 1
            deadline = time.monotonic() + 60
            while not self.hook.arrived and time.monotonic() < deadline:
                time.sleep(0.2)
            query = {"filter": {"event": {"name": [QUALITY_FAILED]}, "occurred": {"since": self.since}}}
            with get_client(sync_client=True) as client:
                (event,) = client.request("POST", "/events/filter", json=query | {"limit": 1}).json()["events"]
            occurred = datetime.fromisoformat(event["occurred"]).timestamp()
            assert self.hook.arrived, "the bad file's alert never arrived"
            assert self.hook.arrived[0] - occurred < 10, f"the alert took {self.hook.arrived[0] - occurred:.1f} s"
            with self.stack.server_log.open("rb") as log:
                log.seek(self.log_from)
                since = log.read().decode(errors="replace")
            assert "database is locked" not in since and "dead letter" not in since.lower()
        finally:
            uninstall()
            self.hook.close()


@pytest.fixture(scope="module")
def sequential(prefect_server: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[int, Path], str]:
    """The four period files, and the warehouse made by running them one after the other (once for
    both dialects: the values do not depend on the database)."""
    folder = tmp_path_factory.mktemp("periods")
    files = _period_files(folder)
    reference = f"sqlite:///{folder / 'sequential.sqlite'}"
    saved = {k: os.environ.get(k) for k in ("BRANCHKPI_WAREHOUSE_URL", "BRANCHKPI_HOME")}
    os.environ |= {"BRANCHKPI_WAREHOUSE_URL": reference, "BRANCHKPI_HOME": str(folder / "var")}
    try:
        for fiscal_year, period in PERIODS.items():
            state, _ = run_monthly(files[fiscal_year], period=period)
            assert state.is_completed(), state.message
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return files, reference


@both_dialects("the write lock and the busy retries")
def test_eight_runs_over_four_periods_equal_four_sequential_runs(
    prefect_stack: PrefectStack,
    prefect_server: str,
    warehouse_url: str,
    bk_home: Path,
    sequential: tuple[dict[int, Path], str],
) -> None:
    files, reference = sequential
    sqlite = warehouse_url.startswith("sqlite")
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_server,
        "BRANCHKPI_WAREHOUSE_URL": warehouse_url,
        # SQLite: a short busy timeout and patient retries, so the held lock below turns into
        # "busy" retries rather than silent waits
        "BRANCHKPI_SQLITE_BUSY_MS": "200",
        "BRANCHKPI_DB_RETRY_DELAYS": ",".join(["1"] * 15),
    }
    holder = None
    if sqlite:  # another writer holds the warehouse when the runs start
        connect(warehouse_url)
        holder = sqlite3.connect(warehouse_url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    started = datetime.now(UTC)
    # PostgreSQL: alerts installed, and a bad file's run beside the eight (the session's server keeps its
    # state in PostgreSQL, as `branchkpi server start` does by default)
    alert = None if sqlite else AlertUnderLoad(prefect_stack, bk_home.parent / "bad")
    runs = [
        subprocess.Popen(
            [BRANCHKPI, "run", "monthly", "--period", period, str(files[fiscal_year])],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for fiscal_year, period in PERIODS.items()
        for _ in range(2)
    ]
    try:
        if holder is not None:
            deadline = time.monotonic() + 180
            while not _busy_retry_logged(started):
                assert time.monotonic() < deadline, "no run reported the busy warehouse"
                assert all(r.poll() is None for r in runs), [r.communicate() for r in runs if r.poll() is not None]
                time.sleep(1)
    finally:
        if holder is not None:
            holder.execute("ROLLBACK")
            holder.close()
    outputs = [r.communicate(timeout=600) for r in runs]  # nothing deadlocks: every run ends
    assert [r.returncode for r in runs] == [0] * 8, outputs
    if alert is not None:
        alert.check()
    for _, stderr in outputs:
        assert "Traceback" not in stderr, stderr

    assert stats_values(warehouse_url) == stats_values(reference)
    assert _derived(warehouse_url) == _derived(reference)
    after = counts(warehouse_url)
    assert after["landed_files"] == 4 and after["ingest_batches"] == 8 and after["monthly_stats_audit"] == 0
    # the second run of each period found nothing new; it may still carry the 前年同月比 warning when
    # the year before had landed by the time it validated (the order of concurrent runs decides that)
    batches = rows(warehouse_url, schema.ingest_batches)
    second = [b for b in batches if b["rows_inserted"] + b["rows_replaced"] == 0]
    assert len(second) == 4, [(b["status"], b["rows_inserted"], b["rows_unchanged"]) for b in batches]
    assert {b["status"] for b in second} <= {"unchanged", "warned"}, [b["status"] for b in second]
    assert all(b["rows_unchanged"] > 0 for b in second)
