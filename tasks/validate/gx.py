"""The quality gate's engine: one Great Expectations checkpoint run of a suite over a whole batch
(a pandas copy of the columns the rules read), the Data Docs under var/data_docs updated, and every
failed row turned into a Finding (file, row, column, value, rule, reason). GX is imported here only,
when a batch is validated: it costs seconds. When this process has a validating process of its own
(tasks/validate/validator.py, which the CLI starts first thing) the checkpoint runs there: GX was
imported while this process did everything else, and the Data Docs are written after the answer."""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from branchkpi.domain import fiscal, metrics
from branchkpi.domain.findings import Finding
from branchkpi.domain.fiscal import Period
from branchkpi.domain.regions import BY_CODE, NATIONAL_CODE
from branchkpi.expectations.rules import Rule, build_suite

BATCH_LEVEL = "(batch)"

# validations listed on the Data Docs index page (the newest first)
DATA_DOCS_INDEX_LIMIT = 30


@dataclass
class GateResult:
    findings: list[Finding] = field(default_factory=list)
    expectations_passed: int = 0
    expectations_warned: int = 0
    expectations_failed: int = 0
    data_docs_path: str | None = None
    rule_summary: list[dict[str, Any]] = field(default_factory=list)

    @property
    def critical(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "critical"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def passed(self) -> bool:
        return not self.critical


@dataclass(frozen=True)
class RuleOutcome:
    """What GX said of one expectation: passed or not, the row_ids of the rows that failed it (result
    format COMPLETE), how many failed, or the error it raised."""

    rule: str
    success: bool
    unexpected_ids: tuple[int, ...] = ()
    unexpected_count: int = 0
    exception_message: str | None = None


@dataclass(frozen=True)
class SuiteOutcome:
    """One checkpoint run, as small as it can travel between processes: no frame, no GX object."""

    rules: list[RuleOutcome]
    data_docs_path: str | None


def _gx_context(data_docs_dir: Path, gx_dir: Path) -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites={
            "local_site": {
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(data_docs_dir.resolve()),
                },
                # The index lists the latest validations only, and no profiling section is built: both
                # would otherwise read every stored result on each batch, so the gate would slow down
                # with the warehouse's history (older pages stay on disk, linked from their runs).
                "site_index_builder": {
                    "class_name": "DefaultSiteIndexBuilder",
                    "validation_results_limit": DATA_DOCS_INDEX_LIMIT,
                },
                "site_section_builders": {"profiling": "None"},
            }
        },
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    # Keep every validation result on disk so the Data Docs index lists the history of batches.
    config.stores["validation_results_store"] = {
        "class_name": "ValidationResultsStore",
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str((gx_dir / "validations").resolve()),
        },
    }
    return gx.get_context(mode="ephemeral", project_config=config)


def run_suite(
    frame: pl.DataFrame,
    suite_name: str,
    rule_list: list[Rule],
    data_docs_dir: Path,
    gx_dir: Path,
    run_name: str,
    lang: str = "ja",
) -> GateResult:
    """One GX checkpoint run of a suite over a whole frame (with a row_id column), Data Docs updated
    (each expectation described by its rule's reason in `lang`): in this process's validating process
    when it has one (the Data Docs follow the answer there), else here (the Data Docs first)."""
    from branchkpi.tasks.validate import validator

    checked = checked_columns(frame, rule_list)
    outcome = validator.check(checked, suite_name, rule_list, data_docs_dir, gx_dir, run_name, lang)
    if outcome is None:
        outcome, write_data_docs = check_suite(checked, suite_name, rule_list, data_docs_dir, gx_dir, run_name, lang)
        write_data_docs()
    return gate_result(frame, rule_list, outcome)


def warm_up() -> None:
    """Import what a checkpoint run needs (seconds), before the first batch is there to validate."""
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="great_expectations")
    import great_expectations  # noqa: F401
    import pandas  # noqa: F401
    from great_expectations.core.run_identifier import RunIdentifier  # noqa: F401


def check_suite(
    checked: pl.DataFrame,
    suite_name: str,
    rule_list: list[Rule],
    data_docs_dir: Path,
    gx_dir: Path,
    run_name: str,
    lang: str = "ja",
) -> tuple[SuiteOutcome, Callable[[], None]]:
    """The checkpoint run over the checked columns (validation only, the result kept under gx_dir), and
    what writes its Data Docs page and index, to call after it (what GX's UpdateDataDocsAction does)."""
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="great_expectations")
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    context = _gx_context(data_docs_dir, gx_dir)
    suite = context.suites.add(build_suite(suite_name, rule_list, lang))
    batch_definition = (
        context.data_sources.add_pandas("batch")
        .add_dataframe_asset(suite_name)
        .add_batch_definition_whole_dataframe("whole_batch")
    )
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{suite_name}_batch", data=batch_definition, suite=suite)
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=f"{suite_name}_gate",
            validation_definitions=[validation],
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["row_id"]},
        )
    )
    checkpoint_result = checkpoint.run(
        batch_parameters={"dataframe": _pandas(checked)}, run_id=RunIdentifier(run_name=run_name)
    )
    identifier, validation_result = next(iter(checkpoint_result.run_results.items()))
    # where the page will be: the path follows from the result's identifier
    urls = context.get_docs_sites_urls(resource_identifier=identifier, site_name="local_site", only_if_exists=False)
    url = urls[0]["site_url"] if urls else None
    rules = [
        RuleOutcome(
            rule=(result.expectation_config.meta or {})["rule"],
            success=bool(result.success),
            unexpected_ids=tuple(int(item["row_id"]) for item in _unexpected(result)),
            unexpected_count=int((result.result or {}).get("unexpected_count") or 0),
            exception_message=None if result.success else _exception_message(result),
        )
        for result in validation_result.results
    ]

    def write_data_docs() -> None:
        context.build_data_docs(
            site_names=["local_site"], resource_identifiers=[identifier, ExpectationSuiteIdentifier(name=suite_name)]
        )

    return SuiteOutcome(rules, url.removeprefix("file://") if url else None), write_data_docs


def gate_result(frame: pl.DataFrame, rule_list: list[Rule], outcome: SuiteOutcome) -> GateResult:
    """The gate's counts, summary and findings (every failed row with its file, row and cell, from the
    batch's own frame) from a checkpoint run's outcome."""
    by_name = {r.name: r for r in rule_list}
    gate = GateResult(data_docs_path=outcome.data_docs_path)
    failing = {i for r in outcome.rules for i in r.unexpected_ids}
    rows_by_id: dict[int, dict[str, Any]] = {}
    if failing:  # the findings' rows, with every column (file, row, cell as written)
        rows_by_id = {r["row_id"]: r for r in frame.filter(pl.col("row_id").is_in(failing)).iter_rows(named=True)}
    for result in outcome.rules:
        rule = by_name[result.rule]
        unexpected = result.unexpected_ids
        gate.rule_summary.append(
            {
                "rule": rule.name,
                "severity": rule.severity,
                "success": result.success,
                "unexpected": len(unexpected) if unexpected else result.unexpected_count,
                "reason": rule.reason,
                "reason_ja": rule.reason_ja or rule.reason,
            }
        )
        if result.success:
            gate.expectations_passed += 1
            continue
        if rule.severity == "warning":
            gate.expectations_warned += 1
        else:
            gate.expectations_failed += 1
        if not unexpected:
            message = result.exception_message
            gate.findings.append(
                Finding(
                    BATCH_LEVEL,
                    rule.name,
                    message or rule.reason,
                    rule.severity,  # type: ignore[arg-type]
                    reason_ja=f"{rule.reason_ja}（{message}）"
                    if message and rule.reason_ja
                    else rule.reason_ja or None,
                )
            )
            continue
        for row_id in unexpected:
            gate.findings.append(_row_finding(rule, rows_by_id[row_id]))
    return gate


def _unexpected(result: Any) -> list[dict[str, Any]]:
    return (result.result or {}).get("unexpected_index_list") or [] if not result.success else []


def _pandas(frame: pl.DataFrame) -> Any:
    """The pandas frame GX validates. Text columns stay Arrow-backed (a Python object per cell would
    take hundreds of MB for a prefecture's actuals); numbers are plain numpy columns, as the type
    expectations want them."""
    import pandas as pd

    text = [c for c, t in frame.schema.items() if t == pl.String]
    numeric = frame.drop(text).to_pandas()
    if not text:
        return numeric
    strings = frame.select(text).to_pandas(use_pyarrow_extension_array=True)
    return pd.concat([numeric, strings], axis=1)[frame.columns]


def checked_columns(frame: pl.DataFrame, rule_list: list[Rule]) -> pl.DataFrame:
    """Only the columns the expectations read, and row_id: GX validates a pandas copy, and the raw
    text columns (kept for the findings) would double the batch's memory for nothing."""
    wanted = {"row_id"}
    for rule in rule_list:
        for key, value in rule.kwargs.items():
            if key in ("column", "column_A", "column_B"):
                wanted.add(value)
            elif key == "column_list":
                wanted.update(value)
    return frame.select([c for c in frame.columns if c in wanted])


def _exception_message(result: Any) -> str | None:
    info = result.exception_info or {}
    if "raised_exception" in info:
        return str(info.get("exception_message")) if info.get("raised_exception") else None
    for value in info.values():
        if isinstance(value, dict) and value.get("exception_message"):
            return str(value["exception_message"])
    return None


def _format(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:,.4g}" if abs(value) < 10 else f"{value:,.0f}"
    return str(value)


# the figures a rule shows beside its reason, named in Japanese
_DETAIL_JA = {
    "national_value": "全国の値",
    "branches_sum": "支部の合計",
    "benefits_to_medical_cost_ratio": "保険給付費÷医療費",
    "months_missing_in_closed_fy": "欠けている月数",
    "yoy_pct_computed": "計算した前年同月比",
    "yoy_pct_printed": "印字の前年同月比",
    "fiscal_year": "年度",
    "months_sum": "月の合計",
    "months_mean": "月の平均",
    "total": "合計",
    "adopted": "取組市町村数",
    "computed_pct": "計算した割合",
    "unit_expected": "KPI の単位",
    # the KPI files' rules (expectations/kpi.py)
    "kpi_naming": "候補",
    "kpi_text_conflict": "文言の指す KPI",
    "plausible_range": "妥当な範囲",
    "scale_factor": "前年度の実績との比",
    "fiscal_year_conflict": "年度を示すほかの箇所",
    "as_of_conflict": "年度と期間",
    "value_unit": "数値のセルの単位",
    "unit": "単位の列",
}


def _row_period(row: dict[str, Any]) -> str | None:
    """The period a row is about, as an event label: FY2020-04 (a month), FY2020-Q1, FY2020."""
    year = row.get("fiscal_year")
    if year is None:
        return None
    if row.get("month") is not None:
        return Period(int(year), int(row["month"])).label
    period = str(row.get("period") or "FY")
    if period.startswith("Q"):
        return f"FY{year}-{period}"
    if len(period) == 7 and period[4] == "-" and period[5:].isdigit():  # 2020-09: a month of the year
        return f"FY{year}-{period[5:]}"
    return f"FY{year}"


def _place_ja(row: dict[str, Any]) -> str | None:
    """山口支部 被保険者数 令和2年4月: the statistic a row of monthly statistics is about."""
    code = row.get("region_code")
    if code not in BY_CODE:
        return None
    metric = metrics.BY_ID.get(str(row.get("metric")))
    where = ["全国" if code == NATIONAL_CODE else f"{BY_CODE[code].name_ja}支部"]
    where.append(metric.name_ja if metric else str(row.get("metric") or row.get("metric_raw")))
    if row.get("fiscal_year") is not None and row.get("month") is not None:
        where.append(fiscal.month_label_ja(int(row["fiscal_year"]), int(row["month"])))
    return " ".join(where)


def _row_finding(rule: Rule, row: dict[str, Any]) -> Finding:
    column = row.get("source_column") if rule.shown_column == "source_column" else rule.shown_column
    reason, reason_ja = rule.reason, rule.reason_ja or rule.reason
    details = [f"{c}={_format(row[c])}" for c in rule.extra_columns if row.get(c) is not None]
    details_ja = [f"{_DETAIL_JA.get(c, c)} {_format(row[c])}" for c in rule.extra_columns if row.get(c) is not None]
    if row.get("region_code") in BY_CODE:
        where = [BY_CODE[row["region_code"]].name_romaji, str(row.get("metric") or row.get("metric_raw"))]
        if row.get("fiscal_year") is not None and row.get("month") is not None:
            where.append(Period(int(row["fiscal_year"]), int(row["month"])).label)
        details.insert(0, " ".join(where))
        details_ja.insert(0, _place_ja(row) or "")
    if details:
        reason = f"{reason} ({'; '.join(details)})"
        reason_ja = f"{reason_ja}（{'、'.join(d for d in details_ja if d)}）"
    raw = row.get(rule.raw_column)
    return Finding(
        file_name=row["file_name"],
        rule=rule.name,
        reason=reason,
        severity=rule.severity,  # type: ignore[arg-type]
        file_id=row["file_id"],
        source_row=row["source_row"],
        column_name=column,
        value_text=None if raw is None else str(raw),
        sheet=row.get("sheet") or row.get("sheet_name"),  # a workbook's sheet, when the frame has one
        reason_ja=reason_ja,
        period=_row_period(row),
    )


def merge(*gates: GateResult) -> GateResult:
    """One result for a batch validated by several suites (KPI targets and actuals)."""
    merged = GateResult()
    for gate in gates:
        merged.findings += gate.findings
        merged.rule_summary += gate.rule_summary
        merged.expectations_passed += gate.expectations_passed
        merged.expectations_warned += gate.expectations_warned
        merged.expectations_failed += gate.expectations_failed
        merged.data_docs_path = merged.data_docs_path or gate.data_docs_path
    return merged
