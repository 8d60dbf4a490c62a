"""Failures that are not bad data: the warehouse unreachable or busy, the disk under var/ full.
Each becomes one exception whose message says what happened, where (the URL without its password)
and what to do, instead of a driver's traceback. A run that meets one ends Failed with that message.

Why two kinds: an unreachable or locked warehouse may cure itself (a restart, another run's commit),
so its steps are retried as configured; a full disk will not, so retrying it only delays the alert."""

from __future__ import annotations

import errno
import logging

import sqlalchemy as sa


class ClearFailure(Exception):
    """A failure whose message says all a person needs (what, where, what to do): logged without a traceback."""


class WarehouseUnavailable(ClearFailure):
    """The warehouse cannot be reached, or is locked by another run, right now (retried)."""


class StorageFull(ClearFailure):
    """No space left where the run writes (var/: archive, SQLite, data docs; or the database server)."""


STORAGE_FULL_HINT = "free space there and run again; nothing of this batch was loaded, its landed files are kept"


def is_storage_full(exc: BaseException) -> bool:
    """ENOSPC/EDQUOT from the OS, SQLite's SQLITE_FULL, PostgreSQL's disk_full (53100)."""
    for e in _chain(exc):
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "database or disk is full" in str(e) or getattr(e, "sqlstate", None) == "53100":
            return True
    return False


def is_transient(exc: BaseException) -> bool:
    """A locked or unreachable database (a retry can cure it); not a full disk, not a bad value."""
    if isinstance(exc, WarehouseUnavailable):
        return True
    if is_storage_full(exc):
        return False
    if isinstance(exc, sa.exc.OperationalError):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and bool(exc.connection_invalidated)


def explained(exc: BaseException, warehouse_url: str | None) -> BaseException:
    """`exc` as one of our clear exceptions when it is a warehouse or storage failure; else itself."""
    from branchkpi.warehouse.engine import redacted

    where = redacted(warehouse_url) if warehouse_url else "the warehouse"
    if is_storage_full(exc):
        target = next((e.filename for e in _chain(exc) if isinstance(e, OSError) and e.filename), None)
        place = f"writing {target}" if target else f"writing to {where}"
        return StorageFull(f"no space left on the device ({place}): {_first_line(exc)}; {STORAGE_FULL_HINT}")
    if isinstance(exc, sa.exc.DBAPIError) and is_transient(exc):
        driver = _first_line(exc.orig) if exc.orig is not None else _first_line(exc)
        if "database is locked" in driver or "database table is locked" in driver:
            return WarehouseUnavailable(
                f"the SQLite warehouse {where} is busy: another run held its write lock longer than the busy "
                f"timeout (BRANCHKPI_SQLITE_BUSY_MS); the step is retried ({driver})"
            )
        return WarehouseUnavailable(f"the warehouse {where} is unreachable: {driver}")
    return exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
        orig = getattr(seen[-1], "orig", None)
        if isinstance(orig, BaseException) and orig not in seen:
            seen.append(orig)
    return seen


class _WithoutTraceback(logging.Filter):
    """Prefect logs a failed task with its traceback. For the failures above, whose one line already
    says what happened and where, the driver's traceback is noise in a console and in the UI."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], ClearFailure):
            record.exc_info, record.exc_text = None, None
        return True


def quiet_tracebacks() -> None:
    """Install the filter on Prefect's run loggers (idempotent)."""
    for name in ("prefect.task_runs", "prefect.flow_runs"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _WithoutTraceback) for f in logger.filters):
            logger.addFilter(_WithoutTraceback())
