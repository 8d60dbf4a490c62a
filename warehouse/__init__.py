"""The SQL warehouse: schema, engine, migrations and loads."""
