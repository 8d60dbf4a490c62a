"""Events of an evaluation run: one per flagged target, or one per unit when a run flags many (a
prefecture's municipalities must not post thousands of alerts); artifacts stop at a readable size."""

from __future__ import annotations

from typing import Any

from branchkpi.flows import alerts, artifacts


def row(unit: int, kpi: str, status: str) -> dict[str, Any]:
    return {"unit_key": f"33:町{unit:03d}", "unit_name": f"町{unit:03d}", "kpi_id": kpi, "fiscal_year": 2020,
            "period": "FY", "target_value": 90.0, "target_text": None, "comparator": "ge", "actual": 80.0,
            "previous": None, "status": status, "mark": "×" if status == "missed" else "△", "reason": "r",
            "group": "basic", "unit": "pct", "actual_period": "2021-03"}  # fmt: skip


def test_few_flagged_targets_are_one_event_each() -> None:
    rows = [row(1, "nhi_collection_rate", "missed"), row(1, "nhi_generic_drug_share", "at_risk")]
    events = alerts.target_events(rows, "FY2020", "run-1")
    assert [e["event"] for e in events] == ["branchkpi.target.missed", "branchkpi.target.at_risk"]
    assert events[0]["resource"]["branchkpi.kpi"] == "nhi_collection_rate"


def test_many_flagged_targets_are_one_event_per_unit() -> None:
    rows = [row(u, k, "missed" if u % 2 else "at_risk") for u in range(150) for k in ("nhi_collection_rate", "x")]
    events = alerts.target_events(rows, "FY2020", "run-1")
    assert len(rows) > alerts.PER_TARGET_EVENTS and len(events) == 150
    missed = next(e for e in events if e["resource"]["branchkpi.unit"] == "33:町001")
    assert missed["event"] == "branchkpi.target.missed"
    assert missed["payload"]["headline"] == "2 target(s) missed, 0 at risk"
    assert [t["kpi_id"] for t in missed["payload"]["targets"]] == ["nhi_collection_rate", "x"]
    at_risk = next(e for e in events if e["resource"]["branchkpi.unit"] == "33:町002")
    assert at_risk["event"] == "branchkpi.target.at_risk"
    assert {"unit", "period", "detail", "run_url"} <= set(missed["payload"])  # what the alert message shows


def test_many_flagged_units_are_one_event_per_prefecture() -> None:
    rows = [row(u, "nhi_collection_rate", "missed") for u in range(300)]
    rows += [{**row(1, "nhi_collection_rate", "at_risk"), "unit_key": "13:千代田区", "unit_name": "千代田区"}]
    events = alerts.target_events(rows, "FY2020", "run-1")
    assert len({r["unit_key"] for r in rows}) > alerts.PER_UNIT_EVENTS
    assert [e["resource"]["branchkpi.prefecture"] for e in events] == ["13", "33"]
    okayama = events[1]
    assert (
        okayama["event"] == "branchkpi.target.missed"
        and okayama["resource"]["prefect.resource.name"] == "okayama FY2020"
    )
    assert okayama["payload"]["units_flagged"] == 300 and okayama["payload"]["headline"].startswith("300 unit(s)")
    assert okayama["payload"]["detail"].endswith(f"and {300 - alerts.UNITS_SHOWN} more")
    assert events[0]["event"] == "branchkpi.target.at_risk"


def test_artifacts_stop_at_a_readable_size() -> None:
    rows = [row(u, "nhi_collection_rate", "missed") for u in range(1500)]
    assert len(artifacts.evaluation_table(rows)) == artifacts.ARTIFACT_ROWS
    text = artifacts.evaluation_summary(rows, "FY2020", "run-1")
    assert f"The first {artifacts.ARTIFACT_ROWS} of 1500" in text
    assert text.count("\n| 町") == artifacts.ARTIFACT_ROWS


def test_alert_text_from_the_data_cannot_make_links_in_chat() -> None:
    """Slack reads <url|text> as a link: names and reasons from files reach the message escaped."""
    from branchkpi.flows.alerts import quality_failed_event

    event = quality_failed_event("b" * 36, "FY2020-04", ["<https://evil.example|山口>"],
                                 ["<script>x</script>.csv"], "value '<b>&' is not a number", None)  # fmt: skip
    payload = event["payload"]
    assert "<" not in payload["headline"] + payload["unit"] + payload["detail"]
    assert payload["unit"] == "&lt;https://evil.example|山口&gt;"
    assert payload["detail"] == "value '&lt;b&gt;&amp;' is not a number"
