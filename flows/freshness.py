"""Flow `freshness` (提出状況の確認): on weekdays, the coverage grid of this fiscal year and the last
against the reporting calendar; each unit and period newly past due with nothing loaded emits
branchkpi.data.overdue (once: the warehouse remembers what was announced), each announced one that has
arrived since emits branchkpi.data.arrived-late; the grid is a table artifact of the run, and the
status page (what is in, what is late, what runs next: `branchkpi status`) a markdown artifact."""

from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.events import emit_event
from prefect.runtime import flow_run
from prefect.states import Completed, State

from branchkpi.config import settings
from branchkpi.flows import alerts, lifecycle
from branchkpi.flows import status as status_page
from branchkpi.tasks import coverage, steps
from branchkpi.tasks.freshness import Freshness
from branchkpi.tasks.status import markdown

FLOW_NAME = "freshness"
KINDS = ("stats", "kpi")


def _run_name() -> str:
    return f"freshness-{flow_run.parameters.get('as_of') or date.today().isoformat()}"


@flow(name=FLOW_NAME, flow_run_name=_run_name, persist_result=False)
def freshness(as_of: str | None = None, kinds: list[str] | None = None, warehouse_url: str | None = None) -> State:
    """Compare what has arrived with when it is due, and announce what is late.

    Args:
        as_of: the day to judge by, 2021-05-10. Empty: today (Asia/Tokyo business days).
        kinds: stats (月報 of the 47 branches and 全国), kpi (KPI actuals of the units with targets). Empty: both.
        warehouse_url: SQLAlchemy URL. Empty: BRANCHKPI_WAREHOUSE_URL or SQLite under ./var.
    """
    day = date.fromisoformat(as_of) if as_of else date.today()
    url = warehouse_url or settings().warehouse_url
    run_id = lifecycle.flow_run_id()
    results: list[Freshness] = []
    for kind in kinds or KINDS:
        result = steps.check_freshness(url, kind, day, run_id)
        for event in alerts.overdue_events(result.newly_overdue, run_id):
            emit_event(**event)
        for cell in result.arrived_late:
            emit_event(**alerts.arrived_late_event(cell, run_id))
        _publish_grid(result)
        results.append(result)
    _publish_status(day, url)
    message = "; ".join(
        f"{r.kind}: {len(r.missing)} past due ({len(r.newly_overdue)} new), {len(r.arrived_late)} arrived late"
        for r in results
    )
    get_run_logger().info(message)
    return Completed(message=message, data=results)


def _publish_grid(result: Freshness) -> None:
    """The grid as the coverage command prints it, a row per unit (its latest fiscal year first)."""
    lang = settings().report_lang
    for fiscal_year in sorted({c["fiscal_year"] for c in result.cells}, reverse=True):
        headers, table = coverage.grid_table([c for c in result.cells if c["fiscal_year"] == fiscal_year], lang)
        create_table_artifact(
            key=f"coverage-{result.kind}-fy{fiscal_year}",
            table=[{h: row.get(h, "") for h in headers} for row in table],
            description=f"提出状況 {result.kind} FY{fiscal_year} (as of {result.as_of.isoformat()}): "
            "済 loaded · 警 warned · 隔 quarantined · 差 replaced · 未着 missing · ・ not due",
        )


def _publish_status(day: date, url: str) -> None:
    """The one screen of `branchkpi status` as the run's markdown artifact (key `status`)."""
    lang = settings().report_lang
    found = status_page.gather(day, warehouse_url=url)
    create_markdown_artifact(
        key="status",
        markdown=markdown(found, lang),
        description=f"提出状況と実行予定 (as of {day.isoformat()}): periods complete / partial / overdue, "
        "last and next runs, files waiting in landing",
    )
