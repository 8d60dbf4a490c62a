"""What an evaluation run shows people and automations: the table artifact (missed first), the
markdown summary, and one Prefect event per missed or at-risk target."""

from __future__ import annotations

from collections import Counter
from typing import Any

from branchkpi import alerts

from .summary import cell

EVENT_FOR_STATUS = {"missed": "branchkpi.target.missed", "at_risk": "branchkpi.target.at_risk"}
TABLE_COLUMNS = [
    "unit_key", "unit_name", "kpi_id", "group", "target_value", "target_text", "comparator", "unit", "actual",
    "actual_period", "previous", "status", "mark", "reason",
]  # fmt: skip


def table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{c: r[c] for c in TABLE_COLUMNS} for r in rows]  # rows come sorted: missed, at_risk, —, ○


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
        for r in flagged:
            target = r["target_text"] or (r["target_value"] if r["target_value"] is not None else r["comparator"])
            lines.append(
                f"| {cell(r['unit_name'])} | {cell(r['kpi_id'])} | {cell(target)} | {cell(r['actual'])} | "
                f"{r['mark']} | {cell(r['reason'])} |"
            )
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
