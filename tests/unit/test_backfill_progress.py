"""The backfill's progress artifact moves at most once a second, and always at the last year
(flows/backfill_artifacts.py; the moves themselves on a server: tests/flows/test_backfill.py)."""

from __future__ import annotations

from branchkpi.flows.backfill_artifacts import progress_due


def test_the_progress_moves_once_a_second_and_at_the_last_year() -> None:
    assert not progress_due(3, 16, 0.4, 1.0)  # a year booked 0.4 s after the last move: not shown yet
    assert progress_due(4, 16, 1.0, 1.0)
    assert progress_due(16, 16, 0.0, 1.0)  # the end is always shown
    assert progress_due(1, 1, 0.0, 1.0)
    assert progress_due(2, 16, 0.0, 0.0)  # an interval of 0: every year
