"""The console script's process ends without tearing the interpreter down (branchkpi.cli.main): what it
prints still arrives whole and its exit status is the command's (0, 1 for an error, 2 for a usage
error), as before."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BRANCHKPI = str(Path(sys.executable).with_name("branchkpi"))


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRANCHKPI_", "PREFECT_API_URL"))}
    env |= {"BRANCHKPI_HOME": str(tmp_path / "var"), "BRANCHKPI_SERVER_PORT": "9", "COLUMNS": "200"}
    return subprocess.run([BRANCHKPI, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def test_the_exit_status_and_the_output_are_the_commands(tmp_path: Path) -> None:
    shown = run(tmp_path, "--help")
    assert shown.returncode == 0 and "ingest" in shown.stdout and shown.stdout.rstrip().endswith("╯")
    assert run(tmp_path, "nonsense").returncode == 2
    empty = run(tmp_path, "query", "monthly", "--format", "csv")
    assert empty.returncode == 1 and empty.stderr.startswith("error:") and "no data" in empty.stderr
