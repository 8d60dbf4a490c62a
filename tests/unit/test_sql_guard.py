"""No SQL is built by string formatting in our sources (values are bound parameters): each place that
must format (identifiers, compiled statements, a PRAGMA) is allowed here with the reason it is safe."""

from __future__ import annotations

import re

from ..conftest import ROOT

# SQL text built by string formatting in our sources: each allowed place says why it is safe
SQL_SOURCES = ("flows", "tasks", "warehouse", "branchkpi", "expectations")


SQL_FORMATTING = [
    re.compile(r"""\b(?:text|exec_driver_sql|execute|executemany|executescript)\(\s*f["']"""),
    re.compile(r"""\b(?:text|exec_driver_sql|execute|executemany)\(\s*\w*\s*%\s*[(\w]"""),
    re.compile(r"""\b(?:SELECT|INSERT|UPDATE|DELETE|DROP|ALTER|CREATE|GRANT|PRAGMA|BEGIN)\b[^\n]*["']\s*%\s*[(\w]"""),
    re.compile(r"""\b(?:SELECT|INSERT|UPDATE|DELETE|DROP|ALTER|CREATE|GRANT|PRAGMA)\b[^\n]*["']\s*\.format\("""),
    re.compile(
        r"""f(?:"[^"\n]*|'[^'\n]*)\b(?:SELECT|INSERT INTO|UPDATE|DELETE FROM|DROP|ALTER|GRANT|PRAGMA)\b[^\n]*\{"""
    ),
    re.compile(r"""\b(?:text|exec_driver_sql)\(\s*(?!["'])[a-z_]\w*\s*\)"""),  # SQL from a variable
]


ALLOWED_SQL_FORMATTING = {
    # grant_reader: the role and database names are identifiers, which cannot be bound parameters;
    # both go through the dialect's identifier_preparer.quote() before they are placed in the statement
    ("warehouse/engine.py", 'f"GRANT CONNECT ON DATABASE {database} TO {quoted}",'),
    ("warehouse/engine.py", 'f"GRANT USAGE ON SCHEMA public TO {quoted}",'),
    ("warehouse/engine.py", 'f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {quoted}",'),
    ("warehouse/engine.py", 'f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {quoted}",'),
    ("warehouse/engine.py", "conn.execute(sa.text(statement))"),  # the four GRANTs above
    # bulk_write: `sql` is str(statement.compile(dialect)) of a SQLAlchemy Insert, with placeholders;
    # the values go to the driver as parameters
    ("warehouse/bulk.py", "conn.exec_driver_sql("),
    # SQLite cannot bind a PRAGMA's value; sqlite_busy_ms() returns an int (it rejects anything but digits)
    ("warehouse/engine.py", 'cursor.execute(f"PRAGMA busy_timeout={sqlite_busy_ms()}")'),
}


def test_no_sql_is_built_by_string_formatting() -> None:
    found = []
    for folder in SQL_SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("  #", 1)[0].strip()
                if code.startswith("#") or not any(p.search(code) for p in SQL_FORMATTING):
                    continue
                if (relative, code) not in ALLOWED_SQL_FORMATTING:
                    found.append(f"{relative}:{number}: {code}")
    assert not found, "SQL built by string formatting (bind parameters instead):\n" + "\n".join(found)


def test_the_guard_catches_what_it_should() -> None:
    bad = [
        "conn.execute(sa.text(f\"SELECT * FROM t WHERE name = '{name}'\"))",
        'conn.exec_driver_sql(f"DELETE FROM landed_files WHERE id = {i}")',
        'cursor.execute("SELECT * FROM t WHERE a = %s" % value)',
        'sql = "SELECT * FROM {} WHERE x = 1".format(table)',
        "q = f\"UPDATE kpi_targets SET note = '{note}'\"",
        "conn.execute(sa.text(query))",
    ]
    good = [
        'conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})',
        "conn.execute(sa.select(t).where(t.c.name == name))",
        'logger.info("%s (warehouse %s)", message, url)',
    ]
    assert all(any(p.search(line) for p in SQL_FORMATTING) for line in bad)
    assert not any(p.search(line) for p in SQL_FORMATTING for line in good)
