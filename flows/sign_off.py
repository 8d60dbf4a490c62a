"""Sign-off (承認) of a warned batch before it is published: with `require_approval` (the flow parameter,
or BRANCHKPI_REQUIRE_APPROVAL), a batch whose gate only warned pauses before its load with a Prefect
RunInput form in the UI (approve / reject, reviewer, note). Approved, it is published as any other
(load, KPI refresh, reports, target events); rejected, it is quarantined whole with the note. The
answer is stored with the batch (ingest_batches.sign_off, reviewer, review_note, reviewed_at) and shown
in its summary."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from prefect import get_run_logger
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from pydantic import Field

from branchkpi.tasks.outcome import BatchOutcome

PAUSE_KEY = "sign-off"
POLL_SECONDS = 5  # how often the paused run asks the API whether it was answered
WARNINGS_SHOWN = 10


class SignOff(RunInput):
    """承認: the reviewer's answer to a warned batch."""

    decision: Literal["approve", "reject"] = Field(
        default="approve", title="判断 decision", description="approve: 公開する publish / reject: 差し戻す quarantine"
    )
    reviewer: str = Field(min_length=1, max_length=128, title="審査者 reviewer", description="氏名 your name")
    note: str = Field(
        default="", max_length=2000, title="メモ note", description="判断の理由 why (kept with the batch)"
    )


def description(outcome: BatchOutcome) -> str:
    """What the reviewer reads above the form: the batch and its warnings."""
    warned = [f for f in outcome.findings if f.severity == "warning"]
    lines = [
        f"## 承認待ち: {outcome.period or 'batch'} ({len(outcome.files)} file(s), {outcome.rows_landed} rows)",
        "",
        f"品質ゲートは警告 {len(warned)} 件で通過しました。公開する前に確認してください。"
        f" The gate passed with {len(warned)} warning(s); approve to publish, reject to quarantine.",
        "",
        *(f"- {f}" for f in warned[:WARNINGS_SHOWN]),
    ]
    if len(warned) > WARNINGS_SHOWN:
        lines.append(f"- … ほか {len(warned) - WARNINGS_SHOWN} 件")
    if outcome.data_docs_path:
        lines += ["", f"Data Docs: `{outcome.data_docs_path}`"]
    return "\n".join(lines)


def ask(outcome: BatchOutcome, timeout: int) -> None:
    """Pause the run for the reviewer's answer and record it on the outcome (raises when nobody answers
    within `timeout` seconds: the batch stays unpublished and the run fails)."""
    logger = get_run_logger()
    logger.info("batch %s warned: waiting for sign-off (approve / reject in the UI)", outcome.batch_id)
    answer = pause_flow_run(
        wait_for_input=SignOff.with_initial_data(description=description(outcome)),
        timeout=timeout,
        poll_interval=POLL_SECONDS,
        key=PAUSE_KEY,
    )
    outcome.record_sign_off(answer.decision, answer.reviewer.strip(), answer.note.strip(), datetime.now(UTC))
    logger.info("sign-off: %s", outcome.sign_off_line)
