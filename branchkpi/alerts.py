"""Alerting, kept in the repository: the events the flows emit and the Prefect automations that turn
them into a notification to a webhook (Slack-compatible JSON: {"text": ...}).

`branchkpi alerts install --webhook URL` creates (or replaces) the webhook block and the automations
on the Prefect server in PREFECT_API_URL:
- branchkpi: data-quality failure  ← branchkpi.quality.failed (a batch failed the gate)
- branchkpi: target missed         ← branchkpi.target.missed
- branchkpi: target at risk        ← branchkpi.target.at_risk
Each message names the branch (or municipality), the period, what failed, and links to the run."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

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
    "branchkpi: target missed": "branchkpi.target.missed",
    "branchkpi: target at risk": "branchkpi.target.at_risk",
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
