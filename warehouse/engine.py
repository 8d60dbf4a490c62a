"""Engine and schema upgrade. The URL comes from the settings (BRANCHKPI_WAREHOUSE_URL; default SQLite under ./var).

`connect()` returns an engine on a warehouse that is migrated to the newest schema and holds the
reference data (regions, metrics); it is safe to call from every task and every process.
"""

from __future__ import annotations

import ast
import functools
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from branchkpi.config import settings, sqlite_busy_ms
from branchkpi.domain import metrics as metric_catalog
from branchkpi.domain import regions as region_catalog
from branchkpi.warehouse import schema
from branchkpi.warehouse.bulk import upsert

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_engines: dict[str, sa.Engine] = {}
_upgraded: set[str] = set()
_lock = threading.Lock()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (queries, the UI) work while a load writes; busy_timeout turns a concurrent
    # writer into a wait instead of an immediate "database is locked" (past it, the step is retried).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={sqlite_busy_ms()}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    # pysqlite's own implicit BEGIN is turned off (isolation_level=None below) so that we choose:
    # loads take the write lock up front (BEGIN IMMEDIATE); everything else begins deferred.
    immediate = conn.get_execution_options().get("sqlite_immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _sqlite_autocommit_driver(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


def driver_url(url: str) -> str:
    """The URL with the driver we install: a plain postgresql:// would make SQLAlchemy 2.0 look for
    psycopg2; we ship psycopg 3 (postgresql+psycopg://)."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> sa.Engine:
    url = driver_url(url)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url)
        sa.event.listen(engine, "connect", _sqlite_autocommit_driver)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


# One lock for every load into the curated tables: two runs for the same period (or overlapping
# ones) never interleave their read-compare-write; the second waits and then finds nothing to do.
WRITE_LOCK_KEY = 0x6B70_6900  # "kpi" — any constant shared by all branchkpi processes


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A transaction that holds the warehouse's write lock until it commits or rolls back:
    PostgreSQL advisory transaction lock, SQLite BEGIN IMMEDIATE (waiting up to busy_timeout)."""
    with engine.execution_options(sqlite_immediate=True).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})
        yield conn


def alembic_config(connection: sa.Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: sa.Engine) -> None:
    """Bring the schema to the newest migration and sync reference data. Idempotent, and safe when
    several processes open a new warehouse at once: they take the write lock in turn.

    A warehouse that is already current (its revision is the scripts' head and the reference data
    match the code) is only read: no write lock, so a query never waits for a running load, and
    Alembic is not even imported (a tenth of a second of every command)."""
    if _is_current(engine):
        return
    from alembic import command

    with write_transaction(engine) as conn:
        command.upgrade(alembic_config(conn), "head")
        sync_reference_data(conn)


_REVISION = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*$", re.MULTILINE)


@functools.cache
def script_head() -> str | None:
    """The newest migration, read from the scripts' text: the revision no other script revises.
    None when the scripts are not a simple line of revisions (a merge, two heads, a computed id):
    Alembic decides then. tests/warehouse/test_warehouse.py checks it equals Alembic's head."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = dict(_REVISION.findall(path.read_text(encoding="utf-8")))
        try:
            revision, down = ast.literal_eval(found["revision"]), ast.literal_eval(found["down_revision"])
        except (KeyError, ValueError, SyntaxError):
            return None
        if not isinstance(revision, str) or not (down is None or isinstance(down, str)):
            return None
        revisions.add(revision)
        if down is not None:
            revised.add(down)
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


def _is_current(engine: sa.Engine) -> bool:
    head = script_head()
    if head is None:
        return False
    version = sa.table("alembic_version", sa.column("version_num"))
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return False
        if conn.execute(sa.select(version.c.version_num)).scalars().all() != [head]:
            return False
        return _reference_data_changes(conn) == ([], [])


def sync_reference_data(conn: sa.Connection) -> None:
    """Upsert the region and metric catalogues from code, so a new metric needs no hand SQL."""
    changes, missing_units = _reference_data_changes(conn)
    for table, rows, key in changes:
        upsert(conn, table, rows, [key])
    if missing_units:  # branches are reporting units too; municipalities arrive with their files
        conn.execute(sa.insert(schema.reporting_units), missing_units)


def _reference_data_changes(
    conn: sa.Connection,
) -> tuple[list[tuple[sa.Table, list[dict[str, Any]], str]], list[dict[str, Any]]]:
    """What the warehouse's catalogues lack of the code's: (table, rows to upsert, key) per catalogue
    that differs, and the branches missing as reporting units."""
    region_rows = [
        {"code": r.code, "name_ja": r.name_ja, "name_romaji": r.name_romaji, "is_national": r.is_national}
        for r in region_catalog.ALL_REGIONS
    ]
    metric_rows = [
        {
            "id": m.id,
            "name_ja": m.name_ja,
            "name_en": m.name_en,
            "unit": m.unit,
            "aggregation": m.aggregation,
            "capped_by_national": m.capped_by_national,
            "derived": m.derived,
        }
        for m in metric_catalog.BY_ID.values()
    ]
    present = {r[0] for r in conn.execute(sa.select(schema.reporting_units.c.key))}
    missing_units = [
        {
            "key": r.code,
            "kind": "national" if r.is_national else "branch",
            "name_ja": r.name_ja,
            "name_romaji": r.name_romaji,
            "prefecture_code": r.code,
        }
        for r in region_catalog.ALL_REGIONS
        if r.code not in present
    ]
    changes = []
    for table, rows, key in ((schema.regions, region_rows, "code"), (schema.metrics, metric_rows, "id")):
        existing = {tuple(r) for r in conn.execute(sa.select(*table.c))}
        wanted = [r for r in rows if tuple(r[c.name] for c in table.c) not in existing]
        if wanted:
            changes.append((table, wanted, key))
    return changes, missing_units


def connect(url: str | None = None) -> sa.Engine:
    """An engine on an upgraded warehouse (cached per URL for the life of the process)."""
    url = url or settings().warehouse_url
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
        if url not in _upgraded:
            upgrade(engine)
            _upgraded.add(url)
    return engine


def connect_reader(url: str | None = None) -> sa.Engine:
    """An engine for reads with the read-only role (BRANCHKPI_READER_URL); it never migrates."""
    url = url or settings().reader_url
    if url == settings().warehouse_url:
        return connect(url)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
    return engine


def grant_reader(engine: sa.Engine, role: str) -> None:
    """PostgreSQL: let ROLE read every table, present and future, and nothing else."""
    if engine.dialect.name != "postgresql":
        raise ValueError("read-only roles are a PostgreSQL feature; on SQLite use a read-only file URL")
    quoted = engine.dialect.identifier_preparer.quote(role)
    with engine.begin() as conn:
        database = engine.dialect.identifier_preparer.quote(
            str(conn.execute(sa.text("SELECT current_database()")).scalar_one())
        )
        for statement in (
            f"GRANT CONNECT ON DATABASE {database} TO {quoted}",
            f"GRANT USAGE ON SCHEMA public TO {quoted}",
            f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {quoted}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {quoted}",
        ):
            conn.execute(sa.text(statement))


def dispose_all() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _upgraded.clear()


def redacted(url: str) -> str:
    """The URL with its password hidden, for messages."""
    return sa.make_url(url).render_as_string(hide_password=True)
