"""Flow `evaluate-targets`: judge every target of the plan for a fiscal year or a quarter, store the
run with its inputs, publish the table (missed first) and a summary, and emit a Prefect event for
each missed (branchkpi.target.missed) and at-risk (branchkpi.target.at_risk) target so automations
can alert on them."""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.events import emit_event
from prefect.runtime import flow_run
from prefect.states import Completed, State

from branchkpi.config import settings
from branchkpi.fiscal import current_fiscal_year
from tasks import evaluation_report, steps

FLOW_NAME = "evaluate-targets"


def period_label(fiscal_year: int, quarter: int | None) -> str:
    return f"FY{fiscal_year}" + (f"-Q{quarter}" if quarter else "")


def _run_name() -> str:
    p = flow_run.parameters
    units = p.get("unit_keys") or []
    scope = f"-{units[0]}" if len(units) == 1 else ""
    fiscal_year = p.get("fiscal_year") or current_fiscal_year() - 1
    return f"evaluate-{period_label(fiscal_year, p.get('quarter'))}{scope}".replace(":", "-")


@flow(name=FLOW_NAME, flow_run_name=_run_name, persist_result=False)
def evaluate_targets(
    fiscal_year: int | None = None,
    quarter: int | None = None,
    unit_keys: list[str] | None = None,
    warehouse_url: str | None = None,
) -> State:
    """Evaluate the plan's KPI targets.

    Args:
        fiscal_year: the fiscal year (2020 = 令和2年度, April 2020 – March 2021). Empty: the last closed
            fiscal year (the scheduled annual run).
        quarter: 1–4 for an in-year check (on_track / at_risk); empty for the closed year (○ / ×).
        unit_keys: branches by JIS code (35) or municipalities (33:倉敷市); empty = every unit with targets.
        warehouse_url: SQLAlchemy URL. Empty: BRANCHKPI_WAREHOUSE_URL or SQLite under ./var.
    """
    if quarter is not None and not 1 <= quarter <= 4:
        raise ValueError(f"quarter must be 1-4, got {quarter}")
    if fiscal_year is None:
        fiscal_year = current_fiscal_year() - 1
    url = warehouse_url or settings().warehouse_url
    label = period_label(fiscal_year, quarter)
    run_id = flow_run.get_id()
    evaluation = steps.evaluate_targets(url, fiscal_year, quarter, unit_keys, str(run_id) if run_id else None)
    evaluation_id, rows = evaluation.evaluation_id, evaluation.rows
    create_table_artifact(
        key="kpi-evaluation", table=evaluation_report.table(rows), description=f"KPIs {label}: {len(rows)} targets"
    )
    create_markdown_artifact(
        key="kpi-evaluation-summary", markdown=evaluation_report.markdown(rows, label, evaluation_id)
    )
    flagged = [r for r in rows if r["status"] in evaluation_report.EVENT_FOR_STATUS]
    for event in evaluation_report.events(rows, label, str(run_id) if run_id else None):
        emit_event(**event)
    message = f"{len(rows)} targets evaluated for {label}: {len(flagged)} missed or at risk"
    get_run_logger().info(message)
    return Completed(message=message, data=evaluation)
