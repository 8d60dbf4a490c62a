"""The prefecture report (県 国保): its municipalities' collection-rate targets (現年分の保険料(税)収納率)
with their marks, and the prefecture's NHI initiative uptake (取組状況 N/M市町村) with the 目標設定状況
computed from those targets beside the printed one. One self-contained HTML file, Japanese by default.

Like the branch report (tasks/report/html.py), every value from the warehouse goes through Jinja2's
autoescaping: a municipality's name or a heading holding <script> is shown as text, never run."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
import sqlalchemy as sa

from branchkpi.tasks import evaluate
from branchkpi.tasks import initiatives as uptake
from branchkpi.tasks.report import figures
from branchkpi.tasks.report.wording import Labels
from branchkpi.warehouse import initiatives as uptake_reads

TEMPLATES = Path(__file__).parent / "templates"
STATUS_CLASS = {  # the branch report's row classes
    "missed": "missed",
    "at_risk": "at-risk",
    "achieved": "achieved",
    "on_track": "on-track",
    "not_evaluable": "not-evaluable",
}
_TEXT: dict[str, tuple[str, str]] = {  # key → (ja, en): the words of this report only
    "title": ("国民健康保険 収納率目標と取組状況", "NHI collection-rate targets and initiative uptake"),
    "prefecture": ("県", " Prefecture"),
    "targets": ("市町村の収納率目標（現年分）", "Municipal collection-rate targets (current year)"),
    "municipality": ("市町村", "Municipality"),
    "uptake": ("取組状況", "Initiative uptake"),
    "section": ("項目", "Initiative"),
    "label": ("区分", "Figure"),
    "adopted": ("取組市町村数", "Adopted"),
    "total": ("市町村数", "Municipalities"),
    "pct": ("割合（計算）", "Share (computed)"),
    "pct_printed": ("割合（公表）", "Share (printed)"),
    "note": ("備考", "Note"),
    "target_setting": ("目標設定状況", "Target setting"),
    "printed": ("公表値", "printed"),
    "computed": ("市町村の目標から算出", "computed from the municipal targets"),
    "agrees": ("一致", "agrees"),
    "differs": ("不一致", "differs"),
    "not_set_list": ("目標未設定", "no target set"),
    "no_targets": ("この年度の市町村の目標はありません。", "No municipal targets for this fiscal year."),
    "no_uptake": ("この年度の取組状況はありません。", "No initiative uptake for this fiscal year."),
    "of_municipalities": ("市町村", " municipalities"),
    "brackets": ("（{}）", " ({})"),
}


@dataclass
class PrefectureReportData:
    code: str
    name_ja: str
    name_romaji: str
    fiscal_year: int
    evaluation_id: str | None = None
    municipal_rows: list[dict[str, Any]] = field(default_factory=list)  # evaluation rows of the municipalities
    uptake_rows: list[dict[str, Any]] = field(default_factory=list)  # tasks.initiatives.uptake_table
    target_setting: uptake.TargetSetting | None = None


@dataclass
class WrittenPrefectureReport:
    html: Path
    municipalities: int
    missed: int
    initiatives: int


def gather(engine: sa.Engine, prefecture: str, fiscal_year: int) -> PrefectureReportData:
    region = uptake.resolve_prefecture(prefecture)
    data = PrefectureReportData(region.code, region.name_ja, region.name_romaji, fiscal_year)
    keys = uptake_reads.prefecture_units(engine, region.code)
    if keys:  # the stored evaluation when nothing it reads changed, else evaluated and stored now
        (evaluation,) = evaluate.run_evaluations(engine, [fiscal_year], None, keys)
        data.municipal_rows = [r for r in evaluation.rows if r["unit_key"] in set(keys)]
        data.evaluation_id = evaluation.evaluation_id if data.municipal_rows else None
        data.target_setting = uptake.target_setting(engine, region.code, fiscal_year)
    data.uptake_rows = uptake.uptake_table(engine, region.code, fiscal_year)
    if not data.municipal_rows and not data.uptake_rows:
        raise ValueError(
            f"nothing for {region.name_romaji} ({region.name_ja}) FY{fiscal_year} in the warehouse: "
            "load its municipal targets or initiative uptake files first"
        )
    return data


def write_prefecture_report(data: PrefectureReportData, out_dir: Path, lang: str = "ja") -> WrittenPrefectureReport:
    labels = Labels(lang)
    own = {k: (ja if labels.lang == "ja" else en) for k, (ja, en) in _TEXT.items()}
    out_dir.mkdir(parents=True, exist_ok=True)
    name = data.name_ja + own["prefecture"] if lang == "ja" else data.name_romaji.capitalize() + own["prefecture"]
    statuses = Counter(r["status"] for r in data.municipal_rows)
    html = (
        _environment()
        .get_template("prefecture_report.html.j2")
        .render(
            t=labels,
            own=own,
            name=name,
            period=labels.fiscal_year(data.fiscal_year),
            data=data,
            municipalities=[_municipal_row(r, labels) for r in data.municipal_rows],
            statuses=statuses,
            status_class=STATUS_CLASS,
            uptake=[_uptake_row(r) for r in data.uptake_rows],
            setting=_setting(data, own),
            generated=datetime.now().astimezone().strftime("%Y-%m-%d %H:%M"),
        )
    )
    path = out_dir / f"{data.name_romaji}_FY{data.fiscal_year}_prefecture_{lang}.html"
    path.write_text(html, encoding="utf-8")
    return WrittenPrefectureReport(path, len(data.municipal_rows), statuses["missed"], len(data.uptake_rows))


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _percent(value: float | None, decimals: int = 2) -> str:
    return "—" if value is None else f"{value:.{decimals}f}%"


def _target(row: dict[str, Any], labels: Labels) -> str:
    if row["comparator"] in ("ge_prev_year", "le_prev_year", "gt_prev_year", "not_set"):
        return labels.comparator(row["comparator"])
    if row.get("target_text") and labels.lang == "ja":
        return str(row["target_text"])  # as printed: 94.5%以上, 91.2%
    target = figures.kpi_value(
        row["target_value"], row.get("unit") or "pct", labels, row.get("kpi_id") or "nhi_collection_rate"
    )
    return f"{target} {labels.comparator(row['comparator'])}"


def _municipal_row(row: dict[str, Any], labels: Labels) -> dict[str, Any]:
    return {
        "name": row["unit_name"],
        "target": _target(row, labels),
        "actual": figures.kpi_value(
            row["actual"], row.get("unit") or "pct", labels, row.get("kpi_id") or "nhi_collection_rate"
        ),
        "actual_period": row.get("actual_period") or "",
        "mark": row["mark"],
        "status": row["status"],
        "status_label": labels[row["status"]],
        "reason": (row.get("reason_ja") if labels.lang == "ja" else None) or row["reason"],
    }


def _uptake_row(row: dict[str, Any]) -> dict[str, Any]:
    printed = row["pct_printed"]
    return {**row, "pct_text": _percent(row["pct"]), "pct_printed_text": "—" if printed is None else f"{printed:g}%"}


def _setting(data: PrefectureReportData, own: dict[str, str]) -> dict[str, Any] | None:
    """目標設定状況, printed and computed, side by side (None when neither is known)."""
    printed = next((r for r in data.uptake_rows if r["label_ja"] == uptake.TARGET_SETTING_LABEL), None)
    computed = data.target_setting if data.target_setting and data.target_setting.municipalities else None
    if printed is None and computed is None:
        return None

    def figure(adopted: int, total: int, pct_text: str | None) -> str:
        return f"{adopted}/{total}{own['of_municipalities']}" + (own["brackets"].format(pct_text) if pct_text else "")

    shown: dict[str, Any] = {"printed": None, "computed": None, "agrees": None, "not_set": []}
    if printed:
        pct_printed = printed["pct_printed"]
        shown["printed"] = figure(
            printed["adopted"], printed["total"], None if pct_printed is None else f"{pct_printed:g}%"
        )
    if computed:
        shown["computed"] = figure(computed.with_target, computed.municipalities, _percent(computed.pct))
        shown["not_set"] = computed.not_set
    if printed and computed:
        shown["agrees"] = (printed["adopted"], printed["total"]) == (computed.with_target, computed.municipalities)
    return shown
