"""The .xlsx template a branch fills in: sheet 目標 (targets) and sheet 実績 (actuals), Japanese
headers, one example row each. `branchkpi template --out DIR` writes it; `branchkpi ingest` reads it
back (tasks/parse_kpi.py accepts these headers)."""

from __future__ import annotations

from pathlib import Path

TARGET_HEADERS = ["支部", "年度", "KPI", "目標", "単位", "備考"]
ACTUAL_HEADERS = ["支部", "年度", "期間", "KPI", "実績", "単位", "時点", "備考"]
EXAMPLE_TARGET = ["山口", "令和2年度", "card_recovery_rate", "96.30%以上", "%", "KPI ①"]
EXAMPLE_ACTUAL = ["山口", "令和2年度", "FY", "card_recovery_rate", 95.82, "%", "令和3年3月末", ""]
GUIDE = [
    ("支部", "branch: 山口, yamaguchi or the JIS code 35"),
    ("年度", "fiscal year: 2020, 令和2年度, R2"),
    ("KPI", "KPI id (see README) or the plan's Japanese KPI text"),
    ("目標", "as printed: 96.3%以上, 20%以下, 100%, 対前年度以上, 前年度を上回る, 【未設定】"),
    ("期間", "FY (the year), Q1–Q4, or a month such as 2020-09"),
    ("単位", "% / 件 / 人 / 円 (or pct, count, yen); empty = the KPI's own"),
]


def write_template(out_dir: Path) -> Path:
    import openpyxl

    out_dir.mkdir(parents=True, exist_ok=True)
    book = openpyxl.Workbook()
    targets = book.active
    targets.title = "目標"
    targets.append(TARGET_HEADERS)
    targets.append(EXAMPLE_TARGET)
    actuals = book.create_sheet("実績")
    actuals.append(ACTUAL_HEADERS)
    actuals.append(EXAMPLE_ACTUAL)
    guide = book.create_sheet("記入方法")
    for row in GUIDE:
        guide.append(list(row))
    path = out_dir / "kpi_template.xlsx"
    book.save(path)
    return path
