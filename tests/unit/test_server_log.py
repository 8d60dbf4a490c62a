"""The suite's reading of a Prefect server's log: the lines where a service logged an error or a
traceback (the session's server is checked with it when the session ends, tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

from ..server_log import service_errors


def test_service_errors_are_recognised(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text(
        "06:25:47.225 | INFO    | prefect.server - started\n"
        "06:25:47.225 | ERROR   | docket.dependencies - ↩ [    95ms] schedule_recent_deployments()\n"
        "Traceback (most recent call last):\n"
        "06:25:48.000 | WARNING | uvicorn - slow\n"
    )
    assert len(service_errors(log)) == 2
