"""What an evaluation run shows people and automations: the table artifact (missed first), the
markdown summary, and Prefect events for missed and at-risk targets: one per target, or one per
reporting unit when a run flags more than PER_TARGET_EVENTS, or one per prefecture when it flags
more than PER_UNIT_EVENTS units (the country's 1,741 municipalities would otherwise post thousands of
alerts). The artifacts stop at ARTIFACT_ROWS rows; every row is in kpi_evaluations."""

from __future__ import annotations

import html
from collections import Counter
from typing import Any

from branchkpi import alerts
from branchkpi.domain.regions import BY_CODE
from branchkpi.tasks.summary import cell

EVENT_FOR_STATUS = {"missed": "branchkpi.target.missed", "at_risk": "branchkpi.target.at_risk"}
PER_TARGET_EVENTS = 200  # more flagged targets than this: one event per unit
PER_UNIT_EVENTS = 200  # more flagged units than this: one event per prefecture
UNITS_SHOWN = 20  # units named in a prefecture event's detail
ARTIFACT_ROWS = 1000
TABLE_COLUMNS = [
    "unit_key", "unit_name", "kpi_id", "group", "target_value", "target_text", "comparator", "unit", "actual",
    "actual_period", "previous", "status", "mark", "reason",
]  # fmt: skip


_ORDER = {"missed": 0, "at_risk": 1, "not_evaluable": 2, "on_track": 3, "achieved": 4}


def sort_key(row: dict[str, Any]) -> tuple[int, int, str, str]:
    """Missed first, then at risk, not evaluable, met; by year, unit and KPI within each."""
    return _ORDER[row["status"]], row["fiscal_year"], row["unit_key"], row["kpi_id"]


def table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first ARTIFACT_ROWS rows (they come sorted: missed, at_risk, —, ○). Text is HTML escaped:
    Prefect's UI shows table cells as text, but a unit or target text holding <script> must not become
    markup in any other viewer of the artifact either."""
    return [{c: _text(r[c]) for c in TABLE_COLUMNS} for r in rows[:ARTIFACT_ROWS]]


def _text(value: Any) -> Any:
    return html.escape(value, quote=False) if isinstance(value, str) else value


def markdown(rows: list[dict[str, Any]], label: str, run_id: str) -> str:
    counts = Counter(r["status"] for r in rows)
    lines = [
        f"# KPI evaluation {cell(label)}",
        "",
        f"{len(rows)} targets: ○ {counts['achieved'] + counts['on_track']}, × {counts['missed']}, "
        f"△ {counts['at_risk']}, — {counts['not_evaluable']}.  Evaluation run `{run_id}`.",
        "",
    ]
    flagged = [r for r in rows if r["status"] in EVENT_FOR_STATUS]
    if flagged:
        lines += [
            "## Missed and at risk",
            "",
            "| unit | KPI | target | actual | mark | reason |",
            "|---|---|---|---|---|---|",
        ]
        if len(flagged) > ARTIFACT_ROWS:
            lines[-2:-2] = [f"The first {ARTIFACT_ROWS} of {len(flagged)}; all are in kpi_evaluations.", ""]
        for r in flagged[:ARTIFACT_ROWS]:
            target = r["target_text"] or (r["target_value"] if r["target_value"] is not None else r["comparator"])
            lines.append(
                f"| {cell(r['unit_name'])} | {cell(r['kpi_id'])} | {cell(target)} | {cell(r['actual'])} | "
                f"{r['mark']} | {cell(r['reason'])} |"
            )
    return "\n".join(lines)


def years_markdown(evaluations: list[Any], label: str, fresh_rows: list[dict[str, Any]]) -> str:
    """The summary of a run over several fiscal years (or of one whose evaluation was reused): a line
    per year with its marks and its evaluation run, then the missed and at-risk targets of the
    years evaluated now."""
    lines = [
        f"# KPI evaluation {cell(label)}",
        "",
        "| fiscal year | targets | ○ | × | △ | — | evaluation run |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in evaluations:
        c = e.counts
        run = f"`{e.evaluation_id}`" + (" (unchanged since: reused)" if e.reused else "")
        lines.append(f"| FY{e.fiscal_year} | {len(e)} | {c['achieved'] + c['on_track']} | {c['missed']} | "
                     f"{c['at_risk']} | {c['not_evaluable']} | {run} |")  # fmt: skip
    flagged = [r for r in fresh_rows if r["status"] in EVENT_FOR_STATUS]
    if flagged:
        lines += ["", f"## Missed and at risk ({len(flagged)})", "", "| FY | unit | KPI | target | actual | mark |",
                  "|---|---|---|---|---|---|"]  # fmt: skip
        for r in flagged[:ARTIFACT_ROWS]:
            target = r["target_text"] or (r["target_value"] if r["target_value"] is not None else r["comparator"])
            lines.append(f"| {r['fiscal_year']} | {cell(r['unit_name'])} | {cell(r['kpi_id'])} | {cell(target)} | "
                         f"{cell(r['actual'])} | {r['mark']} |")  # fmt: skip
        if len(flagged) > ARTIFACT_ROWS:
            lines += ["", f"The first {ARTIFACT_ROWS} of {len(flagged)}; all are in kpi_evaluations."]
    return "\n".join(lines)


def event(row: dict[str, Any], label: str, flow_run_id: str | None) -> dict[str, Any]:
    """The emit_event arguments for a flagged target: branch, KPI and period in resource and payload."""
    resource = {
        "prefect.resource.id": f"branchkpi.target.{row['unit_key']}.{row['kpi_id']}.{label}",
        "prefect.resource.name": f"{row['unit_name']} {row['kpi_id']} {label}",
        "branchkpi.unit": row["unit_key"],
        "branchkpi.kpi": row["kpi_id"],
        "branchkpi.period": label,
    }
    payload: dict[str, Any] = {
        k: row[k] for k in ("unit_key", "unit_name", "kpi_id", "fiscal_year", "period", "target_value",
                            "comparator", "actual", "previous", "status", "mark", "reason")
    }  # fmt: skip
    # the fields the alert message shows (branchkpi/alerts.py)
    payload |= {
        "headline": f"target {row['status'].replace('_', ' ')} {row['mark']}: {row['kpi_id']}",
        "unit": row["unit_name"],
        "period": label,
        "detail": row["reason"],
        "run_url": alerts.run_url(flow_run_id) if flow_run_id else "-",
    }
    related = [{"prefect.resource.id": f"prefect.flow-run.{flow_run_id}", "prefect.resource.role": "flow-run"}]
    return {"event": EVENT_FOR_STATUS[row["status"]], "resource": resource, "payload": payload,
            "related": related if flow_run_id else None}  # fmt: skip


def events(rows: list[dict[str, Any]], label: str, flow_run_id: str | None) -> list[dict[str, Any]]:
    """emit_event arguments for the flagged targets: per target, or per unit when there are many."""
    flagged = [r for r in rows if r["status"] in EVENT_FOR_STATUS]
    if len(flagged) <= PER_TARGET_EVENTS:
        return [event(r, label, flow_run_id) for r in flagged]
    by_unit: dict[str, list[dict[str, Any]]] = {}
    for r in flagged:
        by_unit.setdefault(r["unit_key"], []).append(r)
    if len(by_unit) <= PER_UNIT_EVENTS:
        return [unit_event(unit_rows, label, flow_run_id) for unit_rows in by_unit.values()]
    by_prefecture: dict[str, list[dict[str, Any]]] = {}
    for r in flagged:  # 33:倉敷市 belongs to 33 (岡山); a branch key is its prefecture's code
        by_prefecture.setdefault(r["unit_key"].split(":", 1)[0], []).append(r)
    return [prefecture_event(code, rows, label, flow_run_id) for code, rows in sorted(by_prefecture.items())]


def prefecture_event(code: str, rows: list[dict[str, Any]], label: str, flow_run_id: str | None) -> dict[str, Any]:
    """One event for a prefecture's flagged units (a run over every municipality of the country)."""
    status = "missed" if any(r["status"] == "missed" for r in rows) else "at_risk"
    units: dict[str, Counter[str]] = {}
    for r in rows:
        units.setdefault(r["unit_name"], Counter())[r["status"]] += 1
    region = BY_CODE.get(code)
    name = region.name_romaji if region else code
    resource = {
        "prefect.resource.id": f"branchkpi.prefecture.{code}.{label}",
        "prefect.resource.name": f"{name} {label}",
        "branchkpi.prefecture": code,
        "branchkpi.period": label,
    }
    shown = ", ".join(f"{unit} ×{c['missed']} △{c['at_risk']}" for unit, c in list(units.items())[:UNITS_SHOWN])
    more = f" and {len(units) - UNITS_SHOWN} more" if len(units) > UNITS_SHOWN else ""
    payload: dict[str, Any] = {
        "prefecture": code, "units_flagged": len(units), "targets_flagged": len(rows),
        "headline": f"{len(units)} unit(s) with {len(rows)} target(s) missed or at risk",
        "unit": name, "period": label, "detail": shown + more,
        "run_url": alerts.run_url(flow_run_id) if flow_run_id else "-",
    }  # fmt: skip
    related = [{"prefect.resource.id": f"prefect.flow-run.{flow_run_id}", "prefect.resource.role": "flow-run"}]
    return {"event": EVENT_FOR_STATUS[status], "resource": resource, "payload": payload,
            "related": related if flow_run_id else None}  # fmt: skip


def unit_event(rows: list[dict[str, Any]], label: str, flow_run_id: str | None) -> dict[str, Any]:
    """One event for a unit's flagged targets: missed if any is missed, else at risk."""
    first = rows[0]
    status = "missed" if any(r["status"] == "missed" for r in rows) else "at_risk"
    counts = Counter(r["status"] for r in rows)
    resource = {
        "prefect.resource.id": f"branchkpi.unit.{first['unit_key']}.{label}",
        "prefect.resource.name": f"{first['unit_name']} {label}",
        "branchkpi.unit": first["unit_key"],
        "branchkpi.period": label,
    }
    payload: dict[str, Any] = {
        "unit_key": first["unit_key"], "unit_name": first["unit_name"], "fiscal_year": first["fiscal_year"],
        "targets": [{k: r[k] for k in ("kpi_id", "target_value", "actual", "status", "mark")} for r in rows],
        "headline": f"{counts['missed']} target(s) missed, {counts['at_risk']} at risk",
        "unit": first["unit_name"], "period": label,
        "detail": ", ".join(f"{r['kpi_id']} {r['mark']}" for r in rows),
        "run_url": alerts.run_url(flow_run_id) if flow_run_id else "-",
    }  # fmt: skip
    related = [{"prefect.resource.id": f"prefect.flow-run.{flow_run_id}", "prefect.resource.role": "flow-run"}]
    return {"event": EVENT_FOR_STATUS[status], "resource": resource, "payload": payload,
            "related": related if flow_run_id else None}  # fmt: skip
