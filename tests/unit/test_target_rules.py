"""The target rule engine at its edges: equal to the target, just above, just below, and a missing
previous year, for every comparator; the single-bid composite rule; unit checks."""

from __future__ import annotations

import pytest

from branchkpi.domain.target_rules import (
    MARKS,
    Measurement,
    RuleError,
    Target,
    TenderCounts,
    judge,
    judge_in_year,
)

PCT = "pct"


def pct(value: float) -> Measurement:
    return Measurement(value, PCT)


def count(value: float) -> Measurement:
    return Measurement(value, "count")


@pytest.mark.parametrize(
    ("comparator", "target", "actual", "status"),
    [
        ("ge", 96.9, 96.9, "achieved"),
        ("ge", 96.9, 96.91, "achieved"),
        ("ge", 96.9, 96.89, "missed"),
        ("le", 0.5, 0.5, "achieved"),
        ("le", 0.5, 0.49, "achieved"),
        ("le", 0.5, 0.51, "missed"),
        ("eq", 100, 100, "achieved"),
        ("eq", 100, 99.99, "missed"),
        ("eq", 100, 100.01, "missed"),
    ],
)
def test_value_comparators(comparator: str, target: float, actual: float, status: str) -> None:
    judgement = judge(Target("k", comparator, PCT, target), pct(actual))
    assert judgement.status == status
    assert judgement.mark == ("○" if status == "achieved" else "×")
    assert (judgement.threshold == target and str(actual) in judgement.reason) or f"{actual:g}" in judgement.reason


def test_float_noise_at_the_target_is_equal() -> None:
    assert judge(Target("k", "ge", PCT, 0.3), pct(0.1 + 0.2)).status == "achieved"


@pytest.mark.parametrize(
    ("comparator", "previous", "actual", "status"),
    [
        ("ge_prev_year", 80.0, 80.0, "achieved"),
        ("ge_prev_year", 80.0, 80.1, "achieved"),
        ("ge_prev_year", 80.0, 79.9, "missed"),
        ("le_prev_year", 0.8, 0.8, "achieved"),
        ("le_prev_year", 0.8, 0.7, "achieved"),
        ("le_prev_year", 0.8, 0.9, "missed"),
        ("gt_prev_year", 2223, 2223, "missed"),
        ("gt_prev_year", 2223, 2224, "achieved"),
        ("gt_prev_year", 2223, 2222, "missed"),
    ],
)
def test_previous_year_comparators(comparator: str, previous: float, actual: float, status: str) -> None:
    unit = "count" if comparator == "gt_prev_year" else PCT
    judgement = judge(Target("k", comparator, unit), Measurement(actual, unit), Measurement(previous, unit))
    assert judgement.status == status
    assert judgement.threshold == previous
    assert "previous year" in judgement.reason


@pytest.mark.parametrize("comparator", ["ge_prev_year", "le_prev_year", "gt_prev_year"])
def test_missing_previous_year_is_not_evaluable(comparator: str) -> None:
    judgement = judge(Target("k", comparator, PCT), pct(50))
    assert judgement.status == "not_evaluable" and judgement.mark == "—"
    assert "no previous-year actual" in judgement.reason


@pytest.mark.parametrize(
    ("comparator", "target", "actual", "status"),
    [
        ("count_ge", 2900, 2900, "achieved"),
        ("count_ge", 2900, 2899, "missed"),
        ("count_ge", 2900, 2901, "achieved"),
        ("count_le", 1, 1, "achieved"),
        ("count_le", 1, 2, "missed"),
        ("count_le", 1, 0, "achieved"),
    ],
)
def test_count_thresholds(comparator: str, target: float, actual: float, status: str) -> None:
    assert judge(Target("k", comparator, "count", target), count(actual)).status == status


@pytest.mark.parametrize(("actual", "status"), [(0, "missed"), (1, "achieved"), (3, "achieved")])
def test_done(actual: float, status: str) -> None:
    judgement = judge(Target("data_based_advocacy", "done", "count"), count(actual))
    assert judgement.status == status


def test_not_set_and_missing_actual() -> None:
    not_set = judge(Target("k", "not_set", PCT), pct(95))
    assert not_set.status == "not_evaluable" and "未設定" in not_set.reason
    no_actual = judge(Target("k", "ge", PCT, 90), None)
    assert no_actual.status == "not_evaluable" and "no actual" in no_actual.reason


SINGLE_BID = Target("single_bid_tender_share", "single_bid_composite", PCT, 20)


@pytest.mark.parametrize(
    ("share", "previous", "tenders", "status"),
    [
        (20.0, 30.0, None, "achieved"),  # previous above 20 %: the 20 % ceiling applies, equal is fine
        (20.1, 30.0, None, "missed"),
        (15.0, 30.0, None, "achieved"),
        (15.0, 15.0, None, "achieved"),  # previous already ≤ 20 %: at most the previous share
        (15.1, 15.0, None, "missed"),
        (14.9, 15.0, None, "achieved"),
        (20.0, 20.0, None, "achieved"),
        (25.0, None, None, "missed"),  # above 20 % is missed whatever the previous year
        (10.0, None, None, "not_evaluable"),  # ≤ 20 %, but the previous share decides
        (0.0, None, TenderCounts(7, 0), "achieved"),  # Yamaguchi FY2020: 0 of 7, no FY2019 share printed
        (50.0, 10.0, TenderCounts(2, 1), "achieved"),  # 4 or fewer tenders: at most one single bid
        (25.0, 10.0, TenderCounts(4, 1), "achieved"),
        (50.0, 10.0, TenderCounts(4, 2), "missed"),
        (40.0, 10.0, TenderCounts(5, 2), "missed"),  # 5 tenders: the share rules apply again
    ],
)
def test_single_bid_composite(share: float, previous: float | None, tenders: TenderCounts | None, status: str) -> None:
    judgement = judge(SINGLE_BID, pct(share), pct(previous) if previous is not None else None, tenders)
    assert judgement.status == status, judgement.reason


@pytest.mark.parametrize(
    ("target", "actual", "previous"),
    [
        (Target("k", "ge", PCT, 50), count(10), None),
        (Target("k", "ge_prev_year", PCT), pct(10), count(9)),
        (Target("k", "count_ge", "count", 5), pct(10), None),
    ],
)
def test_units_are_never_mixed(target: Target, actual: Measurement, previous: Measurement | None) -> None:
    with pytest.raises(RuleError, match="unit"):
        judge(target, actual, previous)


@pytest.mark.parametrize(
    ("comparator", "unit", "value", "message"),
    [
        ("at_least", PCT, 5, "unknown comparator"),
        ("ge", "percent", 5, "unknown unit"),
        ("ge", PCT, None, "needs a target value"),
        ("count_ge", PCT, 5, "count threshold"),
        ("single_bid_composite", "count", 20, "share in pct"),
    ],
)
def test_targets_that_cannot_be_applied(comparator: str, unit: str, value: float | None, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        Target("k", comparator, unit, value)


def test_marks() -> None:
    assert MARKS == {"achieved": "○", "missed": "×", "on_track": "○", "at_risk": "△", "not_evaluable": "—"}


def test_saitama_q1_checkup_rate_is_at_risk() -> None:
    """Saitama FY2017 Q1: 生活習慣病予防健診 10.4 % against 49.9 % for the year (linear: 12.5 % due)."""
    target = Target("lifestyle_checkup_rate", "ge", PCT, 49.9)
    judgement = judge_in_year(target, pct(10.4), months_elapsed=3, cumulative=True)
    assert judgement.status == "at_risk" and judgement.mark == "△"
    assert judgement.threshold == pytest.approx(49.9 * 3 / 12)
    assert "linear" in judgement.reason


@pytest.mark.parametrize(
    ("actual", "profile", "status"),
    [(10.4, 0.20, "on_track"), (9.98, 0.20, "on_track"), (9.97, 0.20, "at_risk"), (12.5, None, "on_track")],
)
def test_cumulative_kpis_follow_the_previous_year_profile(actual: float, profile: float | None, status: str) -> None:
    # with last year's Q1 at 20 % of its year, 49.9 × 0.20 = 9.98 is due by the end of June
    target = Target("lifestyle_checkup_rate", "ge", PCT, 49.9)
    judgement = judge_in_year(target, pct(actual), 3, cumulative=True, previous_year_share=profile)
    assert judgement.status == status, judgement.reason


@pytest.mark.parametrize(("actual", "status"), [(80.5, "on_track"), (80.4, "at_risk"), (81.0, "on_track")])
def test_level_kpis_use_the_target_as_is(actual: float, status: str) -> None:
    target = Target("generic_drug_share", "ge", PCT, 80.5)
    assert judge_in_year(target, pct(actual), 6, cumulative=False).status == status


def test_in_year_previous_year_comparison_and_missing_data() -> None:
    target = Target("mail_magazine_subscribers", "gt_prev_year", "count")
    assert judge_in_year(target, count(2639), 3, cumulative=False, previous_same_point=count(2223)).status == (
        "on_track"
    )
    assert judge_in_year(target, count(2639), 3, cumulative=False).status == "not_evaluable"
    assert judge_in_year(Target("k", "ge", PCT, 50), None, 3, cumulative=True).status == "not_evaluable"
    with pytest.raises(RuleError, match="months elapsed"):
        judge_in_year(Target("k", "ge", PCT, 50), pct(1), 13, cumulative=True)
