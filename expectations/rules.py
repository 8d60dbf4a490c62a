"""A rule of a suite: one GX expectation plus the words a person needs when it fails, in Japanese
(`reason_ja`: the Data Docs' description by default) and English (`reason`: findings and logs)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
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
    reason_ja: str = ""

    def description(self, lang: str = "ja") -> str:
        """What the rule asks, as a planning officer reads it in Data Docs."""
        return self.reason_ja if lang == "ja" and self.reason_ja else self.reason


def in_japanese(rule_list: list[Rule], reasons_ja: Mapping[str, str]) -> list[Rule]:
    """The rules with their Japanese reasons from the suite's table; a rule without one is a bug."""
    missing = [r.name for r in rule_list if _table_key(r.name) not in reasons_ja]
    if missing:
        raise KeyError(f"rules without a Japanese reason: {missing}")
    return [replace(r, reason_ja=reasons_ja[_table_key(r.name)]) for r in rule_list]


def _table_key(name: str) -> str:
    # the structure rules (column_region_code_present …) share one wording
    return "column_present" if name.startswith("column_") and name.endswith("_present") else name


def build_suite(name: str, rule_list: list[Rule], lang: str = "ja") -> Any:
    """The GX ExpectationSuite for these rules, each described by its reason in `lang` (GX imported
    here: it costs seconds)."""
    import great_expectations as gx
    from great_expectations.expectations.expectation import FailureSeverity
    from great_expectations.expectations.registry import get_expectation_impl

    return gx.ExpectationSuite(
        name=name,
        expectations=[
            get_expectation_impl(rule.expectation_type)(
                **rule.kwargs,
                severity=FailureSeverity(rule.severity),
                description=rule.description(lang),
                meta={"rule": rule.name},
            )
            for rule in rule_list
        ],
    )
