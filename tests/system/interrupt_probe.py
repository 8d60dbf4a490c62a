"""Run only by tests/system/test_interrupt.py, in a child pytest: takes the session's PostgreSQL, writes
its postmaster pid and waits to be interrupted. Not collected by the suite (no test_ prefix)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..postgres import PostgresServer


def test_wait_for_the_signal(postgres: PostgresServer) -> None:
    pid = (postgres.data / "postmaster.pid").read_text().split()[0]
    Path(os.environ["PROBE_READY"]).write_text(pid)
    time.sleep(120)
