"""The .xlsx template a branch fills in: sheet 目標 (targets) and sheet 実績 (actuals), Japanese
headers, one example row each. `branchkpi template --out DIR` writes it; `branchkpi ingest` reads it
back (tasks/parse_kpi.py accepts these headers)."""

from __future__ import annotations

from pathlib import Path

# 分野 / 項目 / 小項目: where the KPI sits in the plan as printed (optional; the status report's item marks)
TARGET_HEADERS = ["支部", "年度", "KPI", "目標", "単位", "備考", "分野", "項目", "小項目"]
ACTUAL_HEADERS = ["支部", "年度", "期間", "KPI", "実績", "単位", "時点", "備考"]
EXAMPLE_TARGET = [
    "山口",
    "令和2年度",
    "card_recovery_rate",
    "96.30%以上",
    "%",
    "KPI ①",
    "基盤的保険者機能関係",
    "返納金債権の発生防止のための保険証回収強化、債権回収業務の推進",
    "",
]
EXAMPLE_ACTUAL = ["山口", "令和2年度", "FY", "card_recovery_rate", 95.82, "%", "令和3年3月末", ""]
GUIDE = [
    ("支部", "branch: 山口, yamaguchi or the JIS code 35"),
    ("年度", "fiscal year: 2020, 令和2年度, R2"),
    ("KPI", "KPI id (see README) or the plan's Japanese KPI text"),
    ("目標", "as printed: 96.3%以上, 20%以下, 100%, 対前年度以上, 前年度を上回る, 【未設定】"),
    ("期間", "FY (the year), Q1–Q4, or a month such as 2020-09"),
    ("単位", "% / 件 / 人 / 円 (or pct, count, yen); empty = the KPI's own"),
    ("分野", "the plan's field as printed, e.g. 基盤的保険者機能関係 (optional)"),
    ("項目", "the item as printed, e.g. サービス水準の向上 (needed when 分野 or 小項目 is given)"),
    ("小項目", "the sub-item as printed, if the KPI sits under one"),
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
