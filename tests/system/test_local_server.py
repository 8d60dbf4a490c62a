"""The local server as a person's default home: `branchkpi server start|status|stop`, every command
using the running server with nothing set (its flow run is in that server's API), PREFECT_API_URL
still winning; and the ephemeral fallback holding on a busy machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import FIXTURES, ROOT, free_port

BRANCHKPI = str(Path(sys.executable).with_name("branchkpi"))
ONE_MONTH = FIXTURES / "office_files" / "one_month_send.csv"


def run(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BRANCHKPI, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


def own_env(home: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRANCHKPI_", "PREFECT_", "PYTEST"))}
    return env | {
        "BRANCHKPI_HOME": str(home),
        "BRANCHKPI_SERVER_PORT": str(port),
        "COLUMNS": "200",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }


@pytest.fixture
def local_server(tmp_path: Path) -> Iterator[tuple[dict[str, str], int]]:
    env, port = own_env(tmp_path / "var", free_port()), 0
    port = int(env["BRANCHKPI_SERVER_PORT"])
    try:
        yield env, port
    finally:
        run(env, "server", "stop")


def flow_run_names(port: int) -> list[str]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/flow_runs/filter",
        data=b"{}",
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return [r["name"] for r in json.load(response)]


def test_server_start_status_stop_and_commands_use_it(
    prefect_server: str, local_server: tuple[dict[str, str], int]
) -> None:
    env, port = local_server
    status = run(env, "server", "status")
    assert (status.returncode, status.stdout.strip()) == (3, "stopped")
    started = run(env, "server", "start")
    assert started.returncode == 0, started.stderr
    status = run(env, "server", "status")
    assert (status.returncode, status.stdout.strip()) == (0, f"running http://127.0.0.1:{port}")
    assert (Path(env["BRANCHKPI_HOME"]) / "prefect" / "prefect.db").exists()  # its state under BRANCHKPI_HOME

    # nothing set: the command finds the server by itself and its run is in that server's UI
    done = run(env, "ingest", str(ONE_MONTH))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "loaded" in done.stdout and "Traceback" not in done.stderr
    ours = flow_run_names(port)
    assert any(name.startswith("monthly-stats") for name in ours), ours

    # PREFECT_API_URL, when set, still wins: that run goes to the server it names
    done = run(env | {"PREFECT_API_URL": prefect_server}, "ingest", str(ONE_MONTH))
    assert done.returncode == 0, done.stdout + done.stderr
    assert flow_run_names(port) == ours

    stopped = run(env, "server", "stop")
    assert stopped.returncode == 0 and stopped.stdout.strip() == "stopped"
    status = run(env, "server", "status")
    assert (status.returncode, status.stdout.strip()) == (3, "stopped")


# three processes that keep both cores busy, a little nicer than the command (so the test takes a
# minute, not three; the ephemeral API's start-up still waits for the CPU behind them)
BURN = "import os, time\nos.nice(5)\nend = time.monotonic() + 600\nwhile time.monotonic() < end: pass"


def test_the_ephemeral_fallback_holds_on_a_busy_machine(tmp_path: Path) -> None:
    """No server, a fresh home, three other processes keeping both cores busy: the command still
    succeeds on Prefect's temporary API (it was given time to start), and its line says so."""
    env = own_env(tmp_path / "var", free_port())
    burners = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(3)]
    try:
        started = time.monotonic()
        done = run(env, "ingest", str(ONE_MONTH), timeout=400)
        seconds = time.monotonic() - started
    finally:
        for b in burners:
            b.kill()
            b.wait()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "loaded" in done.stdout and "Timed out" not in done.stderr
    print(f"ingest on the ephemeral API beside 3 busy processes: {seconds:.0f} s")


def test_a_refused_ephemeral_start_says_what_to_do(tmp_path: Path) -> None:
    env = own_env(tmp_path / "var", free_port()) | {"BRANCHKPI_EPHEMERAL_TIMEOUT": "1"}
    done = run(env, "ingest", str(ONE_MONTH))
    if done.returncode == 0:  # the API came up within the second: nothing to explain on this machine
        pytest.skip("the temporary API started within 1 s")
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error: the temporary Prefect API did not start within 1 s"), done.stderr
    assert "branchkpi server start" in lines[-1] and "Traceback" not in done.stderr
