"""The SQL warehouse: schema, engine and migrations, and every statement that reads or writes it
(reads, loads with audit, batches and the backfill log, evaluations), with the polars types of its
columns (frames)."""
