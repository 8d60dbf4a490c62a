"""Warehouse schema: created by the migrations, equal to warehouse/schema.py, idempotent, and an
upgrade keeps the data of an existing warehouse."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from branchkpi.warehouse import schema
from branchkpi.warehouse.engine import (
    MIGRATIONS_DIR,
    alembic_config,
    connect,
    dispose_all,
    make_engine,
    redacted,
    upgrade,
)

from ..conftest import both_dialects


@both_dialects("the migrations build the schema in each dialect's DDL")
def test_migrations_build_exactly_the_schema(fresh_warehouse: str) -> None:
    engine = make_engine(fresh_warehouse)  # SQLite and PostgreSQL
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    assert diff == [], "schema.py and the migrations disagree: write a migration"


@both_dialects("upserts of the reference data are dialect SQL")
def test_upgrade_is_idempotent_and_seeds_reference_data(fresh_warehouse: str) -> None:
    engine = make_engine(fresh_warehouse)
    upgrade(engine)
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.regions)).scalar_one() == 48
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.metrics)).scalar_one() == 8
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert MigrationContext.configure(conn).get_current_revision() == head


def test_upgrade_from_an_older_revision_keeps_data(tmp_path: Path) -> None:
    """A warehouse at an older revision upgrades in place; its rows survive (run from base here,
    and from every revision once there are several)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    script = ScriptDirectory.from_config(alembic_config())
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revisions[0])
        conn.execute(
            sa.text(
                "INSERT INTO regions (code, name_ja, name_romaji, is_national) VALUES ('35', '山口', 'yamaguchi', 0)"
            )
        )
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT name_ja FROM regions WHERE code = '35'")).scalar_one() == "山口"
    assert (MIGRATIONS_DIR / "versions").is_dir()


@both_dialects("each dialect's URL and driver")
def test_connect_uses_the_environment_and_hides_passwords(warehouse_url: str) -> None:
    engine = connect()
    assert engine.url.render_as_string(hide_password=False) == warehouse_url
    dispose_all()
    assert redacted("postgresql+psycopg://planner:s3cret@127.0.0.1:5432/kpi") == (
        "postgresql+psycopg://planner:***@127.0.0.1:5432/kpi"
    )


@both_dialects("the write lock: an advisory lock or BEGIN IMMEDIATE")
def test_several_processes_open_a_new_warehouse_at_once(fresh_warehouse: str) -> None:
    """The first use migrates; four processes starting together take turns and all succeed."""
    import subprocess
    import sys

    code = "import sys; from warehouse.engine import connect; connect(sys.argv[1])"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, fresh_warehouse], stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    engine = make_engine(fresh_warehouse)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.regions)).scalar_one() == 48


def test_the_scripts_head_is_read_as_alembic_reads_it() -> None:
    """A current warehouse is recognised without importing Alembic: the head read from the scripts'
    text must be Alembic's own."""
    from branchkpi.warehouse.engine import script_head

    assert script_head() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_a_current_warehouse_opens_while_a_load_holds_the_write_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A query on a migrated warehouse only reads to check it is current: it never waits for a load."""
    from branchkpi.warehouse.engine import write_transaction

    monkeypatch.setenv("BRANCHKPI_SQLITE_BUSY_MS", "200")  # waiting for the lock would fail at once
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    upgrade(make_engine(url))
    with write_transaction(make_engine(url)):
        upgrade(make_engine(url))  # returns: nothing to migrate, nothing to sync


@both_dialects("COPY on PostgreSQL, executemany on SQLite")
def test_bulk_writes_are_the_same_rows_on_both_dialects(fresh_warehouse: str) -> None:
    """COPY on PostgreSQL, executemany on SQLite: plain inserts and upserts (staged and merged on
    PostgreSQL) write the same values, NULLs, text with quotes, tabs and newlines, and timestamps."""
    from datetime import UTC, datetime

    import polars as pl

    from branchkpi.warehouse.bulk import bulk_write, upsert
    from branchkpi.warehouse.engine import write_transaction

    engine = make_engine(fresh_warehouse)
    upgrade(engine)
    now = datetime(2026, 12, 4, 10, 30, 15, 123456, tzinfo=UTC)
    t = schema.kpi_targets
    with write_transaction(engine) as conn:
        conn.execute(sa.insert(schema.ingest_batches), [{"id": "b1", "started_at": now, "status": "loaded"}])
        conn.execute(
            sa.insert(schema.landed_files),
            [
                {
                    "id": 1,
                    "first_batch_id": "b1",
                    "file_name": "f.csv",
                    "sha256": "0" * 64,
                    "size_bytes": 1,
                    "archive_path": "-",
                    "landed_at": now,
                }
            ],
        )
        rows = pl.DataFrame(
            {
                "unit_key": ["35", "11"],
                "fiscal_year": [2020, 2020],
                "kpi_id": ["card_recovery_rate", 'own "kpi"\t\\N\nnext'],
                "comparator": ["ge", "le"],
                "target_value": [96.3, None],
                "unit": ["pct", "count"],
                "target_text": [None, '96.3%以上, "quoted"'],
                "source_file_id": [1, 1],
            }
        )
        assert bulk_write(conn, sa.insert(t), rows, {"batch_id": "b1", "loaded_at": now}) == 2
        changed = rows.head(1).with_columns(target_value=pl.lit(97.0), target_text=pl.lit("97%以上"))
        upsert(conn, t, changed, ["unit_key", "fiscal_year", "kpi_id"], {"batch_id": "b1", "loaded_at": now})
    with engine.connect() as conn:
        stored = {
            r.kpi_id: r
            for r in conn.execute(sa.select(t.c.kpi_id, t.c.target_value, t.c.target_text, t.c.unit, t.c.loaded_at))
        }
    assert (stored["card_recovery_rate"].target_value, stored["card_recovery_rate"].target_text) == (97.0, "97%以上")
    odd = stored['own "kpi"\t\\N\nnext']
    assert (odd.target_value, odd.target_text, odd.unit) == (None, '96.3%以上, "quoted"', "count")
    loaded = odd.loaded_at if odd.loaded_at.tzinfo else odd.loaded_at.replace(tzinfo=UTC)
    assert loaded == now
