"""The `branchkpi` console script as a user runs it: real processes, the session's Prefect server,
a real SQLite warehouse under a temporary var folder."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import FIXTURES, ROOT, TIDY_SEED

BRANCHKPI = str(Path(sys.executable).with_name("branchkpi"))


@pytest.fixture
def cli_env(prefect_server: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRANCHKPI_", "PYTEST"))}
    env.update(
        BRANCHKPI_HOME=str(tmp_path / "var"),
        PREFECT_API_URL=prefect_server,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        COLUMNS="200",
    )
    env.pop("PREFECT_LOGGING_LEVEL", None)
    return env


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BRANCHKPI, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )


def assert_clean(stderr: str) -> None:
    for marker in ("Traceback", "CancelledError", "Exception"):
        assert marker not in stderr, stderr


def test_help_explains_the_commands(cli_env: dict[str, str]) -> None:
    out = run(cli_env, "--help")
    assert out.returncode == 0
    for word in ("ingest", "run", "query", "var/landing"):
        assert word in out.stdout
    out = run(cli_env, "query", "monthly", "--help")
    assert out.returncode == 0 and "--region" in out.stdout and "--fiscal-year" in out.stdout


def test_ingest_query_and_errors(cli_env: dict[str, str]) -> None:
    out = run(cli_env, "ingest", str(TIDY_SEED))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "576 loaded" in out.stdout and "Data Docs:" in out.stdout
    assert_clean(out.stderr)
    home = Path(cli_env["BRANCHKPI_HOME"])
    assert (home / "warehouse.sqlite").is_file() and any((home / "archive").rglob("*.csv"))

    # the same month, three ways of naming the region
    outputs = [
        run(cli_env, "query", "monthly", "--region", region, "--fiscal-year", fy, "--format", "json")
        for region, fy in (("yamaguchi", "2020"), ("山口", "令和2年度"), ("35", "R2"))
    ]
    assert all(o.returncode == 0 for o in outputs), outputs[0].stderr
    assert outputs[0].stdout == outputs[1].stdout == outputs[2].stdout
    records = json.loads(outputs[0].stdout)
    assert len(records) == 8 * 12  # 6 metrics + members + benefits per member
    for key in (
        "region",
        "metric",
        "fiscal_year",
        "month",
        "value",
        "yoy_pct",
        "fytd_total",
        "fytd_average",
        "fytd_yoy_pct",
    ):
        assert key in records[0]
    april = next(r for r in records if r["metric"] == "insured_persons" and r["month"] == 4)
    assert april["value"] == 260511 and round(april["yoy_pct"], 1) == april["yoy_pct_printed"] == -0.1

    out = run(
        cli_env,
        "query",
        "monthly",
        "--region",
        "yamaguchi",
        "--fiscal-year",
        "2020",
        "--metric",
        "被保険者数",
        "--format",
        "csv",
    )
    assert out.returncode == 0
    table = list(csv.DictReader(io.StringIO(out.stdout)))
    assert len(table) == 12 and set(records[0]) == set(table[0])
    assert [int(r["month"]) for r in table] == [4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3]
    assert float(table[-1]["fytd_total"]) == sum(float(r["value"]) for r in table)  # CSV: the full value

    # a terminal table: figures with thousands separators, never in exponent form (1.04075e+06)
    out = run(
        cli_env,
        "query",
        "monthly",
        "--region",
        "yamaguchi",
        "--fiscal-year",
        "2020",
        "--metric",
        "被保険者数",
        "--format",
        "table",
    )
    assert out.returncode == 0, out.stderr
    assert "e+0" not in out.stdout and "260,511" in out.stdout
    march_total = f"{sum(float(r['value']) for r in table):,.0f}"  # 3,1xx,xxx: over a million
    assert march_total in out.stdout and " 2020 " in out.stdout.replace("│", " ")  # the year stays 2020

    for args, message in (
        (("query", "monthly", "--region", "atlantis"), "unknown region"),
        (("query", "monthly", "--metric", "happiness"), "unknown metric"),
        (("query", "monthly", "--fiscal-year", "令和99年度x"), "not a fiscal year"),
        (("run", "monthly", "--period", "2020-13"), "month out of range"),
        (("ingest", "no/such/file.csv"), "no such file"),
    ):
        out = run(cli_env, *args)
        assert out.returncode == 1, (args, out.stdout, out.stderr)
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], out.stderr


def test_ingest_exit_code_reflects_the_gate(cli_env: dict[str, str]) -> None:
    out = run(cli_env, "ingest", str(FIXTURES / "bad_inputs" / "negative_count.csv"))
    assert out.returncode == 1
    assert "FAILED the quality gate" in out.stdout
    assert "negative_count.csv, row 7, column 'value', value '-258559'" in out.stdout
    assert_clean(out.stderr)
    out = run(cli_env, "query", "monthly")
    assert out.returncode == 1 and "no data" in out.stderr  # nothing was loaded


def test_evaluate_and_rank(cli_env: dict[str, str], tmp_path: Path) -> None:
    seed = ROOT / "data" / "sample" / "seed"
    out = run(cli_env, "ingest", str(seed / "kpi_plan_items.csv"), str(seed / "kpi_actuals.csv"))
    assert out.returncode == 0, out.stdout + out.stderr
    out = run(cli_env, "evaluate", "--branch", "山口", "--fiscal-year", "令和2年度", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert_clean(out.stderr)
    records = json.loads(out.stdout)
    assert set(records[0]) == {
        "kpi_id",
        "target",
        "comparator",
        "actual",
        "previous",
        "status",
        "mark",
        "reason",
        "reason_ja",
        "item_mark",
        "group_ja",
        "item_no",
        "item_ja",
        "sub_item_no",
        "sub_item_ja",
    }
    assert records[0]["item_mark"] is None  # no plan structure loaded: no item
    assert records[0]["reason_ja"].startswith("実績 ") and records[0]["reason"].startswith("actual ")
    assert records[0]["mark"] == "×"  # missed ones first
    assert {r["mark"] for r in records} == {"○", "×"}
    # the table is what a planning officer reads: Japanese names, marks and reasons, no ids
    table = run(cli_env, "evaluate", "--branch", "山口", "--fiscal-year", "令和2年度")
    assert table.returncode == 0, table.stderr
    for word in ("KPI名", "判定", "理由", "保険証回収率", "96.30%以上", "95.82%", "0.236%", "×"):
        assert word in table.stdout, word  # (rich wraps long cells: only words that fit a line are sought)
    assert "card_recovery_rate" not in table.stdout and "missed" not in table.stdout
    english = run(cli_env, "evaluate", "--branch", "山口", "--fiscal-year", "令和2年度", "--lang", "en")
    assert english.returncode == 0 and "Card" in english.stdout and "0.236%" in english.stdout
    assert "KPI名" not in english.stdout and "理由" not in english.stdout
    out = run(cli_env, "evaluate", "--branch", "saitama", "--fiscal-year", "2017", "--quarter", "1", "--format", "csv")
    assert out.returncode == 0
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert next(r for r in rows if r["kpi_id"] == "lifestyle_checkup_rate")["mark"] == "△"

    out = run(cli_env, "evaluate", "--all", "--format", "json")
    assert out.returncode == 0, out.stderr
    per_unit = {(r["fiscal_year"], r["unit"]): r for r in json.loads(out.stdout)}
    assert set(per_unit) == {(2017, "11"), (2020, "35"), (2021, "10")}
    assert (per_unit[(2020, "35")]["○"], per_unit[(2020, "35")]["×"]) == (13, 13)

    out = run(cli_env, "synth", "--fiscal-years", "2020-2020", "--out", str(tmp_path / "synthetic"))
    assert out.returncode == 0, out.stderr
    assert run(cli_env, "ingest", str(tmp_path / "synthetic" / "kpi_actuals_synthetic.csv")).returncode == 0
    out = run(cli_env, "rank", "--kpi", "generic_drug_share", "--fiscal-year", "2020", "--format", "json")
    assert out.returncode == 0, out.stderr
    ranked = json.loads(out.stdout)
    assert len(ranked) == 47 and ranked[0]["rank"] == 1
    for args, message in (
        (("evaluate", "--fiscal-year", "2020"), "exactly one of --branch or --municipality"),
        (("evaluate", "--branch", "atlantis", "--fiscal-year", "2020"), "unknown branch"),
        (("rank", "--kpi", "happiness", "--fiscal-year", "2020"), "unknown KPI"),
    ):
        out = run(cli_env, *args)
        assert out.returncode == 1 and out.stderr.startswith("error:") and message in out.stderr, out.stderr
