"""Run only by tests/flows/test_alerts.py, in a child process that the test kills with SIGKILL while
its flow run is Running: the monthly flow over the given file, in-process on the session's server,
sending heartbeats every 30 s as a deployment's run does. Not collected (no test_ prefix)."""

from __future__ import annotations

import sys

from branchkpi.flows.monthly_branch_stats import monthly_branch_stats

if __name__ == "__main__":
    monthly_branch_stats(paths=[sys.argv[1]], warehouse_url=sys.argv[2])
