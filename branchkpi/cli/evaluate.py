"""`branchkpi evaluate`: every KPI target of a branch, a municipality, or every unit."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from branchkpi.cli.app import CliError, app, guard
from branchkpi.cli.output import OutputFormat, write_rows

EVALUATION_COLUMNS = ["kpi_id", "target", "comparator", "actual", "previous", "status", "mark", "item_mark", "reason"]
# json and csv give every KPI its place in the plan and the reason in both languages
DETAIL_COLUMNS = [*EVALUATION_COLUMNS, "reason_ja", "group_ja", "item_no", "item_ja", "sub_item_no", "sub_item_ja"]
ITEM_COLUMNS = [
    "group_ja",
    "item_no",
    "item_ja",
    "sub_item_no",
    "sub_item_ja",
    "mark",
    "status",
    "kpis",
    "missed",
    "at_risk",
    "not_evaluable",
    "kpi_ids",
]


class By(StrEnum):
    kpi = "kpi"
    item = "item"


@app.command()
def evaluate(
    fiscal_year: Annotated[
        str | None, typer.Option("--fiscal-year", help="2020, R2, 令和2年度 … (with --all: default every year)")
    ] = None,
    branch: Annotated[str | None, typer.Option(help="yamaguchi, 山口 or 35.")] = None,
    municipality: Annotated[str | None, typer.Option(help="An NHI municipality, e.g. 倉敷市.")] = None,
    quarter: Annotated[int | None, typer.Option(help="1-4 for an in-year check (○ on track / △ at risk).")] = None,
    every_unit: Annotated[
        bool, typer.Option("--all", help="Every branch and municipality with targets (a summary per unit).")
    ] = False,
    output: Annotated[OutputFormat, typer.Option("--format", help="csv, json or table.")] = OutputFormat.table,
    force: Annotated[
        bool, typer.Option(help="Evaluate anew even if nothing changed since the last evaluation (else reused).")
    ] = False,
    by: Annotated[
        By, typer.Option("--by", help="kpi: a row per KPI (missed first); item: a row per plan item and sub-item.")
    ] = By.kpi,
) -> None:
    """Evaluate every KPI target of a branch or municipality (the evaluate-targets flow): ○ achieved,
    × missed, △ at risk, — not evaluable with the reason. Missed ones come first. Each KPI also has
    the mark of its plan item (item_mark: × if any KPI of the item is missed, △ if any is at risk, ○
    when every judged one is met); `--by item` lists the items as the status report prints them."""

    def body() -> None:
        from branchkpi.domain import fiscal, regions

        fy: int | None = None
        if fiscal_year is not None:
            try:
                fy = fiscal.parse_fiscal_year(fiscal_year)
            except ValueError as exc:
                raise CliError(str(exc)) from exc
        if quarter is not None and not 1 <= quarter <= 4:
            raise CliError(f"quarter must be 1-4, got {quarter}")
        if every_unit:
            _evaluate_all(fy, quarter, output, force)
            return
        if fy is None:
            raise CliError("give --fiscal-year (or --all for every year with targets)")
        if (branch is None) == (municipality is None):
            raise CliError("give exactly one of --branch or --municipality")
        if branch is not None:
            code = regions.resolve_region(branch)
            if code is None:
                raise CliError(f"unknown branch {branch!r}: use e.g. yamaguchi, 山口 or 35")
            unit_key = code
        else:
            unit_key = _municipality_key(str(municipality))
        from branchkpi.flows.evaluate_targets import evaluate_targets
        from branchkpi.flows.runtime import wait_until_recorded

        # the table is the answer: the branch report is written after it, by a process of its own
        state = evaluate_targets(
            fiscal_year=fy,
            quarter=quarter,
            unit_keys=[unit_key],
            force=force,
            background_reports=True,
            return_state=True,
        )
        wait_until_recorded(state)
        result: Any = state.result(raise_on_failure=False)
        if isinstance(result, BaseException):
            raise CliError(f"the evaluation ended {state.name}: {state.message or result}") from result
        rows = [{**r, "target": r["target_text"] or r["target_value"]} for r in result.rows]
        if not rows:
            raise CliError(f"no targets for {unit_key} in FY{fy} (load a plan with `branchkpi ingest`)")
        if by is By.item:
            _write_items(rows, output)
            return
        from branchkpi.config import settings

        if output is OutputFormat.table:  # what a planning officer reads: the reason in the report language
            lang = settings().report_lang
            write_rows(
                [{**r, "reason": r["reason_ja"] if lang == "ja" else r["reason"]} for r in rows],
                output,
                EVALUATION_COLUMNS,
            )
        else:
            write_rows(rows, output, DETAIL_COLUMNS)

    guard(body)


def _evaluate_all(fiscal_year: int | None, quarter: int | None, output: OutputFormat, force: bool) -> None:
    """One evaluate-targets run over every fiscal year with targets and every unit; a line per unit and year."""
    from collections import Counter

    from branchkpi.flows.evaluate_targets import evaluate_targets
    from branchkpi.flows.runtime import wait_until_recorded
    from branchkpi.warehouse import reads
    from branchkpi.warehouse.engine import connect

    years = reads.target_fiscal_years(connect())
    if fiscal_year is not None:
        years = [y for y in years if y == fiscal_year]
    if not years:
        raise CliError("no targets loaded (load a plan with `branchkpi ingest`)")
    summary: list[dict[str, Any]] = []
    # one flow run over the whole span: each year is stored as its own evaluation run
    state = evaluate_targets(
        fiscal_year=years[0],
        to_fiscal_year=years[-1],
        quarter=quarter,
        force=force,
        background_reports=True,
        return_state=True,
    )
    wait_until_recorded(state)
    result: Any = state.result(raise_on_failure=False)
    if isinstance(result, BaseException):
        raise CliError(f"the evaluation ended {state.name}: {state.message or result}") from result
    evaluations = result if isinstance(result, list) else [result]
    for evaluation in evaluations:
        year = evaluation.fiscal_year
        if year not in years:
            continue
        by_unit: dict[str, Counter[str]] = {}
        names: dict[str, str] = {}
        for r in evaluation.rows:
            by_unit.setdefault(r["unit_key"], Counter())[r["mark"]] += 1
            names[r["unit_key"]] = r["unit_name"]
        for unit, marks in sorted(by_unit.items()):
            summary.append(
                {
                    "fiscal_year": year,
                    "period": f"Q{quarter}" if quarter else "FY",
                    "unit": unit,
                    "name": names[unit],
                    "○": marks["○"],
                    "×": marks["×"],
                    "△": marks["△"],
                    "—": marks["—"],
                }
            )
    write_rows(summary, output, ["fiscal_year", "period", "unit", "name", "○", "×", "△", "—"])


def _write_items(rows: list[dict[str, Any]], output: OutputFormat) -> None:
    """One row per item and sub-item, in plan order; KPIs whose place in the plan is unknown after them."""
    from branchkpi.domain.plan_items import item_marks

    items = item_marks(rows)
    unplaced = [r for r in rows if not r.get("item_ja")]
    if not items:
        raise CliError(
            "no plan structure for these targets (load kpi_plan_structure.csv, or 分野 / 項目 / 小項目 "
            "columns with the targets)"
        )
    listed = [
        {**i, "kpi_ids": ", ".join(i["kpi_ids"]) if output is OutputFormat.table else i["kpi_ids"]} for i in items
    ]
    write_rows(listed, output, ITEM_COLUMNS)
    if unplaced and output is OutputFormat.table:
        typer.echo(f"{len(unplaced)} KPI(s) with no place in the plan: {', '.join(r['kpi_id'] for r in unplaced)}")


def _municipality_key(name: str) -> str:
    from branchkpi.warehouse import reads
    from branchkpi.warehouse.engine import connect

    keys = reads.municipality_keys(connect(), name)
    if not keys:
        raise CliError(f"unknown municipality {name!r}: load its targets first")
    if len(keys) > 1:
        raise CliError(f"{name!r} exists in several prefectures: {', '.join(keys)}")
    return keys[0]
