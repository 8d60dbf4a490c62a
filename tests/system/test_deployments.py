"""prefect.yaml deploys with `prefect deploy --all` to a process work pool on a real server: the
deployments, schedules from the reporting calendar in Asia/Tokyo, the landing sensor's triggers, one run
at a time, typed and documented parameters."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ..conftest import ROOT

PREFECT = str(Path(sys.executable).with_name("prefect"))


def test_prefect_yaml_deploys(prefect_server: str) -> None:
    env = {**os.environ, "PREFECT_API_URL": prefect_server, "BRANCHKPI_PROJECT_DIR": str(ROOT)}

    def prefect(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PREFECT, "--no-prompt", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
        )

    prefect("work-pool", "create", "branchkpi", "--type", "process")
    out = prefect("deploy", "--all")
    assert out.returncode == 0, out.stdout + out.stderr

    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        deployments = {d.name: d for d in client.read_deployments()}
    assert {"monthly", "quarterly-actuals", "annual-evaluation", "backfill"} <= set(deployments)
    monthly = deployments["monthly"]
    assert monthly.work_pool_name == "branchkpi"
    (schedule,) = monthly.schedules  # the reporting calendar's run days, made by the build step
    assert (schedule.slug, schedule.schedule.timezone) == ("reporting-calendar", "Asia/Tokyo")
    assert "RDATE:" in schedule.schedule.rrule and schedule.parameters == {"until_complete": True}
    # the landing sensor's event runs it: the trigger is an automation of Prefect's own
    with get_client(sync_client=True) as client:
        automations = client.read_resource_related_automations(f"prefect.deployment.{monthly.id}")
    (trigger,) = [a for a in automations if a.name == "landing sensor: statistics → monthly"]
    assert trigger.trigger.expect == {"branchkpi.landing.file-arrived"}
    assert trigger.trigger.match.model_dump().get("branchkpi.landing.kind") == "statistics"
    assert trigger.actions[0].parameters == {"paths": "{{ event.payload.paths }}"}
    assert monthly.global_concurrency_limit is not None and monthly.global_concurrency_limit.limit == 1
    # the UI's run form gets types and descriptions from the flows' signatures and docstrings
    backfill = deployments["backfill"].parameter_openapi_schema["properties"]
    assert backfill["from_fy"]["type"] == "integer" and "first fiscal year" in backfill["from_fy"]["description"]
    assert backfill["branches"]["title"] == "branches"
    assert deployments["backfill"].parameters == {"from_fy": 2017, "to_fy": 2020}
    evaluation = deployments["annual-evaluation"].parameter_openapi_schema["properties"]
    assert "last closed" in evaluation["fiscal_year"]["description"]
