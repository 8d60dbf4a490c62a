"""Reading a Prefect server's log (the suite's servers write theirs under their home)."""

from __future__ import annotations

import re
from pathlib import Path

SERVICE_ERROR = re.compile(r"\|\s*(ERROR|CRITICAL)\s*\||Traceback \(most recent call last\)")


def service_errors(log: Path) -> list[str]:
    """Lines of a Prefect server log where one of its services logged an error or a traceback."""
    lines = log.read_text(errors="replace").splitlines()
    return [line for line in lines if SERVICE_ERROR.search(line)]
