"""The local Prefect server as a process of ours: `branchkpi server run` in the foreground (what
`make server`, a systemd unit and `start` run), `start` / `stop` / `status` of it in the background.

`run` is a small supervisor. It chooses the server's state (local_state), starts `prefect server
start` as its child with stdout and stderr on the log file (never a pipe: a pipe that nobody reads
once the starting command has exited kills the server at its first warning, EPIPE), records the
child in PREFECT_HOME/server.json, passes SIGTERM / SIGINT on, and when the child ends, for whatever
reason, writes why into server-exit.json and the log. The log is rotated by size (10 MB, 5 old
files) by copy and truncation, so every line the server writes, whoever writes it, is in it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from branchkpi.cli.local_state import StateDatabase, state_database
from branchkpi.cli.probe import answers, api_url
from branchkpi.config import home_dir, warm_validator

LOG_BYTES = 10 * 1024 * 1024
LOG_BACKUPS = 5
STOP_GRACE = 20.0  # seconds the server has to stop on SIGTERM before it is killed


class ServerError(RuntimeError):
    """The server cannot be started or stopped as asked; the message says why."""


@dataclass(frozen=True)
class Paths:
    """What a server keeps under its Prefect home."""

    home: Path

    @property
    def record(self) -> Path:  # the running server: supervisor and server pids, port, state
        return self.home / "server.json"

    @property
    def exit_record(self) -> Path:  # why the last server ended
        return self.home / "server-exit.json"

    @property
    def log(self) -> Path:
        return self.home / "server.log"


def paths() -> Paths:
    return Paths(Path(os.environ.get("PREFECT_HOME") or home_dir() / "prefect"))


def now() -> str:
    return datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S%z")


def log_line(where: Paths, text: str) -> None:
    """A line of ours in the server's log (opened by name: the server's handler may have rotated it)."""
    with where.log.open("a", encoding="utf-8") as out:
        out.write(f"{now()} | branchkpi | {text}\n")


def tail(where: Paths, lines: int = 15) -> list[str]:
    if not where.log.exists():
        return []
    with where.log.open("rb") as f:
        f.seek(max(0, where.log.stat().st_size - 64 * 1024))
        return f.read().decode("utf-8", errors="replace").splitlines()[-lines:]


def alive(pid: int | None) -> bool:
    """Whether pid is a live process of ours (not a zombie, not a recycled pid of something else)."""
    if not pid:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z" and (b"branchkpi" in cmdline or b"prefect" in cmdline)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


def write_json(path: Path, data: dict[str, Any]) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, ensure_ascii=False, indent=1))
    temporary.replace(path)


def server_environment(port: int, where: Paths, state: StateDatabase) -> dict[str, str]:
    """The environment of the server process: its home, the UI calling this port, schedules created
    far enough ahead for the annual run, its state database."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env |= {
        "PREFECT_HOME": str(where.home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_API_URL": api_url(port),
        "PREFECT_UI_URL": f"http://127.0.0.1:{port}",
    }
    env.setdefault("PREFECT_SERVER_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME", "P400D")
    # and at least 120 days of the reporting calendar's runs in the API (Prefect keeps 3 by default)
    env.setdefault("PREFECT_SERVER_SERVICES_SCHEDULER_MIN_SCHEDULED_TIME", "P120D")
    if state.url:
        env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = state.url
    return env


def rotate(where: Paths, limit: int = LOG_BYTES, keep: int = LOG_BACKUPS) -> bool:
    """Copy-truncate rotation: server.log → server.log.1 … .5 once past `limit`. The server writes to
    the file with O_APPEND, so after the truncation its next line lands at the new end (a line
    written between the copy and the truncation may be lost, as with logrotate's copytruncate)."""
    if not where.log.exists() or where.log.stat().st_size <= limit:
        return False
    for n in range(keep - 1, 0, -1):
        older = where.log.with_name(f"{where.log.name}.{n}")
        if older.exists():
            older.replace(where.log.with_name(f"{where.log.name}.{n + 1}"))
    shutil.copyfile(where.log, where.log.with_name(f"{where.log.name}.1"))
    with where.log.open("r+b") as f:
        f.truncate(0)
    return True


def _prefect_command() -> list[str]:
    prefect = Path(sys.executable).with_name("prefect")
    return [str(prefect)] if prefect.exists() else [sys.executable, "-m", "prefect"]


@dataclass
class _Supervisor:
    port: int
    where: Paths
    state: StateDatabase
    child: subprocess.Popen[bytes] | None = None
    helper: subprocess.Popen[bytes] | None = None  # the housekeeping process
    spare_processes: list[subprocess.Popen[bytes]] = field(default_factory=list)  # warm validators
    host: str = "127.0.0.1"
    requested: list[str] = field(default_factory=list)

    def on_signal(self, signum: int, _frame: object) -> None:
        self.requested.append(signal.Signals(signum).name)
        if self.child and self.child.poll() is None:
            self.child.terminate()

    def housekeeping(self) -> None:
        """Once the server answers, `server housekeeping` in a process of its own (it imports Prefect):
        the automation that marks runs without a heartbeat Crashed, and the runs in flight when the
        server last went down watched until they end (flows/recovery.py). It ends with the server."""
        deadline = time.monotonic() + 300
        while not answers(self.port, timeout=2):
            if time.monotonic() > deadline or (self.child and self.child.poll() is not None):
                return
            time.sleep(0.5)
        env = {**os.environ, "PREFECT_API_URL": api_url(self.port), "PREFECT_HOME": str(self.where.home)}
        with self.where.log.open("ab") as out:
            self.helper = subprocess.Popen(
                [sys.executable, "-m", "branchkpi.cli", "server", "housekeeping"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.helper.wait()

    def rotation(self) -> None:
        while self.child and self.child.poll() is None:
            rotate(self.where)
            time.sleep(30)

    def spares(self) -> None:
        """One validating process always warm for the commands of this home (tasks/validate/spare.py):
        when a command takes it, the next is started; one that ends untaken waits a little (another
        spare of this home listens, or it failed: its reason is in the log)."""
        home = home_dir()
        while self.child and self.child.poll() is None:
            with (home / "logs" / "validator.log").open("ab") as log:
                spare = subprocess.Popen(
                    [sys.executable, "-P", "-m", "branchkpi.tasks.validate.validator", "--spare", str(home)],
                    # never written: its end tells a spare not yet taken that its supervisor is gone
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,  # it says when it is taken; nothing else is written here
                    stderr=log,
                )
            self.spare_processes.append(spare)
            assert spare.stdout is not None
            if not spare.stdout.readline():  # it ended without being taken
                spare.wait()
                time.sleep(30)
            self.spare_processes = [p for p in self.spare_processes if p.poll() is None]

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self.on_signal)
        env = server_environment(self.port, self.where, self.state)
        log_line(self.where, f"starting the Prefect server on 127.0.0.1:{self.port}; state: {self.state.description}")
        with self.where.log.open("ab") as out:
            self.child = subprocess.Popen(
                [*_prefect_command(), "server", "start", "--host", self.host, "--port", str(self.port)],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        write_json(
            self.where.record,
            {
                "pid": os.getpid(),
                "server_pid": self.child.pid,
                "port": self.port,
                "started_at": now(),
                "state": self.state.description,
            },
        )
        threading.Thread(target=self.housekeeping, daemon=True).start()
        threading.Thread(target=self.rotation, daemon=True).start()
        if warm_validator():
            (home_dir() / "logs").mkdir(parents=True, exist_ok=True)
            threading.Thread(target=self.spares, daemon=True).start()
        code = self._wait()
        if self.requested:
            reason = f"stopped ({self.requested[0]})"
        elif code < 0:
            reason = f"died: killed by signal {signal.Signals(-code).name}"
        else:
            reason = f"died: exited with code {code}"
        for process in (self.helper, *self.spare_processes):
            if process and process.poll() is None:
                process.kill()
                process.wait()
        self.state.stop()
        write_json(self.where.exit_record, {"at": now(), "reason": reason, "requested": bool(self.requested)})
        self.where.record.unlink(missing_ok=True)
        log_line(self.where, f"the Prefect server {reason}")
        return 0 if self.requested else 1

    def _wait(self) -> int:
        assert self.child is not None
        while True:
            try:
                return self.child.wait(timeout=None if not self.requested else STOP_GRACE)
            except subprocess.TimeoutExpired:
                log_line(self.where, f"the server did not stop within {STOP_GRACE:.0f} s: killed")
                self.child.kill()


def run(port: int, host: str = "127.0.0.1") -> int:
    """The server in the foreground until it ends or is told to stop; the exit code is 0 when told.
    `host` 0.0.0.0 serves other machines too (a server host); loopback is always among them."""
    where = paths()
    where.home.mkdir(parents=True, exist_ok=True)
    if answers(port):
        raise ServerError(f"a Prefect server already answers on port {port}")
    rotate(where)
    state = state_database(where.home, lambda text: log_line(where, text))
    return _Supervisor(port, where, state, host=host).run()


def start(port: int, wait: float = 120.0) -> str:
    """Start `run` in the background (a session of its own, no pipes) and wait until it answers."""
    url = f"http://127.0.0.1:{port}"
    if answers(port):
        return url
    where = paths()
    where.home.mkdir(parents=True, exist_ok=True)
    record = read_json(where.record)
    if record and alive(record.get("pid")):
        if alive(record.get("server_pid")):
            return _wait_until_answers(port, wait, record["pid"], where)  # it is starting
        _wait_gone(record["pid"], STOP_GRACE + 15)  # its server ended: the supervisor is recording why
    where.record.unlink(missing_ok=True)  # a stale record: that server died with its supervisor
    where.exit_record.unlink(missing_ok=True)
    with where.log.open("ab") as out:
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "branchkpi.cli", "server", "run"],
            env={**os.environ, "BRANCHKPI_SERVER_PORT": str(port), "PREFECT_HOME": str(where.home)},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return _wait_until_answers(port, wait, supervisor.pid, where, supervisor)


def _wait_until_answers(
    port: int, wait: float, pid: int, where: Paths, process: subprocess.Popen[bytes] | None = None
) -> str:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if answers(port, timeout=2):
            return f"http://127.0.0.1:{port}"
        if (process.poll() is not None) if process else not alive(pid):
            last = "\n".join(tail(where, 8))
            raise ServerError(f"the server stopped while starting; the end of {where.log}:\n{last}")
        time.sleep(0.3)
    raise ServerError(f"the server did not answer on port {port} within {wait:.0f} s; see {where.log}")


def stop(port: int) -> bool:
    """Stop the server of this home (its supervisor stops it and its state database); True if one ran."""
    where = paths()
    record = read_json(where.record) or {}
    was_running = answers(port) or alive(record.get("pid")) or alive(record.get("server_pid"))
    pid, server_pid = int(record.get("pid") or 0), int(record.get("server_pid") or 0)
    if alive(pid):
        os.kill(pid, signal.SIGTERM)
        _wait_gone(pid, STOP_GRACE + 15)
    if alive(server_pid):  # a server left behind by a supervisor that was killed
        os.kill(server_pid, signal.SIGTERM)
        _wait_gone(server_pid, STOP_GRACE)
    for leftover in (pid, server_pid):  # what did not end when told
        if leftover and alive(leftover):
            os.kill(leftover, signal.SIGKILL)
            _wait_gone(leftover, 5)
    if record and not read_json(where.exit_record):
        write_json(where.exit_record, {"at": now(), "reason": "stopped (branchkpi server stop)", "requested": True})
    where.record.unlink(missing_ok=True)
    state_database(where.home, lambda _text: None, start=False).stop()
    deadline = time.monotonic() + 10
    while answers(port) and time.monotonic() < deadline:
        time.sleep(0.3)
    return bool(was_running)


def _wait_gone(pid: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)


@dataclass(frozen=True)
class Status:
    state: str  # running | starting | stopping | stopped | died
    url: str
    lines: list[str]


def status(port: int) -> Status:
    """running (it answers), starting (its process lives, no answer yet), stopped (told to), or died
    (it ended without being told, or its record outlived it), with why and the end of its log."""
    where, url = paths(), f"http://127.0.0.1:{port}"
    record, last_exit = read_json(where.record), read_json(where.exit_record)
    if answers(port):
        detail = [f"state: {record['state']}", f"log: {where.log}"] if record else [f"log: {where.log}"]
        return Status("running", url, detail)
    if record and alive(record.get("pid")):  # its supervisor lives: the server is coming up or going down
        coming = alive(record.get("server_pid"))
        return Status(
            "starting" if coming else "stopping", url, [f"since {record.get('started_at')}", f"log: {where.log}"]
        )
    if record:
        reason = "its process is gone (killed without a word)"
        return Status("died", url, [reason, f"the end of {where.log}:", *tail(where)])
    if last_exit and not last_exit.get("requested"):
        return Status(
            "died", url, [f"{last_exit['at']}: {last_exit['reason']}", f"the end of {where.log}:", *tail(where)]
        )
    return Status("stopped", url, [])
