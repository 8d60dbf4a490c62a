"""README's "What it accepts" stays exactly true: every example it quotes (each `…` of the section) is
listed here with the check that shows it, and the list and the section cannot drift apart."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from branchkpi.domain import fiscal, labels, metrics, numbers
from branchkpi.expectations import monthly_stats

from ..mutants.files import landed

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README[README.index("### What it accepts") : README.index("### KPI files")]


def parse(text: str, name: str = "f.csv"):  # type: ignore[no-untyped-def]
    from branchkpi.tasks.parse.batch import parse_statistics

    parsed, reports = parse_statistics([landed(1, name, text.encode("utf-8"))])
    return parsed, reports[0].error


def loads(text: str, expected: dict[tuple[str, str, int, int], float], name: str = "f.csv") -> None:
    parsed, error = parse(text, name)
    assert error is None, error
    got = {
        (r["region_code"], r["metric"], r["fiscal_year"], r["month"]): r["value"]
        for r in parsed.observations.iter_rows(named=True)
    }
    assert got == expected


def refused(text: str, words: str, name: str = "f.csv") -> None:
    parsed, error = parse(text, name)
    reasons = [error or ""] + [f.reason for f in parsed.findings if f.severity == "critical"]
    assert any(words in r for r in reasons), reasons


def period_cell(cell: str, fy: int = 2020, month: int = 4) -> Callable[[], None]:
    return lambda: loads(f"支部,年月,被保険者数\n山口,{cell},260511\n", {("35", "insured_persons", fy, month): 260511})


def month_cell(cell: str, month: int) -> Callable[[], None]:
    def check() -> None:
        loads(
            f"支部,年度,月,被保険者数\n山口,令和2年度,{cell},260511\n",
            {("35", "insured_persons", 2020, month): 260511},
        )
        loads(
            f"◆被保険者数\n山口,2年度,前年同月比\n{cell},260511,-0.1\n",
            {("35", "insured_persons", 2020, month): 260511},
        )

    return check


def header(text: str, role: str) -> Callable[[], None]:
    return lambda: labels.column_role(text) == role or pytest.fail(f"{text} is not {role}")


def metric(text: str, metric_id: str) -> Callable[[], None]:
    return lambda: metrics.resolve_metric(text) == metric_id or pytest.fail(f"{text} is not {metric_id}")


def number(text: str, value: float) -> Callable[[], None]:
    return lambda: numbers.parse_number(text) == value or pytest.fail(text)


def unit_cell(cell: str, column: str, metric_id: str, value: float) -> Callable[[], None]:
    region = "全国" if value > 1_000_000 else "山口"
    code = "00" if value > 1_000_000 else "35"
    return lambda: loads(f'支部,年月,{column}\n{region},2020-04,"{cell}"\n', {(code, metric_id, 2020, 4): value})


def count_unit() -> None:
    """`12件`: 件 is a unit of 事業所数, of no other metric."""
    refused('支部,年月,被保険者数\n山口,2020-04,"12件"\n', "does not fit 被保険者数")
    loads('支部,年月,事業所数\n山口,2020-04,"22,887件"\n', {("35", "establishments", 2020, 4): 22887})


def exists(path: str) -> Callable[[], None]:
    return lambda: (ROOT / path).exists() or pytest.fail(path)


UNIT_FILE = '（単位：千人）\n支部,年月,被保険者数\n全国,2020-04,"24,913.4"\n'
KEY_VALUES = "年度,令和2年度\n支部,山口支部\n単位,千人\n月,被保険者数\n4月,260.5\n"
TRANSPOSED = "山口支部 令和2年度 月報\n区分,4月,5月,合計\n被保険者数,260511,260300,\n前年同月比,-0.1,-0.3,\n"
CONTRADICTION = "支部,年度,対象年月,被保険者数\n山口,令和2年度,2019年4月,260656\n"
SEPARATOR = "支部,年度,月,平均標準報酬月額,前年同月比\n山口,令和元年度,4月,275,034,1.1\n"

EXAMPLES: dict[str, Callable[[], None]] = {
    "region, metric, fiscal_year, month, value[, yoy_pct_printed]": lambda: loads(
        "region,metric,fiscal_year,month,value,yoy_pct_printed\nyamaguchi,insured_persons,2020,4,260511,-0.1\n",
        {("35", "insured_persons", 2020, 4): 260511},
    ),
    "data/sample/seed/branch_monthly_stats.csv": exists("data/sample/seed/branch_monthly_stats.csv"),
    "支部, 年度, 月, 被保険者数, 被扶養者数, …": lambda: loads(
        "支部,年度,月,被保険者数,被扶養者数\n山口,2020,4,260511,176000\n",
        {("35", "insured_persons", 2020, 4): 260511, ("35", "dependents", 2020, 4): 176000},
    ),
    "fiscal_year": header("fiscal_year", "fiscal_year"),
    "month": header("month", "month"),
    "calendar_year": header("calendar_year", "calendar_year"),
    "period": header("period", "period"),
    "2020-04": period_cell("2020-04"),
    "令和2年4月": period_cell("令和2年4月"),
    "R2.4": period_cell("R2.4"),
    "令和2年4月分": period_cell("令和2年4月分"),
    "2020年4月末現在": period_cell("2020年4月末現在"),
    "2020-04-01": period_cell("2020-04-01"),
    "2020/04/01": period_cell("2020/04/01"),
    "令和2年4月1日": period_cell("令和2年4月1日"),
    "4月": month_cell("4月", 4),
    "4月分": month_cell("4月分", 4),
    "4月末": month_cell("4月末", 4),
    "4月末現在": month_cell("4月末現在", 4),
    "3月": month_cell("3月", 3),
    "令和2年10月": lambda: fiscal.parse_period("令和2年10月") == fiscal.Period(2020, 10) or pytest.fail(),
    "合計": lambda: metrics.annual_label("合計") == "total" or pytest.fail(),
    "前年同月比": header("前年同月比", "yoy_pct_printed"),
    "山口支部 令和2年度 月報": lambda: loads(
        TRANSPOSED, {("35", "insured_persons", 2020, 4): 260511, ("35", "insured_persons", 2020, 5): 260300}
    ),
    "年度 | 令和2年度": lambda: loads(KEY_VALUES, {("35", "insured_persons", 2020, 4): 260500}),
    "支部 | 山口支部": lambda: loads(KEY_VALUES, {("35", "insured_persons", 2020, 4): 260500}),
    "単位 | 千人": lambda: loads(KEY_VALUES, {("35", "insured_persons", 2020, 4): 260500}),
    "※ …": lambda: loads(
        "支部,年月,被保険者数\n山口,2020-04,260511\n※ 速報値\n", {("35", "insured_persons", 2020, 4): 260511}
    ),
    "line_not_read": lambda: (
        "line_not_read"
        in {f.rule for f in parse("集計,12345\n支部,年月,被保険者数\n山口,2020-04,260511\n")[0].findings}
        or pytest.fail()
    ),
    "region": header("region", "region"),
    "region_ja": lambda: refused(
        "region,region_ja,metric,fiscal_year,month,value\nyamaguchi,広島,insured_persons,2020,4,1\n", "twice"
    ),
    "年度 B2 '令和2年度' (FY2020) vs 対象年月 C2 '2019年4月' (FY2019)": lambda: refused(
        CONTRADICTION, "年度 B2 '令和2年度' (FY2020) vs 対象年月 C2 '2019年4月' (FY2019)"
    ),
    "260,511人": unit_cell("260,511人", "被保険者数", "insured_persons", 260511),
    "被保険者数（千人）": lambda: loads(
        "支部,年月,被保険者数（千人）\n山口,2020-04,260.5\n", {("35", "insured_persons", 2020, 4): 260500}
    ),
    "（単位：千人）": lambda: loads(UNIT_FILE, {("00", "insured_persons", 2020, 4): 24_913_400}),
    "※ 金額は千円単位": lambda: loads(
        '支部,年月,保険給付費\n山口,2020-04,"5,000,000"\n※ 金額は千円単位\n',
        {("35", "insurance_benefits", 2020, 4): 5000},
    ),
    "header_synonyms.md": exists("branchkpi/domain/header_synonyms.md"),
    "千人": lambda: loads(UNIT_FILE, {("00", "insured_persons", 2020, 4): 24_913_400}),
    "千円": lambda: loads(
        '支部,年月,平均標準報酬月額（千円）,保険給付費（千円）\n山口,2020-04,279,"5,000,000"\n',
        {
            ("35", "avg_standard_monthly_remuneration_yen", 2020, 4): 279_000,
            ("35", "insurance_benefits", 2020, 4): 5000,
        },
    ),
    "260,511円": lambda: refused('支部,年月,被保険者数\n山口,2020-04,"260,511円"\n', "does not fit 被保険者数"),
    "unquoted thousands separator?": lambda: refused(SEPARATOR, "unquoted thousands separator?"),
    "山口,令和元年度,4月,275,034,1.1": lambda: refused(SEPARATOR, "6 cells under a header of 5"),
    "ﾒﾓ": header("ﾒﾓ", "note"),
    "メモ": header("メモ", "note"),
    "branchkpi/domain/header_synonyms.md": exists("branchkpi/domain/header_synonyms.md"),
    "対象年月": header("対象年月", "period"),
    "年月": header("年月", "period"),
    "期間": header("期間", "period"),
    "対象月": header("対象月", "month"),
    "月": header("月", "month"),
    "区分": header("区分", "region"),
    "支部": header("支部", "region"),
    "都道府県": header("都道府県", "region"),
    "前年同月比（％）": header("前年同月比（％）", "yoy_pct_printed"),
    "備考": header("備考", "note"),
    "摘要": header("摘要", "note"),
    "注": header("注", "note"),
    "◆任意継続被保険者数": lambda: refused(
        "◆任意継続被保険者数\n山口,2年度,前年同月比\n4月,1000,0.1\n", "not a statistic we know"
    ),
    "加入者数": lambda: refused(
        "支部,年月,被保険者数,被扶養者数,加入者数\n山口,2020-04,260511,176000,436000\n",
        "printed 加入者数 436,000 is not",
    ),
    "被保険者数": metric("被保険者数", "insured_persons"),
    "被扶養者数": metric("被扶養者数", "dependents"),
    "（人）": lambda: loads(
        "支部,年月,被保険者数\n,,（人）\n山口,2020-04,260511\n", {("35", "insured_persons", 2020, 4): 260511}
    ),
    "data/sample/seed/monthly_report_layout/": exists("data/sample/seed/monthly_report_layout"),
    "◆被保険者数": lambda: loads(
        "◆被保険者数\n山口,2年度,前年同月比\n4月,260511,-0.1\n", {("35", "insured_persons", 2020, 4): 260511}
    ),
    "257,346": number("257,346", 257346),
    "２５７，３４６": number("２５７，３４６", 257346),
    "△0.4": number("△0.4", -0.4),
    "704万": number("704万", 7_040_000),
    "1.5%": lambda: loads(
        "支部,年月,被保険者数,前年同月比\n山口,2020-04,260511,1.5%\n", {("35", "insured_persons", 2020, 4): 260511}
    ),
    "2,237,406事業所": unit_cell("2,237,406事業所", "事業所数", "establishments", 2_237_406),
    "12件": count_unit,
    "3,000円": unit_cell("3,000円", "1人当たり医療費", "medical_cost_per_capita_yen", 3000),
    "branchkpi/domain/fiscal.py": exists("branchkpi/domain/fiscal.py"),
    "2年度": lambda: fiscal.parse_fiscal_year("2年度") == 2020 or pytest.fail(),
    "scale_jump": lambda: "scale_jump" in {r.name for r in monthly_stats.rules()} or pytest.fail(),
    "docs/quality-gate.md": exists("docs/quality-gate.md"),
    "make mutants": lambda: "\nmutants:" in (ROOT / "Makefile").read_text() or pytest.fail(),
}


def test_every_example_of_the_section_is_checked() -> None:
    assert set(re.findall(r"`([^`]+)`", SECTION)) == set(EXAMPLES)


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_example(example: str) -> None:
    EXAMPLES[example]()
