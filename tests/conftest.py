"""Shared fixtures: one Prefect server per test session (started by `make server`'s script, with the
UI, the deployments and a worker), one PostgreSQL, a fresh var folder and warehouse per test, and the
real seed data of the project."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from branchkpi.cli.worker import descendants, kill_and_wait

from . import interrupts
from .interrupts import forget, on_interrupt
from .postgres import APP_ROLE, PostgresServer
from .server_log import service_errors

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "data" / "sample" / "seed"
TIDY_SEED = SEED / "branch_monthly_stats.csv"
LAYOUT_SEED = SEED / "monthly_report_layout"
FIXTURES = Path(__file__).parent / "fixtures"

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# quiet console; INFO logs still reach the Prefect API (PREFECT_LOGGING_LEVEL would drop them there)
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")


# workers of the session's pool resolve the warehouse from this Secret block when a run's parameters
# carry no URL (a PostgreSQL URL with a password is never a run parameter)
WORKER_WAREHOUSE_SECRET = "branchkpi-workers-warehouse"


@dataclass(frozen=True)
class PrefectStack:
    api_url: str
    ui_url: str
    worker_log: Path  # the script's output: the worker says which flow runs it submitted
    worker_env: dict[str, str]  # the environment of the script's worker, for more workers like it
    server_log: Path  # the Prefect server's own log: its services (scheduler, triggers, …) report there

    def save(self, path: Path) -> Path:
        fields = {"api_url": self.api_url, "ui_url": self.ui_url, "worker_env": self.worker_env}
        path.write_text(json.dumps(fields | {"worker_log": str(self.worker_log), "server_log": str(self.server_log)}))
        return path

    @classmethod
    def load(cls, path: Path) -> PrefectStack:
        data = json.loads(path.read_text())
        return cls(
            data["api_url"], data["ui_url"], Path(data["worker_log"]), data["worker_env"], Path(data["server_log"])
        )

    @property
    def landing_dir(self) -> Path:
        """The landing folder of the script's worker, which the script's landing sensor watches."""
        return Path(self.worker_env["BRANCHKPI_HOME"]) / "landing"

    @property
    def watcher_log(self) -> Path:
        """The landing sensor's log (`branchkpi watch`, started by the script beside the worker)."""
        return Path(self.worker_env["PREFECT_HOME"]) / "watcher.log"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# a PrefectStack started elsewhere and shared with this session (a JSON file: see PrefectStack.save)
SHARED_STACK = "BRANCHKPI_TEST_PREFECT_STACK"


@contextmanager
def started_stack(home: Path, postgres: PostgresServer) -> Iterator[PrefectStack]:
    """A Prefect server started exactly as `make server` starts it (scripts/server.sh): a real server
    with the UI on a free loopback port, its state in the session's PostgreSQL (the several-workers
    setup of the README), the work pool, `prefect deploy --all`, and one worker (one run at a time, so
    a second worker gets work) with the landing sensor beside it."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRANCHKPI_", "PREFECT_API_", "PREFECT_UI_"))}
    env |= {
        "PREFECT_HOME": str(home),
        "BRANCHKPI_SERVER_PORT": str(port),
        "BRANCHKPI_WORKER_LIMIT": "1",
        "PREFECT_WORKER_QUERY_SECONDS": "2",
        "BRANCHKPI_HOME": str(home / "worker-var"),
        "BRANCHKPI_WAREHOUSE_SECRET": WORKER_WAREHOUSE_SECRET,
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": postgres.prefect_database_url(),
        # no warm validating process: the tests' commands have homes of their own, none the server's
        # (the spare is tested with a local server of its own, tests/system/test_local_server.py)
        "BRANCHKPI_WARM_VALIDATOR": "0",
    }
    log = home / "server.sh.log"
    with log.open("wb") as out:
        script = subprocess.Popen(
            [str(ROOT / "scripts" / "server.sh")],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    on_interrupt("prefect server", lambda: interrupts.stop_group(script.pid, descendants(script.pid)))
    try:
        deadline = time.monotonic() + 300
        while "Prefect UI:" not in log.read_text(errors="replace"):
            if script.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"scripts/server.sh did not start the server:\n{log.read_text(errors='replace')[-4000:]}"
                )
            time.sleep(0.5)
        worker_env = {k: v for k, v in env.items() if not k.endswith("DATABASE_CONNECTION_URL")}
        yield PrefectStack(
            f"http://127.0.0.1:{port}/api", f"http://127.0.0.1:{port}", log, worker_env, home / "server.log"
        )
    finally:
        _stop(script)
        forget("prefect server")


@pytest.fixture(scope="session")
def prefect_stack(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[PrefectStack]:
    """The session's one Prefect server (started_stack), or the one shared with it (SHARED_STACK)."""
    if os.environ.get(SHARED_STACK):
        yield from _in_process(PrefectStack.load(Path(os.environ[SHARED_STACK])))
        return
    postgres: PostgresServer = request.getfixturevalue("postgres")
    try:
        with started_stack(tmp_path_factory.mktemp("prefect-home"), postgres) as stack:
            yield from _in_process(stack)
            # last of the session: whatever the tests did to the server (hundreds of runs, killed
            # processes, automations, UI pages), its services (scheduler, late runs, foreman, triggers,
            # event persister …) logged no error: the next incompatibility of Prefect fails here
            errors = service_errors(stack.server_log)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    assert stack.server_log.stat().st_size > 0
    assert not errors, "the session's Prefect server logged errors:\n" + "\n".join(errors[:30])


def _in_process(stack: PrefectStack) -> Iterator[PrefectStack]:
    """This process's flows on the stack's server."""
    os.environ["PREFECT_HOME"] = stack.worker_env["PREFECT_HOME"]
    os.environ["PREFECT_API_URL"] = stack.api_url
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, PREFECT_UI_URL, temporary_settings

    # The flows this process runs send no heartbeat: Prefect's heartbeat thread sleeps in 1 s steps and
    # each flow run waits for it to stop (0.45 s a run, measured; the suite runs hundreds). Runs on the
    # worker and in the child processes the tests start keep Prefect's heartbeats.
    in_process = {PREFECT_API_URL: stack.api_url, PREFECT_UI_URL: stack.ui_url, PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
    with temporary_settings(updates=in_process):
        yield stack
        _drain_to_server()


# what the pure tier (tests/unit, `make test-unit`) must never start
SERVICES = {"prefect_stack", "prefect_server", "postgres", "browser", "dialect", "fresh_warehouse", "engine"}
UNIT = Path(__file__).parent / "unit"


def pytest_configure(config: pytest.Config) -> None:
    """The commands the tests run look for a local server on a port of their own: a server `make demo`
    left on 4200 is not theirs. A cut-short session stops its services and ends at once
    (tests/interrupts.py)."""
    config.pluginmanager.register(interrupts, "branchkpi-interrupts")
    os.environ["BRANCHKPI_SERVER_PORT"] = str(free_port())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A unit test that asks for a server, a database or a browser is an error, not a slow unit test."""
    for item in items:
        if Path(str(item.path)).is_relative_to(UNIT):
            wanted = SERVICES & set(getattr(item, "fixturenames", ()))
            if wanted:
                raise pytest.UsageError(f"{item.nodeid} is in the unit tier but uses {sorted(wanted)}: move it")


def _drain_to_server() -> None:
    """Send this process's queued events and logs while the server is up (else they retry at exit)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    EventsWorker.drain_all(timeout=30)
    APILogWorker.drain_all(timeout=30)


def _stop(process: subprocess.Popen[bytes], grace: float = 20) -> None:
    """Stop the script, its server and its worker (one process group)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="session")
def prefect_server(prefect_stack: PrefectStack) -> str:
    """The API URL of the session's Prefect server."""
    return prefect_stack.api_url


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL 15 server for the session (started as the postgres user on loopback)."""
    server = PostgresServer().start()
    on_interrupt("postgres", lambda: server.cluster.stop("immediate"))
    try:
        yield server
    finally:
        server.stop()
        forget("postgres")


@pytest.fixture
def dialect(request: pytest.FixtureRequest) -> str:
    """The test's warehouse dialect: SQLite, unless the test runs on both (both_dialects)."""
    return str(getattr(request, "param", "sqlite"))


def both_dialects(why: str) -> pytest.MarkDecorator:
    """The test runs on SQLite and on PostgreSQL, because the dialect can change its outcome (`why`:
    the SQL it exercises). Everything else runs on SQLite (docs/decisions.md, "Which tests run on
    both dialects")."""
    assert why
    return pytest.mark.parametrize("dialect", ["sqlite", "postgresql"], indirect=True)


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


_TEMPLATES: dict[tuple[str, str], tuple[str, Path]] = {}  # (name, dialect) -> (template URL, its var folder)


@pytest.fixture
def cloned_warehouse(
    dialect: str,
    bk_home: Path,
    fresh_warehouse: str,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Callable[[str, Callable[[], None]], str]:
    """clone(name, build): the test's warehouse as `build` leaves one, built once per dialect and session
    (by the real flows, into a template) and copied for each test: a SQLite file copy, a PostgreSQL
    CREATE DATABASE … TEMPLATE. The template's archive comes along, so its landed files are there."""

    def clone(name: str, build: Callable[[], None]) -> str:
        from branchkpi.warehouse.engine import dispose_all

        key = (name, dialect)
        if key not in _TEMPLATES:
            home = tmp_path_factory.mktemp(f"template-{name}-{dialect}")
            if dialect == "postgresql":
                server: PostgresServer = request.getfixturevalue("postgres")
                url = server.url(server.create_database())
            else:
                url = f"sqlite:///{home / 'warehouse.sqlite'}"
            with monkeypatch.context() as env:
                env.setenv("BRANCHKPI_HOME", str(home))
                env.setenv("BRANCHKPI_WAREHOUSE_URL", url)
                build()
            dispose_all()  # a PostgreSQL template must have no open session
            _TEMPLATES[key] = (url, home)
        url, home = _TEMPLATES[key]
        if (home / "archive").exists():
            shutil.copytree(home / "archive", bk_home / "archive", dirs_exist_ok=True)
        if dialect == "postgresql":
            server = request.getfixturevalue("postgres")
            target, template = fresh_warehouse.rsplit("/", 1)[1], url.rsplit("/", 1)[1]
            with server.admin() as conn:
                conn.execute(f'DROP DATABASE "{target}"')
                conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{template}" OWNER {APP_ROLE}')
        else:
            source = url.removeprefix("sqlite:///")
            with sqlite3.connect(source) as conn:  # everything in the main file, none in the WAL
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            target_file = Path(fresh_warehouse.removeprefix("sqlite:///"))
            target_file.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target_file)
        return fresh_warehouse

    return clone


@pytest.fixture
def warehouse_url(bk_home: Path, fresh_warehouse: str) -> str:
    """The test's warehouse URL, also set as BRANCHKPI_WAREHOUSE_URL (flows and the CLI use it)."""
    return fresh_warehouse


@pytest.fixture
def engine(warehouse_url: str):  # type: ignore[no-untyped-def]
    from branchkpi.warehouse.engine import connect, dispose_all

    yield connect(warehouse_url)
    dispose_all()


@pytest.fixture
def seed_copy(tmp_path: Path) -> Path:
    """A private copy of the seed files (tests may rename or edit them)."""
    target = tmp_path / "seed"
    shutil.copytree(SEED, target)
    return target


CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Debian Chromium for the session, driven through its own chromedriver (`make test`
    installs both). No network beyond loopback: the background-networking flags keep it quiet."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("Debian's chromium and chromium-driver are missing: `make test` installs them (make browser)")
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not try to download a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
        "--lang=ja",
    ):
        options.add_argument(arg)
    service = Service(str(CHROMEDRIVER))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(60)
    browser_processes = [service.process.pid, *descendants(service.process.pid)]
    on_interrupt("browser", lambda: kill_and_wait(browser_processes))
    try:
        yield driver
    finally:
        driver.quit()
        forget("browser")
