"""Alerting end to end: a real Prefect server on loopback, the automations installed by
`branchkpi alerts install`, a local HTTP receiver as the webhook, a bad file ingested: the receiver
gets a Slack-style message naming the branch, the period, what failed and the run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from ..conftest import FIXTURES, ROOT
from ..helpers import run_monthly

BRANCHKPI = str(Path(sys.executable).with_name("branchkpi"))


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Any:
    """A local webhook receiver; answers 200, or the status a test gives with @pytest.mark.parametrize
    ("receiver", [500], indirect=True)."""
    received: list[dict[str, Any]] = []
    status = getattr(request, "param", 200)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            received.append(json.loads(self.rfile.read(length) or b"{}"))
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    from branchkpi.flows.alerts import uninstall

    uninstall()  # later tests on the shared server must not post to a receiver that is gone
    server.shutdown()


def test_bad_file_alerts_the_webhook(prefect_server: str, warehouse_url: str, receiver: Any) -> None:
    url, received = receiver
    env = {**os.environ, "PREFECT_API_URL": prefect_server}
    out = subprocess.run([BRANCHKPI, "alerts", "install", "--webhook", url, "--allow-private-urls"], env=env,
                         cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "branchkpi: data-quality failure" in out.stdout

    state, outcome = run_monthly(FIXTURES / "bad_inputs" / "negative_count.csv")
    assert state.is_failed()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not received:
        time.sleep(1)
    assert received, "no alert reached the webhook"
    text = received[0]["text"]
    assert "data-quality failure: negative_count.csv" in text
    assert "unit: yamaguchi" in text and f"period: {outcome.period}" in text
    assert "value_not_negative" in text and "row 7" in text
    assert f"runs/flow-run/{state.state_details.flow_run_id}" in text


def _alerts(*args: str) -> Any:
    """`branchkpi alerts …` in-process (typer's runner): the session's server, no interpreter start-up."""
    from typer.testing import CliRunner

    from branchkpi.cli import app

    return CliRunner().invoke(app, ["alerts", *args])


def test_install_refuses_a_webhook_the_server_would_refuse(prefect_server: str, receiver: Any) -> None:
    """Without --allow-private-urls the server drops every post to a loopback or private address, and
    says so only in its own log: install says it now, and installs nothing."""
    from prefect.client.orchestration import get_client

    from branchkpi.flows.alerts import AUTOMATIONS

    url, received = receiver
    result = _alerts("install", "--webhook", url)
    assert result.exit_code == 1
    assert "would refuse to post to this webhook" in result.output and "private address 127.0.0.1" in result.output
    assert "--allow-private-urls" in result.output and "automation:" not in result.output
    with get_client(sync_client=True) as client:
        assert not [a for name in AUTOMATIONS for a in client.read_automations_by_name(name)]
    assert received == []


def test_install_test_posts_through_the_block(prefect_server: str, receiver: Any) -> None:
    url, received = receiver
    result = _alerts("install", "--webhook", url, "--allow-private-urls", "--test")
    assert result.exit_code == 0, result.output
    assert "test: the receiver accepted the test message" in result.output
    assert [m["text"] for m in received] == [
        "[branchkpi] test: alerts are installed; data-quality failures and missed targets will be posted here"
    ]


@pytest.mark.parametrize("receiver", [500], indirect=True)
def test_install_test_says_when_the_receiver_refuses(prefect_server: str, receiver: Any) -> None:
    url, received = receiver
    result = _alerts("install", "--webhook", url, "--allow-private-urls", "--test")
    assert result.exit_code == 1
    assert "the receiver refused the test message: HTTP 500" in result.output
    assert len(received) == 1
