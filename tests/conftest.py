"""Shared fixtures: one Prefect server per test session, a fresh var folder and SQLite warehouse per
test, and the real seed data of the project."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from .postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "data" / "sample" / "seed"
TIDY_SEED = SEED / "branch_monthly_stats.csv"
LAYOUT_SEED = SEED / "monthly_report_layout"
FIXTURES = Path(__file__).parent / "fixtures"

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# quiet console; INFO logs still reach the Prefect API (PREFECT_LOGGING_LEVEL would drop them there)
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real Prefect server (temporary database) for the whole session; yields its API URL."""
    home = tmp_path_factory.mktemp("prefect-home")
    os.environ["PREFECT_HOME"] = str(home)
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield str(PREFECT_API_URL.value())


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL 15 server for the session (started as the postgres user on loopback)."""
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def dialect(request: pytest.FixtureRequest) -> str:
    """Warehouse tests run on both dialects."""
    return str(request.param)


@pytest.fixture
def fresh_warehouse(dialect: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The URL of an empty warehouse: a SQLite file, or a new database on the session's PostgreSQL."""
    if dialect == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres")
        return server.url(server.create_database())
    return f"sqlite:///{tmp_path / 'var' / 'warehouse.sqlite'}"


@pytest.fixture
def bk_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_warehouse: str) -> Path:
    """A fresh var folder and its own warehouse (SQLite file or PostgreSQL database), in the environment."""
    home = tmp_path / "var"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("BRANCHKPI_HOME", str(home))
    monkeypatch.setenv("BRANCHKPI_WAREHOUSE_URL", fresh_warehouse)
    monkeypatch.delenv("BRANCHKPI_YOY_WARN_PCT", raising=False)
    return home


@pytest.fixture
def warehouse_url(bk_home: Path, fresh_warehouse: str) -> str:
    """The test's warehouse URL, also set as BRANCHKPI_WAREHOUSE_URL (flows and the CLI use it)."""
    return fresh_warehouse


@pytest.fixture
def engine(warehouse_url: str):  # type: ignore[no-untyped-def]
    from warehouse.engine import connect, dispose_all

    yield connect(warehouse_url)
    dispose_all()


@pytest.fixture
def seed_copy(tmp_path: Path) -> Path:
    """A private copy of the seed files (tests may rename or edit them)."""
    target = tmp_path / "seed"
    shutil.copytree(SEED, target)
    return target
