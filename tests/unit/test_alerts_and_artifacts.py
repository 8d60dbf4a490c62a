"""Events of an evaluation run: one per flagged target, or one per unit when a run flags many (a
prefecture's municipalities must not post thousands of alerts); artifacts stop at a readable size."""

from __future__ import annotations

from typing import Any

from branchkpi.flows import alerts, artifacts


def row(unit: int, kpi: str, status: str) -> dict[str, Any]:
    return {
        "unit_key": f"33:町{unit:03d}",
        "unit_name": f"町{unit:03d}",
        "kpi_id": kpi,
        "fiscal_year": 2020,
        "period": "FY",
        "target_value": 90.0,
        "target_text": None,
        "comparator": "ge",
        "actual": 80.0,
        "previous": None,
        "status": status,
        "mark": "×" if status == "missed" else "△",
        "reason": "r",
        "group": "basic",
        "unit": "pct",
        "actual_period": "2021-03",
    }


def test_a_units_flagged_targets_are_one_digest_missed_first_in_plan_order() -> None:
    """Yamaguchi FY2020 used to post 13 messages in no order: now one digest per unit and period."""
    rows = [
        {**row(1, "generic_drug_share", "at_risk"), "unit_key": "35", "unit_name": "yamaguchi"},
        {**row(1, "lifestyle_checkup_rate", "missed"), "unit_key": "35", "unit_name": "yamaguchi"},
        {
            **row(1, "card_recovery_rate", "missed"),
            "unit_key": "35",
            "unit_name": "yamaguchi",
            "unit": "count",
            "actual": 1200.0,
            "target_value": 1000.0,
            "comparator": "le",
        },
        {**row(1, "nhi_collection_rate", "achieved"), "unit_key": "35", "unit_name": "yamaguchi"},
    ]
    events = alerts.target_events(rows, "FY2020-Q1", "run-1")
    assert len(events) == 1
    event = events[0]
    assert event["event"] == "branchkpi.target.missed" and event["resource"]["branchkpi.unit"] == "35"
    assert [t["kpi_id"] for t in event["payload"]["targets"]] == [
        "card_recovery_rate",
        "lifestyle_checkup_rate",
        "generic_drug_share",
    ]  # missed first; within each, the catalogue's (the plan's) order
    ja = event["payload"]["ja"].splitlines()
    assert ja[0] == "[branchkpi] 目標の未達・要注意: 未達 2 件、要注意 1 件"
    assert ja[1] == "対象: 山口支部 / 期間: 令和2年度第1四半期"
    assert ja[2] == "× 保険証回収率: 実績 1,200件 / 目標 1,000件 以下（未達）"
    assert ja[4] == "△ ジェネリック医薬品: 実績 80.0% / 目標 90.0% 以上（要注意）"  # at the plan's precision
    en = event["payload"]["en"].splitlines()
    assert en[0] == "[branchkpi] targets: 2 missed, 1 at risk"
    assert en[1] == "unit: Yamaguchi branch / period: FY2020-Q1"


def test_only_at_risk_targets_are_an_at_risk_digest() -> None:
    rows = [row(1, "nhi_collection_rate", "at_risk"), row(2, "nhi_collection_rate", "missed")]
    events = alerts.target_events(rows, "FY2020", "run-1")
    assert [e["event"] for e in events] == ["branchkpi.target.at_risk", "branchkpi.target.missed"]
    assert events[0]["payload"]["ja"].splitlines()[1] == "対象: 町001 / 期間: 令和2年度"


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
    assert okayama["payload"]["units_flagged"] == 300
    assert okayama["payload"]["ja"].startswith("[branchkpi] 目標の未達・要注意: 300 団体で 300 件\n対象: 岡山")
    assert okayama["payload"]["ja"].endswith(f"ほか {300 - alerts.UNITS_SHOWN} 件")
    assert okayama["payload"]["en"].endswith(f"and {300 - alerts.UNITS_SHOWN} more")
    assert events[0]["event"] == "branchkpi.target.at_risk"


def cell(unit: str, period: str = "2020-04", kind: str = "stats") -> dict[str, Any]:
    return {
        "unit": unit,
        "unit_ja": unit,
        "kind": kind,
        "fiscal_year": 2020,
        "period": period,
        "status": "missing",
        "due": "2020-05-22",
        "metrics": 0,
    }


def test_overdue_is_one_event_per_unit_and_period_or_one_per_period_when_many() -> None:
    few = alerts.overdue_events([cell("yamaguchi"), cell("national"), cell("33:倉敷市", "Q1", "kpi")], "run-1")
    assert [e["resource"]["prefect.resource.id"] for e in few] == [
        "branchkpi.coverage.stats.yamaguchi.FY2020-04",
        "branchkpi.coverage.stats.national.FY2020-04",
        "branchkpi.coverage.kpi.33:倉敷市.FY2020-Q1",
    ]
    assert few[0]["payload"]["ja"] == (
        "[branchkpi] 未着: 令和2年4月分の月報（統計）が提出期限 2020-05-22 を過ぎても届いていません\n"
        "対象: 山口支部 / 期間: 令和2年4月"
    )
    assert few[1]["payload"]["ja"].splitlines()[1].startswith("対象: 全国")
    assert few[2]["payload"]["ja"].splitlines()[1] == "対象: 倉敷市 / 期間: 令和2年度第1四半期"
    assert few[0]["payload"]["en"].startswith("[branchkpi] overdue: the monthly statistics for FY2020-04 were due")
    from branchkpi.domain.regions import BY_CODE

    many = alerts.overdue_events([cell(r.name_romaji) for r in BY_CODE.values() if r.code != "00"], "run-1")
    assert len(many) == 1 and many[0]["resource"]["prefect.resource.id"] == "branchkpi.coverage.stats.all.FY2020-04"
    assert "47 団体から届いていません" in many[0]["payload"]["ja"] and "ほか 27 件" in many[0]["payload"]["ja"]


def test_era_labels_of_months_and_fiscal_years() -> None:
    from branchkpi.domain import fiscal
    from branchkpi.flows.alert_text import period_text

    assert fiscal.month_label_ja(2020, 4) == "令和2年4月" and fiscal.month_label_ja(2020, 1) == "令和3年1月"
    assert fiscal.month_label_ja(2019, 4) == "平成31年4月" and fiscal.month_label_ja(2019, 5) == "令和元年5月"
    assert fiscal.fiscal_year_label_ja(2019) == "令和元年度" and fiscal.fiscal_year_label_ja(2018) == "平成30年度"
    assert period_text("FY2017–FY2020", "ja") == "平成29年度〜令和2年度"
    assert period_text("FY2020-03", "ja") == "令和3年3月" and period_text("FY2020-03", "en") == "FY2020-03"


def test_artifacts_stop_at_a_readable_size() -> None:
    rows = [row(u, "nhi_collection_rate", "missed") for u in range(1500)]
    assert len(artifacts.evaluation_table(rows)) == artifacts.ARTIFACT_ROWS
    text = artifacts.evaluation_summary(rows, "FY2020", "run-1")
    assert f"1,500 件のうち最初の {artifacts.ARTIFACT_ROWS:,} 件" in text
    assert text.count("\n| 町") == artifacts.ARTIFACT_ROWS
    text = artifacts.evaluation_summary(rows, "FY2020", "run-1", lang="en")
    assert f"The first {artifacts.ARTIFACT_ROWS:,} of 1,500" in text


def test_alert_text_from_the_data_cannot_make_links_in_chat() -> None:
    """Slack reads <url|text> as a link: names and reasons from files reach the message escaped."""
    from branchkpi.domain.findings import Finding
    from branchkpi.flows.alerts import quality_failed_event

    finding = Finding("<script>x</script>.csv", "value_is_number", "value '<b>&' is not a number", source_row=7)
    event = quality_failed_event(
        "b" * 36, "FY2020-04", ["<https://evil.example|山口>"], ["<script>x</script>.csv"], [finding], None, 1
    )
    for lang in ("ja", "en"):
        text = event["payload"][lang]
        assert "<" not in text and ">" not in text.replace("&gt;", "")
        assert "&lt;https://evil.example|山口&gt;" in text and "&lt;b&gt;&amp;" in text


def test_a_quality_failure_names_unit_period_files_rows_and_findings() -> None:
    from branchkpi.domain.findings import Finding
    from branchkpi.flows.alerts import quality_failed_event

    findings = [
        Finding(
            "negative_count.csv",
            "value_not_negative",
            "negative count or amount",
            source_row=7,
            column_name="被保険者数",
            value_text="-5",
        )
    ]
    ja = quality_failed_event("b" * 36, "FY2020-04", ["yamaguchi"], ["negative_count.csv"], findings, None, 1)[
        "payload"
    ]["ja"].splitlines()
    assert ja[0] == "[branchkpi] データ品質エラー: 取り込みを止めました（何も登録していません）"
    assert ja[1] == "対象: 山口支部 / 期間: 令和2年4月"
    assert ja[2:4] == ["ファイル: negative_count.csv", "隔離した行: 1 行"]
    assert (
        ja[4]
        == "- negative_count.csv、7行目、列「被保険者数」、値「-5」: negative count or amount [value_not_negative]"
    )
