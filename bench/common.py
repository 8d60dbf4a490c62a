"""What the bench's scripts share: where they write, the interpreter, a free loopback port, a fresh
environment for one measurement, and timing a command from the outside."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "var" / "bench"
PY = sys.executable
BRANCHKPI = str(Path(PY).with_name("branchkpi"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_env(home: Path) -> dict[str, str]:
    """A new var folder and warehouse; the Prefect home (the ephemeral API's database) is shared and
    warm, as on a user's machine, so no measurement pays for creating Prefect's own database."""
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "BRANCHKPI_"))}
    return env | {
        "BRANCHKPI_HOME": str(home),
        "PREFECT_HOME": str(OUT / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "ERROR",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",  # as the CLI gives it
    }


def timed(args: list[str], env: dict[str, str]) -> float:
    """Seconds a command takes as a person waits for it (until it exits); it must succeed."""
    started = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return seconds


AFTER_WORK = (b"branchkpi.flows.reports", b"branchkpi.tasks.validate.validator")


def settle(home: Path, timeout: float = 60.0) -> None:
    """Wait until the after-work of this var folder's commands has ended (a report written after its
    run, the Data Docs a validating process owes): a person does not type the next command within the
    second, and a benchmark that did would charge one command's after-work to the next one's time."""
    marker = f"BRANCHKPI_HOME={home}".encode()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = _listening_sockets(home)
        procs = [proc for proc in Path("/proc").iterdir() if proc.name.isdigit()]
        if not any(_works_for(proc, marker, waiting) for proc in procs):
            return
        time.sleep(0.2)


def _works_for(proc: Path, marker: bytes, waiting: set[str]) -> bool:
    """Whether `proc` is after-work of the home: a report being written, or a validating process that
    is not the local server's spare still waiting for a command (that one is idle, not after-work)."""
    try:
        command = (proc / "cmdline").read_bytes()
        if not any(w in command for w in AFTER_WORK) or marker not in (proc / "environ").read_bytes().split(b"\0"):
            return False
        if b"--spare" in command:
            return not any(os.readlink(fd) in waiting for fd in (proc / "fd").iterdir())
        return True
    except OSError:  # gone meanwhile, or not ours to read
        return False


def _listening_sockets(home: Path) -> set[str]:
    """The listening socket of the home's warm validator (tasks/validate/spare.py), as its fds name it
    (socket:[inode]); /proc/net/unix lists an abstract name with an @ for its NUL."""
    from branchkpi.tasks.validate.spare import address

    name = "@" + address(home)[1:]
    inodes = set()
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        # Flags 00010000 = __SO_ACCEPTCON: a listening socket
        if len(fields) >= 8 and fields[3] == "00010000" and fields[7] == name:
            inodes.add(f"socket:[{fields[6]}]")
    return inodes
