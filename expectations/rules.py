"""A rule of a suite: one GX expectation plus the words a person needs when it fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Rule:
    """One expectation and how to explain its failures.

    shown_column: the frame column whose *file* column name is reported ("source_column" = the
    value's own column); raw_column: the frame column holding the cell as written.
    """

    name: str
    expectation_type: str
    kwargs: dict[str, Any]
    reason: str
    shown_column: str
    raw_column: str
    severity: str = "critical"
    extra_columns: tuple[str, ...] = field(default=())


def build_suite(name: str, rule_list: list[Rule]) -> Any:
    """The GX ExpectationSuite for these rules (GX imported here: it costs seconds)."""
    import great_expectations as gx
    from great_expectations.expectations.expectation import FailureSeverity
    from great_expectations.expectations.registry import get_expectation_impl

    return gx.ExpectationSuite(
        name=name,
        expectations=[
            get_expectation_impl(rule.expectation_type)(
                **rule.kwargs, severity=FailureSeverity(rule.severity), meta={"rule": rule.name}
            )
            for rule in rule_list
        ],
    )
