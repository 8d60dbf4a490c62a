"""One import name: the wheel puts exactly one top-level package, branchkpi, into site-packages, with
its package data (templates, migrations, the seed series), and works outside the repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from ..conftest import ROOT


def test_the_wheel_is_one_package_that_works_outside_the_repo(tmp_path: Path) -> None:
    source = tmp_path / "source"  # built from a copy: setuptools writes build/ into the tree it builds
    shutil.copytree(
        ROOT,
        source,
        symlinks=True,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "var", "build", "*.egg-info", "__pycache__", ".*_cache", "tests"
        ),
    )
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("branchkpi-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/", 1)[0] for n in names} == {"branchkpi", wheel.name.split("-py3")[0] + ".dist-info"}
    for data in (
        "branchkpi/flows/monthly_branch_stats.py",
        "branchkpi/tasks/report/templates/branch_report.html.j2",
        "branchkpi/warehouse/migrations/env.py",
        "branchkpi/warehouse/migrations/script.py.mako",
        "branchkpi/warehouse/migrations/versions/0001_initial_schema.py",
        "branchkpi/synthetic/seed/branch_monthly_stats.csv",
        "branchkpi/synthetic/seed/kpi_actuals.csv",
    ):
        assert data in names, data

    site = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRANCHKPI_", "PREFECT_API"))}
    env |= {"PYTHONPATH": str(site), "BRANCHKPI_HOME": str(elsewhere / "var")}
    script = """
import sys
import branchkpi, branchkpi.flows.monthly_branch_stats as flow
from branchkpi.warehouse import reads
from branchkpi.warehouse.engine import connect
assert branchkpi.__file__.startswith(sys.argv[1]) and flow.__file__.startswith(sys.argv[1]), flow.__file__
engine = connect("sqlite:///" + sys.argv[2])  # migrated by the wheel's own Alembic scripts
print(reads.table_counts(engine)["regions"])
from branchkpi.cli import app
sys.argv = ["branchkpi", "synth", "--fiscal-years", "2020", "--out", "synthetic"]
app()
"""
    ran = subprocess.run(
        [sys.executable, "-c", script, str(site), str(elsewhere / "w.sqlite")],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.splitlines()[0] == "48"  # 47 branches and 全国 from the wheel's domain catalogue
    assert (elsewhere / "synthetic" / "monthly_stats" / "monthly_stats_FY2020.csv").exists()  # seed data packaged
    assert "rows in" in ran.stdout
