"""Where the local Prefect server keeps its state. Prefect on SQLite, under one person's commands plus a
few runs at once and the automations, logs `database is locked` and dead-letters alerts; Prefect
recommends PostgreSQL for a server. So by default the server gets a PostgreSQL cluster of its own
(BRANCHKPI_HOME/prefect/postgres, on a free loopback port, started and stopped with the server) when
the PostgreSQL server binaries are installed; `BRANCHKPI_SERVER_STATE=sqlite` keeps Prefect's SQLite
file, and PREFECT_SERVER_DATABASE_CONNECTION_URL names a PostgreSQL of your own (docs/decisions.md,
"The local server's state")."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from branchkpi.config import server_state
from branchkpi.warehouse import postgres_cluster
from branchkpi.warehouse.postgres_cluster import Cluster, ClusterError

DATABASE = ROLE = "prefect"


@dataclass
class StateDatabase:
    url: str | None  # None: Prefect's default, SQLite under PREFECT_HOME
    description: str
    cluster: Cluster | None = None

    def stop(self) -> None:
        if self.cluster is not None and self.cluster.initialised():
            self.cluster.stop("fast")


def cluster_dir(home: Path) -> Path:
    """home/postgres, or, when the `postgres` user cannot reach the home (we are root and a folder
    above it is private, e.g. /root), a folder of its own under /var/tmp named after the home."""
    if postgres_cluster.reachable_by_owner(home):
        return home / "postgres"
    digest = hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:12]
    base = Path("/var/tmp") / f"branchkpi-prefect-{digest}"
    base.mkdir(mode=0o711, exist_ok=True)
    return base / "postgres"


def state_database(home: Path, say: Callable[[str], None], start: bool = True) -> StateDatabase:
    """The server's state: the URL given, our own PostgreSQL (started when `start`), or SQLite."""
    given = os.environ.get("PREFECT_SERVER_DATABASE_CONNECTION_URL") or os.environ.get(
        "PREFECT_API_DATABASE_CONNECTION_URL"
    )
    if given:
        kind = "PostgreSQL" if given.startswith("postgresql") else "the database"
        return StateDatabase(given, f"{kind} of PREFECT_SERVER_DATABASE_CONNECTION_URL")
    choice = server_state()
    sqlite = StateDatabase(None, f"SQLite ({home / 'prefect.db'})")
    if choice == "sqlite" or (choice == "auto" and not postgres_cluster.available()):
        if choice == "auto" and start:
            say("PostgreSQL's server binaries are not installed: the server's state is SQLite")
        return sqlite
    cluster = Cluster(cluster_dir(home))
    if not start:
        return StateDatabase(None, "PostgreSQL (local)", cluster)
    try:
        cluster.init().start()
        password = cluster.ensure_database(DATABASE, owner=ROLE)
    except (ClusterError, OSError) as exc:
        if choice == "postgresql":
            raise
        say(f"the local PostgreSQL did not start ({exc}): the server's state is SQLite")
        return sqlite
    url = f"postgresql+asyncpg://{ROLE}:{password}@127.0.0.1:{cluster.port}/{DATABASE}"
    return StateDatabase(url, f"PostgreSQL ({cluster.data}, port {cluster.port})", cluster)
