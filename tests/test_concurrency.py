"""Two runs for the same period started at once never interleave their writes: the second waits
for the warehouse's write lock and then finds nothing new; the result equals one run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl

from branchkpi.regions import resolve_region
from warehouse import schema

from .conftest import ROOT, TIDY_SEED
from .helpers import counts, rows, stats_values

BRANCHKPI = str(Path(sys.executable).with_name("branchkpi"))


def test_two_runs_for_one_period_equal_one_run(prefect_server: str, warehouse_url: str, bk_home: Path) -> None:
    env = {**os.environ, "PREFECT_API_URL": prefect_server}
    runs = [
        subprocess.Popen(
            [BRANCHKPI, "run", "monthly", "--period", "2021-03", str(TIDY_SEED)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [r.communicate(timeout=300) for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outputs
    for _, stderr in outputs:
        assert "Traceback" not in stderr, stderr
    after = counts(warehouse_url)
    assert after["monthly_stats"] == 576 and after["monthly_stats_audit"] == 0
    assert after["landed_files"] == 1 and after["ingest_batches"] == 2
    assert after["monthly_kpis"] == 768
    batches = sorted(rows(warehouse_url, schema.ingest_batches), key=lambda b: b["rows_inserted"])
    assert [(b["rows_inserted"], b["rows_unchanged"]) for b in batches] == [(0, 576), (576, 0)]
    # the values are exactly those of the file, each once
    seed = pl.read_csv(TIDY_SEED)
    expected = {
        (resolve_region(r["region"]), r["metric"], r["fiscal_year"], r["month"]): float(r["value"])
        for r in seed.iter_rows(named=True)
    }
    assert stats_values(warehouse_url) == expected
