"""A throwaway PostgreSQL 15 server for the test session: initdb in a temp directory owned by the
`postgres` system user (the server refuses to run as root), listening on a free loopback port.
Each test gets its own database; the app role logs in with a password over TCP, like production."""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

APP_ROLE = "branchkpi"
READER_ROLE = "branchkpi_reader"


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql-15: make test does it)")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    def __init__(self) -> None:
        self.bindir = _bindir()
        self.base = Path(tempfile.mkdtemp(prefix="branchkpi-pg-"))
        self.data = self.base / "data"
        self.port = _free_port()
        self.password = secrets.token_urlsafe(16)
        self.reader_password = secrets.token_urlsafe(16)

    def _as_postgres(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, timeout=120)

    def start(self) -> PostgresServer:
        shutil.chown(self.base, "postgres", "postgres")
        os.chmod(self.base, 0o700)
        self._as_postgres(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        )
        self.resume()
        with self.admin() as conn:
            conn.execute(f"CREATE ROLE {APP_ROLE} LOGIN CREATEDB PASSWORD '{self.password}'")
            conn.execute(f"CREATE ROLE {READER_ROLE} LOGIN PASSWORD '{self.reader_password}'")
        return self

    def resume(self) -> None:
        """Start the server (again) on its data directory and port."""
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self._as_postgres(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.base / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def pause(self) -> None:
        """Stop the server as an outage does: open sessions are cut (fast shutdown), data kept."""
        self._as_postgres(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def admin(self, dbname: str = "postgres") -> psycopg.Connection:
        for _ in range(50):
            try:
                return psycopg.connect(
                    host=str(self.base), port=self.port, user="postgres", dbname=dbname, autocommit=True
                )
            except psycopg.OperationalError:
                time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL did not accept connections; see {self.base / 'server.log'}")

    def create_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" OWNER {APP_ROLE}')
        return name

    def prefect_database_url(self) -> str:
        """A database for the Prefect server itself, owned by its own role (as on a shared server)."""
        password = secrets.token_urlsafe(16)
        with self.admin() as conn:
            conn.execute(f"CREATE ROLE prefect LOGIN PASSWORD '{password}'")
            conn.execute("CREATE DATABASE prefect OWNER prefect")
        return f"postgresql+asyncpg://prefect:{password}@127.0.0.1:{self.port}/prefect"

    def url(self, dbname: str, role: str = APP_ROLE) -> str:
        password = self.password if role == APP_ROLE else self.reader_password
        return f"postgresql+psycopg://{role}:{password}@127.0.0.1:{self.port}/{dbname}"

    def stop(self) -> None:
        try:
            self._as_postgres(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)
