"""The events the flows emit for a person to act on, each carrying its message in Japanese and English
(`payload.ja`, `payload.en`; flows/alert_text.py) for the automations of flows/automations.py:

- branchkpi.quality.failed     a batch failed the gate (nothing of it was loaded)
- branchkpi.target.missed      one digest per unit and period: its missed and at-risk targets, missed
- branchkpi.target.at_risk     first in plan order (at_risk when none is missed); one per prefecture
                               when a run flags more than PER_UNIT_EVENTS units (1,741 municipalities)
- branchkpi.data.overdue       a unit's period newly past due with nothing loaded (the freshness flow);
                               one per period when more than PER_PERIOD_UNITS units are late together
- branchkpi.data.arrived-late  what was announced overdue has arrived
- branchkpi.data.no-input      a monthly run found no file while data is past due
- branchkpi.run.failed         a run failed outside the data (the warehouse unreachable, a disk full)

Crashed and overlong runs are Prefect's own events (prefect.flow-run.*), alerted by automations too."""

from __future__ import annotations

from collections import Counter
from typing import Any

from branchkpi.domain.findings import Finding
from branchkpi.domain.regions import BY_CODE, resolve_region
from branchkpi.flows.alert_text import (
    LANGS,
    Lang,
    coverage_period_label,
    in_plan_order,
    lines,
    period_span,
    period_text,
    plain,
    target_line,
    text,
    unit_text,
)

EVENT_FOR_STATUS = {"missed": "branchkpi.target.missed", "at_risk": "branchkpi.target.at_risk"}
QUALITY_FAILED = "branchkpi.quality.failed"
DATA_OVERDUE = "branchkpi.data.overdue"
DATA_ARRIVED_LATE = "branchkpi.data.arrived-late"
NO_INPUT = "branchkpi.data.no-input"
RUN_FAILED = "branchkpi.run.failed"
PER_UNIT_EVENTS = 200  # more flagged units than this: one event per prefecture
PREFECTURE_EVENT_COLUMNS = ("unit_key", "status")  # all a prefecture's digest reads of a flagged row
PER_PERIOD_UNITS = 10  # more units newly overdue for one period than this: one event for the period
UNITS_SHOWN = 20  # units named in a prefecture's or a period's event
TARGETS_SHOWN = 30  # targets listed in one digest
FINDINGS_SHOWN = 10  # findings listed in a quality-failure message


def _related(flow_run_id: object) -> list[dict[str, str]] | None:
    """The run the event is about, so that the automation's message links it (`flow_run|ui_url`)."""
    if not flow_run_id:
        return None
    return [{"prefect.resource.id": f"prefect.flow-run.{flow_run_id}", "prefect.resource.role": "flow-run"}]


def _texts(build: Any) -> dict[str, str]:
    return {lang: build(lang) for lang in LANGS}


def quality_failed_event(
    batch_id: str,
    period: str | None,
    units: list[str],
    files: list[str],
    findings: list[Finding],
    flow_run_id: object,
    rows_quarantined: int = 0,
) -> dict[str, Any]:
    """emit_event arguments for a batch that failed the quality gate: where, which files, how many rows,
    and the first findings as file, row, column, value and reason."""
    critical = [f for f in findings if f.severity == "critical"] or findings
    unit_keys = [resolve_region(u) or u for u in units]  # yamaguchi, 35, 山口 or a unit key as written
    # 期間 is the period of the rows the findings are about (a bad September row: 令和2年9月), not the
    # batch's last month; the batch's own when no finding names a row's period (a file unreadable)
    about = period_span(f.period for f in critical) or period

    def message(lang: Lang) -> str:
        units = (
            "、".join(unit_text(k, lang) for k in unit_keys)
            if lang == "ja"
            else ", ".join(unit_text(k, lang) for k in unit_keys)
        )
        body = [f"{text('files', lang)}: {', '.join(files)[:300]}", text("rows", lang, rows=rows_quarantined)]
        body += [f"- {f.sentence(lang)}"[:400] for f in critical[:FINDINGS_SHOWN]]
        if len(critical) > FINDINGS_SHOWN:
            body.append(text("more", lang, n=len(critical) - FINDINGS_SHOWN))
        return lines(
            text("quality_failed", lang), units or None, period_text(about, lang) if about else None, body, lang
        )

    return {
        "event": QUALITY_FAILED,
        "resource": {
            "prefect.resource.id": f"branchkpi.batch.{batch_id}",
            "prefect.resource.name": f"batch {batch_id[:8]} {about or ''}".strip(),
            "branchkpi.period": about or "",
            "branchkpi.unit": plain(",".join(unit_keys)),
        },
        "payload": {
            "period": about,
            "batch_period": period,
            "unit_keys": unit_keys,
            "files": files,
            "rows_quarantined": rows_quarantined,
            "findings": len(critical),
            **_texts(message),
        },
        "related": _related(flow_run_id),
    }


def target_events(rows: list[dict[str, Any]], label: str, flow_run_id: str | None) -> list[dict[str, Any]]:
    """emit_event arguments for the flagged targets: one digest per unit (and this period), or one per
    prefecture when a run flags more than PER_UNIT_EVENTS units."""
    flagged = [r for r in rows if r["status"] in EVENT_FOR_STATUS]
    by_unit: dict[str, list[dict[str, Any]]] = {}
    for r in flagged:
        by_unit.setdefault(r["unit_key"], []).append(r)
    if len(by_unit) <= PER_UNIT_EVENTS:
        return [unit_event(unit_rows, label, flow_run_id) for unit_rows in by_unit.values()]
    by_prefecture: dict[str, list[dict[str, Any]]] = {}
    for r in flagged:  # 33:倉敷市 belongs to 33 (岡山); a branch key is its prefecture's code
        by_prefecture.setdefault(r["unit_key"].split(":", 1)[0], []).append(r)
    return [prefecture_event(code, rows, label, flow_run_id) for code, rows in sorted(by_prefecture.items())]


def unit_event(rows: list[dict[str, Any]], label: str, flow_run_id: str | None) -> dict[str, Any]:
    """One digest for a unit's flagged targets of one period: missed first, in plan order."""
    ordered = in_plan_order(rows)
    first = ordered[0]
    counts = Counter(r["status"] for r in rows)
    status = "missed" if counts["missed"] else "at_risk"

    def message(lang: Lang) -> str:
        body = [target_line(r, lang) for r in ordered[:TARGETS_SHOWN]]
        if len(ordered) > TARGETS_SHOWN:
            body.append(text("more", lang, n=len(ordered) - TARGETS_SHOWN))
        head = text("targets", lang, missed=counts["missed"], at_risk=counts["at_risk"])
        return lines(head, unit_text(first["unit_key"], lang, first["unit_name"]), period_text(label, lang), body, lang)

    resource = {
        "prefect.resource.id": f"branchkpi.unit.{first['unit_key']}.{label}",
        "prefect.resource.name": f"{first['unit_name']} {label}",
        "branchkpi.unit": first["unit_key"],
        "branchkpi.period": label,
    }
    payload: dict[str, Any] = {
        "unit_key": first["unit_key"],
        "unit_name": first["unit_name"],
        "fiscal_year": first["fiscal_year"],
        "period": label,
        "missed": counts["missed"],
        "at_risk": counts["at_risk"],
        "targets": [
            {k: r.get(k) for k in ("kpi_id", "target_value", "comparator", "actual", "status", "mark")} for r in ordered
        ],
        **_texts(message),
    }
    return {
        "event": EVENT_FOR_STATUS[status],
        "resource": resource,
        "payload": payload,
        "related": _related(flow_run_id),
    }


def prefecture_event(code: str, rows: list[dict[str, Any]], label: str, flow_run_id: str | None) -> dict[str, Any]:
    """One event for a prefecture's flagged units (a run over every municipality of the country)."""
    status = "missed" if any(r["status"] == "missed" for r in rows) else "at_risk"
    units: dict[str, Counter[str]] = {}
    for r in rows:
        units.setdefault(r["unit_key"], Counter())[r["status"]] += 1
    region = BY_CODE.get(code)

    def message(lang: Lang) -> str:
        shown = [f"{unit_text(k, lang)} ×{c['missed']} △{c['at_risk']}" for k, c in list(units.items())[:UNITS_SHOWN]]
        if len(units) > UNITS_SHOWN:
            shown.append(text("more", lang, n=len(units) - UNITS_SHOWN))
        where = (region.name_ja if lang == "ja" else region.name_romaji.title()) if region else code
        return lines(
            text("prefecture_targets", lang, units=len(units), targets=len(rows)),
            where,
            period_text(label, lang),
            shown,
            lang,
        )

    name = region.name_romaji if region else code
    resource = {
        "prefect.resource.id": f"branchkpi.prefecture.{code}.{label}",
        "prefect.resource.name": f"{name} {label}",
        "branchkpi.prefecture": code,
        "branchkpi.period": label,
    }
    payload: dict[str, Any] = {
        "prefecture": code,
        "period": label,
        "units_flagged": len(units),
        "targets_flagged": len(rows),
        **_texts(message),
    }
    return {
        "event": EVENT_FOR_STATUS[status],
        "resource": resource,
        "payload": payload,
        "related": _related(flow_run_id),
    }


def cell_unit_key(cell: dict[str, Any]) -> str:
    """A coverage cell's unit (yamaguchi, national, 33:倉敷市) as a unit key (35, 00, 33:倉敷市)."""
    return cell["unit"] if ":" in cell["unit"] else resolve_region(cell["unit"]) or cell["unit"]


def _cell_key(cell: dict[str, Any]) -> str:
    return f"{cell['kind']}.{cell['unit']}.{coverage_period_label(cell['fiscal_year'], cell['period'])}"


def overdue_events(cells: list[dict[str, Any]], flow_run_id: str | None) -> list[dict[str, Any]]:
    """branchkpi.data.overdue per unit and period newly past due; a period with more than
    PER_PERIOD_UNITS late units is one event naming them."""
    by_period: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for cell in cells:
        by_period.setdefault((cell["kind"], cell["fiscal_year"], cell["period"]), []).append(cell)
    events = []
    for (kind, fiscal_year, period), group in by_period.items():
        label = coverage_period_label(fiscal_year, period)
        if len(group) <= PER_PERIOD_UNITS:
            events += [_coverage_event(DATA_OVERDUE, c, "overdue", flow_run_id) for c in group]
            continue

        def message(lang: Lang, group: list[dict[str, Any]] = group, label: str = label, kind: str = kind) -> str:
            names = [unit_text(cell_unit_key(c), lang) for c in group]
            shown = names[:UNITS_SHOWN] + (
                [text("more", lang, n=len(names) - UNITS_SHOWN)] if len(names) > UNITS_SHOWN else []
            )
            head = text(
                "overdue_many",
                lang,
                period=period_text(label, lang),
                kind=text(kind, lang),
                count=len(group),
                due=group[0]["due"],
            )
            return lines(head, None, None, ["、".join(shown) if lang == "ja" else ", ".join(shown)], lang)

        events.append(
            {
                "event": DATA_OVERDUE,
                "resource": {
                    "prefect.resource.id": f"branchkpi.coverage.{kind}.all.{label}",
                    "prefect.resource.name": f"{kind} {label}",
                    "branchkpi.period": label,
                },
                "payload": {
                    "kind": kind,
                    "period": label,
                    "units": [c["unit"] for c in group],
                    "due": group[0]["due"],
                    **_texts(message),
                },
                "related": _related(flow_run_id),
            }
        )
    return events


def arrived_late_event(cell: dict[str, Any], flow_run_id: str | None) -> dict[str, Any]:
    return _coverage_event(DATA_ARRIVED_LATE, cell, "arrived_late", flow_run_id)


def _coverage_event(event: str, cell: dict[str, Any], key: str, flow_run_id: str | None) -> dict[str, Any]:
    label = coverage_period_label(cell["fiscal_year"], cell["period"])

    def message(lang: Lang) -> str:
        head = text(key, lang, period=period_text(label, lang), kind=text(cell["kind"], lang), due=cell["due"])
        return lines(head, unit_text(cell_unit_key(cell), lang), period_text(label, lang), [], lang)

    return {
        "event": event,
        "resource": {
            "prefect.resource.id": f"branchkpi.coverage.{_cell_key(cell)}",
            "prefect.resource.name": f"{cell['unit']} {cell['kind']} {label}",
            "branchkpi.unit": cell["unit"],
            "branchkpi.period": label,
        },
        "payload": {
            "kind": cell["kind"],
            "unit": cell["unit"],
            "period": label,
            "due": cell["due"],
            "status": cell["status"],
            **_texts(message),
        },
        "related": _related(flow_run_id),
    }


def no_input_event(
    flow_name: str, past_due: list[dict[str, Any]], landing_dir: str, flow_run_id: str | None
) -> dict[str, Any]:
    """A run that found nothing to ingest while data is past due: the files never reached the landing folder."""
    oldest = min((c["due"] for c in past_due), default="")

    def message(lang: Lang) -> str:
        body = [f"landing: {landing_dir}"]
        return lines(text("no_input", lang, count=len(past_due)), None, None, body, lang)

    return {
        "event": NO_INPUT,
        "resource": {"prefect.resource.id": f"branchkpi.flow.{flow_name}", "prefect.resource.name": flow_name},
        "payload": {"past_due": len(past_due), "oldest_due": oldest, "landing": landing_dir, **_texts(message)},
        "related": _related(flow_run_id),
    }


def run_failed_event(flow_name: str, message_text: str, flow_run_id: str | None) -> dict[str, Any]:
    """A run that failed outside the data: nothing was loaded, and no gate finding explains it."""

    def message(lang: Lang) -> str:
        return lines(text("run_failed", lang), None, None, [f"{flow_name}: {message_text[:1500]}"], lang)

    return {
        "event": RUN_FAILED,
        "resource": {"prefect.resource.id": f"branchkpi.flow.{flow_name}", "prefect.resource.name": flow_name},
        "payload": {"flow": flow_name, "error": message_text[:1500], **_texts(message)},
        "related": _related(flow_run_id),
    }
