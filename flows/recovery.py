"""Runs that were in flight when the Prefect server went down (`branchkpi server run` calls this once
its server answers again).

Their processes may have died with the server. The unresponsive-run automation marks such a run
Crashed once its heartbeats have been missing for the window, but its Crashed event may then wait
15 minutes before any automation sees it: Prefect orders a state event after the one it follows when
the two are less than 5 minutes apart, and the server that had seen that earlier event is gone. So
this watches the runs that were in flight at the restart, and for each one that ends Crashed emits
`branchkpi.run.crashed` on the run; the crash automation posts on either event, once per run."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

CRASHED_EVENT = "branchkpi.run.crashed"
IN_FLIGHT = ("RUNNING", "PENDING", "CANCELLING")
_TEXT = {
    "ja": "サーバーの停止中に止まった実行を異常終了（Crashed）としました: {name}",
    "en": "a run that stopped while the server was down was marked Crashed: {name}",
}


def in_flight(client: Any) -> list[Any]:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType

    states = FlowRunFilterStateType(any_=[StateType(s) for s in IN_FLIGHT])
    return list(client.read_flow_runs(flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=states))))


def announce_crashed(window: timedelta, poll_seconds: float = 5.0) -> list[str]:
    """Watch the runs in flight now until each has ended or `window` (the unresponsive-run window)
    and two minutes more have passed; announce those that end Crashed. Returns their names."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.events import emit_event
    from prefect.events.worker import EventsWorker

    announced: list[str] = []
    with get_client(sync_client=True) as client:
        watched = {run.id: run for run in in_flight(client)}
        deadline = time.monotonic() + window.total_seconds() + 120
        while watched and time.monotonic() < deadline:
            time.sleep(poll_seconds)
            ids = FlowRunFilterId(any_=list(watched))
            for run in client.read_flow_runs(flow_run_filter=FlowRunFilter(id=ids)):
                if run.state is None or run.state_type is None or run.state_type.value in IN_FLIGHT:
                    continue
                watched.pop(run.id, None)
                if run.state.is_crashed():
                    flow = client.read_flow(run.flow_id)
                    emit_event(
                        event=CRASHED_EVENT,
                        resource={
                            "prefect.resource.id": f"prefect.flow-run.{run.id}",
                            "prefect.resource.name": run.name,
                        },
                        related=[
                            {
                                "prefect.resource.id": f"prefect.flow.{run.flow_id}",
                                "prefect.resource.role": "flow",
                                "prefect.resource.name": flow.name,
                            }
                        ],
                        payload={lang: text.format(name=run.name) for lang, text in _TEXT.items()},
                    )
                    announced.append(run.name)
    EventsWorker.drain_all(timeout=30)
    return announced
