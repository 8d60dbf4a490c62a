"""The polars types of the warehouse's columns, derived once from warehouse/schema.py, so a frame that
is parsed, validated, loaded or read back types a column the same way everywhere.

One integer width per meaning: surrogate ids and references to them (landed_files.id, source_file_id)
are Int64; fiscal years, months and counts are Int32. Doubles are Float64, text String, timestamps
UTC microseconds."""

from __future__ import annotations

from typing import Any

import polars as pl
import sqlalchemy as sa

from branchkpi.warehouse import schema


def _is_id(column: sa.Column[Any]) -> bool:
    """A surrogate key or a reference to one (an autoincrementing integer primary key)."""
    if column.primary_key and column.autoincrement is True:
        return True
    return any(
        fk.column.primary_key and fk.column.autoincrement is True and isinstance(fk.column.type, sa.Integer)
        for fk in column.foreign_keys
    )


def polars_type(column: sa.Column[Any]) -> Any:
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return pl.Boolean
    if isinstance(kind, sa.BigInteger):
        return pl.Int64
    if isinstance(kind, sa.Integer):  # SmallInteger too
        return pl.Int64 if _is_id(column) else pl.Int32
    if isinstance(kind, sa.Float):
        return pl.Float64
    if isinstance(kind, sa.DateTime):
        return pl.Datetime("us", "UTC")
    if isinstance(kind, sa.String):  # Text too
        return pl.String
    raise TypeError(f"{column.table.name}.{column.name}: no polars type for {kind!r}")


def frame_schema(table: sa.Table, *columns: str, **renamed: str) -> dict[str, Any]:
    """{name: polars type} for these columns of the table (all when none are named), in that order;
    `renamed` gives a column another name in the frame: frame_schema(t, "value", old_value="value")."""
    names = list(columns) or ([] if renamed else [c.name for c in table.c])
    out = {name: polars_type(table.c[name]) for name in names}
    out |= {frame_name: polars_type(table.c[name]) for frame_name, name in renamed.items()}
    return out


def empty(schema_: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema_)


def from_rows(rows: Any, schema_: dict[str, Any]) -> pl.DataFrame:
    """A frame of SQL result rows (tuples in the schema's column order)."""
    return pl.DataFrame([tuple(r) for r in rows], schema=schema_, orient="row")


READ_CHUNK_ROWS = 100_000


def read_frame(conn: sa.Connection, query: sa.Select[Any], schema_: dict[str, Any]) -> pl.DataFrame:
    """A query's rows as a frame (columns in the schema's order), fetched from the driver's cursor a
    chunk at a time: no SQLAlchemy row object per row, which is half the time of reading a
    prefecture's 500,000 KPI actuals. For columns the driver returns as they are (text, numbers),
    not timestamps (SQLite hands those over as text for SQLAlchemy to convert)."""
    if any(isinstance(t, pl.Datetime) or t == pl.Datetime for t in schema_.values()):
        raise TypeError("read_frame reads no timestamps: use from_rows(conn.execute(query).all(), …)")
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    if compiled.positiontup is not None:  # SQLite's ? placeholders
        result = conn.exec_driver_sql(str(compiled), tuple(params[name] for name in compiled.positiontup))
    else:
        result = conn.exec_driver_sql(str(compiled), params)
    cursor, chunks = result.cursor, []
    while rows := cursor.fetchmany(READ_CHUNK_ROWS):
        chunks.append(pl.DataFrame(rows, schema=schema_, orient="row"))
    result.close()
    return pl.concat(chunks, how="vertical") if chunks else pl.DataFrame(schema=schema_)


# The statistics key and value, as every stage types them
STATS_KEY = ["region_code", "metric", "fiscal_year", "month"]
STATISTICS = frame_schema(schema.monthly_stats, *STATS_KEY, "value")
FILE_ID = polars_type(schema.landed_files.c.id)
