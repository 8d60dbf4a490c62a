"""Warehouse schema: created by the migrations, equal to warehouse/schema.py, idempotent, and an
upgrade keeps the data of an existing warehouse."""

from __future__ import annotations

from pathlib import Path

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


def test_migrations_build_exactly_the_schema(fresh_warehouse: str) -> None:
    engine = make_engine(fresh_warehouse)  # SQLite and PostgreSQL
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    assert diff == [], "schema.py and the migrations disagree: write a migration"


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


def test_connect_uses_the_environment_and_hides_passwords(warehouse_url: str) -> None:
    engine = connect()
    assert engine.url.render_as_string(hide_password=False) == warehouse_url
    dispose_all()
    assert redacted("postgresql+psycopg://planner:s3cret@127.0.0.1:5432/kpi") == (
        "postgresql+psycopg://planner:***@127.0.0.1:5432/kpi"
    )


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
