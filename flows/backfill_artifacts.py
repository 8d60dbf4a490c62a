"""The backfill's artifacts (遡及登録): its progress as fiscal years are booked, and its summary, a
line per fiscal year."""

from __future__ import annotations

import time
from typing import Any

from prefect.artifacts import create_markdown_artifact, create_progress_artifact, update_progress_artifact

from branchkpi.flows.alert_text import Lang, period_text
from branchkpi.flows.artifact_text import as_lang, status_words, summary_text
from branchkpi.flows.artifacts import cell, description


def progress_due(done: int, years: int, seconds_since_shown: float, every_seconds: float) -> bool:
    """Whether the progress artifact moves now: at the last year, or once `every_seconds` have passed."""
    return done >= years or seconds_since_shown >= every_seconds


class BackfillProgress:
    """The backfill's progress artifact, moved as fiscal years are booked: at most once a second (each
    move is a call to the API, 60 ms here; a 16-year backfill books a year every half second) and
    always at the last year."""

    EVERY_SECONDS = 1.0

    def __init__(self, years: int, description_: str) -> None:
        self.years, self.done, self.shown_at = years, 0, time.monotonic()
        self.id = create_progress_artifact(progress=0.0, key="backfill-progress", description=description_)

    def year_done(self) -> None:
        self.done += 1
        if not progress_due(self.done, self.years, time.monotonic() - self.shown_at, self.EVERY_SECONDS):
            return
        self.shown_at = time.monotonic()
        update_progress_artifact(artifact_id=self.id, progress=100.0 * self.done / max(1, self.years))  # type: ignore[arg-type]


def backfill_summary(results: list[dict[str, Any]], lang: Lang = "ja") -> str:
    """A line per fiscal year of the backfill: 令和2年度 | 登録しました | 576 | the run's note."""
    heads = summary_text("backfill_heads", lang).split("|")
    lines = [f"# {summary_text('Backfill', lang)}", "", "| " + " | ".join(heads) + " |", "|---" * len(heads) + "|"]
    for r in results:
        year = period_text(f"FY{r['fiscal_year']}", lang)
        status = status_words(r["status"], r["failure"], lang) if r.get("failure") else summary_text(r["status"], lang)
        lines.append(f"| {year} | {cell(status)} | {r['rows_loaded']} | {cell(r['message'])} |")
    return "\n".join(lines)


def publish_backfill_summary(results: list[dict[str, Any]], message: str, lang: str = "ja") -> None:
    markdown = backfill_summary(results, as_lang(lang))
    create_markdown_artifact(key="backfill-summary", markdown=markdown, description=description(message))
