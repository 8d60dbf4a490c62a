"""Engine and schema upgrade. The URL comes from BRANCHKPI_WAREHOUSE_URL (default: SQLite under ./var).

`connect()` returns an engine on a warehouse that is migrated to the newest schema and holds the
reference data (regions, metrics); it is safe to call from every task and every process.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from branchkpi.config import settings
from branchkpi.domain import metrics as metric_catalog
from branchkpi.domain import regions as region_catalog
from branchkpi.warehouse import schema

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


def sqlite_busy_ms() -> int:
    """How long a SQLite writer waits for another's write lock: BRANCHKPI_SQLITE_BUSY_MS (default 30 s)."""
    text = os.environ.get("BRANCHKPI_SQLITE_BUSY_MS", "30000")
    if not text.isdigit():
        raise ValueError(f"BRANCHKPI_SQLITE_BUSY_MS={text!r}: give milliseconds, e.g. 30000")
    return int(text)


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
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: sa.Engine) -> None:
    """Bring the schema to the newest migration and sync reference data. Idempotent, and safe when
    several processes open a new warehouse at once: they take the write lock in turn."""
    with write_transaction(engine) as conn:
        command.upgrade(alembic_config(conn), "head")
        sync_reference_data(conn)


def sync_reference_data(conn: sa.Connection) -> None:
    """Upsert the region and metric catalogues from code, so a new metric needs no hand SQL."""
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
        {"key": r.code, "kind": "national" if r.is_national else "branch", "name_ja": r.name_ja,
         "name_romaji": r.name_romaji, "prefecture_code": r.code}
        for r in region_catalog.ALL_REGIONS
        if r.code not in present
    ]  # fmt: skip
    for table, rows, key in ((schema.regions, region_rows, "code"), (schema.metrics, metric_rows, "id")):
        existing = {tuple(r) for r in conn.execute(sa.select(*table.c))}
        wanted = [r for r in rows if tuple(r[c.name] for c in table.c) not in existing]
        if wanted:
            upsert(conn, table, wanted, [key])
    if missing_units:  # branches are reporting units too; municipalities arrive with their files
        conn.execute(sa.insert(schema.reporting_units), missing_units)


BULK_CHUNK_ROWS = 5_000  # measured: as fast as 20,000 and 45 MiB less peak RSS on 594,000 KPI rows


def bulk_write(
    conn: sa.Connection,
    statement: sa.Insert,
    frame: pl.DataFrame | list[dict[str, Any]],
    constants: dict[str, Any] | None = None,
) -> int:
    """Run an INSERT (or an upsert) for every row of a frame, in chunks, through the driver's executemany.
    `constants` are columns with one value for every row (the batch, the load time): given once,
    not broadcast into the frame.

    Why not `conn.execute(statement, frame.to_dicts())`: SQLAlchemy then builds a dict per row and
    processes every parameter of every row, which is three times the driver's own time on SQLite, and
    the whole batch sits in memory as dicts at once. Here the statement is compiled once for the
    frame's columns, the few types that need a bind processor (timestamps on SQLite) are converted
    column-wise (once for a constant), and the rows go to the driver as
    tuples, BULK_CHUNK_ROWS at a time, in primary-key order."""
    if isinstance(frame, list):
        frame = pl.DataFrame(frame, infer_schema_length=None) if frame else pl.DataFrame()
    if frame.height == 0:
        return 0
    constants = constants or {}
    dialect = conn.dialect
    compiled = statement.compile(dialect=dialect, column_keys=[*frame.columns, *constants])
    table = statement.table
    processors = {}
    for name in [*frame.columns, *constants]:
        column = table.c[name]
        processor = column.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors[name] = processor
    positional = compiled.positiontup
    sql = str(compiled)
    constant = {name: processors[name](v) if name in processors else v for name, v in constants.items()}
    for part in _in_key_order(frame, [c.name for c in table.primary_key.columns]):  # type: ignore[attr-defined]
        for chunk in part.iter_slices(BULK_CHUNK_ROWS):
            columns = {name: chunk[name].to_list() for name in frame.columns}
            for name, processor in processors.items():
                if name not in constant:
                    columns[name] = [processor(v) for v in columns[name]]
            for name, value in constant.items():
                columns[name] = [value] * chunk.height
            if positional is not None:
                conn.exec_driver_sql(sql, list(zip(*(columns[name] for name in positional), strict=True)))
            else:
                names = list(columns)
                conn.exec_driver_sql(
                    sql, [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]
                )
    return frame.height


SORT_PART_ROWS = 25_000


def _in_key_order(frame: pl.DataFrame, key: list[str]) -> Iterator[pl.DataFrame]:
    """The frame in primary-key order (rows in key order fill the key's B-tree page by page instead
    of at random), a range of the leading key column at a time, so that a sorted copy of a large
    batch never sits in memory whole."""
    if not key or not all(k in frame.columns for k in key):
        yield frame
        return
    parts = -(-frame.height // SORT_PART_ROWS)
    if parts <= 1:
        yield frame.sort(key)
        return
    leading = frame[key[0]].unique().sort()
    step = -(-len(leading) // parts)
    for i in range(0, len(leading), step):
        low, high = leading[i], leading[min(i + step, len(leading)) - 1]
        yield frame.filter(pl.col(key[0]).is_between(pl.lit(low), pl.lit(high))).sort(key)


def upsert(
    conn: sa.Connection,
    table: sa.Table,
    rows: pl.DataFrame | list[dict[str, Any]],
    keys: list[str],
    constants: dict[str, Any] | None = None,
) -> None:
    """One bulk INSERT … ON CONFLICT DO UPDATE (SQLite and PostgreSQL), written in chunks."""
    if len(rows) == 0:
        return
    from sqlalchemy.dialects import postgresql, sqlite

    if isinstance(rows, list):
        rows = pl.DataFrame(rows, infer_schema_length=None)

    dialect = conn.dialect.name
    statement: Any
    if dialect == "postgresql":
        statement = postgresql.insert(table)
    elif dialect == "sqlite":
        statement = sqlite.insert(table)
    else:  # pragma: no cover - only the two dialects we support
        raise NotImplementedError(f"upsert is not implemented for {dialect}")
    # only the columns given: a column left out keeps its value (it is not set to NULL)
    given = {*rows.columns, *(constants or {})}
    update = {c.name: statement.excluded[c.name] for c in table.c if c.name not in keys and c.name in given}
    bulk_write(conn, statement.on_conflict_do_update(index_elements=keys, set_=update), rows, constants)


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
