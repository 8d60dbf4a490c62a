"""`branchkpi alerts install`: one Prefect notification block (SlackWebhook, MicrosoftTeamsWebhook or
the generic webhook) and the automations that post to it, on the server in PREFECT_API_URL.

The message is the event's own text in the chosen language (`event.payload.ja` / `.en`, written by
flows/alerts.py); the run's link is Prefect's templating (`flow_run|ui_url`). What makes no noise on
its own is covered too:
- a Crashed run of one of our flows (a worker saw its process die, or it stopped sending heartbeats);
- a run that stopped sending heartbeats (machine lost, SIGKILL of an in-process run, a subflow left
  Running by its crashed parent) is marked Crashed, as Prefect's zombie-flow recipe does;
- a deployment's run Running far longer than it usually takes (a proactive trigger per deployment,
  its window from the deployment's recent runs)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from branchkpi.flows import alerts, recovery
from branchkpi.flows.alert_text import LANGS, Lang

WEBHOOK_BLOCK = "branchkpi-alerts"
KINDS = ("webhook", "slack", "teams")
PREFIX = "branchkpi: "
PROJECT_TAG = "branchkpi"  # every deployment of prefect.yaml carries it
# the flows whose crash is told (tests/unit/test_alerts_and_artifacts.py checks it against the flows)
FLOW_NAMES = ["monthly-branch-stats", "quarterly-kpi-actuals", "evaluate-targets", "backfill", "freshness"]

RUN_LINK = {"ja": "実行", "en": "run"}
EVENT_AUTOMATIONS: dict[str, str] = {
    "branchkpi: data-quality failure": alerts.QUALITY_FAILED,
    "branchkpi: target missed": alerts.EVENT_FOR_STATUS["missed"],
    "branchkpi: target at risk": alerts.EVENT_FOR_STATUS["at_risk"],
    "branchkpi: data overdue": alerts.DATA_OVERDUE,
    "branchkpi: no input while data is due": alerts.NO_INPUT,
    "branchkpi: run failed outside the data": alerts.RUN_FAILED,
}
CRASHED = "branchkpi: run crashed"
ONE_ALERT_PER_RUN = timedelta(hours=1)  # a second Crashed event of the same run within it posts nothing
UNRESPONSIVE = "branchkpi: mark unresponsive runs crashed"
LONG_RUNNING = "branchkpi: running too long"  # + the deployment's name
_FINAL = ["Completed", "Failed", "Cancelled", "Crashed", "Paused", "Suspended"]
_CRASHED_TEXT = {
    "ja": "[branchkpi] 実行が異常終了しました（Crashed）: {{ flow_run.name }}\n{{ flow_run.state.message }}",
    "en": "[branchkpi] run crashed: {{ flow_run.name }}\n{{ flow_run.state.message }}",
}
_LONG_TEXT = {
    "ja": "[branchkpi] 実行が通常より長く続いています: {{ flow_run.name }}（{deployment}、通常は {usual} 分以内）",
    "en": "[branchkpi] run still Running far past its usual time: {{ flow_run.name }} ({deployment}, usually "
    "under {usual} min)",
}
TEST_MESSAGE = {
    "ja": "[branchkpi] テスト: 通知を設定しました。データ品質エラー、未着、目標未達、実行の異常はここに届きます",
    "en": "[branchkpi] test: alerts are installed; data-quality failures, late data, missed targets and failed "
    "runs will be posted here",
}


@dataclass(frozen=True)
class Timings:
    """How long before a silent run is called out."""

    unresponsive_after: timedelta = timedelta(minutes=10)  # no heartbeat for this long: Crashed
    long_run_factor: float = 3.0  # Running longer than this × the deployment's usual time …
    long_run_floor: timedelta = timedelta(minutes=30)  # … and never sooner than this
    long_run_default: timedelta = timedelta(hours=2)  # a deployment with no finished run yet
    long_run_after: timedelta | None = None  # one window for every deployment, instead


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


def notification_block(kind: str, webhook_url: str, allow_private_urls: bool) -> Any:
    """Prefect's own block for the receiver: Slack and Teams through Apprise, anything else as JSON
    {"text": ...} (the shape Slack-compatible receivers and most chat tools take)."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock, MicrosoftTeamsWebhook, SlackWebhook
    from pydantic import SecretStr

    if kind == "slack":
        return SlackWebhook(url=SecretStr(webhook_url), allow_private_urls=allow_private_urls)
    if kind == "teams":
        try:
            return MicrosoftTeamsWebhook(url=SecretStr(webhook_url), allow_private_urls=allow_private_urls)
        except ValueError as exc:
            raise AlertSetupError(f"not a Microsoft Teams workflow URL: {exc}") from exc
    if kind == "webhook":
        return CustomWebhookNotificationBlock(
            name=WEBHOOK_BLOCK,
            url=webhook_url,
            method="POST",
            json_data={"text": "{{body}}"},
            headers=None,
            cookies=None,
            allow_private_urls=allow_private_urls,
        )
    raise AlertSetupError(f"--kind {kind!r}: give one of {', '.join(KINDS)}")


def event_body(lang: Lang) -> str:
    """The message of a branchkpi event: its own text, then the run's page in the UI."""
    return (
        f"{{{{ event.payload.{lang} }}}}{{% if flow_run %}}\n{RUN_LINK[lang]}: {{{{ flow_run|ui_url }}}}{{% endif %}}"
    )


def install(
    webhook_url: str,
    kind: str = "webhook",
    lang: str = "ja",
    allow_private_urls: bool = False,
    timings: Timings | None = None,
) -> list[str]:
    """Create or replace the block and the automations; returns the automation names."""
    from prefect.automations import Automation, EventTrigger, SendNotification
    from prefect.events.schemas.automations import Posture

    if lang not in LANGS:
        raise AlertSetupError(f"--lang {lang!r}: give ja or en")
    language: Lang = "ja" if lang == "ja" else "en"
    timings = timings or Timings()
    check_webhook_url(webhook_url, allow_private_urls)
    block = notification_block(kind, webhook_url, allow_private_urls)
    block_id: UUID = block.save(WEBHOOK_BLOCK, overwrite=True)
    uninstall()

    def notify(subject: str, body: str) -> SendNotification:
        return SendNotification(block_document_id=block_id, subject=subject, body=body)

    link = f"\n{RUN_LINK[language]}: {{{{ flow_run|ui_url }}}}"
    created: list[Any] = []
    for name, event in EVENT_AUTOMATIONS.items():
        created.append(
            Automation(
                name=name,
                description=f"Notify {WEBHOOK_BLOCK} on {event}",
                trigger=EventTrigger(
                    expect={event},
                    match={"prefect.resource.id": "branchkpi.*"},
                    posture=Posture.Reactive,
                    threshold=1,
                    within=timedelta(0),
                ),
                actions=[notify(name, event_body(language))],
            )
        )
    created.append(
        Automation(
            name=CRASHED,
            description="Notify when a run of a branchkpi flow crashed (its process died), once per run",
            trigger=EventTrigger(
                # Prefect's own state event, or ours for a run found crashed after a server restart
                # (flows/recovery.py); per run, the first of them posts and the other is absorbed
                expect={"prefect.flow-run.Crashed", recovery.CRASHED_EVENT},
                match={"prefect.resource.id": "prefect.flow-run.*"},
                match_related={"prefect.resource.role": "flow", "prefect.resource.name": FLOW_NAMES},
                for_each={"prefect.resource.id"},
                posture=Posture.Reactive,
                threshold=1,
                within=ONE_ALERT_PER_RUN,
            ),
            actions=[notify(CRASHED, _CRASHED_TEXT[language] + link)],
        )
    )
    created.append(unresponsive_automation(timings.unresponsive_after))
    for deployment_id, deployment_name, window in long_run_windows(timings):
        usual = max(1, round(window.total_seconds() / 60 / timings.long_run_factor))
        body = _LONG_TEXT[language].replace("{deployment}", deployment_name).replace("{usual}", str(usual))
        created.append(
            Automation(
                name=f"{LONG_RUNNING}: {deployment_name}",
                description=f"Notify when a run of {deployment_name} is Running longer than {window}",
                trigger=EventTrigger(
                    after={"prefect.flow-run.Running"},
                    expect={f"prefect.flow-run.{s}" for s in _FINAL},
                    match={"prefect.resource.id": "prefect.flow-run.*"},
                    match_related={
                        "prefect.resource.role": "deployment",
                        "prefect.resource.id": f"prefect.deployment.{deployment_id}",
                    },
                    for_each={"prefect.resource.id"},
                    posture=Posture.Proactive,
                    threshold=1,
                    within=window,
                ),
                actions=[notify(f"{LONG_RUNNING}: {deployment_name}", body + link)],
            )
        )
    for automation in created:
        automation.create()
    return [a.name for a in created]


def unresponsive_automation(after: timedelta) -> Any:
    """A flow run that stopped sending heartbeats (its process died: machine lost, SIGKILL, a server
    that was down while it ran) is marked Crashed, as Prefect's zombie-flow recipe does. Crashed runs
    of our flows are then alerted once by the CRASHED automation, when alerts are installed."""
    from prefect.automations import Automation, EventTrigger
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import Posture

    return Automation(
        name=UNRESPONSIVE,
        description="A flow run that stopped sending heartbeats (its process died) is marked Crashed",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={"prefect.flow-run.heartbeat", *(f"prefect.flow-run.{s}" for s in _FINAL)},
            match={"prefect.resource.id": "prefect.flow-run.*"},
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=after,  # a timedelta, not days
        ),
        actions=[
            ChangeFlowRunState(
                name="Crashed",
                state=StateType.CRASHED,
                force=False,
                message=f"no heartbeat for {after.total_seconds():.0f} s: its process is gone",
            )
        ],
    )


def ensure_housekeeping(after: timedelta) -> tuple[str, timedelta]:
    """The unresponsive-run automation on the server in PREFECT_API_URL whether or not alerts are
    installed (`branchkpi server run` makes it when its server answers). One that exists is kept:
    `alerts install --unresponsive-after` may have chosen its window. Returns what was done and the
    window in force."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        for existing in client.read_automations_by_name(UNRESPONSIVE):
            window = getattr(existing.trigger, "within", None) or after
            return f"{UNRESPONSIVE!r} is in place ({window.total_seconds():.0f} s)", window
    unresponsive_automation(after).create()
    return f"{UNRESPONSIVE!r} created (no heartbeat for {after.total_seconds():.0f} s: Crashed)", after


def long_run_windows(timings: Timings) -> list[tuple[UUID, str, timedelta]]:
    """Each branchkpi deployment with how long its run may stay Running before someone is told: the
    slowest of its last finished runs × the factor, at least the floor (or the one window asked for)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterTags,
        FlowRunFilter,
        FlowRunFilterDeploymentId,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    windows = []
    with get_client(sync_client=True) as client:
        deployments = client.read_deployments(
            deployment_filter=DeploymentFilter(tags=DeploymentFilterTags(all_=[PROJECT_TAG]))
        )
        for deployment in deployments:
            if timings.long_run_after is not None:
                windows.append((deployment.id, deployment.name, timings.long_run_after))
                continue
            runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    deployment_id=FlowRunFilterDeploymentId(any_=[deployment.id]),
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.COMPLETED])),
                ),
                sort=FlowRunSort.START_TIME_DESC,
                limit=20,
            )
            durations = [r.total_run_time.total_seconds() for r in runs if r.total_run_time]
            if durations:
                usual = timedelta(
                    seconds=max(statistics.quantiles(durations, n=20)[-1] if len(durations) > 1 else durations[0], 1)
                )
                window = max(timings.long_run_floor, usual * timings.long_run_factor)
            else:
                window = timings.long_run_default
            windows.append((deployment.id, deployment.name, window))
    return windows


def send_test(lang: str = "ja") -> str:
    """Post one test message through the installed block, as the automations will; returns what the
    receiver answered. Raises AlertSetupError when it did not accept the message."""
    import httpx
    from prefect.blocks.core import Block

    block: Any = Block.load(_installed_block_slug())
    try:
        block.notify(TEST_MESSAGE["ja" if lang == "ja" else "en"], subject="branchkpi: test")
    except httpx.HTTPStatusError as exc:
        raise AlertSetupError(
            f"the receiver refused the test message: HTTP {exc.response.status_code} {exc.response.reason_phrase}"
        ) from exc
    except Exception as exc:  # Apprise raises its own errors for Slack and Teams
        raise AlertSetupError(f"the test message did not arrive: {type(exc).__name__}: {exc}") from exc
    return "the receiver accepted the test message"


def _installed_block_slug() -> str:
    """type-slug/name of the block the automations post to (the kind last installed)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        for automation in client.read_automations_by_name(next(iter(EVENT_AUTOMATIONS))):
            for action in automation.actions:
                block_id = getattr(action, "block_document_id", None)
                if block_id:
                    document = client.read_block_document(block_id)
                    return f"{document.block_type.slug}/{document.name}"  # type: ignore[union-attr]
    raise AlertSetupError("no alerts are installed: run branchkpi alerts install first")


def uninstall() -> list[str]:
    """Delete every branchkpi automation (the block stays, for the record)."""
    from prefect.client.orchestration import get_client

    removed = []
    with get_client(sync_client=True) as client:
        for automation in client.read_automations():
            if automation.name.startswith(PREFIX):
                client.delete_automation(automation.id)
                removed.append(automation.name)
    return removed
