"""Helpers of the fault-injection tests: a flow run in a child process that reports its steps, a
probe for the warehouse's write lock, and the check that a warehouse holds a batch completely."""

from __future__ import annotations

import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from branchkpi.warehouse import schema
from branchkpi.warehouse.engine import WRITE_LOCK_KEY, connect

from .conftest import ROOT


class ChildRun:
    """`python -m tests.fault_child FILES` with the given environment; its lines are read in the
    background so the test can wait for a step and kill the process there."""

    def __init__(self, paths: list[Path], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fault_child", *map(str, paths)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put("")  # EOF

    def wait_for(self, prefix: str, timeout: float = 180) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.05)
            except queue.Empty:
                continue
            if line == "" and self.process.poll() is not None:
                break
            self.seen.append(line)
            if line.startswith(prefix):
                return line
        raise AssertionError(f"the child never printed {prefix!r}; it printed:\n" + "\n".join(self.seen[-60:]))

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def finish(self, timeout: float = 300) -> tuple[str, str, str]:
        """(state type, flow run id, message) from the END line."""
        line = self.wait_for("END ", timeout)
        self.process.wait(timeout=60)
        _, state, run_id, *message = line.split(" ", 3)
        return state, run_id, message[0] if message else ""


def write_lock_held(url: str) -> bool:
    """Whether some process holds the warehouse's write lock right now (a load in flight):
    SQLite, a BEGIN IMMEDIATE that cannot start at once; PostgreSQL, the granted advisory lock."""
    if url.startswith("sqlite:///"):
        con = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            con.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            con.close()
    with connect(url).connect() as conn:
        held = conn.execute(
            sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = :key AND granted"),
            {"key": WRITE_LOCK_KEY},
        ).scalar_one()
    return bool(held)


def kill_inside_write(child: ChildRun, url: str, timeout: float = 120) -> None:
    """Kill the child while it holds the write lock (inside a load's transaction)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if write_lock_held(url):
            child.kill()
            return
        if child.process.poll() is not None:
            raise AssertionError("the child ended before it was caught inside its write:\n" + "\n".join(child.seen))
        time.sleep(0.003)
    raise AssertionError("the child never held the write lock")


def assert_batch_complete(url: str, expected: dict[tuple[str | None, str, int, int], float]) -> None:
    """The warehouse holds exactly the files' values, each once, and KPIs computed from all of them."""
    from branchkpi.tasks import compute
    from branchkpi.warehouse import reads

    from .helpers import stats_values

    assert stats_values(url) == expected
    engine = connect(url)
    with engine.connect() as conn:
        stats = reads.statistics(conn, 0, 9999)
        counted = {
            t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in (schema.monthly_stats, schema.monthly_kpis, schema.fiscal_year_kpis)
        }
    assert counted["monthly_stats"] == len(expected)
    assert counted["monthly_kpis"] == compute.monthly_kpis(stats).height
    assert counted["fiscal_year_kpis"] == compute.fiscal_year_kpis(stats).height


def file_values(paths: list[Path]) -> dict[tuple[str | None, str, int, int], float]:
    """The values of tidy statistics files, keyed like helpers.stats_values (regions read as text:
    "00" is the national code, not the number 0)."""
    from branchkpi.domain.regions import resolve_region

    values: dict[tuple[str | None, str, int, int], float] = {}
    for p in paths:
        for r in pl.read_csv(p, schema_overrides={"region": pl.String}).iter_rows(named=True):
            values[(resolve_region(r["region"]), r["metric"], r["fiscal_year"], r["month"])] = float(r["value"])
    return values


def batch_statuses(url: str) -> list[str]:
    from .helpers import rows

    return sorted(r["status"] for r in rows(url, schema.ingest_batches))


def synth_stats(out: Path, first_fy: int, last_fy: int) -> list[Path]:
    """Synthetic monthly statistics of 48 regions, one file per fiscal year (branchkpi synth)."""
    subprocess.run(
        [
            str(Path(sys.executable).with_name("branchkpi")),
            "synth",
            "--fiscal-years",
            f"{first_fy}-{last_fy}",
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    return sorted((out / "monthly_stats").glob("*.csv"))


def frame_height(path: Path) -> int:
    return pl.read_csv(path).height
