"""A PostgreSQL cluster of our own on loopback: the local Prefect server's state (`branchkpi server
start` keeps it under BRANCHKPI_HOME/prefect/postgres) and the test suite's throwaway server.

Debian's server binaries refuse to run as root, so as root every server command runs as the `postgres`
system user (`runuser`), on a data directory it owns. Connections are TCP on 127.0.0.1 with a password
(scram-sha-256), as in production; no Unix socket is needed, so a long home path does not matter."""

from __future__ import annotations

import glob
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg


SUPERUSER = "postgres"


class ClusterError(RuntimeError):
    """The cluster cannot be created or started; the message says why and what to do."""


def bindir() -> Path:
    """Where initdb and pg_ctl are: on PATH, else Debian's /usr/lib/postgresql/N/bin (newest N)."""
    on_path = shutil.which("pg_ctl")
    if on_path and Path(on_path).with_name("initdb").exists():
        return Path(on_path).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise ClusterError("PostgreSQL server binaries not found (Debian: apt-get install postgresql-15)")
    return Path(found[-1]).parent


def available() -> bool:
    try:
        bindir()
    except ClusterError:
        return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_root() -> bool:
    return os.geteuid() == 0


def run_as_owner(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """A server command, as the `postgres` user when we are root (the server refuses root)."""
    command = ["runuser", "-u", "postgres", "--", *args] if _as_root() else list(args)
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def reachable_by_owner(path: Path) -> bool:
    """Whether the server's user can reach `path` (every folder above it must let it through)."""
    if not _as_root():
        return True
    return run_as_owner("test", "-x", str(path), timeout=10).returncode == 0


@dataclass
class Cluster:
    """One data directory, started on a loopback port. `fast` trades durability for speed (fsync off:
    a test server); the server's state keeps PostgreSQL's defaults."""

    data: Path
    port: int = 0
    fast: bool = False

    @property
    def _secrets(self) -> Path:
        return self.data.parent / f"{self.data.name}.json"

    @property
    def log(self) -> Path:
        return self.data.parent / f"{self.data.name}.log"

    def password(self, role: str = SUPERUSER) -> str:
        return str(json.loads(self._secrets.read_text())[role])

    def initialised(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def init(self) -> Cluster:
        """initdb once: the superuser's password kept beside the data directory (0600)."""
        if self.initialised():
            return self
        self.data.parent.mkdir(parents=True, exist_ok=True)
        self.data.mkdir(mode=0o700, exist_ok=True)
        password = secrets.token_urlsafe(18)
        self._secrets.write_text(json.dumps({SUPERUSER: password}))
        self._secrets.chmod(0o600)
        pwfile = self.data.parent / f".{self.data.name}.pw"
        pwfile.write_text(password + "\n")
        try:
            if _as_root():
                shutil.chown(self.data, "postgres", "postgres")
                shutil.chown(pwfile, "postgres", "postgres")
            done = run_as_owner(
                str(bindir() / "initdb"),
                "-D",
                str(self.data),
                "-U",
                SUPERUSER,
                f"--pwfile={pwfile}",
                "--auth-local=scram-sha-256",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if done.returncode != 0:
            raise ClusterError(f"initdb failed for {self.data}: {(done.stderr or done.stdout).strip()[-500:]}")
        return self

    def running(self) -> bool:
        return run_as_owner(str(bindir() / "pg_ctl"), "-D", str(self.data), "status", timeout=30).returncode == 0

    def start(self) -> Cluster:
        """Start on `port` (a free one when 0), listening on 127.0.0.1 only; no Unix socket."""
        if self.running():
            self.port = self.port or self._running_port()
            return self
        self.port = self.port or free_port()
        options = f"-p {self.port} -k '' -c listen_addresses=127.0.0.1"
        if self.fast:
            options += " -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        if _as_root() and not self.log.exists():
            self.log.touch()
            shutil.chown(self.log, "postgres", "postgres")
        done = run_as_owner(
            str(bindir() / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.log),
            "-w",
            "-t",
            "60",
            "start",
        )
        if done.returncode != 0:
            tail = self.log.read_text(errors="replace")[-800:] if self.log.exists() else ""
            raise ClusterError(f"PostgreSQL did not start on {self.data}: {done.stderr.strip()[-300:]}\n{tail}")
        return self

    def _running_port(self) -> int:
        pid_lines = (self.data / "postmaster.pid").read_text().splitlines()
        return int(pid_lines[3])

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (fast: open sessions are cut; immediate: as a crash would)."""
        if self.initialised() and self.running():
            run_as_owner(str(bindir() / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", timeout=60)

    def admin(self, dbname: str = "postgres") -> psycopg.Connection:
        """A superuser session (autocommit), waiting briefly for a server that is still starting."""
        import psycopg  # here: every command imports this module (the local server), few connect

        last: Exception | None = None
        for _ in range(50):
            try:
                return psycopg.connect(
                    host="127.0.0.1",
                    port=self.port,
                    user=SUPERUSER,
                    password=self.password(),
                    dbname=dbname,
                    autocommit=True,
                )
            except psycopg.OperationalError as exc:
                last = exc
                time.sleep(0.1)
        raise ClusterError(f"PostgreSQL on port {self.port} did not accept connections ({last}); see {self.log}")

    def ensure_database(self, name: str, owner: str) -> str:
        """A login role `owner` (its password kept with the superuser's) owning database `name`;
        returns the role's password. Idempotent."""
        from psycopg import sql

        stored = json.loads(self._secrets.read_text())
        password = stored.get(owner) or secrets.token_urlsafe(18)
        with self.admin() as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (owner,)).fetchone()
            # DDL takes no bind parameters: the names and the password are quoted by psycopg.sql
            role = sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}" if exists else "CREATE ROLE {} LOGIN PASSWORD {}")
            conn.execute(role.format(sql.Identifier(owner), sql.Literal(password)))
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(owner)))
        if stored.get(owner) != password:
            self._secrets.write_text(json.dumps(stored | {owner: password}))
        return password

    def remove(self) -> None:
        """Stop as a crash would and delete everything (a throwaway server)."""
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.data, ignore_errors=True)
            self._secrets.unlink(missing_ok=True)
            self.log.unlink(missing_ok=True)
