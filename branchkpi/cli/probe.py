"""The probe every command makes before Prefect is imported: does the local server answer on
127.0.0.1:BRANCHKPI_SERVER_PORT? One HTTP request; a refused connection costs a millisecond."""

from __future__ import annotations

import urllib.request

from branchkpi.config import SettingError, server_port


def api_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/api"


def answers(port: int, timeout: float = 0.5) -> bool:
    """Whether a Prefect API answers on 127.0.0.1:port (its /health returns `true`)."""
    try:
        with urllib.request.urlopen(f"{api_url(port)}/health", timeout=timeout) as response:
            return response.status == 200 and response.read(16).strip() == b"true"
    except (OSError, ValueError):
        return False


def local_api_url() -> str | None:
    """The running local server's API URL, or None (no server, or an unusable port setting)."""
    try:
        port = server_port()
    except SettingError:
        return None
    return api_url(port) if answers(port) else None
