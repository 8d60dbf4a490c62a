"""Synthetic data at scale: consistent with the real series, branches summing to the national total,
1,741 municipalities, repeatable, and accepted by the real gate and flows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ..conftest import ROOT
from ..helpers import rows


def test_synthetic_files_pass_the_gate_and_evaluate(prefect_server: str, warehouse_url: str, tmp_path: Path) -> None:
    """`branchkpi synth` writes files the real flows accept: statistics, branch and municipal KPIs."""
    env = {**os.environ, "PREFECT_API_URL": prefect_server}
    out = tmp_path / "synthetic"
    branchkpi = str(Path(sys.executable).with_name("branchkpi"))
    done = subprocess.run(
        [branchkpi, "synth", "--fiscal-years", "2005-2006", "--out", str(out), "--municipal"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "rows in 7 files" in done.stdout

    from branchkpi.flows.evaluate_targets import evaluate_targets
    from branchkpi.flows.monthly_branch_stats import monthly_branch_stats
    from branchkpi.flows.quarterly_kpi_actuals import quarterly_kpi_actuals
    from branchkpi.warehouse import schema

    state = monthly_branch_stats(paths=[str(out / "monthly_stats")], return_state=True)
    assert state.is_completed() and state.name == "Completed", state.message  # no warnings either
    assert len(rows(warehouse_url, schema.monthly_stats)) == 2 * 48 * 12 * 6
    files = [
        out / n
        for n in (
            "kpi_targets.csv",
            "kpi_actuals_quarterly.csv",
            "municipal_kpi_targets.csv",
            "municipal_kpi_actuals.csv",
        )
    ]
    state = quarterly_kpi_actuals(paths=[str(f) for f in files], return_state=True)
    assert state.is_completed(), state.message
    assert len(rows(warehouse_url, schema.reporting_units)) == 48 + 1741
    state = evaluate_targets(fiscal_year=2006, return_state=True)
    assert state.is_completed(), state.message
    marks = [r["status"] for r in rows(warehouse_url, schema.kpi_evaluations)]
    assert len(marks) == 47 * 10 + 1741 * 4
    assert {"achieved", "missed"} <= set(marks)  # targets near the units' own level: some met, some not
