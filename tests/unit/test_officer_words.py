"""Japanese wherever an officer reads (issue 25, item 7), English with --lang en: findings in alerts and
run summaries, evaluate's table (KPI名, 判定 ○×△—, 理由), 期間 of an alert = the period of the rows it is
about, KPI runs named by what they load, messages that name files as they are now."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import polars as pl

from branchkpi.cli.evaluate import _kpi_line, _unit_line
from branchkpi.domain.findings import Finding
from branchkpi.flows import alerts, artifacts, backfill_artifacts
from branchkpi.flows.alert_text import period_span
from branchkpi.flows.quarterly_kpi_actuals import loaded_name, loaded_period
from branchkpi.tasks.outcome import BatchOutcome, FileReport
from branchkpi.tasks.parse.batch import ParsedKpiBatch
from branchkpi.tasks.parse.kpi import empty_actuals, empty_targets
from branchkpi.tasks.validate.gx import _row_finding

from .test_report_structure import kpi_row

ROOT = Path(__file__).resolve().parents[2]


def _rule(name: str = "value_not_negative") -> Any:
    from branchkpi.expectations import monthly_stats

    return next(r for r in monthly_stats.rules() if r.name == name)


ROW = {
    "file_name": "negative_count.csv",
    "file_id": 1,
    "source_row": 7,
    "source_column": "value",
    "value_raw": "-258559",
    "region_code": "35",
    "metric": "insured_persons",
    "fiscal_year": 2020,
    "month": 9,
}


def test_a_gate_finding_reads_in_japanese_with_the_place_in_japanese() -> None:
    rule = _rule()
    finding = _row_finding(rule, ROW)
    assert finding.period == "FY2020-09"
    ja = finding.sentence("ja")
    assert ja.startswith("negative_count.csv、7行目")
    assert rule.reason_ja in ja and "山口支部 被保険者数 令和2年9月" in ja and "yamaguchi" not in ja
    en = finding.sentence("en")
    assert en == str(finding) and "negative_count.csv, row 7" in en and "yamaguchi insured_persons FY2020-09" in en


def test_a_parsers_finding_reads_in_japanese_by_its_rule() -> None:
    unreadable = Finding("x.csv", "file_readable", "the file is empty")
    assert unreadable.reason_in("ja") == "ファイルを読み取れない（the file is empty）"
    column = Finding("x.csv", "unknown_column", "column not recognised; ignored", "warning", column_name="メモ")
    assert (
        column.sentence("ja") == "x.csv、列「メモ」: 列の見出しを認識できない（この列は読み飛ばした） [unknown_column]"
    )
    total = Finding("x.csv", "total_fiscal_year_unreadable", "fiscal-year total: fiscal_year not recognised")
    assert total.reason_in("ja").startswith("年度計")
    assert Finding("x.csv", "some_new_rule", "as written").reason_in("ja") == "as written"  # never empty
    assert set(Finding("x.csv", "r", "why", reason_ja="理由", period="FY2020").as_row()) == set(
        Finding("x.csv", "r", "why").as_row()
    )  # the quarantine's columns are unchanged


def test_an_alerts_period_is_the_period_of_the_rows_it_is_about() -> None:
    bad = [_row_finding(_rule(), ROW), _row_finding(_rule(), ROW | {"month": 11, "source_row": 9})]
    event = alerts.quality_failed_event("b" * 36, "FY2020-03", ["yamaguchi"], ["negative_count.csv"], bad, None, 2)
    ja = event["payload"]["ja"].splitlines()
    assert ja[1] == "対象: 山口支部 / 期間: 令和2年9月〜令和2年11月"  # not the batch's last month (令和3年3月)
    assert ja[4].startswith("- negative_count.csv、7行目") and "山口支部 被保険者数 令和2年9月" in ja[4]
    assert event["payload"]["period"] == "FY2020-09–FY2020-11" and event["payload"]["batch_period"] == "FY2020-03"
    unreadable = [Finding("x.csv", "file_readable", "the file is empty")]
    no_period = alerts.quality_failed_event("b" * 36, None, [], ["x.csv"], unreadable, None, 0)["payload"]["ja"]
    assert no_period.splitlines()[1] == "ファイル: x.csv"  # no 対象 / 期間 line of dashes
    assert "ファイルを読み取れない（the file is empty）" in no_period
    assert period_span(["FY2020-01", "FY2020-04", None]) == "FY2020-04–FY2020-01"  # April comes first


def test_the_run_summary_reads_in_japanese() -> None:
    outcome = BatchOutcome(batch_id="b" * 36, period="FY2020-03", status="failed", failure="quality gate")
    outcome.files = [FileReport("negative_count.csv", "a" * 64, 10, "tidy", "utf-8", 12)]
    outcome.findings = [_row_finding(_rule(), ROW)]
    outcome.rule_summary = [
        {"rule": "value_not_negative", "severity": "critical", "success": False, "unexpected": 1, "reason": "x"}
        | {"reason_ja": _rule().reason_ja}
    ]
    ja = artifacts.batch_summary(outcome, "Monthly branch statistics")
    assert ja.startswith("# 月報（統計）の取り込み 令和3年3月: 品質検査で不合格")
    assert "| 受け取った行 | 0 |" in ja and "## 満たされなかった検査" in ja and _rule().reason_ja in ja
    assert "| 重大 | negative_count.csv | 7 | value | -258559 | value_not_negative |" in ja
    assert "山口支部 被保険者数 令和2年9月" in ja and "rows landed" not in ja
    en = artifacts.batch_summary(outcome, "Monthly branch statistics", "en")
    assert "| rows landed | 0 |" in en and "FAILED the quality gate" in en and "yamaguchi insured_persons" in en
    years = backfill_artifacts.backfill_summary(
        [{"fiscal_year": 2019, "status": "loaded", "rows_loaded": 5, "message": "m"}]
    )
    assert "| 令和元年度 | 登録しました | 5 | m |" in years


def _batch(actuals: list[dict[str, Any]], targets: list[dict[str, Any]] | None = None) -> ParsedKpiBatch:
    def frame(empty: pl.DataFrame, rows: list[dict[str, Any]]) -> pl.DataFrame:
        return pl.DataFrame(rows, schema={c: empty.schema[c] for c in rows[0]}) if rows else empty

    a, t = empty_actuals(), empty_targets()
    batch = ParsedKpiBatch()
    batch.actuals = pl.concat([a, frame(a, actuals)], how="diagonal_relaxed") if actuals else a
    batch.targets = pl.concat([t, frame(t, targets or [])], how="diagonal_relaxed") if targets else t
    return batch


def test_kpi_runs_are_named_by_what_they_load() -> None:
    q1 = [{"reporting_unit": "35", "fiscal_year": 2020, "period": p} for p in ("Q1", "2020-05", "2020-06")]
    assert loaded_name(_batch(q1)) == "kpi-FY2020-Q1-yamaguchi"
    targets = [{"reporting_unit": "35", "fiscal_year": 2020}]
    assert loaded_name(_batch(q1, targets)) == "kpi-FY2020-Q1-yamaguchi"  # the year's targets with its Q1
    assert loaded_name(_batch([], targets)) == "kpi-FY2020-yamaguchi"
    year = [*q1, {"reporting_unit": "35", "fiscal_year": 2020, "period": "FY"}]
    assert loaded_name(_batch(year)) == "kpi-FY2020-yamaguchi"
    two = [*q1, {"reporting_unit": "11", "fiscal_year": 2017, "period": "Q1"}]
    assert loaded_name(_batch(two)) == "kpi-FY2017-FY2020-saitama-yamaguchi"
    assert loaded_period(_batch(two)) == "FY2017–FY2020"  # the batch's period, as alerts say it
    town = [{"reporting_unit": "33:倉敷市", "fiscal_year": 2018, "period": "FY"}]
    assert loaded_name(_batch(town)) == "kpi-FY2018-okayama-倉敷市"
    assert loaded_name(_batch([])) is None


def test_evaluates_table_names_kpis_marks_and_reasons_not_ids() -> None:
    row = kpi_row("card_recovery_rate", "×", item_mark="×")
    ja = _kpi_line(row, None, "ja")
    assert list(ja) == ["KPI名", "目標", "実績", "前年度", "判定", "項目判定", "理由"]
    assert ja["KPI名"] == "保険証回収率" and ja["判定"] == "×" and ja["理由"] == row["reason_ja"]
    assert ja["目標"] == "96.30%以上" and "card_recovery_rate" not in ja.values()
    en = _kpi_line(row, None, "en")
    assert (en["KPI"], en["target"], en["reason"]) == ("Card recovery rate", "96.30% or more", row["reason"])
    plan = _kpi_line(kpi_row("specific_health_guidance_rate_insured"), "被保険者の特定保健指導の実施率", "ja")
    assert plan["KPI名"] == "被保険者の特定保健指導の実施率"  # the plan's own sentence, not the id
    unit = _unit_line({"fiscal_year": 2020, "period": "Q1", "unit": "35", "name": "yamaguchi"} | _marks(), "ja")
    assert list(unit.values())[:3] == ["令和2年度", "第1四半期", "山口支部"] and unit["×"] == 13


def _marks() -> dict[str, int]:
    return {"○": 13, "×": 13, "△": 0, "—": 1}


# a path a message names: folders of the repository, then a file with its extension
_PATH = re.compile(r"\b((?:branchkpi|flows|tasks|expectations|warehouse|docs|data)/[\w./-]*\.(?:py|md|toml|csv))\b")


def _messages(path: Path) -> list[str]:
    """The string constants of a module that are not docstrings: what it says to people."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
    ]


def test_messages_name_files_and_modules_as_they_are_now() -> None:
    named = {
        (path.relative_to(ROOT).as_posix(), found)
        for folder in ("branchkpi", "flows", "tasks", "expectations", "warehouse")
        for path in (ROOT / folder).rglob("*.py")
        if not path.is_symlink() and "migrations" not in path.parts
        for message in _messages(path)
        for found in _PATH.findall(message)
    }
    assert ("expectations/kpi.py", "branchkpi/domain/kpis.py") in named  # the unknown-KPI finding's pointer
    missing = sorted((where, p) for where, p in named if not (ROOT / p).exists())
    assert missing == []
