"""Alerting, kept in the repository: the events the flows emit and the Prefect automations that turn
them into a notification to a webhook (Slack-compatible JSON: {"text": ...}).

Missed and at-risk targets are one event per target, or one per reporting unit when a run flags more
than PER_TARGET_EVENTS, or one per prefecture when it flags more than PER_UNIT_EVENTS units (the
country's 1,741 municipalities would otherwise post thousands of alerts).

`branchkpi alerts install --webhook URL` creates (or replaces) the webhook block and the automations
on the Prefect server in PREFECT_API_URL:
- branchkpi: data-quality failure  ← branchkpi.quality.failed (a batch failed the gate)
- branchkpi: target missed         ← branchkpi.target.missed
- branchkpi: target at risk        ← branchkpi.target.at_risk
Each message names the branch (or municipality), the period, what failed, and links to the run."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any
from uuid import UUID

from branchkpi.domain.regions import BY_CODE

EVENT_FOR_STATUS = {"missed": "branchkpi.target.missed", "at_risk": "branchkpi.target.at_risk"}
PER_TARGET_EVENTS = 200  # more flagged targets than this: one event per unit
PER_UNIT_EVENTS = 200  # more flagged units than this: one event per prefecture
UNITS_SHOWN = 20  # units named in a prefecture event's detail
WEBHOOK_BLOCK = "branchkpi-alerts"
QUALITY_FAILED = "branchkpi.quality.failed"

_MESSAGE = (
    "[branchkpi] {{ event.payload.headline }}\n"
    "unit: {{ event.payload.unit }} | period: {{ event.payload.period }}\n"
    "{{ event.payload.detail }}\n"
    "run: {{ event.payload.run_url }}"
)
AUTOMATIONS: dict[str, str] = {
    "branchkpi: data-quality failure": QUALITY_FAILED,
    "branchkpi: target missed": EVENT_FOR_STATUS["missed"],
    "branchkpi: target at risk": EVENT_FOR_STATUS["at_risk"],
}


def run_url(flow_run_id: object) -> str:
    """The flow run's page in the Prefect UI (PREFECT_UI_URL), or its API id when no UI is known."""
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL

    ui = PREFECT_UI_URL.value() or (str(PREFECT_API_URL.value() or "").removesuffix("/api") or None)
    return f"{ui}/runs/flow-run/{flow_run_id}" if ui else f"flow-run {flow_run_id}"


class AlertSetupError(ValueError):
    """The alerts cannot be installed as asked (a URL the server would refuse to post to)."""


def check_webhook_url(webhook_url: str, allow_private_urls: bool = False) -> None:
    """Refuse, at install time, a URL the Prefect server will refuse to post to. Its notification
    blocks reject private and loopback addresses (SSRF protection) unless the block allows them, and
    the server says so only in its own log, after the alert it dropped."""
    if allow_private_urls:
        return
    from prefect.utilities.urls import validate_restricted_url

    try:
        validate_restricted_url(webhook_url)
    except ValueError as exc:
        raise AlertSetupError(
            f"the Prefect server would refuse to post to this webhook: {exc} For a receiver inside your "
            "network, install with --allow-private-urls"
        ) from exc


def install(webhook_url: str, allow_private_urls: bool = False) -> list[str]:
    """Create or replace the webhook block and the automations; returns the automation names."""
    from prefect.automations import Automation, EventTrigger, SendNotification
    from prefect.blocks.notifications import CustomWebhookNotificationBlock
    from prefect.events.schemas.automations import Posture

    check_webhook_url(webhook_url, allow_private_urls)

    block = CustomWebhookNotificationBlock(
        name=WEBHOOK_BLOCK,
        url=webhook_url,
        method="POST",
        json_data={"text": "{{body}}"},  # Slack incoming webhooks and most chat tools take this shape
        headers=None,
        cookies=None,
        allow_private_urls=allow_private_urls,
    )
    block_id: UUID = block.save(WEBHOOK_BLOCK, overwrite=True)  # type: ignore[assignment]
    names = []
    for name, event in AUTOMATIONS.items():
        _delete_existing(name)
        Automation(
            name=name,
            description=f"Notify {WEBHOOK_BLOCK} on {event}",
            trigger=EventTrigger(
                expect={event}, match={"prefect.resource.id": "branchkpi.*"}, posture=Posture.Reactive,
                threshold=1, within=timedelta(0),
            ),
            actions=[SendNotification(block_document_id=block_id, subject=f"branchkpi: {event}", body=_MESSAGE)],
        ).create()  # fmt: skip
        names.append(name)
    return names


TEST_MESSAGE = "[branchkpi] test: alerts are installed; data-quality failures and missed targets will be posted here"


def send_test() -> str:
    """Post one test message through the installed webhook block, as the automations will; returns
    what the receiver answered. Raises AlertSetupError when it did not accept the message."""
    import httpx
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    block: Any = CustomWebhookNotificationBlock.load(WEBHOOK_BLOCK)
    try:
        block.notify(TEST_MESSAGE, subject="branchkpi: test")
    except httpx.HTTPStatusError as exc:
        raise AlertSetupError(
            f"the receiver refused the test message: HTTP {exc.response.status_code} {exc.response.reason_phrase}"
        ) from exc
    except (httpx.HTTPError, ValueError) as exc:
        raise AlertSetupError(f"the test message did not arrive: {type(exc).__name__}: {exc}") from exc
    return "the receiver accepted the test message"


def uninstall() -> list[str]:
    """Delete the automations (the webhook block stays, for the record)."""
    for name in AUTOMATIONS:
        _delete_existing(name)
    return list(AUTOMATIONS)


def _delete_existing(name: str) -> None:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        for automation in client.read_automations_by_name(name):
            client.delete_automation(automation.id)


def _plain(text: str) -> str:
    """Text for a chat message: Slack (and Teams' markdown) read `<url|text>` as a link and `&`
    entities, so a file or unit name from the data must not carry them raw."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quality_failed_event(
    batch_id: str, period: str | None, units: list[str], files: list[str], message: str, flow_run_id: object
) -> dict[str, Any]:
    """emit_event arguments for a batch that failed the quality gate."""
    unit_text = _plain(", ".join(units) or "-")
    return {
        "event": QUALITY_FAILED,
        "resource": {
            "prefect.resource.id": f"branchkpi.batch.{batch_id}",
            "prefect.resource.name": f"batch {batch_id[:8]} {period or ''}".strip(),
            "branchkpi.period": period or "",
            "branchkpi.unit": unit_text,
        },
        "payload": {
            "headline": _plain(f"data-quality failure: {', '.join(files)[:300]}"),
            "unit": unit_text,
            "period": period or "-",
            "detail": _plain(message[:1500]),
            "files": files,
            "run_url": run_url(flow_run_id),
        },
        "related": [{"prefect.resource.id": f"prefect.flow-run.{flow_run_id}", "prefect.resource.role": "flow-run"}]
        if flow_run_id
        else None,
    }


def target_event(row: dict[str, Any], label: str, flow_run_id: str | None) -> dict[str, Any]:
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
        "run_url": run_url(flow_run_id) if flow_run_id else "-",
    }
    related = [{"prefect.resource.id": f"prefect.flow-run.{flow_run_id}", "prefect.resource.role": "flow-run"}]
    return {"event": EVENT_FOR_STATUS[row["status"]], "resource": resource, "payload": payload,
            "related": related if flow_run_id else None}  # fmt: skip


def target_events(rows: list[dict[str, Any]], label: str, flow_run_id: str | None) -> list[dict[str, Any]]:
    """emit_event arguments for the flagged targets: per target, or per unit when there are many."""
    flagged = [r for r in rows if r["status"] in EVENT_FOR_STATUS]
    if len(flagged) <= PER_TARGET_EVENTS:
        return [target_event(r, label, flow_run_id) for r in flagged]
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
        "run_url": run_url(flow_run_id) if flow_run_id else "-",
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
        "run_url": run_url(flow_run_id) if flow_run_id else "-",
    }  # fmt: skip
    related = [{"prefect.resource.id": f"prefect.flow-run.{flow_run_id}", "prefect.resource.role": "flow-run"}]
    return {"event": EVENT_FOR_STATUS[status], "resource": resource, "payload": payload,
            "related": related if flow_run_id else None}  # fmt: skip
