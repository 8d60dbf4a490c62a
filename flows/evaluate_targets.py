"""Flow `evaluate-targets`: judge every target of the plan for a fiscal year or a quarter, store the
run with its inputs, publish the table (missed first) and a summary, and emit a Prefect event for
each missed (branchkpi.target.missed) and at-risk (branchkpi.target.at_risk) target so automations
can alert on them."""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.events import emit_event
from prefect.runtime import flow_run
from prefect.states import Completed, State

from branchkpi.config import settings
from branchkpi.domain.fiscal import current_fiscal_year
from branchkpi.domain.regions import BY_CODE
from branchkpi.flows import alerts, artifacts, lifecycle, pickup, reports
from branchkpi.tasks import steps
from branchkpi.tasks.evaluate import Evaluation
from branchkpi.tasks.report import gather as report
from branchkpi.tasks.report.wording import Labels
from branchkpi.warehouse import reads
from branchkpi.warehouse.engine import connect

FLOW_NAME = "evaluate-targets"


def period_label(fiscal_year: int, quarter: int | None) -> str:
    return f"FY{fiscal_year}" + (f"-Q{quarter}" if quarter else "")


# the most units a run name spells out; beyond them it says how many
NAMED_UNITS = 3


def unit_slug(unit_key: str) -> str:
    """A unit as a run name carries it: 35 → yamaguchi, 33:倉敷市 → okayama-倉敷市. Never the JIS code:
    nobody searches the UI for "35"."""
    code, _, municipality = unit_key.partition(":")
    region = BY_CODE.get(code)
    name = region.name_romaji if region else code
    return f"{name}-{municipality}" if municipality else name


def run_scope(unit_keys: list[str]) -> str:
    """-yamaguchi; -gunma-saitama-yamaguchi; -5-units; nothing for every unit."""
    if not unit_keys:
        return ""
    if len(unit_keys) > NAMED_UNITS:
        return f"-{len(unit_keys)}-units"
    return "".join(f"-{unit_slug(k)}" for k in unit_keys)


def _run_name() -> str:
    p = flow_run.parameters
    scope = run_scope(p.get("unit_keys") or [])
    fiscal_year = p.get("fiscal_year") or current_fiscal_year() - 1
    last = p.get("to_fiscal_year")
    span = f"-FY{last}" if last and last != fiscal_year else ""
    return f"evaluate-{period_label(fiscal_year, p.get('quarter'))}{span}{scope}".replace(":", "-")


@flow(name=FLOW_NAME, flow_run_name=_run_name, persist_result=False)
def evaluate_targets(
    fiscal_year: int | None = None,
    quarter: int | None = None,
    unit_keys: list[str] | None = None,
    warehouse_url: str | None = None,
    to_fiscal_year: int | None = None,
    force: bool = False,
    report_branches: list[str] | None = None,
    until_complete: bool = False,
    background_reports: bool = False,
) -> State:
    """Evaluate the plan's KPI targets.

    Args:
        fiscal_year: the fiscal year (2020 = 令和2年度, April 2020 – March 2021). Empty: the last closed
            fiscal year (the scheduled annual run).
        quarter: 1–4 for an in-year check (on_track / at_risk); empty for the closed year (○ / ×).
        unit_keys: branches by JIS code (35) or municipalities (33:倉敷市); empty = every unit with targets.
        warehouse_url: SQLAlchemy URL. Empty: BRANCHKPI_WAREHOUSE_URL or SQLite under ./var.
        to_fiscal_year: evaluate every fiscal year from fiscal_year to this one in this run (a
            backfill's years); each year is stored as its own evaluation run.
        force: evaluate again even when nothing the last evaluation read has changed since; by
            default that evaluation is reused (no new run is stored and no alert is sent again).
        report_branches: branches whose KPI report (HTML with charts) is written for the last fiscal
            year and attached to this run; "all" for every branch evaluated. Empty:
            BRANCHKPI_REPORT_BRANCHES, else the branches named in unit_keys.
        until_complete: a run of the reporting calendar's schedule (the days a closed fiscal year's
            FY actuals are due and the pickup days after): its fiscal year is `fiscal_year`, else the
            calendar's for the day it was scheduled for; once every unit's FY actuals are in, its
            remaining pickup runs are retired.
        background_reports: write those reports after the run, in a process of their own, when the
            Prefect server outlives this process (the CLI asks for it: the table is the answer); they
            are attached to this run seconds later (flows/reports.py). Default: in the run.
    """
    if quarter is not None and not 1 <= quarter <= 4:
        raise ValueError(f"quarter must be 1-4, got {quarter}")
    # a run of the reporting calendar's schedule: its fiscal year from the day it was scheduled for
    named = f"FY{fiscal_year}" if fiscal_year is not None else None
    scheduled = pickup.scheduled_period("annual-evaluation", named) if until_complete and quarter is None else None
    if scheduled and fiscal_year is None:
        fiscal_year = scheduled.fiscal_year
    if fiscal_year is None:
        fiscal_year = current_fiscal_year() - 1
    last = to_fiscal_year if to_fiscal_year is not None else fiscal_year
    if last < fiscal_year:
        raise ValueError(f"to_fiscal_year {last} is before fiscal_year {fiscal_year}")
    cfg = settings()
    url = warehouse_url or cfg.warehouse_url
    run_id = lifecycle.flow_run_id()
    evaluations = steps.evaluate_targets(url, list(range(fiscal_year, last + 1)), quarter, unit_keys, run_id, force)
    label = period_label(fiscal_year, quarter) + (f"–FY{last}" if last != fiscal_year else "")
    artifacts.publish_evaluation(evaluations, label, _plan_texts(url, evaluations), cfg.report_lang)
    for evaluation in (e for e in evaluations if not e.reused):
        per_prefecture = evaluation.flagged_units() > alerts.PER_UNIT_EVENTS
        flagged = evaluation.flagged(inputs=False, columns=alerts.PREFECTURE_EVENT_COLUMNS if per_prefecture else None)
        for event in alerts.target_events(
            flagged, period_label(evaluation.fiscal_year or fiscal_year, quarter), run_id
        ):
            emit_event(**event)
    requested = report_branches or list(cfg.report_branches)
    evaluated = {unit for unit, _ in evaluations[-1].unit_years()} if requested else set()
    branches = report.branches_to_report(requested, unit_keys, evaluated)
    reports.attach_reports(url, branches, last, quarter, cfg, background_reports)
    message = _message(evaluations, label)
    if scheduled and scheduled.fiscal_year == fiscal_year == last:
        retired = pickup.retire_if_complete(url, scheduled)
        message += f"; {retired}" if retired else ""
    get_run_logger().info(message)
    return Completed(message=message, data=evaluations[0] if len(evaluations) == 1 else evaluations)


def _message(evaluations: list[Evaluation], label: str) -> str:
    flagged = sum(e.counts["missed"] + e.counts["at_risk"] for e in evaluations)
    message = f"{sum(len(e) for e in evaluations)} targets evaluated for {label}: {flagged} missed or at risk"
    reused = sum(e.reused for e in evaluations)
    if reused:
        message += f"; {reused} fiscal year(s) unchanged since their last evaluation (reused)"
    return message


def _plan_texts(url: str, evaluations: list[Evaluation]) -> artifacts.PlanTexts:
    """The plan's own sentence of the KPIs the catalogue has no Japanese name for, per unit and year of
    the targets evaluated now: the run page names every KPI in Japanese. Read only where needed (one
    read per unit and year that has such a KPI; a prefecture's municipalities have none)."""
    wanted = {
        unit_year
        for e in evaluations
        if not e.reused
        for unit_year in e.unit_years(lambda kpi_id: not Labels.has_japanese_name(kpi_id))
    }
    if not wanted:
        return {}
    engine = connect(url)
    return {
        (unit, year, kpi_id): text
        for unit, year in sorted(wanted)
        for kpi_id, text in reads.kpi_texts(engine, unit, year).items()
    }
