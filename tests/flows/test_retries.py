"""Warehouse steps retry on transient database errors (a locked or unreachable database) and on
nothing else: a bad value must fail at once."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from prefect import flow

from branchkpi.tasks.steps import warehouse_task


def test_transient_database_error_is_retried(prefect_server: str, tmp_path: Path) -> None:
    attempts: list[int] = []
    target = tmp_path / "later" / "w.sqlite"

    @warehouse_task(name="flaky-connect")
    def flaky_connect() -> int:
        attempts.append(1)
        if len(attempts) == 2:
            target.parent.mkdir()  # the "server" is back
        engine = sa.create_engine(f"sqlite:///{target}")
        with engine.connect() as conn:  # first attempt: "unable to open database file"
            return int(conn.execute(sa.text("SELECT 1")).scalar_one())

    @flow
    def uses_warehouse() -> int:
        return flaky_connect()

    assert uses_warehouse() == 1
    assert len(attempts) == 2


def test_other_errors_are_not_retried(prefect_server: str) -> None:
    attempts: list[int] = []

    @warehouse_task(name="bad-value")
    def bad_value() -> None:
        attempts.append(1)
        raise ValueError("value is not a number")

    @flow
    def uses_warehouse() -> None:
        bad_value()

    state = uses_warehouse(return_state=True)
    assert state.is_failed()
    assert len(attempts) == 1
