"""One screen of what is in, what is late and what runs next (`branchkpi status`, and the freshness
run's `status` artifact): per kind of data the periods complete, partial or overdue (from the coverage
grid, tasks.coverage), each deployment's last run and next scheduled run, and the files waiting in the
landing folder. Plain data and its words here, in Japanese (default) or English; gathering it from the
warehouse and the Prefect API is branchkpi.flows.status."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from branchkpi.domain import fiscal
from branchkpi.domain.run_days import jst_text

ARRIVED = ("loaded", "warned", "replaced")
PERIOD_STATUSES = ("complete", "partial", "overdue", "not_due")
WORDS: dict[str, tuple[str, str]] = {  # key → (ja, en)
    "complete": ("完了", "complete"),
    "partial": ("一部着", "partial"),
    "overdue": ("期限超過", "overdue"),
    "not_due": ("期限前", "not due"),
    "stats": ("月報（統計）", "Monthly statistics"),
    "kpi": ("KPI 実績", "KPI actuals"),
    "title": ("提出状況と実行予定", "What is in, what is late, what runs next"),
    "as_of": ("{day} 現在", "as of {day}"),
    "period": ("期間", "period"),
    "status": ("状況", "status"),
    "arrived": ("着/全", "in/all"),
    "due": ("期限", "due"),
    "late": ("未着", "missing"),
    "runs": ("実行", "Runs"),
    "deployment": ("デプロイ", "deployment"),
    "last": ("前回", "last run"),
    "next": ("次回", "next run"),
    "for": ("対象", "for"),
    "landing": ("着信フォルダ {folder}: {count} 件", "Landing folder {folder}: {count} file(s)"),
    "file": ("ファイル", "file"),
    "kind": ("種類", "kind"),
    "size": ("サイズ", "size"),
    "modified": ("更新", "modified"),
    "note": ("備考", "note"),
    "loaded_before": ("読込済みの写し（取込不要）", "a copy of a loaded file (nothing to load)"),
    "statistics": ("月報", "statistics"),
    "none": ("なし", "none"),
    "more": ("ほか {n}", "+{n} more"),
    "due_word": ("提出期限", "due"),
    "pickup": ("追加取込", "pickup"),
}
LATE_NAMES = 5  # the units a row names before it counts the rest


def no_rows(lang: str) -> str:
    return word("none", lang)


def word(key: str, lang: str, **values: Any) -> str:
    ja, en = WORDS[key]
    return (ja if lang == "ja" else en).format(**values)


@dataclass
class Status:
    as_of: date
    fiscal_years: list[int]
    periods: list[dict[str, Any]] = field(default_factory=list)  # summarize()
    deployments: list[dict[str, Any]] = field(default_factory=list)  # name, last {state, at}, next {at, period, role}
    landing_dir: str = ""
    waiting: list[dict[str, Any]] = field(default_factory=list)  # name, kind, size, modified, loaded_batch
    notes: list[str] = field(default_factory=list)  # what could not be read, in one line each

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        return data


def period_status(cells: list[dict[str, Any]], as_of: date) -> str:
    """complete: every unit's figures are in; overdue: a unit's are past due and not in (or were
    refused); partial: some are in, the rest not due yet; not_due: none in, none due yet."""
    if cells and all(c["status"] in ARRIVED for c in cells):
        return "complete"
    late = [c for c in cells if c["status"] == "missing" or (c["status"] == "quarantined" and as_of > _day(c["due"]))]
    if late:
        return "overdue"
    return "partial" if any(c["status"] in ARRIVED for c in cells) else "not_due"


def _day(text: str) -> date:
    return date.fromisoformat(text)


def summarize(cells: list[dict[str, Any]], as_of: date) -> list[dict[str, Any]]:
    """One row per kind, fiscal year and period of the coverage cells, in the grid's order: its status,
    how many units are in of how many owe it, its (earliest) due day and the units late."""
    groups: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for c in cells:
        groups.setdefault((c["kind"], c["fiscal_year"], c["period"]), []).append(c)
    order = {p: i for i, p in enumerate(("Q1", "Q2", "Q3", "Q4", "FY"))}
    rows = []
    for (kind, fiscal_year, period), group in sorted(
        groups.items(), key=lambda kv: (kv[0][0] != "stats", kv[0][1], order.get(kv[0][2], -1), kv[0][2])
    ):
        late = [c for c in group if c["status"] in ("missing", "quarantined") and as_of > _day(c["due"])]
        rows.append(
            {
                "kind": kind,
                "fiscal_year": fiscal_year,
                "period": period,
                "status": period_status(group, as_of),
                "arrived": sum(c["status"] in ARRIVED for c in group),
                "expected": len(group),
                "due": min(c["due"] for c in group),
                "late_units": [c["unit"] for c in late],
                "late_units_ja": [c["unit_ja"] for c in late],
            }
        )
    return rows


def period_text(kind: str, fiscal_year: int, period: str, lang: str) -> str:
    """2026-04 → 令和8年4月; Q1 → 令和8年度第1四半期; FY → 令和8年度 (English: 2026-04, FY2026-Q1, FY2026)."""
    if kind == "stats":
        return fiscal.month_label_ja(fiscal_year, int(period[5:7])) if lang == "ja" else period
    if period == "FY":
        return fiscal.fiscal_year_label_ja(fiscal_year) if lang == "ja" else f"FY{fiscal_year}"
    return (
        f"{fiscal.fiscal_year_label_ja(fiscal_year)}第{period[1]}四半期"
        if lang == "ja"
        else f"FY{fiscal_year}-{period}"
    )


def _names(row: dict[str, Any], lang: str) -> str:
    names = row["late_units_ja"] if lang == "ja" else row["late_units"]
    shown = ", ".join(names[:LATE_NAMES])
    return shown + (f" {word('more', lang, n=len(names) - LATE_NAMES)}" if len(names) > LATE_NAMES else "")


def _when(iso: str | None) -> str:
    return jst_text(datetime.fromisoformat(iso)) if iso else ""


@dataclass(frozen=True)
class Section:
    title: str
    headers: list[str]
    rows: list[list[str]]


def sections(status: Status, lang: str = "ja") -> list[Section]:
    """The screen as titled tables: a table per kind of data, the runs, the landing folder."""
    out = []
    for kind in ("stats", "kpi"):
        rows = [
            [
                period_text(kind, r["fiscal_year"], r["period"], lang),
                word(r["status"], lang),
                f"{r['arrived']}/{r['expected']}",
                r["due"],
                _names(r, lang),
            ]
            for r in status.periods
            if r["kind"] == kind
        ]
        headers = [word(k, lang) for k in ("period", "status", "arrived", "due", "late")]
        out.append(Section(word(kind, lang), headers, rows))
    runs = []
    for d in status.deployments:
        last, upcoming = d.get("last") or {}, d.get("next") or {}
        role = upcoming.get("role")
        target = upcoming.get("period_text", {}).get(lang, "") if upcoming else ""
        runs.append(
            [
                d["name"],
                f"{last.get('state', '')} {_when(last.get('at'))}".strip() or word("none", lang),
                _when(upcoming.get("at")) or word("none", lang),
                f"{target}{'分' if lang == 'ja' else ''} {word('due_word' if role == 'due' else 'pickup', lang)}"
                if target and role
                else target,
            ]
        )
    out.append(Section(word("runs", lang), [word(k, lang) for k in ("deployment", "last", "next", "for")], runs))
    files = [
        [
            f["name"],
            word(f["kind"], lang),
            f"{f['size']:,}",
            _when(f["modified"]),
            word("loaded_before", lang) if f.get("loaded_batch") else "",
        ]
        for f in status.waiting
    ]
    title = word("landing", lang, folder=status.landing_dir, count=len(status.waiting))
    out.append(Section(title, [word(k, lang) for k in ("file", "kind", "size", "modified", "note")], files))
    return out


def heading(status: Status, lang: str = "ja") -> str:
    years = "、".join(fiscal.fiscal_year_label_ja(y) for y in status.fiscal_years)
    if lang != "ja":
        years = ", ".join(f"FY{y}" for y in status.fiscal_years)
    weekday = ("月火水木金土日" if lang == "ja" else ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"))[
        status.as_of.weekday()
    ]
    day = f"{status.as_of.isoformat()} ({weekday})"
    return f"{word('title', lang)} — {years} ({word('as_of', lang, day=day)})"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") or " "


def markdown(status: Status, lang: str = "ja") -> str:
    """The same screen as Markdown, for the freshness run's artifact in the Prefect UI."""
    lines = [f"# {heading(status, lang)}", ""]
    for section in sections(status, lang):
        lines += [f"## {section.title}", ""]
        if not section.rows:
            lines += [word("none", lang), ""]
            continue
        lines.append("| " + " | ".join(section.headers) + " |")
        lines.append("|" + "---|" * len(section.headers))
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in section.rows]
        lines.append("")
    lines += [f"- {note}" for note in status.notes]
    return "\n".join(lines).rstrip() + "\n"
