"""Security basics, checked on real runs against the session's Prefect server and warehouses:

- credentials: after good, failed, unreachable-warehouse, wrong-password, KPI and evaluation runs on
  PostgreSQL, the password is nowhere: Prefect logs, artifacts, flow- and task-run states and
  parameters, events, CLI output, exception tracebacks, the warehouse's tables, and every file under
  var/; a URL that is shown is the redacted form (`***`);
- SQL injection: SQL-looking text in every field a file or a CLI option can carry is data, stored or
  quarantined verbatim, never a statement (both dialects), and no SQL in our sources is built by
  string formatting outside a short, explained allow-list;
- HTML / markdown injection: markup in file names, unit names, KPI texts and quarantined values is
  escaped in every artifact, the branch report and the Data Docs, and cannot make a live link or break
  a markdown table.
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from branchkpi.warehouse import schema

from ..conftest import FIXTURES, ROOT, SEED, TIDY_SEED, PrefectStack
from ..helpers import counts, rows, run_monthly
from ..postgres import PostgresServer

BRANCHKPI = str(Path(sys.executable).with_name("branchkpi"))

# ---------------------------------------------------------------------------------------------------
# What the Prefect server recorded since a moment: read through its REST API, as JSON text


def _post_all(client: Any, path: str, body: dict[str, Any], page: int = 200) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        got = client.request("POST", path, json={**body, "limit": page, "offset": len(out)}).json()
        out += got
        if len(got) < page:
            return out


def _settle_events_and_logs() -> None:
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    EventsWorker.drain_all(timeout=30)
    APILogWorker.drain_all(timeout=30)


def prefect_record(since: datetime) -> dict[str, Any]:
    """Every flow run started since `since` (parameters, state and its message, name), their task runs,
    their artifacts, every log line and every event since then."""
    from prefect.client.orchestration import get_client

    _settle_events_and_logs()
    after = since.isoformat()
    with get_client(sync_client=True) as client:
        flow_runs = _post_all(client, "/flow_runs/filter", {"flow_runs": {"start_time": {"after_": after}}})
        ids = [r["id"] for r in flow_runs]
        task_runs = _post_all(client, "/task_runs/filter", {"flow_runs": {"id": {"any_": ids}}})
        artifacts = _post_all(client, "/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": ids}}})
        logs: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        seen = (-1, -1)
        for _ in range(40):  # the server writes events and logs in the background: wait until they settle
            logs = _post_all(client, "/logs/filter", {"logs": {"timestamp": {"after_": after}}})
            events = _events(client, since)
            if (len(logs), len(events)) == seen:
                break
            seen = (len(logs), len(events))
            time.sleep(0.5)
    return {"flow_runs": flow_runs, "task_runs": task_runs, "artifacts": artifacts, "logs": logs, "events": events}


def _events(client: Any, since: datetime) -> list[dict[str, Any]]:
    body = {"filter": {"occurred": {"since": since.isoformat(), "until": datetime.now(UTC).isoformat()}}, "limit": 50}
    page = client.request("POST", "/events/filter", json=body).json()
    events = list(page["events"])
    while page.get("next_page"):
        response = client._client.get(page["next_page"])
        response.raise_for_status()
        page = response.json()
        events += page["events"]
    return events


def _run_cli(*args: str, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BRANCHKPI, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


def _files_under(folder: Path) -> Iterable[Path]:
    return (p for p in folder.rglob("*") if p.is_file())


# ---------------------------------------------------------------------------------------------------
# 1. Credentials


POSTGRES_URL = re.compile(r"postgresql(?:\+\w+)?://[^\s\"'\\<>)]+")


def _shown_urls(text: str) -> list[str]:
    return POSTGRES_URL.findall(text)


@pytest.fixture
def pg_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "var"
    monkeypatch.setenv("BRANCHKPI_HOME", str(home))
    monkeypatch.delenv("BRANCHKPI_WAREHOUSE_URL", raising=False)
    monkeypatch.delenv("BRANCHKPI_READER_URL", raising=False)
    monkeypatch.delenv("BRANCHKPI_YOY_WARN_PCT", raising=False)
    return home


def test_password_is_nowhere_after_every_kind_of_run(
    prefect_stack: PrefectStack, postgres: PostgresServer, pg_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Good, bad-data, KPI and evaluation runs in-process (URL from a Secret block), unreachable and
    wrong-password runs through the CLI (URL from the environment): the passwords show nowhere."""
    from prefect.blocks.system import Secret

    from branchkpi.flows.evaluate_targets import evaluate_targets
    from branchkpi.warehouse.engine import connect, dispose_all

    from ..helpers import ingest_kpi

    since = datetime.now(UTC)
    database = postgres.create_database()
    url = postgres.url(database)
    password = postgres.password
    wrong = "Wr0ng" + secrets.token_urlsafe(12)  # a wrong password is a password too: it must not show either
    wrong_url = url.replace(f":{password}@", f":{wrong}@")
    unreachable_url = url.replace(f":{postgres.port}/", ":1/")
    Secret(value=url).save("branchkpi-security-test", overwrite=True)
    monkeypatch.setenv("BRANCHKPI_WAREHOUSE_SECRET", "branchkpi-security-test")
    monkeypatch.setenv("BRANCHKPI_REPORT_BRANCHES", "yamaguchi")  # the runs write reports under var/

    good, _ = run_monthly(TIDY_SEED)
    bad, _ = run_monthly(FIXTURES / "bad_inputs" / "negative_count.csv")
    kpi, _ = ingest_kpi(SEED / "kpi_plan_items.csv", SEED / "kpi_actuals.csv")
    evaluation = evaluate_targets(fiscal_year=2020, unit_keys=["35"], return_state=True)
    assert good.is_completed() and bad.is_failed() and kpi.is_completed() and evaluation.is_completed()
    monkeypatch.delenv("BRANCHKPI_REPORT_BRANCHES")

    # exceptions with a URL: psycopg's own, and ours (engine.connect migrates first)
    exception_texts = []
    for bad_url in (wrong_url, unreachable_url):
        for opener in (lambda u: sa.create_engine(u).connect(), connect):
            with pytest.raises(sa.exc.OperationalError) as caught:
                opener(bad_url)
            exception_texts.append("".join(traceback.format_exception(caught.value)) + repr(caught.value))
    dispose_all()

    # the CLI: the warehouse unreachable (closed port) and a wrong password, in a flow run and a query
    env = {k: v for k, v in os.environ.items() if k != "BRANCHKPI_WAREHOUSE_SECRET"}
    env |= {"PREFECT_API_URL": prefect_stack.api_url, "BRANCHKPI_DB_RETRY_DELAYS": "0"}
    data = pg_home.parent / "in"
    data.mkdir()
    shutil.copy(FIXTURES / "bad_inputs" / "utf8_bom.csv", data / "stats.csv")
    commands = {
        "unreachable ingest": (unreachable_url, "ingest", str(data / "stats.csv")),
        "wrong password ingest": (wrong_url, "ingest", str(data / "stats.csv")),
        "wrong password query": (wrong_url, "query", "monthly"),
    }
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {
            name: pool.submit(_run_cli, *args, env=env | {"BRANCHKPI_WAREHOUSE_URL": cli_url})
            for name, (cli_url, *args) in commands.items()
        }
    cli_runs = {name: future.result() for name, future in futures.items()}
    for name, out in cli_runs.items():
        assert out.returncode == 1, (name, out.stdout, out.stderr)
        # one line of ours last (Prefect's console may print the failed task's one-line error before it)
        assert out.stderr.strip().splitlines()[-1].startswith("error:"), (name, out.stderr)

    record = prefect_record(since)
    run_ids = {str(s.state_details.flow_run_id) for s in (good, bad, kpi, evaluation)}
    assert run_ids <= {r["id"] for r in record["flow_runs"]}
    assert len(record["flow_runs"]) >= 6, "the CLI's two ingest runs are recorded too"
    assert record["logs"] and record["artifacts"] and record["events"] and record["task_runs"]
    assert any(e["event"] == "branchkpi.quality.failed" for e in record["events"])

    with sa.create_engine(url).connect() as conn:  # every table of the warehouse, whole
        warehouse_dump = json.dumps(
            {t.name: [[str(v) for v in r] for r in conn.execute(sa.select(t))] for t in schema.metadata.sorted_tables}
        )
    written = {str(p): p.read_bytes() for p in _files_under(pg_home)}
    assert any("reports" in p for p in written) and any("data_docs" in p for p in written)
    assert any("archive" in p for p in written) and any("/gx/" in p for p in written)

    sources: dict[str, str] = {
        **{f"prefect {kind}": json.dumps(items, default=str) for kind, items in record.items()},
        **{f"CLI {name}": out.stdout + out.stderr for name, out in cli_runs.items()},
        "final state messages": json.dumps([s.message for s in (good, bad, kpi, evaluation)]),
        "exceptions": "\n".join(exception_texts),
        "warehouse tables": warehouse_dump,
        "server and worker log": prefect_stack.worker_log.read_text(errors="replace"),
        **{f"file {p}": b.decode("utf-8", errors="replace") for p, b in written.items()},
    }
    for secret in (password, wrong):
        leaks = [where for where, text in sources.items() if secret in text]
        assert not leaks, f"the password shows in {leaks}"
        leaks = [p for p, b in written.items() if secret.encode() in b]  # binary files (charts, xlsx) too
        assert not leaks

    # a URL that is shown is shown redacted, and the messages do name the warehouse that way
    for where, text in sources.items():
        for shown in _shown_urls(text):
            assert sa.make_url(shown).password in (None, "***"), (where, shown)
    redacted = url.replace(f":{password}@", ":***@")
    assert redacted in sources["prefect logs"], "the monthly run logs which warehouse it wrote (redacted)"
    assert "127.0.0.1:1/" in cli_runs["unreachable ingest"].stderr, "the error says which warehouse is unreachable"
    assert ":***@127.0.0.1:1/" in cli_runs["unreachable ingest"].stderr
    assert "password authentication failed" in cli_runs["wrong password query"].stderr


# ---------------------------------------------------------------------------------------------------
# 2. SQL injection

INJECTIONS = [
    "x'); DROP TABLE monthly_stats; --",
    "' OR '1'='1",
    '"; DELETE FROM landed_files; --',
    r"\'; SELECT pg_sleep(5); --",
    "%s %(x)s :name ?",
]
STATS_HEADER = ["region", "metric", "fiscal_year", "month", "value", "yoy_pct_printed", "remarks"]
GOOD_STATS_ROW = ["yamaguchi", "insured_persons", "2020", "4", "260511", "-0.1"]


def _write_csv(path: Path, header: list[str], body: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(body)
    return path


def _injected_stats_file(folder: Path, value: str) -> Path:
    """A statistics file named `value`.csv with `value` in each field once (region, metric, fiscal year,
    month, value, printed YoY) and in every remarks cell."""
    body = []
    for field in range(6):
        row = list(GOOD_STATS_ROW)
        row[field] = value
        row[3] = row[3] if field == 3 else str(4 + field)  # distinct months: no duplicate-key finding
        body.append([*row, value])
    return _write_csv(folder / f"{value}.csv", STATS_HEADER, body)


def _injected_header_file(folder: Path, value: str) -> Path:
    """A statistics file with `value` as the name of an extra column: refused as a whole (a header that
    matches nothing), its message naming the header as written."""
    sub = folder / "headers"
    sub.mkdir(exist_ok=True)
    return _write_csv(sub / f"h{INJECTIONS.index(value)}.csv", [*STATS_HEADER, value], [[*GOOD_STATS_ROW, "", "1"]])


def _table_names(url: str) -> set[str]:
    from branchkpi.warehouse.engine import connect

    return set(sa.inspect(connect(url)).get_table_names())


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"], indirect=True)
def test_sql_looking_values_are_data(
    prefect_server: str, warehouse_url: str, bk_home: Path, tmp_path: Path, dialect: str
) -> None:
    from branchkpi.flows.evaluate_targets import evaluate_targets
    from branchkpi.tasks.landing import safe_file_name

    from ..helpers import ingest_kpi

    state, _ = run_monthly(TIDY_SEED)
    assert state.is_completed(), state.message
    tables, before = _table_names(warehouse_url), counts(warehouse_url)
    folder = tmp_path / "injected"
    folder.mkdir()

    # statistics: every field of a tidy file, its file name and a column name
    files = [_injected_stats_file(folder, v) for v in INJECTIONS]
    state, _ = run_monthly(*files)
    assert state.is_failed() and "quality gate failed" in (state.message or "")
    quarantined = rows(warehouse_url, schema.quarantined_rows)
    for value in INJECTIONS:
        name = safe_file_name(f"{value}.csv")  # a backslash is a folder separator (Windows): its basename
        mine = [q for q in quarantined if q["file_name"] == name]
        held: dict[str, set[str]] = {}
        for q in mine:
            if q["severity"] == "critical":
                held.setdefault(q["column_name"], set()).add(q["value_text"])
        for column in ("region", "metric", "fiscal_year", "month", "value"):
            assert value in held.get(column, set()), (name, column, held)
    # a header: the file is refused, the header quoted as data in the reason
    state, _ = run_monthly(*(_injected_header_file(folder, v) for v in INJECTIONS))
    assert state.is_failed()
    reasons = {
        q["file_name"]: q["reason"]
        for q in rows(warehouse_url, schema.quarantined_rows)
        if q["rule"] == "file_readable"
    }
    for i, value in enumerate(INJECTIONS):
        assert "is not a column we know" in reasons[f"h{i}.csv"] and repr(value)[1:-1] in reasons[f"h{i}.csv"]
    landed_names = {r["file_name"] for r in rows(warehouse_url, schema.landed_files)}
    assert {safe_file_name(f"{v}.csv") for v in INJECTIONS} <= landed_names
    assert {f"{v}.csv" for v in INJECTIONS if "\\" not in v} <= landed_names  # the others verbatim

    # KPI files: free text (KPI text, note, organization, as-of, municipality names) is stored verbatim
    kpi_dir = tmp_path / "kpi"
    kpi_dir.mkdir()
    # a target and (one point above) an actual inside each KPI's plausible range (domain.kpi_ranges):
    # what is checked here is the text around them
    plausible = {
        "mail_application_rate": 92,
        "card_recovery_rate": 96,
        "service_standard_rate": 95,
        "lifestyle_checkup_rate": 52,
        "specific_health_guidance_rate": 20,
    }
    kpi_ids = [
        "mail_application_rate",
        "card_recovery_rate",
        "service_standard_rate",
        "lifestyle_checkup_rate",
        "specific_health_guidance_rate",
    ]
    target_header = [
        "organization",
        "branch",
        "fiscal_year",
        "kpi_id",
        "kpi_text_ja",
        "target_value",
        "unit",
        "comparator",
        "target_note",
    ]
    targets = _write_csv(
        kpi_dir / "targets.csv",
        target_header,
        [
            [v, "yamaguchi", "2020", kpi, v, str(plausible[kpi]), "pct", "ge", v]
            for v, kpi in zip(INJECTIONS, kpi_ids, strict=True)
        ],
    )
    actuals = _write_csv(
        kpi_dir / "actuals.csv",
        ["branch", "fiscal_year", "period", "as_of", "kpi_id", "value", "unit", "note"],
        [
            ["yamaguchi", "2020", "FY", v, kpi, str(plausible[kpi] + 1), "pct", v]
            for v, kpi in zip(INJECTIONS, kpi_ids, strict=True)
        ],
    )
    municipal = _write_csv(
        kpi_dir / "okayama_collection_rate_targets.csv",
        ["municipality_ja", "prefecture", "fiscal_year", "target_text", "target_value", "comparator"],
        [[v, "岡山", "2020", "94.5%以上", "94.5", "ge"] for v in INJECTIONS],
    )
    municipal_actuals = _write_csv(
        kpi_dir / "okayama_collection_rate_actuals.csv",
        ["municipality_ja", "prefecture", "fiscal_year", "value", "unit", "note_ja"],
        [[v, "岡山", "2020", "95.1", "pct", v] for v in INJECTIONS],
    )
    state, _ = ingest_kpi(targets, actuals, municipal, municipal_actuals)
    assert state.is_completed(), state.message
    stored_targets = rows(warehouse_url, schema.kpi_targets, schema.kpi_targets.c.unit_key == "35")
    assert sorted(r["kpi_text_ja"] for r in stored_targets) == sorted(INJECTIONS)
    assert sorted(r["target_note"] for r in stored_targets) == sorted(INJECTIONS)
    assert sorted(r["organization"] for r in stored_targets) == sorted(INJECTIONS)
    stored_actuals = rows(warehouse_url, schema.kpi_actuals, schema.kpi_actuals.c.unit_key == "35")
    assert sorted(r["note"] for r in stored_actuals) == sorted(r["as_of"] for r in stored_actuals) == sorted(INJECTIONS)
    units = rows(warehouse_url, schema.reporting_units, schema.reporting_units.c.kind == "municipality")
    assert sorted(u["name_ja"] for u in units) == sorted(INJECTIONS)
    assert sorted(u["key"] for u in units) == sorted(f"33:{v}" for v in INJECTIONS)
    municipal_notes = rows(warehouse_url, schema.kpi_actuals, schema.kpi_actuals.c.unit_key.like("33:%"))
    assert sorted(r["note"] for r in municipal_notes) == sorted(INJECTIONS)

    # the evaluation reads and writes those units and texts by key: every unit is evaluated
    evaluation = evaluate_targets(fiscal_year=2020, return_state=True)
    assert evaluation.is_completed(), evaluation.message
    evaluated = {r["unit_key"] for r in evaluation.result().rows}
    assert {f"33:{v}" for v in INJECTIONS} | {"35"} <= evaluated

    # KPI files with SQL-looking keys (branch, KPI, unit, comparator, year, value): rejected, quarantined verbatim
    bad = _write_csv(
        kpi_dir / "bad_targets.csv",
        ["branch", "fiscal_year", "kpi_id", "target_value", "unit", "comparator"],
        [
            row
            for v in INJECTIONS
            for row in (
                [v, "2020", "mail_application_rate", "90", "pct", "ge"],
                # 群馬: the injections are 山口's plan wordings now (loaded above), which name its KPIs exactly
                ["gunma", "2020", v, "90", "pct", "ge"],
                ["yamaguchi", "2020", "card_recovery_rate", "90", v, "ge"],
                ["yamaguchi", "2020", "service_standard_rate", "90", "pct", v],
                ["yamaguchi", v, "lifestyle_checkup_rate", "90", "pct", "ge"],
                ["yamaguchi", "2020", "specific_health_guidance_rate", v, "pct", "ge"],
            )
        ],
    )
    state, _ = ingest_kpi(bad)
    assert state.is_failed(), state.message
    held_kpi = [q for q in rows(warehouse_url, schema.quarantined_rows) if q["file_name"] == "bad_targets.csv"]
    by_value: dict[str, set[str]] = {}
    for q in held_kpi:
        by_value.setdefault(q["value_text"], set()).add(q["column_name"])
    for value in INJECTIONS:
        columns = by_value.get(value, set())
        assert {"branch", "kpi_id", "unit", "comparator", "fiscal_year", "target_value"} <= columns, (value, columns)

    # nothing dropped, nothing emptied: every table is there with at least what it had
    assert _table_names(warehouse_url) == tables
    after = counts(warehouse_url)
    assert all(after[t] >= n for t, n in before.items()), (before, after)
    assert after["monthly_stats"] == before["monthly_stats"] == 576

    # CLI options: a clear one-line error, never a traceback, and the warehouse untouched. Every option
    # with every value through the CLI's own code in this process (typer's runner), and each option
    # once as a real subprocess (values rotated): on SQLite all of them, on PostgreSQL those that
    # reach the warehouse (the others fail on the name before any SQL, whatever the dialect)
    from typer.testing import CliRunner

    from branchkpi.cli import app

    out_dir = str(tmp_path / "report")
    options = [
        lambda v: ("query", "monthly", "--region", v),
        lambda v: ("query", "monthly", "--metric", v),
        lambda v: ("query", "monthly", "--fiscal-year", v),
        lambda v: ("evaluate", "--branch", v, "--fiscal-year", "2020"),
        lambda v: ("evaluate", "--municipality", v + " (none)", "--fiscal-year", "2020"),
        lambda v: ("rank", "--kpi", v, "--fiscal-year", "2020"),
        lambda v: ("report", "--branch", v, "--fiscal-year", "2020", "--out", out_dir),
    ]
    runner = CliRunner()
    for option in options:
        for value in INJECTIONS:
            args = option(value)
            result = runner.invoke(app, list(args))
            assert result.exit_code == 1 and not isinstance(result.exception, Exception), (args, result.output)
            assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1, (
                args,
                result.stderr,
            )
    env = {**os.environ, "PREFECT_API_URL": prefect_server}
    commands = [option(INJECTIONS[i % len(INJECTIONS)]) for i, option in enumerate(options)]
    if dialect != "sqlite":
        commands = [c for c in commands if "--municipality" in c or c[0] == "report"]
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda args: _run_cli(*args, env=env), commands))
    for args, out in zip(commands, results, strict=True):
        assert out.returncode == 1, (args, out.stdout, out.stderr)
        assert out.stderr.startswith("error: ") and "Traceback" not in out.stderr, (args, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1, (args, out.stderr)
    assert _table_names(warehouse_url) == tables
    assert counts(warehouse_url)["monthly_stats"] == 576
    assert counts(warehouse_url)["landed_files"] == after["landed_files"]


# ---------------------------------------------------------------------------------------------------
# 3. HTML and markdown injection

XSS = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", '"><svg onload=alert(1)>']
MARKDOWN_TRICKS = ["[click](javascript:alert(1))", "a | b |c"]
LIVE_MARKUP = re.compile(r"<\s*/?\s*(?:script|img|svg|iframe)\b|<[^>]*\bon\w+\s*=", re.IGNORECASE)


def _no_live_markup(where: str, text: str) -> None:
    match = LIVE_MARKUP.search(text)
    assert match is None, f"{where}: unescaped markup {text[max(0, match.start() - 80) : match.end() + 80]!r}"


def _markdown_is_inert(where: str, text: str) -> None:
    _no_live_markup(where, text)
    assert not re.search(r"(?<!\\)\]\(javascript:", text), f"{where}: a live javascript: link"
    for line in text.splitlines():  # a table row keeps its columns: a | from the data is escaped
        if line.startswith("|") and "a | b" in line.replace("\\|", "¦"):
            raise AssertionError(f"{where}: a | from the data breaks the table: {line}")


@pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
def test_markup_in_the_data_is_escaped_everywhere(
    prefect_server: str, warehouse_url: str, bk_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from branchkpi.flows.evaluate_targets import evaluate_targets

    from ..helpers import ingest_kpi

    since = datetime.now(UTC)
    monkeypatch.setenv("BRANCHKPI_REPORT_BRANCHES", "yamaguchi")
    folder = tmp_path / "in"
    folder.mkdir()
    texts = XSS + MARKDOWN_TRICKS
    # no / in a Linux file name, and a \ is a folder separator to the landing (Windows paths): drop the /
    names = [t.replace("/", "") for t in texts]

    # statistics: a good run (the report's figures) under a marked-up name, then a file whose bad cells
    # are quarantined, with markup in its name, its cells, its remarks and a column name
    good_copy = folder / f"{names[0]}.csv"
    shutil.copy(TIDY_SEED, good_copy)
    good, _ = run_monthly(good_copy)
    assert good.is_completed(), good.message
    bad_files = []
    for name, text in zip(names, texts, strict=True):
        body = [
            [text, "insured_persons", "2020", "4", "1", "0", text, text],
            ["yamaguchi", text, "2020", "5", "1", "0", text, text],
            ["yamaguchi", "insured_persons", "2020", "6", text, "0", text, text],
        ]
        bad_files.append(_write_csv(folder / f"bad {name}.csv", [*STATS_HEADER, text], body))
    bad, _ = run_monthly(*bad_files)
    assert bad.is_failed()

    # KPI files: markup in KPI texts, notes, and municipality (unit) names
    seed_targets = [
        r
        for r in csv.DictReader((SEED / "kpi_plan_items.csv").open(encoding="utf-8"))
        if r["branch"] == "yamaguchi" and r["fiscal_year"] in ("2019", "2020")
    ]
    for i, r in enumerate(seed_targets):
        r["kpi_text_ja"], r["target_note"] = texts[i % len(texts)], texts[(i + 1) % len(texts)]
    targets = _write_csv(
        folder / f"{names[1]} targets.csv", list(seed_targets[0]), [list(r.values()) for r in seed_targets]
    )
    municipal = _write_csv(
        folder / "okayama_collection_rate_targets.csv",
        ["municipality_ja", "prefecture", "fiscal_year", "target_text", "target_value", "comparator"],
        [[t, "岡山", "2020", "99.5%以上", "99.5", "ge"] for t in texts],
    )
    municipal_actuals = _write_csv(
        folder / "okayama_collection_rate_actuals.csv",
        ["municipality_ja", "prefecture", "fiscal_year", "value", "unit", "note_ja"],
        [[t, "岡山", "2020", "95.1", "pct", t] for t in texts],
    )
    kpi, _ = ingest_kpi(targets, SEED / "kpi_actuals.csv", municipal, municipal_actuals)
    assert kpi.is_completed(), kpi.message
    bad_kpi = _write_csv(
        folder / f"{names[2]} bad.csv",
        ["branch", "fiscal_year", "kpi_id", "target_value", "unit"],
        [[t, "2020", t, t, t] for t in texts],
    )
    rejected, _ = ingest_kpi(bad_kpi)
    assert rejected.is_failed()

    evaluation = evaluate_targets(fiscal_year=2020, return_state=True)  # every unit: the municipalities' names
    assert evaluation.is_completed(), evaluation.message
    flagged = [r for r in evaluation.result().rows if r["status"] == "missed"]
    assert {f"33:{t}" for t in texts} <= {r["unit_key"] for r in flagged}, "the marked-up units are in the summary"

    # every artifact of those runs
    record = prefect_record(since)
    runs = {str(s.state_details.flow_run_id) for s in (good, bad, kpi, rejected, evaluation)}
    artifacts = [a for a in record["artifacts"] if a["flow_run_id"] in runs]
    kinds = {a["type"] for a in artifacts}
    assert {"markdown", "table"} <= kinds, kinds  # a link artifact is stored as markdown: [text](link)
    assert any(a["key"].startswith("branch-report-") for a in artifacts), "the runs attach the branch report"
    shown = json.dumps([a["data"] for a in artifacts], ensure_ascii=False)
    assert html.escape(XSS[0], quote=False) in shown or "&lt;script&gt;" in shown, "the data is shown, escaped"
    descriptions: list[str] = []
    for a in artifacts:
        where = f"artifact {a['key']} ({a['type']})"
        data = a["data"] if isinstance(a["data"], str) else json.dumps(a["data"], ensure_ascii=False)
        if a["type"] == "markdown":
            _markdown_is_inert(where, data)
        else:
            _no_live_markup(where, data)
        try:  # Prefect renders a description as markdown too; collected, to see every other check's result
            _markdown_is_inert(f"{where} description", a.get("description") or "")
        except AssertionError as exc:
            descriptions.append(str(exc).splitlines()[0])
    summaries = [a["data"] for a in artifacts if a["type"] == "markdown"]
    assert any("\\[click\\]" in s for s in summaries), "a markdown link from the data is shown as text"
    assert any("a \\| b \\|c" in s for s in summaries), "a | from the data is escaped in the tables"

    # the branch report (CLI), and the ones the runs attached
    env = {**os.environ, "PREFECT_API_URL": prefect_server}
    out = _run_cli(
        "report", "--branch", "yamaguchi", "--fiscal-year", "2020", "--out", str(tmp_path / "report"), env=env
    )
    assert out.returncode == 0, out.stderr
    reports = [tmp_path / "report" / "yamaguchi_FY2020_ja.html", *(bk_home / "reports").rglob("*.html")]
    assert len(reports) >= 2
    for report in reports:
        page = report.read_text(encoding="utf-8")
        _no_live_markup(str(report), page.replace('<img class="chart"', "<chart"))  # our own chart images
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page or "&lt;img src=x" in page, report

    # GX Data Docs: our data must not become markup in them (GX renders the failing values)
    docs = list((bk_home / "data_docs").rglob("*.html"))
    assert docs
    raw_in_docs = [str(p) for p in docs if "<script>alert(1)" in p.read_text(encoding="utf-8", errors="replace")]
    assert not raw_in_docs, f"GX Data Docs hold our <script> unescaped: {raw_in_docs}"
    # today the flows pass outcome.message raw as the description: flows/*.py should use
    # summary.description(outcome.message) (see docs/reliability.md, Security)
    assert not descriptions, "\n".join(descriptions)
