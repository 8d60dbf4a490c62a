"""The local server's state under load, SQLite beside PostgreSQL (docs/decisions.md, "The local
server's state"): for each, a fresh home, `branchkpi server start`, alerts installed to a local
receiver, then the concurrency test's load (eight monthly runs over four periods at once) plus one
bad file; printed: the server log's `database is locked` and dead-letter lines, and how long the bad
file's alert took to arrive after its run ended.

    .venv/bin/python bench/server_state.py [--states sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers import Receiver  # noqa: E402  (the suite's webhook receiver)

BRANCHKPI = str(Path(sys.executable).with_name("branchkpi"))
SEED = ROOT / "data" / "sample" / "seed" / "branch_monthly_stats.csv"
BAD = ROOT / "tests" / "fixtures" / "bad_inputs" / "negative_count.csv"
PERIODS = {2017: "2018-03", 2018: "2019-03", 2019: "2020-03", 2020: "2021-03"}


def measure(state: str, port: int) -> dict[str, float]:
    import polars as pl

    base = Path(tempfile.mkdtemp(prefix=f"branchkpi-state-{state}-"))
    base.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRANCHKPI_", "PREFECT_"))}
    env |= {"BRANCHKPI_HOME": str(base / "var"), "BRANCHKPI_SERVER_PORT": str(port), "BRANCHKPI_SERVER_STATE": state}
    hook = Receiver()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([BRANCHKPI, *args], env=env, capture_output=True, text=True, check=False)

    try:
        assert cli("server", "start").returncode == 0
        assert cli("alerts", "install", "--webhook", hook.url, "--allow-private-urls").returncode == 0
        seed = pl.read_csv(SEED)
        files = {}
        for fiscal_year, period in PERIODS.items():
            files[period] = base / f"FY{fiscal_year}.csv"
            seed.filter(pl.col("fiscal_year") == fiscal_year).write_csv(files[period])
        runs = [
            subprocess.Popen(
                [BRANCHKPI, "run", "monthly", "--period", period, str(path)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for period, path in files.items()
            for _ in range(2)
        ]
        bad_env = env | {"BRANCHKPI_WAREHOUSE_URL": f"sqlite:///{base / 'bad.sqlite'}"}
        bad = subprocess.Popen([BRANCHKPI, "ingest", str(BAD)], env=bad_env, stdout=subprocess.DEVNULL)
        bad.wait()
        bad_ended = time.time()
        for r in runs:
            r.wait()
        deadline = time.monotonic() + 120
        while not hook.arrived and time.monotonic() < deadline:
            time.sleep(0.2)
        latency = hook.arrived[0] - bad_ended if hook.arrived else float("inf")
        text = (base / "var" / "prefect" / "server.log").read_text(errors="replace")
        return {
            "database_is_locked": text.count("database is locked"),
            "dead_lettered": text.lower().count("dead letter"),
            "alert_seconds": round(latency, 1),
            "alerts": len(hook.received),
        }
    finally:
        cli("server", "stop")
        hook.close()
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--states", default="sqlite,postgresql")
    args = parser.parse_args()
    from branchkpi.warehouse.postgres_cluster import free_port

    for state in args.states.split(","):
        figures = measure(state, free_port())
        print(f"server_state={state} " + " ".join(f"{k}={v}" for k, v in figures.items()), flush=True)


if __name__ == "__main__":
    main()
