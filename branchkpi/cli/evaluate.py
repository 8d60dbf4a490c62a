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


class Lang(StrEnum):
    ja = "ja"
    en = "en"


# what a planning officer reads (--format table), by language: the KPI's name, its mark (○ × △ —) and
# the reason; json and csv keep the machine keys above (kpi_id, status, …)
TABLE_HEADS = {
    "kpi": ("KPI名", "KPI"),
    "target": ("目標", "target"),
    "actual": ("実績", "actual"),
    "previous": ("前年度", "previous year"),
    "mark": ("判定", "mark"),
    "item_mark": ("項目判定", "item mark"),
    "reason": ("理由", "reason"),
    "group": ("分野", "field"),
    "item": ("項目", "item"),
    "sub_item": ("小項目", "sub-item"),
    "kpis": ("KPI数", "KPIs"),
    "missed": ("×", "×"),
    "at_risk": ("△", "△"),
    "not_evaluable": ("—", "—"),
    "kpi_names": ("KPI", "KPI names"),
    "fiscal_year": ("年度", "fiscal year"),
    "period": ("期間", "period"),
    "unit": ("対象", "unit"),
    "unplaced": ("計画の項目に位置のない KPI {n} 件: {names}", "{n} KPI(s) with no place in the plan: {names}"),
}


def _head(key: str, lang: str, **values: Any) -> str:
    ja, en = TABLE_HEADS[key]
    return (ja if lang == "ja" else en).format(**values)


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
    lang: Annotated[
        Lang | None,
        typer.Option("--lang", help="The table's language: ja (default: BRANCHKPI_REPORT_LANG) or en."),
    ] = None,
) -> None:
    """Evaluate every KPI target of a branch or municipality (the evaluate-targets flow): ○ achieved,
    × missed, △ at risk, — not evaluable with the reason. Missed ones come first. Each KPI also has
    the mark of its plan item (item_mark: × if any KPI of the item is missed, △ if any is at risk, ○
    when every judged one is met); `--by item` lists the items as the status report prints them."""

    def body() -> None:
        from branchkpi.config import settings
        from branchkpi.domain import fiscal, regions

        words = lang.value if lang else ("en" if settings().report_lang == "en" else "ja")

        fy: int | None = None
        if fiscal_year is not None:
            try:
                fy = fiscal.parse_fiscal_year(fiscal_year)
            except ValueError as exc:
                raise CliError(str(exc)) from exc
        if quarter is not None and not 1 <= quarter <= 4:
            raise CliError(f"quarter must be 1-4, got {quarter}")
        if every_unit:
            _evaluate_all(fy, quarter, output, force, words)
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
            _write_items(rows, output, words)
            return
        if output is OutputFormat.table:  # what a planning officer reads: names, marks, reasons in words
            texts = _plan_texts(unit_key, fy, rows) if words == "ja" else {}
            table = [_kpi_line(r, texts.get(r["kpi_id"]), words) for r in rows]
            write_rows(table, output, [_head(k, words) for k in KPI_TABLE])
        else:
            write_rows(rows, output, DETAIL_COLUMNS)

    guard(body)


KPI_TABLE = ("kpi", "target", "actual", "previous", "mark", "item_mark", "reason")


def _kpi_line(row: dict[str, Any], plan_text: str | None, lang: str) -> dict[str, Any]:
    """保険証回収率 | 96.30%以上 | 95.82% | 95.92% | × | × | 実績 95.82% は目標 96.30% 以上に届かず"""
    from branchkpi.domain import figures
    from branchkpi.flows.artifact_text import as_lang, kpi_name, reason_text, target_words

    words = as_lang(lang)
    kpi_id, unit = row["kpi_id"], row.get("unit")
    values = {
        "kpi": kpi_name(kpi_id, plan_text, words),
        "target": target_words(row, words),
        "actual": figures.kpi_figure(kpi_id, unit, row["actual"], words),
        "previous": figures.kpi_figure(kpi_id, unit, row["previous"], words),
        "mark": row["mark"],
        "item_mark": row.get("item_mark") or "",
        "reason": reason_text(row, words),
    }
    return {_head(k, lang): v for k, v in values.items()}


def _plan_texts(unit_key: str, fiscal_year: int, rows: list[dict[str, Any]]) -> dict[str, str]:
    """The plan's own sentence of the KPIs the catalogue has no Japanese name for (read only if any)."""
    from branchkpi.tasks.report.wording import Labels

    if all(Labels.has_japanese_name(r["kpi_id"]) for r in rows):
        return {}
    from branchkpi.warehouse import reads
    from branchkpi.warehouse.engine import connect

    return {k: v for k, v in reads.kpi_texts(connect(), unit_key, fiscal_year).items() if v}


def _evaluate_all(
    fiscal_year: int | None, quarter: int | None, output: OutputFormat, force: bool, lang: str = "ja"
) -> None:
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
    if output is OutputFormat.table:  # 令和2年度 | 年度 | 山口支部 | 13 | 13 | 0 | 0
        write_rows([_unit_line(r, lang) for r in summary], output, [*_unit_line(summary[0], lang)] if summary else [])
        return
    write_rows(summary, output, ["fiscal_year", "period", "unit", "name", "○", "×", "△", "—"])


def _unit_line(row: dict[str, Any], lang: str) -> dict[str, Any]:
    from branchkpi.flows.alert_text import period_text, unit_text
    from branchkpi.flows.artifact_text import as_lang

    words = as_lang(lang)
    period = row["period"]
    if period == "FY":
        period = "年度" if words == "ja" else "FY"
    elif words == "ja":
        period = f"第{period[1:]}四半期"
    return {
        _head("fiscal_year", lang): period_text(f"FY{row['fiscal_year']}", words),
        _head("period", lang): period,
        _head("unit", lang): unit_text(row["unit"], words, row["name"]),
        **{mark: row[mark] for mark in ("○", "×", "△", "—")},
    }


def _write_items(rows: list[dict[str, Any]], output: OutputFormat, lang: str = "ja") -> None:
    """One row per item and sub-item, in plan order; KPIs whose place in the plan is unknown after them."""
    from branchkpi.domain.plan_items import item_marks
    from branchkpi.flows.artifact_text import as_lang, kpi_name

    items = item_marks(rows)
    unplaced = [r for r in rows if not r.get("item_ja")]
    if not items:
        raise CliError(
            "no plan structure for these targets (load kpi_plan_structure.csv, or 分野 / 項目 / 小項目 "
            "columns with the targets)"
        )
    if output is not OutputFormat.table:
        write_rows(items, output, ITEM_COLUMNS)
        return
    words = as_lang(lang)

    def numbered(no: Any, text: Any) -> str:
        return " ".join(str(p) for p in (no, text) if p)

    table = [
        {
            _head("group", lang): i["group_ja"] or "",
            _head("item", lang): numbered(i["item_no"], i["item_ja"]),
            _head("sub_item", lang): numbered(i["sub_item_no"], i["sub_item_ja"]),
            _head("mark", lang): i["mark"],
            _head("kpis", lang): i["kpis"],
            "×": i["missed"],
            "△": i["at_risk"],
            "—": i["not_evaluable"],
            _head("kpi_names", lang): "、".join(kpi_name(k, None, words) for k in i["kpi_ids"]),
        }
        for i in items
    ]
    write_rows(table, output, list(table[0]))
    if unplaced:
        names = "、".join(kpi_name(r["kpi_id"], None, words) for r in unplaced)
        typer.echo(_head("unplaced", lang, n=len(unplaced), names=names))


def _municipality_key(name: str) -> str:
    from branchkpi.warehouse import reads
    from branchkpi.warehouse.engine import connect

    keys = reads.municipality_keys(connect(), name)
    if not keys:
        raise CliError(f"unknown municipality {name!r}: load its targets first")
    if len(keys) > 1:
        raise CliError(f"{name!r} exists in several prefectures: {', '.join(keys)}")
    return keys[0]
