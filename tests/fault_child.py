"""A run of the monthly flow in its own process, for the fault-injection tests: it prints each step
as it starts (`STEP loading`), so a test can kill it at a chosen point, and its end
(`END <state type> <flow run id> <message>`). Run: python -m tests.fault_child FILE [FILE ...]."""

from __future__ import annotations

import sys

from branchkpi.flows import progress


def main(paths: list[str]) -> int:
    progress.subscribe(lambda step: print(f"STEP {step}", flush=True))
    print("STARTED", flush=True)
    from branchkpi.flows.monthly_branch_stats import monthly_branch_stats
    from branchkpi.flows.runtime import wait_until_recorded

    state = monthly_branch_stats(paths=paths, return_state=True)
    wait_until_recorded(state)
    print(f"END {state.type.value} {state.state_details.flow_run_id} {state.message}", flush=True)
    return 0 if state.is_completed() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
