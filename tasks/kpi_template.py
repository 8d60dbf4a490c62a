"""The .xlsx template a branch fills in: sheet 目標 (targets) and sheet 実績 (actuals) with their Japanese
headers and no rows, and sheet 記入方法 (`How to fill in` with `--lang en`) explaining each column with an
example. The examples live only there: a sheet named 記入方法 is never read as data, so an example left
in the file can never replace a real target. `branchkpi template --out DIR [--lang en]` writes it;
`branchkpi ingest` reads it back (tasks/parse/kpi.py)."""

from __future__ import annotations

from pathlib import Path

# 分野 / 項目 / 小項目: where the KPI sits in the plan as printed (optional; the status report's item marks)
TARGET_HEADERS = ["支部", "年度", "KPI", "計画の文言", "目標", "単位", "備考", "分野", "項目", "小項目"]
ACTUAL_HEADERS = ["支部", "年度", "期間", "KPI", "実績", "単位", "時点", "備考"]
GUIDE_SHEET = {"ja": "記入方法", "en": "How to fill in"}

# column, how to fill it in (ja, en), example in 目標, example in 実績
_EXAMPLES: list[tuple[str, str, str, str, str]] = [
    (
        "支部",
        "支部名（山口・山口支部）、ローマ字（yamaguchi）または JIS コード（35）",
        "branch: 山口, 山口支部, yamaguchi or the JIS code 35",
        "山口",
        "山口",
    ),
    (
        "年度",
        "令和2年度、R2、2020、FY2020（令和2年度 = 2020年4月〜2021年3月）",
        "fiscal year: 令和2年度, R2, 2020, FY2020 (FY2020 = April 2020 – March 2021)",
        "令和2年度",
        "令和2年度",
    ),
    (
        "期間",
        "実績の期間: FY または 年度、第1四半期〜第4四半期（Q1〜Q4、4〜6月 など）、月（2020-09、令和2年9月、9月）",
        "what the actual covers: FY or 年度, a quarter (Q1–Q4, 第1四半期, 4〜6月), a month (2020-09, 令和2年9月, 9月)",
        "",
        "FY",
    ),
    (
        "KPI",
        "KPI ID（card_recovery_rate）、カタログの名称（保険証回収率）、または目標とともに登録した計画の文言。"
        "いくつもの KPI に当てはまる文言、一部だけ一致する文言は受け付けません",
        "the KPI id (card_recovery_rate), a catalogue name (保険証回収率) or the plan's wording as loaded with the "
        "targets; a text that fits several KPIs, or only part of one, is refused",
        "card_recovery_rate",
        "保険証回収率",
    ),
    (
        "計画の文言",
        "事業計画に印刷された KPI の文言（任意）。実績のファイルでは KPI 欄にこの文言を使えます",
        "the KPI's wording as the plan prints it (optional); actuals may then name the KPI by it",
        "日本年金機構回収分も含めた資格喪失後1か月以内の保険証回収率を96.30%以上とする",
        "",
    ),
    (
        "目標",
        "印刷どおり: 96.30%以上、20%以下、100%とする、1,100事業所以上、3,000人以上、対前年度以上、"
        "前年度を上回る、【未設定】",
        "as printed: 96.30%以上, 20%以下, 100%とする, 1,100事業所以上, 3,000人以上, 対前年度以上, "
        "前年度を上回る, 【未設定】",
        "96.30%以上",
        "",
    ),
    (
        "実績",
        "KPI の単位の数値: 95.82（% の KPI に 0.9582 とは書かない。% 表示のセルは 95.82% として読みます）、93,342",
        "the figure in the KPI's unit: 95.82 (never 0.9582 for a % KPI; a cell in Excel's % format reads as 95.82%), "
        "93,342",
        "",
        "95.82",
    ),
    (
        "単位",
        "% / 件 / 人 / 円（pct、count、yen）。空欄なら KPI 本来の単位",
        "% / 件 / 人 / 円 (or pct, count, yen); empty = the KPI's own",
        "%",
        "%",
    ),
    (
        "時点",
        "測った日か月: 令和3年3月末、2021-03-31、令和2年度末。年度と期間の中の日付であること",
        "when it was measured: 令和3年3月末, 2021-03-31, 令和2年度末; inside the row's fiscal year and period",
        "",
        "令和3年3月末",
    ),
    ("備考", "自由記入", "free text", "KPI ①", "速報値"),
    (
        "分野",
        "計画の分野（任意）: 基盤的保険者機能関係",
        "the plan's field as printed (optional): 基盤的保険者機能関係",
        "基盤的保険者機能関係",
        "",
    ),
    (
        "項目",
        "計画の項目（分野・小項目を書くときは必須）",
        "the item as printed (needed when 分野 or 小項目 is given)",
        "返納金債権の発生防止のための保険証回収強化、債権回収業務の推進",
        "",
    ),
    ("小項目", "KPI が属する小項目（あれば）", "the sub-item as printed, if the KPI sits under one", "", ""),
]
_GUIDE_HEAD = {
    "ja": ["列", "書き方", "記入例（目標シート）", "記入例（実績シート）"],
    "en": ["column", "how to fill it in", "example (sheet 目標)", "example (sheet 実績)"],
}
_GUIDE_NOTES = {
    "ja": [
        "※ 記入例はこのシートにだけあり、取り込まれません。目標・実績シートの見出しの下に1行ずつ記入してください。",
        "※ 表の下の「※」「注」で始まる行は注記として読み飛ばします。見出しだけのシートは「行なし」として扱います。",
        "※ シート名や表の上の表題に年度（令和2年度 など）を書くと、各行の年度はその年度でなければなりません。",
    ],
    "en": [
        "Examples live on this sheet only and are never loaded: one row per KPI under the headers of 目標 and 実績.",
        "Rows under a table starting with ※ or 注 are notes and are read past; a sheet of headers only has no rows.",
        "A fiscal year in a sheet name or a title above the table (令和2年度 …) must be every row's 年度.",
    ],
}


def guide_rows(lang: str = "ja") -> list[list[str]]:
    """The 記入方法 sheet: a header, one row per column with its example, then the notes."""
    how = 1 if lang == "ja" else 2
    rows = [_GUIDE_HEAD[lang]]
    rows += [[e[0], e[how], e[3], e[4]] for e in _EXAMPLES]
    return [*rows, [], *([note] for note in _GUIDE_NOTES[lang])]


def write_template(out_dir: Path, lang: str = "ja") -> Path:
    import openpyxl

    out_dir.mkdir(parents=True, exist_ok=True)
    book = openpyxl.Workbook()
    targets = book.active
    targets.title = "目標"
    targets.append(TARGET_HEADERS)
    actuals = book.create_sheet("実績")
    actuals.append(ACTUAL_HEADERS)
    guide = book.create_sheet(GUIDE_SHEET[lang])
    for row in guide_rows(lang):
        guide.append(row)
    for sheet, width in ((targets, 16), (actuals, 14), (guide, 40)):
        for column in "ABCDEFGHIJ":
            sheet.column_dimensions[column].width = width
    path = out_dir / "kpi_template.xlsx"
    book.save(path)
    return path
