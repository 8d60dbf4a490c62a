"""The fixed cost of orchestration: an empty Prefect flow run on the ephemeral API, after the same
imports as the pipeline (flows, tasks, Great Expectations, polars, SQLAlchemy)."""

from __future__ import annotations

import json
import resource
import time

STARTED = time.perf_counter()


def main() -> None:
    import great_expectations  # noqa: F401
    from prefect import flow

    import branchkpi.flows.backfill
    import branchkpi.flows.evaluate_targets
    import branchkpi.flows.quarterly_kpi_actuals  # noqa: F401

    @flow(name="empty")
    def empty() -> None:
        return None

    empty()
    print(
        json.dumps(
            {
                "seconds": time.perf_counter() - STARTED,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
