"""Alembic environment: runs on the connection handed over by warehouse.engine.upgrade()."""

from alembic import context

from branchkpi.warehouse.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # `alembic` command line: use the configured URL
    import sqlalchemy as sa

    from branchkpi.config import settings

    connection = sa.create_engine(settings().warehouse_url).connect()

# render_as_batch: SQLite cannot ALTER most things; batch mode rebuilds the table instead.
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
