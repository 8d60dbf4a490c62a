"""`branchkpi evaluate`: every KPI target of a branch, a municipality, or every unit."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from branchkpi.cli.app import CliError, app, guard
from branchkpi.cli.output import OutputFormat, write_rows

EVALUATION_COLUMNS = ["kpi_id", "target", "comparator", "actual", "previous", "status", "mark", "reason"]


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
) -> None:
    """Evaluate every KPI target of a branch or municipality (the evaluate-targets flow): ○ achieved,
    × missed, △ at risk, — not evaluable with the reason. Missed ones come first."""

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

        state = evaluate_targets(fiscal_year=fy, quarter=quarter, unit_keys=[unit_key], force=force, return_state=True)
        wait_until_recorded(state)
        result: Any = state.result(raise_on_failure=False)
        if isinstance(result, BaseException):
            raise CliError(f"the evaluation ended {state.name}: {state.message or result}") from result
        rows = [{**r, "target": r["target_text"] or r["target_value"]} for r in result.rows]
        if not rows:
            raise CliError(f"no targets for {unit_key} in FY{fy} (load a plan with `branchkpi ingest`)")
        write_rows(rows, output, EVALUATION_COLUMNS)

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
        fiscal_year=years[0], to_fiscal_year=years[-1], quarter=quarter, force=force, return_state=True
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
            summary.append({"fiscal_year": year, "period": f"Q{quarter}" if quarter else "FY", "unit": unit,
                            "name": names[unit], "○": marks["○"], "×": marks["×"], "△": marks["△"],
                            "—": marks["—"]})  # fmt: skip
    write_rows(summary, output, ["fiscal_year", "period", "unit", "name", "○", "×", "△", "—"])


def _municipality_key(name: str) -> str:
    from branchkpi.warehouse import reads
    from branchkpi.warehouse.engine import connect

    keys = reads.municipality_keys(connect(), name)
    if not keys:
        raise CliError(f"unknown municipality {name!r}: load its targets first")
    if len(keys) > 1:
        raise CliError(f"{name!r} exists in several prefectures: {', '.join(keys)}")
    return keys[0]
