"""Run only by tests/flows/test_alerts.py, in a child process that the test kills with SIGKILL while
its flow runs are Running: a parent flow (as a deployment's entry point would be) whose subflow is the
monthly flow over the given file, in-process on the session's server, both sending heartbeats every
30 s as a deployment's run does. Not collected (no test_ prefix)."""

from __future__ import annotations

import sys

from prefect import flow

from branchkpi.flows.monthly_branch_stats import monthly_branch_stats


@flow(name="crash-probe")
def crash_probe(path: str, warehouse_url: str) -> None:
    monthly_branch_stats(paths=[path], warehouse_url=warehouse_url)


if __name__ == "__main__":
    crash_probe(sys.argv[1], sys.argv[2])
