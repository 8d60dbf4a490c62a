"""Every setting, in one place. Everything the pipeline writes goes under one folder, ./var by default.

BRANCHKPI_HOME              the var folder (default ./var)
BRANCHKPI_WAREHOUSE_URL     SQLAlchemy URL of the warehouse (default sqlite:///<var>/warehouse.sqlite)
BRANCHKPI_WAREHOUSE_SECRET  name of a Prefect Secret block holding that URL (instead of the variable)
BRANCHKPI_READER_URL        URL with a read-only role, for reports and queries (default: the warehouse URL)
BRANCHKPI_YOY_WARN_PCT      |YoY| in percentage points above which the gate warns (default 10)
BRANCHKPI_REPORT_BRANCHES   branches whose KPI report the flows write and attach to their run, comma
                            separated (yamaguchi,35,山口), or "all" (default: none; an evaluation run
                            for named branches reports those)
BRANCHKPI_REPORT_LANG       ja (default) or en: the language of those reports
BRANCHKPI_REQUIRE_APPROVAL  1 / true: a batch whose gate only warned waits for a reviewer's sign-off
                            (approve / reject in the Prefect UI) before it is published (default off)
BRANCHKPI_APPROVAL_TIMEOUT  seconds a batch waits for its sign-off before the run fails, unpublished
                            (default 259200: three days)
BRANCHKPI_DB_RETRY_DELAYS   seconds between retries of a warehouse step (default 1,4,10; empty or 0: none)
BRANCHKPI_SQLITE_BUSY_MS    SQLite busy timeout in ms (default 30000)
BRANCHKPI_SERVER_PORT       port of the local Prefect server on 127.0.0.1 (`branchkpi server start`,
                            `make server`; default 4200)
BRANCHKPI_EPHEMERAL_TIMEOUT seconds the temporary Prefect API may take to start when no server runs
                            (default 120: a busy 2-core machine needs more than Prefect's 20)
BRANCHKPI_LANDING_QUIET_SECONDS   the landing sensor: seconds a file must stay unchanged to be complete,
                            and the folder quiet for a burst of files to be one send (default 5)
BRANCHKPI_LANDING_MAX_WAIT_SECONDS  seconds a complete send waits for a file of it still being written
                            before it goes without it (default 120)

Read when asked for, never cached across calls: a test or a long-lived worker that changes the
environment gets the new value (the retry delays are read when the steps module defines its tasks,
since a Prefect task's retry policy is part of its definition).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

REPORT_LANGS = ("ja", "en")


class SettingError(ValueError):
    """A setting whose value cannot be used; the message names the variable and an example."""


@dataclass(frozen=True)
class Settings:
    home: Path
    yoy_warn_pct: float
    report_branches: tuple[str, ...] = ()
    report_lang: str = "ja"
    require_approval: bool = False
    approval_timeout: int = 259_200

    @cached_property
    def warehouse_url(self) -> str:
        """Resolved when first asked for: a run given its warehouse as a parameter never looks up the
        Secret block (a worker may have none)."""
        return (
            os.environ.get("BRANCHKPI_WAREHOUSE_URL") or _secret_url() or f"sqlite:///{self.home / 'warehouse.sqlite'}"
        )

    @cached_property
    def reader_url(self) -> str:
        return os.environ.get("BRANCHKPI_READER_URL") or self.warehouse_url

    @property
    def landing_dir(self) -> Path:
        """Where offices drop files (着信フォルダ)."""
        return self.home / "landing"

    @property
    def archive_dir(self) -> Path:
        """Every landed file, kept forever under its checksum."""
        return self.home / "archive"

    @property
    def data_docs_dir(self) -> Path:
        return self.home / "data_docs"

    @property
    def gx_dir(self) -> Path:
        return self.home / "gx"

    @property
    def reports_dir(self) -> Path:
        """The branch reports the flows write (var/reports/FY2020/, FY2020-Q1/)."""
        return self.home / "reports"

    @property
    def prefect_home(self) -> Path:
        """Prefect's own state when a command runs flows on the ephemeral API."""
        return self.home / "prefect"


def home_dir() -> Path:
    """BRANCHKPI_HOME: the folder everything is written under (no warehouse lookup)."""
    return Path(os.environ.get("BRANCHKPI_HOME", "var")).resolve()


def settings() -> Settings:
    lang = os.environ.get("BRANCHKPI_REPORT_LANG", "ja")
    if lang not in REPORT_LANGS:
        raise SettingError(f"BRANCHKPI_REPORT_LANG={lang!r}: give ja or en")
    text = os.environ.get("BRANCHKPI_YOY_WARN_PCT", "10")
    try:
        yoy_warn_pct = float(text)
    except ValueError as exc:
        raise SettingError(f"BRANCHKPI_YOY_WARN_PCT={text!r}: give percentage points, e.g. 10") from exc
    return Settings(
        home=home_dir(),
        yoy_warn_pct=yoy_warn_pct,
        report_branches=tuple(
            b.strip() for b in os.environ.get("BRANCHKPI_REPORT_BRANCHES", "").split(",") if b.strip()
        ),
        report_lang=lang,
        require_approval=_flag("BRANCHKPI_REQUIRE_APPROVAL"),
        approval_timeout=_seconds("BRANCHKPI_APPROVAL_TIMEOUT", 259_200),
    )


def _flag(name: str) -> bool:
    text = os.environ.get(name, "").strip().lower()
    if text in ("", "0", "false", "no", "off"):
        return False
    if text in ("1", "true", "yes", "on"):
        return True
    raise SettingError(f"{name}={text!r}: give 1 or 0 (true / false)")


def _seconds(name: str, default: int) -> int:
    text = os.environ.get(name, str(default)).strip()
    if not text.isdigit() or int(text) < 1:
        raise SettingError(f"{name}={text!r}: give seconds, e.g. {default}")
    return int(text)


def db_retry_delays(text: str | None = None) -> list[float]:
    """Seconds between the retries of a warehouse step: BRANCHKPI_DB_RETRY_DELAYS, comma separated
    (default 1,4,10: three retries over 15 s, enough for a PostgreSQL restart or a long SQLite lock;
    empty or 0 turns retries off)."""
    text = os.environ.get("BRANCHKPI_DB_RETRY_DELAYS", "1,4,10") if text is None else text
    try:
        delays = [float(d) for d in text.replace(" ", "").split(",") if d]
    except ValueError as exc:
        raise SettingError(f"BRANCHKPI_DB_RETRY_DELAYS={text!r}: give seconds, comma separated, e.g. 1,4,10") from exc
    return [d for d in delays if d > 0]


def sqlite_busy_ms() -> int:
    """How long a SQLite writer waits for another's write lock: BRANCHKPI_SQLITE_BUSY_MS (default 30 s)."""
    text = os.environ.get("BRANCHKPI_SQLITE_BUSY_MS", "30000")
    if not text.isdigit():
        raise SettingError(f"BRANCHKPI_SQLITE_BUSY_MS={text!r}: give milliseconds, e.g. 30000")
    return int(text)


def server_port() -> int:
    """The local Prefect server's port: BRANCHKPI_SERVER_PORT (default 4200)."""
    text = os.environ.get("BRANCHKPI_SERVER_PORT", "4200")
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise SettingError(f"BRANCHKPI_SERVER_PORT={text!r}: give a port number, e.g. 4200")
    return int(text)


SERVER_STATES = ("auto", "postgresql", "sqlite")


def server_state() -> str:
    """Where the local Prefect server keeps its state: BRANCHKPI_SERVER_STATE = auto (default: a
    PostgreSQL of its own under BRANCHKPI_HOME/prefect when the server binaries are installed, else
    SQLite), postgresql (that, or fail) or sqlite (docs/decisions.md, "The local server's state")."""
    text = os.environ.get("BRANCHKPI_SERVER_STATE", "auto").strip().lower()
    if text not in SERVER_STATES:
        raise SettingError(f"BRANCHKPI_SERVER_STATE={text!r}: give one of {', '.join(SERVER_STATES)}")
    return text


def warm_validator() -> bool:
    """Whether the local server keeps a validating process warm for the commands of its home:
    BRANCHKPI_WARM_VALIDATOR (default 1; about 300 MB resident while it waits)."""
    return _flag("BRANCHKPI_WARM_VALIDATOR") if os.environ.get("BRANCHKPI_WARM_VALIDATOR") else True


def unresponsive_after() -> int:
    """Seconds without a heartbeat after which a Running flow run is marked Crashed:
    BRANCHKPI_UNRESPONSIVE_AFTER (default 600; Prefect's heartbeat is every 180 s)."""
    return _seconds("BRANCHKPI_UNRESPONSIVE_AFTER", 600)


def ephemeral_timeout() -> int:
    """Seconds the ephemeral Prefect API may take to start: BRANCHKPI_EPHEMERAL_TIMEOUT (default 120)."""
    text = os.environ.get("BRANCHKPI_EPHEMERAL_TIMEOUT", "120")
    if not text.isdigit() or int(text) == 0:
        raise SettingError(f"BRANCHKPI_EPHEMERAL_TIMEOUT={text!r}: give seconds, e.g. 120")
    return int(text)


def landing_quiet_seconds() -> float:
    """The landing sensor's quiet period: BRANCHKPI_LANDING_QUIET_SECONDS (default 5)."""
    return _positive_seconds("BRANCHKPI_LANDING_QUIET_SECONDS", 5.0)


def landing_max_wait_seconds() -> float:
    """How long a complete send waits for its files still being written: BRANCHKPI_LANDING_MAX_WAIT_SECONDS."""
    return _positive_seconds("BRANCHKPI_LANDING_MAX_WAIT_SECONDS", 120.0)


def _positive_seconds(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip() or str(default)
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise SettingError(f"{name}={text!r}: give seconds, e.g. {default:g}")
    return value


def _secret_url() -> str | None:
    """The warehouse URL from a Prefect Secret block, so credentials live in Prefect, not in files."""
    name = os.environ.get("BRANCHKPI_WAREHOUSE_SECRET")
    if not name:
        return None
    from prefect.blocks.system import Secret

    secret: Any = Secret.load(name)
    return str(secret.get())
