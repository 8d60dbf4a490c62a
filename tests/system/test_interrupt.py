"""An interrupted test session ends at once and leaves nothing running: a child pytest in the middle of
a flow run and of a browser call is sent SIGTERM (as CI does when it cancels a job: to the whole
process group) or SIGINT (Ctrl-C): it ends within 30 s, starts no further test, and its PostgreSQL,
chromedriver and Chromium are gone (tests/interrupts.py). The child shares the session's Prefect
server (its own stack's teardown is the same fixture's, and the session's end checks what it left)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..conftest import ROOT, SHARED_STACK, PrefectStack

LIMIT = 30.0  # seconds from the signal to the session's end


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_session_ends_at_once_and_leaves_nothing_running(
    sig: signal.Signals, prefect_stack: PrefectStack, tmp_path: Path
) -> None:
    ready, after = tmp_path / "ready", tmp_path / "after"
    env = {
        **os.environ,
        "PROBE_READY": str(ready),
        "PROBE_AFTER": str(after),
        SHARED_STACK: str(prefect_stack.save(tmp_path / "stack.json")),
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/system/interrupt_probe.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while not ready.exists() or not ready.read_text():
            assert child.poll() is None and time.monotonic() < deadline, child.communicate()[0].decode()[-3000:]
            time.sleep(0.2)
        pids = json.loads(ready.read_text())
        watched = [pids["postgres"], pids["chromedriver"], *pids["chromium"]]
        assert all(alive(pid) for pid in watched[:2])
        signalled = time.monotonic()
        os.killpg(child.pid, sig)  # the whole process group, as CI's timeout does
        output = child.communicate(timeout=90)[0].decode(errors="replace")
        took = time.monotonic() - signalled
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    assert took < LIMIT, f"the session took {took:.0f} s to end:\n{output[-3000:]}"
    assert not after.exists(), "a test started after the signal"
    deadline = time.monotonic() + 5
    while [p for p in watched if alive(p)] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [p for p in watched if alive(p)], output[-3000:]
    print(f"{sig.name}: the session ended {took:.1f} s after the signal")
