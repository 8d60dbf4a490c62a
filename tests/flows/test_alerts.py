"""Alerting end to end: a real Prefect server on loopback, the automations installed by
`branchkpi alerts install`, a local HTTP receiver as the webhook, and each failure caused for real (a
bad file, an empty landing folder, a stopped warehouse, SIGKILL of a flow run's process, a run stuck in
Running): the receiver gets one message each, in Japanese by default, naming the unit, the period,
what failed and the run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from branchkpi.flows.alert_text import period_text
from branchkpi.flows.automations import TEST_MESSAGE

from ..conftest import FIXTURES, ROOT, TIDY_SEED, free_port
from ..helpers import Receiver, run_monthly

BRANCHKPI = str(Path(sys.executable).with_name("branchkpi"))


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Any:
    """A local webhook receiver; answers 200, or the status a test gives with @pytest.mark.parametrize
    ("receiver", [500], indirect=True)."""
    hook = Receiver(getattr(request, "param", 200))
    yield hook.url, hook.received
    from branchkpi.flows.automations import uninstall

    uninstall()  # later tests on the shared server must not post to a receiver that is gone
    hook.close()


def test_bad_file_alerts_the_webhook(prefect_server: str, warehouse_url: str, receiver: Any) -> None:
    url, received = receiver
    env = {**os.environ, "PREFECT_API_URL": prefect_server}
    out = subprocess.run(
        [BRANCHKPI, "alerts", "install", "--webhook", url, "--allow-private-urls"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "branchkpi: data-quality failure" in out.stdout

    state, outcome = run_monthly(FIXTURES / "bad_inputs" / "negative_count.csv")
    assert state.is_failed()
    wait_for(received, 1)
    assert len(received) == 1, [m["text"] for m in received]
    text = received[0]["text"]
    lines = text.splitlines()
    assert lines[0] == "[branchkpi] データ品質エラー: 取り込みを止めました（何も登録していません）"
    # 期間 is the bad row's month (September's negative count), not the batch's last month
    assert outcome.period == "FY2020-03" and lines[1] == f"対象: 山口支部 / 期間: {period_text('FY2020-09', 'ja')}"
    assert "ファイル: negative_count.csv" in text and f"隔離した行: {outcome.rows_quarantined} 行" in text
    assert "value_not_negative" in text and "negative_count.csv、7行目" in text  # the finding in Japanese
    assert lines[-1] == f"実行: {prefect_stack_ui(prefect_server)}/runs/flow-run/{state.state_details.flow_run_id}"


def prefect_stack_ui(api_url: str) -> str:
    return api_url.removesuffix("/api")


def wait_for(received: list[dict[str, Any]], count: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(received) < count:
        time.sleep(0.5)
    time.sleep(1)  # a second message that should not come has its chance to arrive
    assert len(received) >= count, f"{len(received)} of {count} alerts reached the webhook: {received}"


def _alerts(*args: str) -> Any:
    """`branchkpi alerts …` in-process (typer's runner): the session's server, no interpreter start-up."""
    from typer.testing import CliRunner

    from branchkpi.cli import app

    return CliRunner().invoke(app, ["alerts", *args])


def test_install_refuses_a_webhook_the_server_would_refuse(prefect_server: str, receiver: Any) -> None:
    """Without --allow-private-urls the server drops every post to a loopback or private address, and
    says so only in its own log: install says it now, and installs nothing."""
    from prefect.client.orchestration import get_client

    from branchkpi.flows.automations import EVENT_AUTOMATIONS as AUTOMATIONS

    url, received = receiver
    result = _alerts("install", "--webhook", url)
    assert result.exit_code == 1
    assert "would refuse to post to this webhook" in result.output and "private address 127.0.0.1" in result.output
    assert "--allow-private-urls" in result.output and "automation:" not in result.output
    with get_client(sync_client=True) as client:
        assert not [a for name in AUTOMATIONS for a in client.read_automations_by_name(name)]
    assert received == []


def test_install_test_posts_through_the_block(prefect_server: str, receiver: Any) -> None:
    url, received = receiver
    result = _alerts("install", "--webhook", url, "--allow-private-urls", "--test")
    assert result.exit_code == 0, result.output
    assert "test: the receiver accepted the test message" in result.output
    assert [m["text"] for m in received] == [TEST_MESSAGE["ja"]]
    result = _alerts("install", "--webhook", url, "--allow-private-urls", "--test", "--lang", "en")
    assert result.exit_code == 0, result.output
    assert received[-1]["text"] == TEST_MESSAGE["en"]


@pytest.mark.parametrize("receiver", [500], indirect=True)
def test_install_test_says_when_the_receiver_refuses(prefect_server: str, receiver: Any) -> None:
    url, received = receiver
    result = _alerts("install", "--webhook", url, "--allow-private-urls", "--test")
    assert result.exit_code == 1
    assert "the receiver refused the test message: HTTP 500" in result.output
    assert len(received) == 1


def test_no_input_while_due_and_a_warehouse_down_each_reach_the_webhook(
    prefect_server: str, bk_home: Path, receiver: Any
) -> None:
    """Nothing in the landing folder while statistics are past due (an empty warehouse), and a warehouse
    that is down before the batch opens: each reaches the receiver once, with its run's link."""
    from branchkpi.flows.monthly_branch_stats import monthly_branch_stats

    url, received = receiver
    result = _alerts("install", "--webhook", url, "--allow-private-urls")
    assert result.exit_code == 0, result.output
    state, _ = run_monthly()
    assert state.is_failed()
    down = f"postgresql+psycopg://branchkpi@127.0.0.1:{free_port()}/warehouse"
    failed = monthly_branch_stats(warehouse_url=down, return_state=True)
    assert failed.is_failed()
    wait_for(received, 2)
    assert len(received) == 2, received
    no_input = next(m["text"] for m in received if m["text"].startswith("[branchkpi] 入力なし"))
    assert "期限を過ぎて未着のデータが" in no_input and str(bk_home / "landing") in no_input
    assert f"/runs/flow-run/{state.state_details.flow_run_id}" in no_input
    down_text = next(m["text"] for m in received if m["text"].startswith("[branchkpi] 実行エラー"))
    assert "monthly-branch-stats:" in down_text and "Connection refused" in down_text
    assert f"/runs/flow-run/{failed.state_details.flow_run_id}" in down_text


@pytest.mark.parametrize(
    ("kind", "url", "slug"),
    [
        ("slack", "https://hooks.slack.com/services/T0000/B0000/XXXXXXXX", "slack-webhook"),
        (
            "teams",
            "https://prod-00.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?"
            "api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=SIG",
            "ms-teams-webhook",
        ),
    ],
)
def test_install_creates_prefects_own_block_for_slack_and_teams(
    prefect_server: str, kind: str, url: str, slug: str
) -> None:
    """--kind slack / teams save Prefect's SlackWebhook / MicrosoftTeamsWebhook block, its URL a secret.
    (--allow-private-urls only because this machine cannot resolve the public hosts.)"""
    from prefect.blocks.core import Block

    from branchkpi.flows.automations import WEBHOOK_BLOCK, _installed_block_slug, uninstall

    try:
        result = _alerts("install", "--webhook", url, "--kind", kind, "--allow-private-urls")
        assert result.exit_code == 0, result.output
        assert _installed_block_slug() == f"{slug}/{WEBHOOK_BLOCK}"
        block = Block.load(f"{slug}/{WEBHOOK_BLOCK}")
        assert block.url.get_secret_value() == url and url not in repr(block)  # type: ignore[attr-defined]
    finally:
        uninstall()


def _wait_running(client: Any, flow_name: str, since: Any, other_than: Any, timeout: float = 120) -> Any:
    """The first run of the flow Running since `since`, other than the run `other_than`."""
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterStartTime,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING])),
                start_time=FlowRunFilterStartTime(after_=since),
            ),
        )
        runs = [r for r in runs if r.id != other_than]
        if runs:
            return runs[0]
        time.sleep(0.2)
    raise AssertionError(f"no {flow_name} run started Running within {timeout} s")


def _wait_heartbeat(client: Any, flow_run_id: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    query = {
        "filter": {
            "event": {"name": ["prefect.flow-run.heartbeat"]},
            "resource": {"id": [f"prefect.flow-run.{flow_run_id}"]},
            "occurred": {"since": "2000-01-01T00:00:00Z"},
        },
        "limit": 1,
    }
    while time.monotonic() < deadline:
        if client.request("POST", "/events/filter", json=query).json().get("events"):
            return
        time.sleep(0.2)
    raise AssertionError(f"the run {flow_run_id} sent no heartbeat within {timeout} s")


def test_a_killed_run_and_an_overlong_run_each_reach_the_webhook(
    prefect_server: str, receiver: Any, tmp_path: Path
) -> None:
    """SIGKILL of a process whose flow run and its subflow are Running: their heartbeats stop, the
    unresponsive-run automation marks both Crashed (the subflow is not left Running), and the Crashed
    monthly run posts (the probe's parent flow is not one of ours: no post). A deployment's run left Running past its
    window (its worker lost): the proactive overlong-run automation posts. One message each."""
    from datetime import UTC, datetime

    from prefect.client.orchestration import get_client
    from prefect.states import Cancelled, Running

    url, received = receiver
    result = _alerts(
        "install", "--webhook", url, "--allow-private-urls", "--unresponsive-after", "40", "--long-run-after", "15"
    )
    assert result.exit_code == 0, result.output
    assert "automation: branchkpi: running too long: backfill-year" in result.output
    from branchkpi.flows.automations import UNRESPONSIVE

    with get_client(sync_client=True) as client:  # the windows are seconds (a bare timedelta(40) is 40 days)
        (unresponsive,) = client.read_automations_by_name(UNRESPONSIVE)
        (overlong,) = client.read_automations_by_name("branchkpi: running too long: backfill-year")
    assert unresponsive.trigger.within.total_seconds() == 40  # type: ignore[union-attr]
    assert overlong.trigger.within.total_seconds() == 15  # type: ignore[union-attr]
    since = datetime.now(UTC)
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("monthly-branch-stats/backfill-year")
        stuck = client.create_flow_run_from_deployment(deployment.id, state=Running(), parameters={"paths": []})
        env = {**os.environ, "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30", "BRANCHKPI_HOME": str(tmp_path / "killed")}
        probe = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.flows.crash_probe",
                str(TIDY_SEED),
                f"sqlite:///{tmp_path / 'killed.sqlite'}",
            ],
            cwd=ROOT,
            env=env,
        )
        try:
            killed = _wait_running(client, "monthly-branch-stats", since, other_than=stuck.id)
            parent = _wait_running(client, "crash-probe", since, other_than=stuck.id)
            for run in (killed, parent):  # killed before its first heartbeat, a run is never missed
                _wait_heartbeat(client, run.id)
        finally:
            probe.kill()
            probe.wait()
        try:
            wait_for(received, 2, timeout=180)
        finally:
            client.set_flow_run_state(stuck.id, Cancelled(), force=True)
        crashed = client.read_flow_run(killed.id)
        deadline = time.monotonic() + 60  # the parent's heartbeats stopped at the same moment
        while not (orphaned := client.read_flow_run(parent.id)).state.is_crashed() and time.monotonic() < deadline:  # type: ignore[union-attr]
            time.sleep(1)
    assert crashed.state and crashed.state.is_crashed(), crashed.state
    assert crashed.parent_task_run_id is not None  # the subflow: not left Running by its crashed parent
    assert orphaned.state and orphaned.state.is_crashed(), orphaned.state
    texts = [m["text"] for m in received]
    assert len(texts) == 2, texts
    crash = next(t for t in texts if t.startswith("[branchkpi] 実行が異常終了しました（Crashed）"))
    assert crashed.name in crash and "no heartbeat for 40 s" in crash and f"/runs/flow-run/{killed.id}" in crash
    long = next(t for t in texts if t.startswith("[branchkpi] 実行が通常より長く続いています"))
    assert stuck.name in long and "backfill-year" in long and f"/runs/flow-run/{stuck.id}" in long
