"""PostgreSQL credentials: the URL may come from a Prefect Secret block; the password never shows in
logs, artifacts, messages or the warehouse; reports read through a read-only role."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from ..conftest import FIXTURES, ROOT, TIDY_SEED
from ..helpers import artifacts, run_monthly
from ..postgres import READER_ROLE, PostgresServer

BRANCHKPI = str(Path(sys.executable).with_name("branchkpi"))


@pytest.fixture
def var_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BRANCHKPI_HOME", str(tmp_path / "var"))
    monkeypatch.delenv("BRANCHKPI_WAREHOUSE_URL", raising=False)
    return tmp_path / "var"


def test_secret_block_and_no_password_anywhere(
    prefect_server: str, postgres: PostgresServer, var_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.blocks.system import Secret

    url = postgres.url(postgres.create_database())
    Secret(value=url).save("branchkpi-warehouse-test", overwrite=True)
    monkeypatch.setenv("BRANCHKPI_WAREHOUSE_SECRET", "branchkpi-warehouse-test")

    good, _ = run_monthly(TIDY_SEED)
    bad, _ = run_monthly(FIXTURES / "bad_inputs" / "negative_count.csv")
    assert good.is_completed() and bad.is_failed()
    with sa.create_engine(url).connect() as conn:  # the secret's database got the data
        assert conn.execute(sa.text("SELECT count(*) FROM monthly_stats")).scalar_one() == 576
        dump = json.dumps(
            [
                list(map(str, r))
                for t in ("ingest_batches", "quarantined_rows", "landed_files")
                for r in conn.execute(sa.text(f"SELECT * FROM {t}"))
            ]
        )
    password = postgres.password
    assert password not in dump
    for state in (good, bad):
        assert password not in (state.message or "")
        for artifact in artifacts(state.state_details.flow_run_id).values():
            assert password not in json.dumps(artifact, default=str)
    assert password not in _flow_logs([good.state_details.flow_run_id, bad.state_details.flow_run_id])

    # an unreachable warehouse: the error names it without the password
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_server,
        "BRANCHKPI_WAREHOUSE_URL": url.replace(f":{postgres.port}/", ":1/"),
    }
    out = subprocess.run(
        [BRANCHKPI, "query", "monthly"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 1 and out.stderr.startswith("error:")
    assert password not in out.stderr + out.stdout


def _flow_logs(flow_run_ids: list[object]) -> str:
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all()
    logs: list = []
    for _ in range(20):
        with get_client(sync_client=True) as client:
            logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=flow_run_ids)))
        if len(logs) > 10:
            break
        time.sleep(0.5)
    assert logs, "the runs' logs reach the Prefect API"
    return "\n".join(log.message for log in logs)


def test_reports_read_through_a_read_only_role(
    prefect_server: str, postgres: PostgresServer, var_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = postgres.create_database()
    monkeypatch.setenv("BRANCHKPI_WAREHOUSE_URL", postgres.url(database))
    state, _ = run_monthly(TIDY_SEED)
    assert state.is_completed()
    env = {**os.environ, "PREFECT_API_URL": prefect_server}
    grant = subprocess.run(
        [BRANCHKPI, "warehouse", "grant-reader", READER_ROLE],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert grant.returncode == 0, grant.stderr
    env["BRANCHKPI_READER_URL"] = postgres.url(database, role=READER_ROLE)
    out = subprocess.run(
        [BRANCHKPI, "query", "monthly", "--region", "yamaguchi", "--fiscal-year", "2020", "--format", "json"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)) == 96
    reader = sa.create_engine(postgres.url(database, role=READER_ROLE))
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), reader.begin() as conn:
        conn.execute(sa.text("DELETE FROM monthly_stats"))
