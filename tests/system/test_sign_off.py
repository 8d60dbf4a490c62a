"""Sign-off of a warned batch (承認), through the API of the session's server and in its UI: with
require_approval the seed's batch (six real YoY warnings of spring 2020) pauses before it is published
with a RunInput form; approved it loads and its batch keeps who approved it and why; rejected nothing
of it loads, its rows are quarantined with the note and the coverage grid shows them 隔. Screenshots of
the paused run and its form go to ./var/ui/."""

from __future__ import annotations

import contextvars
import os
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from branchkpi.warehouse import schema

from ..conftest import ROOT, TIDY_SEED, PrefectStack
from ..helpers import counts, rows

SCREENSHOTS = ROOT / "var" / "ui"
pytestmark = pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)


def _paused_run(warehouse_url: str, deadline: float) -> UUID:
    """The flow run of the batch now waiting for its sign-off (its state Paused in the API)."""
    from prefect.client.orchestration import get_client

    while time.monotonic() < deadline:
        running = rows(warehouse_url, schema.ingest_batches, schema.ingest_batches.c.status == "running")
        if running and running[0]["flow_run_id"]:
            run_id = UUID(running[0]["flow_run_id"])
            with get_client(sync_client=True) as client:
                state = client.read_flow_run(run_id).state
            if state is not None and state.is_paused():
                return run_id
        time.sleep(1)
    raise AssertionError("no run paused for its sign-off")


def _saved_input(read: Callable[..., Any], key: str, run_id: UUID, timeout: float = 60) -> Any:
    """A run input of the paused run, once Prefect has saved it."""
    from prefect.exceptions import ObjectNotFound

    deadline = time.monotonic() + timeout
    while True:
        try:
            value = read(key, flow_run_id=run_id)
        except ObjectNotFound:
            value = None
        if value is not None or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def _answer_when_paused(
    warehouse_url: str, answer: dict[str, str], look: Callable[[UUID], None] | None = None
) -> tuple[threading.Thread, dict[str, Any]]:
    """A reviewer beside the run: waits for the pause, reads what the form shows, answers through the API."""
    from prefect.flow_runs import resume_flow_run
    from prefect.input.run_input import keyset_from_paused_state, read_flow_run_input

    seen: dict[str, Any] = {}

    def review() -> None:
        run_id: UUID | None = None
        try:
            from prefect.client.orchestration import get_client

            run_id = _paused_run(warehouse_url, time.monotonic() + 180)
            with get_client(sync_client=True) as client:
                state = client.read_flow_run(run_id).state
            assert state is not None
            keyset = keyset_from_paused_state(state)
            # Prefect sets the run Paused first and saves its form just after: wait for the form
            seen["description"] = _saved_input(read_flow_run_input, keyset["description"], run_id)
            seen["schema"] = _saved_input(read_flow_run_input, keyset["schema"], run_id)
            if look:
                try:
                    look(run_id)
                except Exception as exc:  # the UI is checked after the run: its failure must not keep it paused
                    seen["look_error"] = exc
            resume_flow_run(run_id, run_input=answer)
        except BaseException as exc:  # the test reads it: a failed reviewer must not hang the run silently
            from prefect.settings import PREFECT_API_URL

            seen["error"] = f"{exc!r} (API {PREFECT_API_URL.value()}, environment {os.environ.get('PREFECT_API_URL')})"
            if run_id is not None:  # end the paused run now (rejected) instead of at its approval timeout
                resume_flow_run(run_id, run_input={"decision": "reject", "reviewer": "test", "note": repr(exc)})

    # the reviewer talks to the session's server as the test does: with the test's Prefect settings (a
    # thread starts with an empty context, and would read whatever the environment says by then)
    thread = threading.Thread(target=contextvars.copy_context().run, args=(review,), daemon=True)
    thread.start()
    return thread, seen


@pytest.fixture(autouse=True)
def _short_approval_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reviewer that never answers fails the run in minutes here, not in the default three days."""
    monkeypatch.setenv("BRANCHKPI_APPROVAL_TIMEOUT", "240")


def _run(paths: list[Path]) -> Any:
    from branchkpi.flows.monthly_branch_stats import monthly_branch_stats

    return monthly_branch_stats(paths=[str(p) for p in paths], require_approval=True, return_state=True)


def test_an_approved_batch_is_published_with_its_sign_off(
    prefect_stack: PrefectStack, warehouse_url: str, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def look(run_id: UUID) -> None:  # the paused run in the UI, and its form
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        wait = WebDriverWait(browser, 60)
        browser.get(f"{prefect_stack.ui_url}/runs/flow-run/{run_id}")
        wait.until(lambda d: "Paused" in d.find_element(By.TAG_NAME, "body").text)
        browser.save_screenshot(str(SCREENSHOTS / "sign-off-paused-run.png"))
        resume = "//button[normalize-space()='Resume'] | //*[self::button or self::a][.//*[normalize-space()='Resume']]"
        wait.until(lambda d: next((e for e in d.find_elements(By.XPATH, resume) if e.is_displayed()), False)).click()
        wait.until(lambda d: "承認待ち" in d.find_element(By.TAG_NAME, "body").text)
        browser.save_screenshot(str(SCREENSHOTS / "sign-off-form.png"))

    answer = {"decision": "approve", "reviewer": "佐藤 花子", "note": "2020年春の減少はコロナ禍によるもので妥当"}
    reviewer, seen = _answer_when_paused(warehouse_url, answer, look)
    state = _run([TIDY_SEED])
    reviewer.join(timeout=60)
    assert "error" not in seen, seen.get("error")
    assert "look_error" not in seen, f"the paused run or its form was not shown in the UI: {seen.get('look_error')!r}"
    # what the form shows: the batch and its six warnings, the three fields
    assert "承認待ち" in seen["description"] and "6 warning(s)" in seen["description"]
    assert set(seen["schema"]["properties"]) == {"decision", "reviewer", "note"}
    assert state.is_completed() and state.name == "Warned", state.message
    assert "approved by 佐藤 花子" in state.message
    assert counts(warehouse_url)["monthly_stats"] == 576  # published: loaded, KPIs computed
    assert counts(warehouse_url)["monthly_kpis"] > 0
    (batch,) = rows(warehouse_url, schema.ingest_batches)
    assert (batch["status"], batch["sign_off"], batch["reviewer"]) == ("warned", "approved", "佐藤 花子")
    assert batch["review_note"] == answer["note"] and batch["reviewed_at"] is not None
    outcome = state.result()
    assert outcome.sign_off_line.startswith("承認 approved by 佐藤 花子")
    for shot in ("sign-off-paused-run", "sign-off-form"):
        assert (SCREENSHOTS / f"{shot}.png").stat().st_size > 10_000


def test_a_rejected_batch_is_quarantined_with_the_note(prefect_stack: PrefectStack, warehouse_url: str) -> None:
    from branchkpi.tasks.coverage import grid
    from branchkpi.warehouse.engine import connect

    answer = {"decision": "reject", "reviewer": "田中", "note": "山口の4月は再提出を依頼"}
    reviewer, seen = _answer_when_paused(warehouse_url, answer)
    state = _run([TIDY_SEED])
    reviewer.join(timeout=60)
    assert "error" not in seen, seen.get("error")
    assert state.is_failed() and "rejected at sign-off by 田中: 山口の4月は再提出を依頼" in state.message
    after = counts(warehouse_url)
    assert after["monthly_stats"] == after["monthly_kpis"] == 0 and after["landed_files"] == 1  # the file is kept
    (batch,) = rows(warehouse_url, schema.ingest_batches)
    assert (batch["status"], batch["sign_off"], batch["review_note"]) == ("failed", "rejected", answer["note"])
    assert batch["rows_quarantined"] == 576
    rejected = rows(warehouse_url, schema.quarantined_rows, schema.quarantined_rows.c.rule == "sign_off_rejected")
    assert [(r["file_name"], r["severity"]) for r in rejected] == [(TIDY_SEED.name, "critical")]
    assert "山口の4月は再提出を依頼" in rejected[0]["reason"]
    cells = {
        (c["unit"], c["period"]): c["status"] for c in grid(connect(warehouse_url), "stats", 2020, date(2021, 6, 1))
    }
    assert cells[("yamaguchi", "2020-04")] == cells[("national", "2021-03")] == "quarantined"
