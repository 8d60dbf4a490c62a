"""An interrupted test session leaves nothing running: a child pytest that holds the session's
PostgreSQL is sent SIGTERM (as CI does when it cancels a job) or SIGINT (Ctrl-C), and its database
server is gone when it exits. The Prefect server and its workers are torn down the same way (session
fixtures' finalizers, which the SIGTERM handler in conftest lets pytest run)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_session_leaves_no_database_running(sig: signal.Signals, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    env = {**os.environ, "PROBE_READY": str(ready)}
    child = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/system/interrupt_probe.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while not ready.exists() or not ready.read_text():
        assert child.poll() is None and time.monotonic() < deadline, child.communicate()[0].decode()[-2000:]
        time.sleep(0.2)
    postmaster = int(ready.read_text())
    assert alive(postmaster)
    child.send_signal(sig)
    output = child.communicate(timeout=60)[0].decode(errors="replace")
    deadline = time.monotonic() + 15
    while alive(postmaster) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(postmaster), output[-2000:]
