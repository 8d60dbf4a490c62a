"""One benchmark scenario through the real pipeline, in this process: the backfill flow over the
statistics files (gate, load and KPIs per fiscal year), the quarterly-kpi-actuals flow over the KPI
files (gate and load), then one evaluate-targets run over every fiscal year, with the quality gate's
Great Expectations in a validating process of its own, as the CLI runs it (tasks/validate/validator.py).
Prefect runs on the API of the environment (the local server; without one, the ephemeral API). Prints
one JSON line: seconds, the pass alone (after the imports and the API start), per-stage seconds (from
Prefect's own task-run times), this process's peak RSS and the validating process's."""

from __future__ import annotations

import argparse
import json
import resource
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

STARTED = time.perf_counter()
STARTED_AT = datetime.now(UTC)

STAGES = {  # task name -> stage of the table
    "parse-files": "parse",
    "parse-kpi-files": "parse",
    "quality-gate": "validate",
    "kpi-quality-gate": "validate",
    "kpi-names-and-history": "validate",
    "land-files": "load",
    "quarantine-rows": "load",
    "load-batch": "load",
    "load-kpi-batch": "load",
    "open-batch": "load",
    "close-batch": "load",
    "compute-kpis": "compute",
    "evaluate-targets": "evaluate",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--from-fy", type=int, required=True)
    parser.add_argument("--to-fy", type=int, required=True)
    args = parser.parse_args()
    # as the CLI does (ingest, run monthly, backfill): Great Expectations imports in the validating
    # process, on the other core, while this one imports Prefect and the flows
    from branchkpi.tasks.validate import validator

    validator.start()

    from prefect.client.orchestration import get_client

    from branchkpi.flows.backfill import backfill
    from branchkpi.flows.evaluate_targets import evaluate_targets
    from branchkpi.flows.quarterly_kpi_actuals import quarterly_kpi_actuals
    from branchkpi.flows.runtime import wait_until_recorded

    imported = time.perf_counter()
    with get_client(sync_client=True) as client:  # the ephemeral API is up before the pass is timed
        client.hello()
    api_up = time.perf_counter()
    states = []
    stats = sorted((args.data / "monthly_stats").glob("*.csv"))
    state = backfill(from_fy=args.from_fy, to_fy=args.to_fy, paths=[str(p) for p in stats], return_state=True)
    states.append(state)
    kpi_files = sorted(p for p in args.data.glob("*.csv"))
    states.append(quarterly_kpi_actuals(paths=[str(p) for p in kpi_files], return_state=True))
    # every fiscal year in one run, each stored as its own evaluation run, as `branchkpi evaluate --all` does
    states.append(evaluate_targets(fiscal_year=args.from_fy, to_fiscal_year=args.to_fy, return_state=True))
    finished = time.perf_counter()
    failed = [s.message for s in states if not s.is_completed()]
    wait_until_recorded(*states)
    validator.stop()  # after the timing: it writes the last Data Docs, then its peak RSS is known
    print(
        json.dumps(
            {
                "seconds": finished - STARTED,
                "import_seconds": imported - STARTED,
                "api_start_seconds": api_up - imported,
                "pass_seconds": finished - api_up,  # the flows alone: imports done, API up
                "stages": stage_seconds(),
                "failed": failed,
                "messages": [s.message for s in states],
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "validator_peak_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                "cpu_seconds": _cpu(resource.RUSAGE_SELF),
                "validator_cpu_seconds": _cpu(resource.RUSAGE_CHILDREN),
            }
        )
    )


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def stage_seconds() -> dict[str, float]:
    from prefect.client.orchestration import get_client

    totals: dict[str, float] = defaultdict(float)
    with get_client(sync_client=True) as client:
        offset = 0
        while True:
            runs = client.read_task_runs(limit=200, offset=offset)
            for run in runs:
                if run.start_time is None or run.start_time < STARTED_AT:  # an earlier run on the same API
                    continue
                name = run.name.rsplit("-", 1)[0]
                totals[STAGES.get(name, f"other:{name}")] += run.total_run_time.total_seconds()
            if len(runs) < 200:
                break
            offset += 200
    return dict(totals)


if __name__ == "__main__":
    main()
