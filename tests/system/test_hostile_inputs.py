"""Hostile input (tests/fixtures/hostile, written by make_bad_inputs.py, and the files it writes at test
time): every file goes through the real flow (monthly-branch-stats or quarterly-kpi-actuals) and ends in
a load, a clear file error or a quarantine naming file, row, column and value; the landed file is kept
byte for byte in var/archive; a failed batch leaves nothing in the curated tables; big files stay within
a memory bound; nothing is written outside var/; no export lets a spreadsheet evaluate a cell."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from branchkpi.tasks.landing import safe_file_name
from branchkpi.warehouse import schema

from ..conftest import FIXTURES, ROOT
from ..fixtures import make_bad_inputs as gen
from ..helpers import counts, rows, run_monthly, stats_values

HOSTILE = FIXTURES / "hostile"
CASES: dict[str, dict[str, Any]] = json.loads((HOSTILE / "expected.json").read_text(encoding="utf-8"))
CURATED = {"monthly": ("monthly_stats", "monthly_kpis", "monthly_stats_audit"), "kpi": ("kpi_targets", "kpi_actuals")}
ON_POSTGRES = ["formula_injection.csv", "kpi_non_finite_actuals.csv"]
# Peak RSS of one process that imports Prefect, polars and GX and runs the flow on each big file in turn.
# Measured: 467 MiB (most of it the interpreter with Prefect, GX and polars imported). A parser
# that held a 32 MiB line as millions of cells, or inflated the 300 MiB zip bomb into openpyxl, goes past
# 2 GiB; 1 GiB leaves room for other versions of the libraries and still catches that.
MEMORY_BOUND_MIB = 1024


def run_kpi(*paths: Path) -> tuple[Any, Any]:
    from branchkpi.flows.quarterly_kpi_actuals import quarterly_kpi_actuals

    state = quarterly_kpi_actuals(paths=[str(p) for p in paths], return_state=True)
    return state, state.result(raise_on_failure=False)


def run_flow(flow: str, path: Path) -> tuple[Any, Any]:
    return run_kpi(path) if flow == "kpi" else run_monthly(path)


def check_outcome(name: str, path: Path, case: dict[str, Any], state: Any, outcome: Any, url: str, home: Path) -> None:
    """The assertions a hostile file that loads must pass: kept, every good row loaded, warnings named."""
    flow = case.get("flow", "monthly")
    landed = rows(url, schema.landed_files)
    assert len(landed) == 1
    check_kept(name, path, landed[0], home)
    after = counts(url)
    findings = outcome.findings
    criticals = [f for f in findings if f.severity == "critical"]
    assert state.is_completed(), state.message
    assert criticals == [], criticals
    assert (
        after[CURATED[flow][0] if flow == "monthly" else "kpi_targets"] + (after["kpi_actuals"] if flow == "kpi" else 0)
        == case["rows"]
    )  # every good row loaded
    if case["expect"] == "loads_with_warning":
        warned = [f for f in findings if f.severity == "warning" and f.rule == case["detail"]]
        assert sorted(f.value_text for f in warned) == sorted(case["values"])
        assert all(f.source_row and f.column_name and name in str(f) for f in warned)


def check_kept(name: str, path: Path, landed: dict[str, Any], home: Path) -> None:
    """Registered under its safe name, archived inside var/archive byte for byte."""
    assert landed["file_name"] == safe_file_name(name)
    archived = home / "archive" / landed["archive_path"]
    assert archived.resolve().is_relative_to((home / "archive").resolve())
    assert archived.read_bytes() == path.read_bytes()


def check_refused(name: str, case: dict[str, Any], outcome: Any, url: str) -> None:
    """A file of a failed batch: its own reasons quarantined, naming file, row, column and value."""
    quarantined = rows(url, schema.quarantined_rows, schema.quarantined_rows.c.file_name == name)
    critical = [q for q in quarantined if q["severity"] == "critical"]
    assert critical, name
    if case["expect"] == "file_error":
        assert [q["rule"] for q in critical] == ["file_readable"], name
        reason = critical[0]["reason"]
        assert critical[0]["file_name"] == name and not reason.startswith(name), reason  # the file named once
        assert case["detail"].lower() in reason.lower(), reason
        assert critical[0]["source_row"] is None
        return
    # quarantine: every row of the file reached the gate (none dropped), the bad ones are named
    report = next(f for f in outcome.files if f.file_name == name)
    assert report.rows == case["rows"], (name, report.rows, case["rows"])
    hits = [q for q in critical if q["rule"] == case["detail"]]
    assert hits, (name, [q["rule"] for q in critical])
    assert set(case["values"]) <= {q["value_text"] for q in hits}, (name, [q["value_text"] for q in hits])
    for q in hits:
        assert q["source_row"] is not None and q["source_row"] >= 2
        assert q["column_name"] and q["value_text"] is not None and len(q["reason"]) > 10
    shown = [str(f) for f in outcome.findings if f.severity == "critical" and f.rule == case["detail"]]
    assert any(name in s and "row " in s and "column " in s and "value " in s for s in shown), shown


def test_the_hostile_set_is_large_enough() -> None:
    committed = len(CASES) + len(json.loads((FIXTURES / "bad_inputs" / "expected.json").read_text()))
    committed += len(list((FIXTURES / "bad_kpi").glob("*.csv")))
    at_test_time = 5 + len(gen.HOSTILE_NAMES) + 1  # big files, names, the path with ..
    assert committed + at_test_time >= 40
    assert {c["expect"] for c in CASES.values()} == {"loads", "loads_with_warning", "quarantine", "file_error"}


LOADS = sorted(n for n, c in CASES.items() if c["expect"] in ("loads", "loads_with_warning"))
REFUSED = {
    flow: sorted(
        n for n, c in CASES.items() if c["expect"] in ("quarantine", "file_error") and c.get("flow", "monthly") == flow
    )
    for flow in ("monthly", "kpi")
}


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
@pytest.mark.parametrize("name", LOADS)
def test_hostile_file_that_loads(name: str, prefect_server: str, warehouse_url: str, bk_home: Path) -> None:
    case = CASES[name]
    state, outcome = run_flow(case["flow"], HOSTILE / name)
    check_outcome(name, HOSTILE / name, case, state, outcome, warehouse_url, bk_home)
    if name == "formula_cached_values.xlsx":  # the values Excel saved, not what =1+1 computes
        reference = {k: v for k, v in stats_values(warehouse_url).items()}
        assert sorted(reference.values()) == sorted(float(r[4]) for r in gen.seed_rows())


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
@pytest.mark.parametrize("flow", ["monthly", "kpi"])
def test_hostile_files_are_refused_each_with_its_reason(
    flow: str, prefect_server: str, warehouse_url: str, bk_home: Path
) -> None:
    """Every refused file of a flow in one batch (one run, not 30): each is kept and quarantined with
    its own reason, the batch loads nothing."""
    names = REFUSED[flow]
    paths = [HOSTILE / n for n in names]
    state, outcome = run_kpi(*paths) if flow == "kpi" else run_monthly(*paths)
    assert state.is_failed() and "quality gate failed" in (state.message or ""), state.message
    after = counts(warehouse_url)
    assert all(after[t] == 0 for t in CURATED[flow]), after  # nothing of a failed batch is curated
    landed = {r["file_name"]: r for r in rows(warehouse_url, schema.landed_files)}
    assert len(landed) == len(names)
    for name, path in zip(names, paths, strict=True):
        check_kept(name, path, landed[safe_file_name(name)], bk_home)
        assert landed[safe_file_name(name)]["loaded_batch_id"] is None
        check_refused(name, CASES[name], outcome, warehouse_url)


@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)
@pytest.mark.parametrize("name", ON_POSTGRES)
def test_hostile_file_on_postgresql(name: str, prefect_server: str, warehouse_url: str, bk_home: Path) -> None:
    state, outcome = run_flow(CASES[name]["flow"], HOSTILE / name)
    assert state.is_failed(), state.message
    landed = rows(warehouse_url, schema.landed_files)
    check_kept(name, HOSTILE / name, landed[0], bk_home)
    check_refused(name, CASES[name], outcome, warehouse_url)


# ---------------------------------------------------------------------------------------------
# big files in a child process: a memory bound; and nothing written outside var/

CHILD = """
import json, resource, sys
from branchkpi.flows.monthly_branch_stats import monthly_branch_stats
out = {}
for path in sys.argv[1:]:
    state = monthly_branch_stats(paths=[path], return_state=True)
    out[path] = [state.type.value, state.message]
out["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("RESULT " + json.dumps(out))
"""

BIG = {  # writer → what the file error says
    gen.write_huge_line: "characters long",
    gen.write_one_cell_10mb: "characters long",
    gen.write_one_column_10mb: "layout not recognised",
    gen.write_zip_bomb: "member xl/worksheets/sheet1.xml would inflate",
    gen.write_zip_many_members: "10,001 members",
}


def files_under(folder: Path, skip: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if not p.is_relative_to(skip)}


def repo_untracked() -> set[str]:
    """New files in the repository (untracked or ignored), outside its own var/ and caches."""
    out = subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "--untracked-files=all"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    skip = ("var/", ".pytest_cache/", ".mypy_cache/", ".ruff_cache/", ".venv/")
    return {
        line[3:]
        for line in out.splitlines()
        if line[:2] in ("??", "!!") and not line[3:].startswith(skip) and "__pycache__" not in line
    }


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_big_files_stay_within_memory_and_var(
    prefect_server: str, warehouse_url: str, bk_home: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    paths = {writer(inbox): detail for writer, detail in BIG.items()}
    before_tmp, before_repo = files_under(tmp_path, bk_home), repo_untracked()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BRANCHKPI_HOME": str(bk_home),
        "BRANCHKPI_WAREHOUSE_URL": warehouse_url,
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *map(str, paths)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    result = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))[7:])
    for path in paths:
        state, message = result[str(path)]
        assert state == "FAILED" and "quality gate failed" in message, (path.name, message)
    assert result["maxrss_mib"] < MEMORY_BOUND_MIB, result["maxrss_mib"]
    print(f"peak RSS of the child: {result['maxrss_mib']:.0f} MiB")
    # every big file: a clear file error naming it, kept byte for byte
    quarantined = rows(warehouse_url, schema.quarantined_rows)
    for path, detail in paths.items():
        reasons = [q["reason"] for q in quarantined if q["file_name"] == path.name and q["rule"] == "file_readable"]
        assert len(reasons) == 1 and detail in reasons[0], (path.name, reasons)
    assert counts(warehouse_url)["monthly_stats"] == 0
    for landed in rows(warehouse_url, schema.landed_files):
        archived = bk_home / "archive" / landed["archive_path"]
        assert archived.stat().st_size == (inbox / landed["file_name"]).stat().st_size
    # nothing was written outside var/ (BRANCHKPI_HOME): not in the working folder, not in the repo
    assert files_under(tmp_path, bk_home) == before_tmp
    assert repo_untracked() <= before_repo, repo_untracked() - before_repo


# ---------------------------------------------------------------------------------------------
# file names and paths


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_hostile_names_and_traversal_paths(
    prefect_server: str, warehouse_url: str, bk_home: Path, tmp_path: Path
) -> None:
    """Files named with a newline, backslashes and .., a leading -, U+202E, <script>, = load under a
    safe name inside var/archive; a path through landing/../.. lands the file and writes nothing there."""
    named = gen.write_hostile_names(tmp_path / "names")
    outside = tmp_path / "x.csv"  # reached as var/landing/../../x.csv
    outside.write_bytes(
        gen.to_csv(gen.HEADER, [[*r[:5], ""] for r in gen.seed_rows()]).replace(",2020,", ",2009,").encode()
    )
    (bk_home / "landing").mkdir(exist_ok=True)
    traversal = bk_home / "landing" / ".." / ".." / "x.csv"
    before_tmp, before_repo = files_under(tmp_path, bk_home), repo_untracked()

    state, outcome = run_monthly(*named, traversal)
    assert state.is_completed(), state.message
    assert outcome.rows_loaded == counts(warehouse_url)["monthly_stats"] == 12 * (len(named) + 1)
    archive = (bk_home / "archive").resolve()
    landed = rows(warehouse_url, schema.landed_files)
    assert len(landed) == len(named) + 1
    for row in landed:
        shown = row["file_name"]
        assert "/" not in shown and "\\" not in shown and not shown.startswith(".")
        assert all(unicodedata.category(ch)[0] != "C" for ch in shown), repr(shown)  # no \n, NUL, U+202E
        target = (bk_home / "archive" / row["archive_path"]).resolve()
        assert target.is_relative_to(archive) and target.is_file()
    sources = {p.read_bytes() for p in [*named, outside]}
    assert {(bk_home / "archive" / r["archive_path"]).read_bytes() for r in landed} == sources
    assert outside.is_file()  # a file named by path elsewhere is copied, never moved or deleted
    assert files_under(tmp_path, bk_home) == before_tmp
    assert repo_untracked() <= before_repo


def test_safe_file_name_with_nul_and_other_controls() -> None:
    assert safe_file_name("a\x00b.csv") == "a_b.csv"
    assert safe_file_name("..\\..\\x.csv") == "x.csv"
    assert safe_file_name("../../etc/passwd") == "passwd"
    assert safe_file_name("line\nbreak.csv") == "line_break.csv"
    assert safe_file_name("report\u202evsc.csv") == "report_vsc.csv"
    assert safe_file_name("...") == "unnamed"


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_a_path_with_nul_is_a_clear_error(prefect_server: str, warehouse_url: str) -> None:
    from typer.testing import CliRunner

    from branchkpi.cli import app

    # (not given to the flow itself: Prefect's API, on PostgreSQL, cannot store a parameter with NUL and
    # answers 503 for two minutes; the CLI refuses the path before any flow run is created)
    result = CliRunner().invoke(app, ["ingest", "bad\x00name.csv"])
    assert result.exit_code == 2  # a usage error, as click reports it: the argument is refused
    assert "Invalid value for 'paths'" in result.output and "embedded null byte" in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert counts(warehouse_url)["landed_files"] == 0


# ---------------------------------------------------------------------------------------------
# exports: no cell is ever evaluated as a formula


def test_csv_export_neutralises_formula_text(capsys: pytest.CaptureFixture[str]) -> None:
    from branchkpi.cli.output import OutputFormat, write_rows

    pairs = [("=1+2", -3.5), ("+81", 0), ("-2+3", -1), ("@SUM(A1)", 1.5), ("\tx", None), ("\rx", 2), ("倉敷市", -0.4)]
    rows_ = [{"name": t, "value": v} for t, v in pairs]
    write_rows(rows_, OutputFormat.csv, ["name", "value"])
    got = list(csv.reader(io.StringIO(capsys.readouterr().out, newline="")))
    assert got[0] == ["name", "value"]
    assert [r[0] for r in got[1:]] == ["'=1+2", "'+81", "'-2+3", "'@SUM(A1)", "'\tx", "'\nx", "倉敷市"]
    assert [r[1] for r in got[1:]] == ["-3.5", "0", "-1", "1.5", "", "2", "-0.4"]  # numbers stay numbers
    write_rows(rows_, OutputFormat.json, ["name", "value"])  # JSON is data: the text as it is
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == [r["name"] for r in rows_]


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_formula_names_from_a_file_are_inert_in_exports(prefect_server: str, warehouse_url: str, bk_home: Path) -> None:
    """Municipality names starting with = + - @ travel from a KPI file into the warehouse and out of
    `evaluate --all --format csv` with a leading quote; `query monthly --format csv` keeps -0.4 a number."""
    from typer.testing import CliRunner

    from branchkpi.cli import app

    from ..conftest import FIXTURES as F

    state, _ = run_kpi(HOSTILE / "kpi_formula_municipalities.csv")
    assert state.is_completed(), state.message
    result = CliRunner().invoke(app, ["evaluate", "--all", "--fiscal-year", "2020", "--format", "csv"])
    assert result.exit_code == 0, result.output
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    names = {r["name"] for r in table}
    assert {"'=1+2市", "'@SUM(A1)町", "'+81村", "'-2+3市", "倉敷市"} <= names, names
    for r in table:
        for value in r.values():
            assert not value.startswith(("=", "+", "@", "\t", "\r")), r
    state, _ = run_monthly(F / "bad_inputs" / "utf8_bom.csv")
    assert state.is_completed()
    result = CliRunner().invoke(app, ["query", "monthly", "--region", "yamaguchi", "--format", "csv"])
    assert result.exit_code == 0, result.output
    cells = [c for r in csv.reader(io.StringIO(result.stdout)) for c in r]
    negatives = [c for c in cells if c.startswith("-")]
    assert negatives and all(float(c) < 0 for c in negatives)  # numbers, not neutralised text
    assert not any(c.startswith("'") for c in cells)
