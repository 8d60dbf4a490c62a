"""A throwaway PostgreSQL 15 server for the test session (branchkpi.warehouse.postgres_cluster, fsync
off): its data in a temp directory owned by the `postgres` system user (the server refuses to run as
root), listening on a free loopback port. Each test gets its own database; the app role logs in with
a password over TCP, like production."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import uuid
from pathlib import Path

import psycopg

from branchkpi.warehouse.postgres_cluster import Cluster

APP_ROLE = "branchkpi"
READER_ROLE = "branchkpi_reader"


class PostgresServer:
    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="branchkpi-pg-"))
        self.cluster = Cluster(self.base / "data", fast=True)
        self.password = secrets.token_urlsafe(16)
        self.reader_password = secrets.token_urlsafe(16)

    @property
    def port(self) -> int:
        return self.cluster.port

    def start(self) -> PostgresServer:
        if os.geteuid() == 0:  # the server's user must reach its data directory
            shutil.chown(self.base, "postgres", "postgres")
        os.chmod(self.base, 0o711)
        self.cluster.init().start()
        with self.admin() as conn:
            conn.execute(f"CREATE ROLE {APP_ROLE} LOGIN CREATEDB PASSWORD '{self.password}'")
            conn.execute(f"CREATE ROLE {READER_ROLE} LOGIN PASSWORD '{self.reader_password}'")
        return self

    def resume(self) -> None:
        """Start the server (again) on its data directory and port."""
        self.cluster.start()

    def pause(self) -> None:
        """Stop the server as an outage does: open sessions are cut (fast shutdown), data kept."""
        self.cluster.stop("fast")

    def admin(self, dbname: str = "postgres") -> psycopg.Connection:
        return self.cluster.admin(dbname)

    def create_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" OWNER {APP_ROLE}')
        return name

    def prefect_database_url(self) -> str:
        """A database for the Prefect server itself, owned by its own role (as on a shared server)."""
        password = self.cluster.ensure_database("prefect", owner="prefect")
        return f"postgresql+asyncpg://prefect:{password}@127.0.0.1:{self.port}/prefect"

    def url(self, dbname: str, role: str = APP_ROLE) -> str:
        password = self.password if role == APP_ROLE else self.reader_password
        return f"postgresql+psycopg://{role}:{password}@127.0.0.1:{self.port}/{dbname}"

    def stop(self) -> None:
        try:
            self.cluster.remove()
        finally:
            shutil.rmtree(self.base, ignore_errors=True)
