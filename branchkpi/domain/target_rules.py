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
from typing import Any, Literal

from branchkpi.domain.reasons import words

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

EPSILON = 1e-9  # actuals are printed to at most a few decimals; this only absorbs float noise


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
    """A mark and why: the reason is a code of the wording table (branchkpi.domain.reasons) and its
    figures, written in Japanese (`reason_ja`) or English (`reason`) from the same table."""

    status: Status
    code: str
    params: dict[str, Any] = field(default_factory=dict)
    threshold: float | None = None  # what the actual was compared with
    inputs: dict[str, float | None] = field(default_factory=dict)

    @property
    def mark(self) -> str:
        return MARKS[self.status]

    @property
    def reason(self) -> str:
        return words(self.code, self.params, "en")

    @property
    def reason_ja(self) -> str:
        return words(self.code, self.params, "ja")

    def reason_in(self, lang: str) -> str:
        return words(self.code, self.params, lang)


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
        return actual >= threshold - EPSILON
    if op == "le":
        return actual <= threshold + EPSILON
    if op == "gt":
        return actual > threshold + EPSILON
    if op == "eq":
        return abs(actual - threshold) <= EPSILON
    raise RuleError(f"unknown operator {op}")


def _decide(
    op: str,
    actual: float,
    threshold: float,
    label: str,
    inputs: dict[str, float | None],
    unit: str,
    **label_params: Any,
) -> Judgement:
    """achieved / missed by one comparison; `label` names the other side (reasons.LABELS)."""
    ok = _compare(op, actual, threshold)
    params = {
        "op": op,
        "ok": ok,
        "actual": actual,
        "threshold": threshold,
        "label": label,
        "unit": unit,
        **label_params,
    }
    return Judgement("achieved" if ok else "missed", "compare", params, threshold, inputs)


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
        return Judgement("not_evaluable", "not_set", {}, None, inputs)
    if actual is None:
        return Judgement("not_evaluable", "no_actual", {}, None, inputs)
    value = actual.value
    comparator = target.comparator
    if comparator == "done":
        carried_out = value > 0
        return Judgement(
            "achieved" if carried_out else "missed",
            "carried_out" if carried_out else "not_carried_out",
            {},
            None,
            inputs,
        )
    if comparator in VALUE_COMPARATORS:
        assert target.value is not None
        op = comparator.removeprefix("count_")
        return _decide(op, value, target.value, "target", inputs, target.unit, kpi_id=target.kpi_id)
    if comparator in PREVIOUS_YEAR_COMPARATORS:
        if previous is None:
            return Judgement("not_evaluable", "no_previous", {}, None, inputs)
        return _decide(
            comparator.removesuffix("_prev_year"),
            value,
            previous.value,
            "previous_year",
            inputs,
            target.unit,
            kpi_id=target.kpi_id,
        )
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
            params = {
                "tenders": tenders.general_competitive,
                "small": SMALL_TENDER_COUNT,
                "single": tenders.single_bid,
                "allowed": SMALL_TENDER_MAX_SINGLE_BIDS,
                "ok": ok,
            }
            return Judgement(
                "achieved" if ok else "missed", "small_tenders", params, SMALL_TENDER_MAX_SINGLE_BIDS, inputs
            )
    ceiling = target.value if target.value is not None else SINGLE_BID_SHARE_CEILING_PCT
    if share > ceiling + EPSILON:
        return Judgement("missed", "single_bid_over_ceiling", {"share": share, "ceiling": ceiling}, ceiling, inputs)
    if previous is None:
        if share <= EPSILON:  # 0 % is at most any previous share
            return Judgement("achieved", "single_bid_zero", {"ceiling": ceiling}, 0, inputs)
        return Judgement(
            "not_evaluable", "single_bid_needs_previous", {"share": share, "ceiling": ceiling}, None, inputs
        )
    if previous.value <= ceiling + EPSILON:
        return _decide("le", share, previous.value, "previous_year_low", inputs, "pct", kpi_id=target.kpi_id)
    return _decide("le", share, ceiling, "ceiling", inputs, "pct", kpi_id=target.kpi_id)


def prorated_share(months_elapsed: int, previous_year_share: float | None = None) -> tuple[float, str, str]:
    """The share of a cumulative KPI's annual figure expected by now, and how it was found (en, ja).

    previous_year_share: the previous year's figure at the same point divided by its full-year figure
    (its quarterly profile), when the warehouse has both; otherwise the months elapsed out of 12."""
    if not 1 <= months_elapsed <= 12:
        raise RuleError(f"months elapsed must be 1-12, got {months_elapsed}")
    if previous_year_share is not None and 0 < previous_year_share <= 1:
        return (
            previous_year_share,
            f"previous year's profile ({previous_year_share:.0%} by this point)",
            f"前年度の進み方: この時点で {previous_year_share:.0%}",
        )
    return months_elapsed / 12, f"linear ({months_elapsed}/12 of the year)", f"月数按分 {months_elapsed}/12"


def stock_path(target_value: float, previous_year_end: float, months_elapsed: int) -> float:
    """Where a stock should stand after `months_elapsed` months on the straight path from the previous
    fiscal year-end actual to the year-end target (e.g. 2,379 members in March, 3,000 by next March:
    2,534.25 by June)."""
    if not 1 <= months_elapsed <= 12:
        raise RuleError(f"months elapsed must be 1-12, got {months_elapsed}")
    return previous_year_end + (target_value - previous_year_end) * months_elapsed / 12


def judge_in_year(
    target: Target,
    actual: Measurement | None,
    months_elapsed: int,
    cumulative: bool,
    previous_same_point: Measurement | None = None,
    previous_year_share: float | None = None,
    tenders: TenderCounts | None = None,
    previous_year_end: Measurement | None = None,
    stock: bool = False,
) -> Judgement:
    """on_track (○) / at_risk (△) / not_evaluable (—) during the fiscal year.

    Flows (check-up rates and counts that grow through the year) are compared with the target
    pro-rated to this point of the year; levels (a share such as generic drug use) with the target as
    is; stocks with a year-end target (committee members) with the path from the previous fiscal
    year-end actual (`previous_year_end`) to the target, pro-rated by the months elapsed: at risk only
    when behind that path; with no previous year-end actual, with the target as is. Previous-year
    comparators compare with the previous year at the same point."""
    valued = target.value is not None and actual is not None
    if target.comparator in PREVIOUS_YEAR_COMPARATORS:
        closed = judge(target, actual, previous_same_point)
    elif cumulative and target.comparator in ("ge", "count_ge") and valued:
        assert target.value is not None and actual is not None
        _check_unit(target, actual, "actual")
        share, how, how_ja = prorated_share(months_elapsed, previous_year_share)
        due = target.value * share
        closed = _decide(
            "ge",
            actual.value,
            due,
            "prorated",
            {
                "target": target.value,
                "actual": actual.value,
                "prorated_target": due,
            },
            target.unit,
            how=how,
            how_ja=how_ja,
            kpi_id=target.kpi_id,
        )
    elif (
        stock
        and target.comparator in VALUE_COMPARATORS
        and target.comparator != "eq"
        and valued
        and (previous_year_end is not None and months_elapsed < 12)
    ):
        assert target.value is not None and actual is not None
        _check_unit(target, actual, "actual")
        _check_unit(target, previous_year_end, "previous year-end actual")
        due = stock_path(target.value, previous_year_end.value, months_elapsed)
        op = target.comparator.removeprefix("count_")
        closed = _decide(
            op,
            actual.value,
            due,
            "stock_path",
            {
                "target": target.value,
                "actual": actual.value,
                "previous_year_end": previous_year_end.value,
                "path_target": due,
            },
            target.unit,
            previous=previous_year_end.value,
            target=target.value,
            months=months_elapsed,
            kpi_id=target.kpi_id,
        )
    else:
        closed = judge(target, actual, previous_same_point, tenders)
    status: Status = {"achieved": "on_track", "missed": "at_risk"}.get(closed.status, closed.status)  # type: ignore[assignment]
    return Judgement(status, closed.code, closed.params, closed.threshold, closed.inputs)
