"""The target rule engine: one place that decides whether a KPI actual meets its plan target
(事業計画の KPI 目標), the way a branch marks its result report.

Comparators (as the plans write them):
- ge / le / eq: at least / at most / exactly the target value (以上 / 以下 / とする; eq is used for
  "100%とする", where 100 % is also the maximum);
- ge_prev_year / le_prev_year / gt_prev_year: at least / at most / more than the previous fiscal
  year's actual (対前年度以上 / 以下 / 拡大を図る);
- count_ge / count_le: count thresholds (件数 以上 / 以下), ge / le restricted to counts;
- done: a qualitative KPI ("…を実施する"): achieved when the action was carried out (actual > 0);
- not_set: the plan sets no target (【未設定】): never judged;
- single_bid_composite: Yamaguchi's 一者応札 rule: the share of single-bid tenders ≤ 20 %; if the
  previous year was already ≤ 20 %, ≤ the previous year's share; but with 4 or fewer general
  competitive tenders, at most one single-bid tender.

Units are checked before anything is compared: a % target is never compared with a count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Status = Literal["achieved", "missed", "on_track", "at_risk", "not_evaluable"]
MARKS: dict[str, str] = {"achieved": "○", "missed": "×", "on_track": "○", "at_risk": "△", "not_evaluable": "—"}
# how evaluations list their rows: what needs attention first
STATUS_ORDER: dict[str, int] = {"missed": 0, "at_risk": 1, "not_evaluable": 2, "on_track": 3, "achieved": 4}

VALUE_COMPARATORS = ("ge", "le", "eq", "count_ge", "count_le")
PREVIOUS_YEAR_COMPARATORS = ("ge_prev_year", "le_prev_year", "gt_prev_year")
COMPARATORS = (*VALUE_COMPARATORS, *PREVIOUS_YEAR_COMPARATORS, "done", "not_set", "single_bid_composite")
UNITS = ("pct", "count", "yen")

# single_bid_composite, as Yamaguchi's plan writes it
SINGLE_BID_SHARE_CEILING_PCT = 20.0
SMALL_TENDER_COUNT = 4
SMALL_TENDER_MAX_SINGLE_BIDS = 1

_EPSILON = 1e-9  # actuals are printed to at most a few decimals; this only absorbs float noise


class RuleError(ValueError):
    """A target that cannot be applied as written (unknown comparator, missing value, unit clash)."""


@dataclass(frozen=True)
class Target:
    kpi_id: str
    comparator: str
    unit: str
    value: float | None = None

    def __post_init__(self) -> None:
        if self.comparator not in COMPARATORS:
            raise RuleError(f"{self.kpi_id}: unknown comparator {self.comparator!r} (one of {', '.join(COMPARATORS)})")
        if self.unit not in UNITS:
            raise RuleError(f"{self.kpi_id}: unknown unit {self.unit!r} (one of {', '.join(UNITS)})")
        if self.comparator in (*VALUE_COMPARATORS, "single_bid_composite") and self.value is None:
            raise RuleError(f"{self.kpi_id}: comparator {self.comparator} needs a target value")
        if self.comparator in ("count_ge", "count_le") and self.unit != "count":
            raise RuleError(f"{self.kpi_id}: {self.comparator} is a count threshold but the unit is {self.unit}")
        if self.comparator == "single_bid_composite" and self.unit != "pct":
            raise RuleError(f"{self.kpi_id}: single_bid_composite is a share in pct, not {self.unit}")


@dataclass(frozen=True)
class Measurement:
    value: float
    unit: str


@dataclass(frozen=True)
class Judgement:
    status: Status
    reason: str
    threshold: float | None = None  # what the actual was compared with
    inputs: dict[str, float | None] = field(default_factory=dict)

    @property
    def mark(self) -> str:
        return MARKS[self.status]


@dataclass(frozen=True)
class TenderCounts:
    """Components of single_bid_tender_share (一般競争入札 案件数 / うち一者応札 案件数)."""

    general_competitive: int
    single_bid: int


def _check_unit(target: Target, measurement: Measurement | None, what: str) -> None:
    if measurement is not None and measurement.unit != target.unit:
        raise RuleError(
            f"{target.kpi_id}: the target is in {target.unit} but the {what} is in {measurement.unit}; "
            "a target is only compared with a figure of its own unit"
        )


def _compare(op: str, actual: float, threshold: float) -> bool:
    if op == "ge":
        return actual >= threshold - _EPSILON
    if op == "le":
        return actual <= threshold + _EPSILON
    if op == "gt":
        return actual > threshold + _EPSILON
    if op == "eq":
        return abs(actual - threshold) <= _EPSILON
    raise RuleError(f"unknown operator {op}")


_WORDS = {"ge": "≥", "le": "≤", "gt": ">", "eq": "="}


def _decide(op: str, actual: float, threshold: float, label: str, inputs: dict[str, float | None]) -> Judgement:
    ok = _compare(op, actual, threshold)
    relation = _WORDS[op] if ok else "not " + _WORDS[op]
    return Judgement(
        "achieved" if ok else "missed", f"actual {actual:g} {relation} {label} {threshold:g}", threshold, inputs
    )


def judge(
    target: Target,
    actual: Measurement | None,
    previous: Measurement | None = None,
    tenders: TenderCounts | None = None,
) -> Judgement:
    """Achieved / missed / not evaluable for a closed period. Raises RuleError on a unit clash."""
    _check_unit(target, actual, "actual")
    _check_unit(target, previous, "previous year's actual")
    inputs: dict[str, float | None] = {
        "target": target.value,
        "actual": actual.value if actual else None,
        "previous": previous.value if previous else None,
    }
    if target.comparator == "not_set":
        return Judgement("not_evaluable", "target not set (未設定)", None, inputs)
    if actual is None:
        return Judgement("not_evaluable", "no actual for the period", None, inputs)
    value = actual.value
    comparator = target.comparator
    if comparator == "done":
        carried_out = value > 0
        return Judgement(
            "achieved" if carried_out else "missed",
            "carried out" if carried_out else "not carried out (actual 0)",
            None,
            inputs,
        )
    if comparator in VALUE_COMPARATORS:
        assert target.value is not None
        op = comparator.removeprefix("count_")
        return _decide(op, value, target.value, "target", inputs)
    if comparator in PREVIOUS_YEAR_COMPARATORS:
        if previous is None:
            return Judgement("not_evaluable", "no previous-year actual to compare with", None, inputs)
        return _decide(comparator.removesuffix("_prev_year"), value, previous.value, "previous year", inputs)
    return _single_bid(target, value, previous, tenders, inputs)


def _single_bid(
    target: Target,
    share: float,
    previous: Measurement | None,
    tenders: TenderCounts | None,
    inputs: dict[str, float | None],
) -> Judgement:
    if tenders is not None:
        inputs = {**inputs, "tenders": tenders.general_competitive, "single_bid_tenders": tenders.single_bid}
        if tenders.general_competitive <= SMALL_TENDER_COUNT:
            ok = tenders.single_bid <= SMALL_TENDER_MAX_SINGLE_BIDS
            return Judgement(
                "achieved" if ok else "missed",
                f"{tenders.general_competitive} tenders (≤ {SMALL_TENDER_COUNT}): {tenders.single_bid} single-bid "
                f"{'≤' if ok else '>'} {SMALL_TENDER_MAX_SINGLE_BIDS}",
                SMALL_TENDER_MAX_SINGLE_BIDS,
                inputs,
            )
    ceiling = target.value if target.value is not None else SINGLE_BID_SHARE_CEILING_PCT
    if share > ceiling + _EPSILON:
        return Judgement("missed", f"single-bid share {share:g} % > {ceiling:g} %", ceiling, inputs)
    if previous is None:
        if share <= _EPSILON:  # 0 % is at most any previous share
            return Judgement("achieved", f"single-bid share 0 % (≤ {ceiling:g} % and ≤ any previous year)", 0, inputs)
        return Judgement(
            "not_evaluable",
            f"single-bid share {share:g} % ≤ {ceiling:g} %, but the previous year's share is needed "
            "(if it was ≤ 20 %, this year must not exceed it)",
            None,
            inputs,
        )
    if previous.value <= ceiling + _EPSILON:
        return _decide("le", share, previous.value, "previous year (already ≤ 20 %)", inputs)
    return _decide("le", share, ceiling, "ceiling", inputs)


def prorated_share(months_elapsed: int, previous_year_share: float | None = None) -> tuple[float, str]:
    """The share of a cumulative KPI's annual figure expected by now.

    previous_year_share: the previous year's figure at the same point divided by its full-year figure
    (its quarterly profile), when the warehouse has both; otherwise the months elapsed out of 12."""
    if not 1 <= months_elapsed <= 12:
        raise RuleError(f"months elapsed must be 1-12, got {months_elapsed}")
    if previous_year_share is not None and 0 < previous_year_share <= 1:
        return previous_year_share, f"previous year's profile ({previous_year_share:.0%} by this point)"
    return months_elapsed / 12, f"linear ({months_elapsed}/12 of the year)"


def judge_in_year(
    target: Target,
    actual: Measurement | None,
    months_elapsed: int,
    cumulative: bool,
    previous_same_point: Measurement | None = None,
    previous_year_share: float | None = None,
    tenders: TenderCounts | None = None,
) -> Judgement:
    """on_track (○) / at_risk (△) / not_evaluable (—) during the fiscal year.

    Cumulative KPIs (check-up rates and counts that grow through the year) are compared with the
    target pro-rated to this point of the year; level KPIs (a share such as generic drug use) with the
    target as is. Previous-year comparators compare with the previous year at the same point."""
    if target.comparator in PREVIOUS_YEAR_COMPARATORS:
        closed = judge(target, actual, previous_same_point)
    elif cumulative and target.comparator in ("ge", "count_ge") and target.value is not None and actual is not None:
        _check_unit(target, actual, "actual")
        share, how = prorated_share(months_elapsed, previous_year_share)
        due = target.value * share
        closed = _decide("ge", actual.value, due, f"target pro-rated {how}:", {
            "target": target.value, "actual": actual.value, "prorated_target": due,
        })  # fmt: skip
    else:
        closed = judge(target, actual, previous_same_point, tenders)
    status: Status = {"achieved": "on_track", "missed": "at_risk"}.get(closed.status, closed.status)  # type: ignore[assignment]
    return Judgement(status, closed.reason, closed.threshold, closed.inputs)
