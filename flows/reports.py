"""The branch reports a run attaches (the HTML page with its charts and the workbook, their link and
page artifacts): written by the run itself, or, when the run asks for it (`background_reports`: the
CLI does, since a person waits for the evaluation's table, not for six charts) and the Prefect server
outlives the run's process, by a process of their own started as the run ends. That process writes the
same files and attaches the same artifacts to the run a few seconds later; a report it cannot write is
logged on the run as a warning (as the run itself would) and in BRANCHKPI_HOME/logs/reports.log.

`python -m branchkpi.flows.reports --flow-run-id ID --fiscal-year FY [--quarter Q] CODE...` is that
process (the warehouse is BRANCHKPI_WAREHOUSE_URL of its environment)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from uuid import UUID

from prefect import get_run_logger

from branchkpi.config import Settings, settings
from branchkpi.flows import lifecycle, report_page
from branchkpi.flows.runtime import on_a_running_server
from branchkpi.tasks import failures, steps

LOG_NAME = "reports.log"
# the most a background report process may take (every branch's report is about a minute); past it
# the process ends, so none is ever left behind
PROCESS_LIMIT_SECONDS = 900

_started: list[subprocess.Popen[bytes]] = []  # kept so that none is reaped as garbage while it runs


def attach_reports(
    warehouse_url: str,
    branches: list[str],
    fiscal_year: int,
    quarter: int | None,
    cfg: Settings,
    background: bool = False,
) -> None:
    """The branches' reports of the fiscal year (or quarter), attached to the run in progress."""
    if not branches:
        return
    run_id = lifecycle.flow_run_id()
    if background and run_id and on_a_running_server():
        log = _start(warehouse_url, branches, fiscal_year, quarter, run_id, cfg)
        get_run_logger().info(
            "branch reports of %s: written after this run by a process of their own, then attached here (log %s)",
            ", ".join(branches),
            log,
        )
        return
    state = steps.branch_reports(warehouse_url, branches, fiscal_year, quarter, cfg, return_state=True)
    if state.is_completed():
        report_page.publish(state.result(), cfg.report_lang)
    else:  # a report that cannot be written is logged; the run's data stands
        get_run_logger().warning("branch reports not written: %s", state.message)


def _start(
    warehouse_url: str, branches: list[str], fiscal_year: int, quarter: int | None, run_id: str, cfg: Settings
) -> str:
    from prefect.settings import PREFECT_API_URL

    for done in [p for p in _started if p.poll() is not None]:
        _started.remove(done)
    log = cfg.home / "logs" / LOG_NAME
    log.parent.mkdir(parents=True, exist_ok=True)
    # the run's own warehouse and API, whatever the environment said
    env = os.environ | {"BRANCHKPI_WAREHOUSE_URL": warehouse_url, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    # -P: this installation's branchkpi, never a folder of that name where the command runs
    args = [
        sys.executable,
        "-P",
        "-m",
        "branchkpi.flows.reports",
        "--flow-run-id",
        run_id,
        "--fiscal-year",
        str(fiscal_year),
    ]
    args += ["--quarter", str(quarter)] if quarter else []
    with log.open("ab") as out:  # never the command's own output: whoever reads it would wait for this process
        _started.append(subprocess.Popen([*args, *branches], stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env))
    return str(log)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m branchkpi.flows.reports")
    parser.add_argument("--flow-run-id", type=UUID, required=True)
    parser.add_argument("--fiscal-year", type=int, required=True)
    parser.add_argument("--quarter", type=int)
    parser.add_argument("branches", nargs="+")
    args = parser.parse_args(argv)
    signal.alarm(PROCESS_LIMIT_SECONDS)
    cfg = settings()
    url = cfg.warehouse_url
    try:
        written = steps.branch_reports.fn(url, args.branches, args.fiscal_year, args.quarter, cfg)
        report_page.publish(written, cfg.report_lang, args.flow_run_id)
    except Exception as exc:
        message = f"branch reports not written: {failures.explained(exc, url)}"
        print(f"{datetime.now(UTC).isoformat()} run {args.flow_run_id}: {message}", file=sys.stderr)
        _warn_on_run(args.flow_run_id, message)
        return 1
    print(f"{datetime.now(UTC).isoformat()} run {args.flow_run_id}: {len(written)} report(s) attached", file=sys.stderr)
    return 0


def _warn_on_run(flow_run_id: UUID, message: str) -> None:
    """A warning in the run's log, where the run itself would have written it."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import LogCreate

    log = LogCreate(
        name="branchkpi.reports",
        level=logging.WARNING,
        message=message,
        timestamp=datetime.now(UTC),  # type: ignore[arg-type]  # pydantic takes a datetime for its DateTime
        flow_run_id=flow_run_id,
    )
    try:
        with get_client(sync_client=True) as client:
            client.create_logs([log])
    except Exception as exc:  # the server gone: the log file still says it
        print(f"could not log on the run: {exc}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
